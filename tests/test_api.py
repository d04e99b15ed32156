"""The Python API over an exported model (clippings_wf.api) and the `clippings` command over it: embedding, linking
with the bundle's tuned no-match threshold, entity ids in matches.csv, a saved reference index that only its own
model may use, clustering and deduplication at a threshold, and the command's help and runs."""

import hashlib
import json
import os
import subprocess
import sys
import tomllib

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.sparse.csgraph import connected_components

from clippings_wf import api, cli
from clippings_wf.data.benchmark import generate_benchmark
from clippings_wf.linking import matching
from clippings_wf.linking.reference_index import IndexMismatchError, ReferenceIndex
from clippings_wf.models import architectures, artifacts, modeling
from clippings_wf.models.tokenizer import CharTokenizer

from helpers import REPO

TEXT = {"ocr_column": "text"}


def write_bundle(folder, model_pt, nomatch=None, cluster=None, fmt=1, record_kind="text_line"):
    """An exported bundle as the export rule writes it: model.pt beside bundle.json (the contract's fields)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = model_pt.read_bytes()
    (folder / "model.pt").write_bytes(data)
    info = {"format": fmt, "dataset": "tiny", "model": "sup_multimodal", "method": "sup_multimodal", "w": 0.5,
            "record_kind": record_kind, "ocr": {"lang": "jpn", "lang_vertical": "jpn_vert"},
            "thresholds": {"nomatch": nomatch or {}, "cluster": cluster or {}}, "cluster_neighbours": 50,
            "model_sha256": hashlib.sha256(data).hexdigest()}  # fmt: skip
    (folder / "bundle.json").write_text(json.dumps(info))
    (folder / "README.md").write_text("model card\n")
    return folder


def save_model(path, records, seed, embed_dim=None):
    """A quickly built, untrained model saved as an artifact (another seed: other weights; embed_dim: another
    dimension, written with its own config since save_artifact takes the architecture's)."""
    torch.manual_seed(seed)
    bundle = modeling.load_bundle("clippings-linecnn-char", None, vocab=CharTokenizer.build(records["text"]))
    artifacts.save_artifact(path, bundle.model, bundle.architecture, vocab=bundle.tokenizer, extra={"w": 0.5})
    if embed_dim is not None:
        ckpt = torch.load(path, weights_only=True)
        cfg = dict(ckpt["model_cfg"], embed_dim=embed_dim)
        small = architectures.create(ckpt["architecture"], cfg, "cpu")
        torch.save({**ckpt, "model_cfg": cfg, "state_dict": small.state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Manifests (references with entity_id; queries with a twin of reference 3) and a bare model.pt."""
    root = tmp_path_factory.mktemp("api")
    records = generate_benchmark(root / "docs", n_entities=8, distractor_fraction=0.0, n_pool=0, seed=2)
    references = records[records["role"] == "reference"][["record_id", "image_path", "text", "entity_id"]]
    queries = records[records["role"] == "query"][["record_id", "image_path", "text"]]
    twin = references.iloc[[3]].drop(columns="entity_id").assign(record_id="twin_of_" + references["record_id"].iloc[3])
    queries = pd.concat([queries, twin])
    references.to_csv(root / "docs" / "references.csv", index=False)
    references.drop(columns="entity_id").to_csv(root / "docs" / "references_no_entity.csv", index=False)
    queries.to_csv(root / "docs" / "queries.csv", index=False)
    model_pt = save_model(root / "models" / "sup_multimodal" / "model.pt", records, seed=0)
    return root, model_pt, references, queries


@pytest.fixture(scope="module")
def bare(setup):
    return api.load_model(setup[1], device="cpu")


@pytest.fixture(scope="module")
def tuned(setup, bare):
    """A bundle whose noisy no-match threshold lies between two of the queries' best similarities."""
    root, model_pt, _, _ = setup
    best = np.sort(bare.link(root / "docs" / "queries.csv", root / "docs" / "references.csv", threshold=None,
                             **TEXT)["similarity"].unique())  # fmt: skip
    threshold = float(best[len(best) // 2 - 1] + best[len(best) // 2]) / 2
    folder = write_bundle(root / "export" / "sup_multimodal", model_pt, nomatch={"noisy": threshold, "clean": 2.0},
                          cluster={"noisy": 0.9, "clean": 0.95})  # fmt: skip
    return api.load_model(folder, device="cpu"), threshold


def test_embed_shape_norm_and_dataframe_input(setup, bare, monkeypatch):
    root, _, references, _ = setup
    emb = bare.embed(root / "docs" / "references.csv", **TEXT)
    assert emb.shape == (len(references), 128) and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # A DataFrame with relative image paths (against the working folder, which they may not leave) gives the same
    # embeddings.
    monkeypatch.chdir(root)
    frame = references.assign(image_path=[os.path.relpath(root / "docs" / p) for p in references["image_path"]])
    assert np.allclose(bare.embed(frame, **TEXT), emb, atol=1e-6)


def test_link_tuned_threshold_and_entity_ids(setup, tuned):
    root, _, references, queries = setup
    model, threshold = tuned
    matches = model.link(root / "docs" / "queries.csv", root / "docs" / "references.csv", top_k=3, **TEXT)
    assert matches["query_id"].tolist() == queries["record_id"].tolist()
    assert (matches["no_match"] == (matches["similarity"] < threshold)).all()
    assert 0 < matches["no_match"].sum() < len(matches)
    assert np.allclose(matches["threshold"], threshold)
    assert model.link(root / "docs" / "queries.csv", root / "docs" / "references.csv", ocr="clean",
                      **TEXT)["no_match"].all()  # the clean threshold (2.0) is above every similarity
    entity = references.set_index("record_id")["entity_id"]
    assert list(matches.columns[:3]) == ["query_id", "reference_id", matching.ENTITY_COLUMN]
    assert (matches[matching.ENTITY_COLUMN] == entity.loc[matches["reference_id"]].to_numpy()).all()
    twin = matches.set_index("query_id").loc["twin_of_" + references["record_id"].iloc[3]]
    assert twin[matching.ENTITY_COLUMN] == references["entity_id"].iloc[3]
    plain = model.link(root / "docs" / "queries.csv", root / "docs" / "references_no_entity.csv", **TEXT)
    assert list(plain.columns) == matching.MATCH_COLUMNS  # no entity_id in the manifest: no entity column


def test_tuned_threshold_missing_fails_clearly(setup, bare):
    root, model_pt, _, _ = setup
    with pytest.raises(ValueError, match="bare model file without bundle.json.*no tuned nomatch threshold"):
        bare.link(root / "docs" / "queries.csv", root / "docs" / "references.csv", **TEXT)
    empty = api.load_model(write_bundle(root / "export" / "empty", model_pt), device="cpu")
    with pytest.raises(ValueError, match=r"no tuned cluster threshold for 'noisy' OCR \(it has: none\)"):
        empty.cluster(root / "docs" / "references.csv", **TEXT)


def test_another_w_drops_the_tuned_thresholds(setup, tuned):
    # Thresholds were tuned on similarities at the bundle's w: at another w "tuned" has nothing to offer.
    root, _, _, _ = setup
    at_bundle_w = api.load_model(tuned[0].path, device="cpu", w=0.5)
    assert at_bundle_w.tuned_threshold("nomatch") == tuned[1]
    other = api.load_model(tuned[0].path, device="cpu", w=0.8)
    with pytest.raises(ValueError, match="no tuned nomatch threshold"):
        other.link(root / "docs" / "queries.csv", root / "docs" / "references.csv", **TEXT)


def test_photo_caption_bundle_needs_the_captions_text(setup, tmp_path):
    # Without an OCR column Tesseract would read the photo itself: refused, and the message says what to pass.
    root, model_pt, _, _ = setup
    photos = api.load_model(write_bundle(tmp_path / "photo", model_pt, record_kind="photo_caption"), device="cpu")
    with pytest.raises(ValueError, match="photos with their captions.*--ocr-column"):
        photos.embed(root / "docs" / "references.csv")
    assert photos.embed(root / "docs" / "references.csv", **TEXT).shape[0] > 0


def test_saved_index_gives_identical_matches(setup, tuned, tmp_path):
    root, _, _, _ = setup
    model, _ = tuned
    index = model.index(root / "docs" / "references.csv", **TEXT)
    index.save(tmp_path / "refs")  # saved at exactly this path, no suffix added
    loaded = model.load_index(tmp_path / "refs")
    assert loaded.identity == model.identity and (loaded.entity_ids == index.entity_ids).all()
    direct = model.link(root / "docs" / "queries.csv", root / "docs" / "references.csv", top_k=4, **TEXT)
    reused = model.link(root / "docs" / "queries.csv", loaded, top_k=4, **TEXT)
    pd.testing.assert_frame_equal(direct, reused)


def test_index_of_another_model_or_dimension_is_refused(setup, tuned, tmp_path):
    root, _, references, _ = setup
    model, _ = tuned
    model.index(root / "docs" / "references.csv", **TEXT).save(tmp_path / "refs.npz")
    records = pd.read_csv(root / "docs" / "queries.csv")
    other = api.load_model(save_model(tmp_path / "other.pt", pd.concat([references, records]), seed=1), "cpu")
    mine, theirs = model.identity.model_sha256[:12], other.identity.model_sha256[:12]
    assert mine != theirs
    with pytest.raises(IndexMismatchError, match=f"made by model {mine}.*not by the model given, model {theirs}"):
        other.load_index(tmp_path / "refs.npz")
    small = api.load_model(save_model(tmp_path / "small.pt", pd.concat([references, records]), 2, embed_dim=64), "cpu")
    with pytest.raises(IndexMismatchError, match=f"dimension 128 \\(model {mine}.*dimension 64 \\(model "):
        small.link(root / "docs" / "queries.csv", ReferenceIndex.load(tmp_path / "refs.npz"), threshold=None, **TEXT)
    with pytest.raises(IndexMismatchError, match="w 0.5, the model is used with w 0.7"):
        api.load_model(root / "export" / "sup_multimodal", "cpu", w=0.7).load_index(tmp_path / "refs.npz")


def test_unknown_bundle_and_index_formats_are_refused(setup, tuned, tmp_path):
    root, model_pt, _, _ = setup
    with pytest.raises(ValueError, match="bundle format 2, but this version of clippings_wf reads format 1"):
        api.load_model(write_bundle(tmp_path / "future", model_pt, fmt=2), "cpu")
    model, _ = tuned
    model.index(root / "docs" / "references.csv", **TEXT).save(tmp_path / "refs.npz")
    with np.load(tmp_path / "refs.npz") as saved:
        arrays = {k: saved[k] for k in saved.files}
    np.savez(tmp_path / "future.npz", **{**arrays, "format": np.int64(7)})
    with pytest.raises(IndexMismatchError, match="reference index format 7, but .* reads format 1"):
        model.load_index(tmp_path / "future.npz")


def _expected_clusters(emb, threshold):
    """Single linkage from the full similarity matrix: components of the pairs at or above the threshold."""
    return connected_components(emb @ emb.T >= threshold, directed=False)[1]


def test_cluster_joins_twins_and_follows_the_threshold(setup, tuned, tmp_path):
    root, _, references, queries = setup
    model, _ = tuned
    records = pd.concat([references.drop(columns="entity_id"), queries.tail(1)])  # the twin of reference 3
    records.to_csv(root / "docs" / "records.csv", index=False)
    path = root / "docs" / "records.csv"
    emb = model.embed(path, **TEXT)
    sims = np.sort((emb @ emb.T)[np.triu_indices(len(emb), 1)])
    for threshold in (sims[len(sims) // 2], sims[-3], 1.01):
        clusters = model.cluster(path, threshold=float(threshold), **TEXT)
        expected = _expected_clusters(emb, threshold)
        assert pd.crosstab(clusters["cluster_id"], expected).gt(0).sum(axis=1).eq(1).all()  # same partition
        assert clusters["cluster_id"].nunique() == len(np.unique(expected))
    assert model.cluster(path, threshold=1.01, **TEXT)["cluster_id"].nunique() == len(records)
    joined = model.cluster(path, threshold=0.999, **TEXT).set_index("record_id")["cluster_id"]
    assert joined.loc[records["record_id"].iloc[3]] == joined.loc[records["record_id"].iloc[-1]]
    pd.testing.assert_frame_equal(model.cluster(path, **TEXT), model.cluster(path, threshold=0.9, **TEXT))
    dedup = model.deduplicate(path, threshold=0.999, **TEXT).set_index("record_id")
    twin, original = records["record_id"].iloc[-1], records["record_id"].iloc[3]
    assert dedup.loc[twin, "is_duplicate"] and not dedup.loc[original, "is_duplicate"]
    assert dedup.loc[twin, "representative_id"] == original and dedup.loc[twin, "cluster_size"] >= 2
    assert (~dedup["is_duplicate"]).sum() == dedup["cluster_id"].nunique()


def _subcommands():
    parser = cli.build_parser()
    (sub,) = [a for a in parser._actions if a.choices and "link" in a.choices]
    return sub.choices


@pytest.mark.parametrize("command", ["link", "cluster"])
def test_help_documents_every_option(command):
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow_scripts")}
    result = subprocess.run([sys.executable, "-m", "clippings_wf", command, "--help"], capture_output=True,
                            text=True, env=env, check=True)  # fmt: skip
    options = [a for a in _subcommands()[command]._actions if a.option_strings and a.dest != "help"]
    assert len(options) >= 12
    for action in options:
        assert action.help, f"{action.option_strings} has no help text"
        assert action.option_strings[0] in result.stdout
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["clippings"] == "clippings_wf.cli:run"


def test_cli_link_save_index_reuse_and_cluster(setup, tuned, tmp_path):
    root, _, _, _ = setup
    model, threshold = tuned
    bundle, docs = str(root / "export" / "sup_multimodal"), root / "docs"
    common = ["--model", bundle, "--ocr-column", "text", "--device", "cpu"]
    assert cli.main(["link", *common, "--queries", str(docs / "queries.csv"), "--references",
                     str(docs / "references.csv"), "--save-index", str(tmp_path / "refs.npz"), "--out",
                     str(tmp_path / "first.csv")]) == 0  # fmt: skip
    assert cli.main(["link", *common, "--queries", str(docs / "queries.csv"), "--index", str(tmp_path / "refs.npz"),
                     "--out", str(tmp_path / "again.csv")]) == 0  # fmt: skip
    first = pd.read_csv(tmp_path / "first.csv", dtype=str)
    assert (tmp_path / "first.csv").read_bytes() == (tmp_path / "again.csv").read_bytes()
    assert matching.ENTITY_COLUMN in first and np.allclose(first["threshold"].astype(float), threshold, atol=1e-6)
    assert 0 < (first["no_match"] == "True").sum() < len(first)  # the bundle's tuned threshold is the default
    assert cli.main(["cluster", *common, "--records", str(docs / "references.csv"), "--threshold", "0.5", "--dedup",
                     "--out", str(tmp_path / "clusters.csv")]) == 0  # fmt: skip
    clusters = pd.read_csv(tmp_path / "clusters.csv", dtype={"record_id": str, "representative_id": str})
    assert list(clusters.columns) == ["record_id", "cluster_id", "cluster_size", "representative_id", "is_duplicate"]
    expected = model.deduplicate(docs / "references.csv", threshold=0.5, **TEXT)
    assert clusters["cluster_id"].tolist() == expected["cluster_id"].tolist()
    # A bad input ends the command with its message and status 1, not a traceback.
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow_scripts")}
    result = subprocess.run([sys.executable, "-m", "clippings_wf", "link", "--model", bundle, "--w", "0.7",
                             "--queries", str(docs / "queries.csv"), "--index", str(tmp_path / "refs.npz"),
                             "--out", str(tmp_path / "bad.csv"), "--ocr-column", "text"],
                            capture_output=True, text=True, env=env)  # fmt: skip
    assert result.returncode == 1 and "w 0.5, the model is used with w 0.7" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "bad.csv").exists()
