"""Sharded embedding and linking (config linking.shards; docs/deployment.md, "Sharded linking"), without SLURM.

The DAG: with shards: 4 every model's records are embedded by 4 jobs and the queries linked by 4, gathered into
the files one job writes; with shards: 1 the DAG is today's. The package: query shards gathered give the same
top-1 table and predictions (tuned w included) as one job, bit for bit, on a query set large enough that FAISS
would otherwise switch kernels; embedding shards gathered give the same arrays; reference shards merged give the
same top-k as one exact index. The tiny workflow itself runs sharded on SLURM (tests/test_slurm.py) and is
compared there with the pinned unsharded run.
"""

import io
import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import yaml

from clippings_wf.linking import faiss_index, query_shards, reference_shards
from clippings_wf.models import embedding_files
from helpers import copy_workflow, run_snakemake

TINY_MODELS = ["selfsup", "sup_vision", "sup_language", "sup_multimodal", "sup_unimodal_vision"]
TINY_LINKED_DATASETS = ["jp_firms", "jp_firms_shifted"]


def dry_run_jobs(tmp_path, shards: int) -> Counter:
    """(rule, output) of every job a dry run of the tiny configuration with ``linking.shards`` schedules."""
    workdir = copy_workflow(tmp_path / f"wf{shards}")
    (workdir / "shards.yaml").write_text(yaml.safe_dump({"linking": {"shards": shards}}))
    out = run_snakemake(workdir, "-n", "--configfile", "config_tiny.yaml", "shards.yaml").stdout
    jobs = re.findall(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    output: (.*)$", out, re.M)
    return Counter((rule, output) for rule, output in jobs)


def test_dry_run_with_four_shards_schedules_four_embed_and_link_jobs(tmp_path):
    jobs = dry_run_jobs(tmp_path, 4)
    by_rule = Counter(rule for rule, _ in jobs.elements())
    n_models = len(TINY_MODELS) * len(TINY_LINKED_DATASETS)
    assert by_rule["embed_records"] == 4 * n_models and by_rule["gather_embeddings"] == n_models
    assert by_rule["link_index"] == n_models  # each reference index written once, searched by every shard
    assert by_rule["link_records"] == 4 * len(TINY_LINKED_DATASETS)
    assert by_rule["gather_links"] == len(TINY_LINKED_DATASETS)
    outputs = {output for _, output in jobs.elements()}
    for dataset in TINY_LINKED_DATASETS:
        for model in TINY_MODELS:
            for shard in range(4):
                assert f"results/{dataset}/embeddings/shards/{model}/{shard}.npz" in outputs
        assert {f"results/{dataset}/linking/shards/{s}.parquet" for s in range(4)} <= outputs
        assert any(o.startswith(f"results/{dataset}/linking/top1.csv") for o in outputs)

    # shards: 1 (the default): today's DAG, one embed job per model and one link job per dataset, nothing gathered
    unsharded = Counter(rule for rule, _ in dry_run_jobs(tmp_path, 1).elements())
    assert unsharded["embed_records"] == n_models and unsharded["link_records"] == len(TINY_LINKED_DATASETS)
    assert not {"gather_embeddings", "link_index", "gather_links"} & set(unsharded)
    assert sum(unsharded.values()) == sum(by_rule.values()) - (3 * n_models + n_models + n_models
                                                               + 3 * len(TINY_LINKED_DATASETS)
                                                               + len(TINY_LINKED_DATASETS))  # fmt: skip


def test_sharded_rules_pass_the_linter(tmp_path):
    """``snakemake --lint`` of the rules only linking.shards > 1 defines (test_workflow lints the default DAG)."""
    workdir = copy_workflow(tmp_path / "wf")
    (workdir / "shards.yaml").write_text(yaml.safe_dump({"linking": {"shards": 2}}))
    result = run_snakemake(workdir, "--lint", "--configfile", "shards.yaml", check=False)
    linted = re.findall(r"^Lints for rule (\w+)", result.stdout + result.stderr, re.M)
    assert not set(linted) & {"embed_records", "gather_embeddings", "link_index", "link_records", "gather_links"}
    # the whole sharded DAG parsed and linted clean (a parse or config error prints no traceback)
    assert "Congratulations, your workflow is in a good condition" in result.stdout + result.stderr, result.stderr[-3000:]


@pytest.mark.parametrize("n, shards, align", [(0, 3, 1), (87, 4, 64), (130, 4, 64), (1000, 7, 1), (1000, 4, 64)])
def test_shard_slices_cover_the_records_once_cut_at_batches(n, shards, align):
    parts = [query_shards.shard_slice(n, shards, s, align) for s in range(shards)]
    assert np.array_equal(np.concatenate([np.arange(n)[p] for p in parts] or [[]]), np.arange(n))
    assert all(p.start % align == 0 or p.start == n for p in parts)  # every embedding batch whole in one shard


def linking_fixture(n_refs=300, n_test=9000, n_val=500, d=128, seed=0):
    """A manifest (indexed by record_id) and two models' embeddings, with duplicated references (exact ties)."""
    rng = np.random.default_rng(seed)
    n = n_refs + n_test + n_val
    entity = np.concatenate([np.arange(n_refs), rng.integers(0, n_refs, n_test + n_val)])
    manifest = pd.DataFrame({
        "record_id": [f"r{i:05d}" for i in range(n)],
        "entity_id": [f"e{e}" for e in entity],
        "role": ["reference"] * n_refs + ["query"] * (n_test + n_val),
        "split": ["train"] * n_refs + ["test"] * n_test + ["val"] * n_val,
        "ocr_noisy": "", "ocr_clean": "",
    }).set_index("record_id")  # fmt: skip

    def unit(x):
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    embeddings = {}
    for model in ("sup_multimodal", "sup_vision"):
        centre = rng.standard_normal((n_refs, d))
        arrays = {"record_id": manifest.index.to_numpy().astype(str)}
        for name in ("image", "text_noisy", "text_clean"):
            x = np.concatenate([centre, centre[entity[n_refs:]] + 1.5 * rng.standard_normal((n - n_refs, d))])
            x[1] = x[0]  # two references with the same embedding: a tie FAISS must break the same way
            arrays[name] = unit(x)
        embeddings[model] = arrays
    rows = [{"method": "sup_vision", "model": "sup_vision", "w": 1.0},
            {"method": "sup_multimodal", "model": "sup_multimodal", "w": 0.5}]  # fmt: skip
    return manifest, embeddings, rows


def csv_bytes(frame):
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format="%.6f")
    return buffer.getvalue()


@pytest.mark.parametrize("shards", [4])
def test_query_shards_give_the_unsharded_tables_and_tuned_w(tmp_path, shards):
    manifest, embeddings, rows = linking_fixture()
    linking = {"index": "flat", "ivf": {}, "hnsw": {}}
    whole_top1, whole_predictions = query_shards.link_whole(manifest, embeddings, rows, "sup_multimodal", linking)

    found = query_shards.searches(rows, "sup_multimodal", embeddings)
    indexes = {}
    for model, data in embeddings.items():
        path = tmp_path / f"{model}.npz"
        query_shards.save_reference_indexes(path, manifest, data, [s["w"] for s in found if s["model"] == model],
                                            linking)  # fmt: skip
        with np.load(path, allow_pickle=False) as archive:
            indexes[model] = {name: archive[name] for name in archive.files}
    hits = pd.concat([query_shards.search_shard(manifest, embeddings, indexes, found, linking, shards, s)
                      for s in range(shards)])  # fmt: skip
    ids = {model: data["record_id"] for model, data in embeddings.items()}
    top1, predictions = query_shards.gather(manifest, ids, hits, rows, "sup_multimodal")

    assert csv_bytes(top1) == csv_bytes(whole_top1)  # the tuned w and its val and test top-1 included
    assert csv_bytes(predictions) == csv_bytes(whole_predictions)
    assert np.array_equal(predictions["score"].to_numpy(), whole_predictions["score"].to_numpy())  # every bit
    assert len(whole_top1) == 2 * 2 + 2 and 0.2 < whole_top1["top1"].min()  # rows x OCR, tuned rows; not chance


def test_search_slice_gives_the_bits_of_one_search():
    rng = np.random.default_rng(2)
    index = faiss_index.build_index(rng.standard_normal((5_000, 128), dtype=np.float32), use_gpu=False)
    for n in (500, 10_000):  # FAISS's per-query kernel; its BLAS kernel in blocks of 4,096 queries
        queries = rng.standard_normal((n, 128), dtype=np.float32)
        whole = faiss_index.search(index, queries, 3)
        align = faiss_index.slice_alignment(n, 128)
        assert align == (1 if n == 500 else 4096)
        for shards in (3, 4):
            parts = [query_shards.shard_slice(n, shards, s, align) for s in range(shards)]
            pieces = [faiss_index.search_slice(index, queries, p, 3) for p in parts]
            assert np.array_equal(np.concatenate([p[0] for p in pieces]), whole[0])
            assert np.array_equal(np.concatenate([p[1] for p in pieces]), whole[1])
    with pytest.raises(ValueError, match="multiples of 4096"):
        faiss_index.search_slice(index, queries, slice(0, 1000), 3)


def test_embedding_shards_gather_into_the_unsharded_file(tmp_path):
    rng = np.random.default_rng(1)
    n, batch = 150, 64
    ids = [f"q{i}" if i % 7 else f"long_record_{i}" for i in range(n)]  # ids of different lengths: <U dtype
    image, noisy = rng.standard_normal((n, 8), dtype=np.float32), rng.standard_normal((n, 8), dtype=np.float32)
    embedding_files.save_embeddings(tmp_path / "whole.npz", ids, image, {"noisy": noisy})
    paths = []
    for shard in range(4):  # 3 batches in 4 shards: one shard is empty
        part = query_shards.shard_slice(n, 4, shard, align=batch)
        paths.append(tmp_path / f"{shard}.npz")
        if part.start == part.stop:
            embedding_files.save_empty_shard(paths[-1])
        else:
            embedding_files.save_embeddings(paths[-1], ids[part], image[part], {"noisy": noisy[part]})
    embedding_files.gather_shards(paths, tmp_path / "gathered.npz")
    whole, gathered = (np.load(tmp_path / f, allow_pickle=False) for f in ("whole.npz", "gathered.npz"))
    assert sorted(whole.files) == sorted(gathered.files)
    for name in whole.files:
        assert whole[name].dtype == gathered[name].dtype and np.array_equal(whole[name], gathered[name]), name


def test_reference_shards_merge_to_the_unsharded_top_k():
    """10^5 references split into 7 exact shards: the merged top-5 of 2,000 queries is the whole index's, every
    position and every score bit (both with FAISS's per-query kernel); against FAISS's default BLAS kernel the
    same positions and scores within float rounding."""
    rng = np.random.default_rng(0)
    references = rng.standard_normal((100_000, 128), dtype=np.float32)
    references /= np.linalg.norm(references, axis=1, keepdims=True)
    queries = rng.standard_normal((2_000, 128), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    whole = faiss_index.build_index(references, use_gpu=False)
    with faiss_index.per_query_kernel():
        scores, ids = faiss_index.search(whole, queries, 5)
    shards = reference_shards.build_reference_shards(references, 7, use_gpu=False)
    merged_scores, merged_ids = reference_shards.sharded_search(shards, queries, 5)
    assert np.array_equal(merged_ids, ids) and np.array_equal(merged_scores, scores)
    blas_scores, blas_ids = faiss_index.search(whole, queries, 5)
    assert np.array_equal(blas_ids, ids) and np.allclose(blas_scores, scores, atol=1e-5)
    # the shards' order does not matter: positions are global
    reordered = reference_shards.sharded_search(shards[::-1], queries, 5)
    assert np.array_equal(reordered[1], ids) and np.array_equal(reordered[0], scores)


def test_merge_breaks_ties_by_global_position_and_pads_short_shards():
    # shard A (positions 0..1) and shard B (positions 2..4) both hold a reference scoring 0.9 for the query
    a = (np.array([[0.9, 0.1]], np.float32), np.array([[1, 0]]), 0)
    b = (np.array([[0.9, 0.5, -3.4e38]], np.float32), np.array([[0, 2, -1]]), 2)  # only 2 of k=3 found
    for parts in ([a, b], [b, a]):
        scores, ids = reference_shards.merge_topk(parts, 4)
        assert ids.tolist() == [[1, 2, 4, 0]] and scores[0, :3].tolist() == pytest.approx([0.9, 0.9, 0.5])
    scores, ids = reference_shards.merge_topk([b], 3)
    assert ids.tolist() == [[2, 4, -1]] and scores[0, 2] == -np.inf
