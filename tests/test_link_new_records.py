"""Linking new records: the CLI links an unlabeled query manifest to a reference manifest with a trained model,
writes matches.csv, honours the tuned no-match threshold, and links a query identical to a reference to it."""

import importlib.util

import numpy as np
import pandas as pd
import pytest
import torch

from clippings_wf import image_files
from clippings_wf.linking import matching
from clippings_wf.models import artifacts
from clippings_wf.models import modeling
from clippings_wf.data.benchmark import generate_benchmark
from clippings_wf.data.user_manifest import ManifestError
from clippings_wf.models.tokenizer import CharTokenizer

from helpers import REPO

spec = importlib.util.spec_from_file_location("link_new_records", REPO / "workflow_scripts" / "link_new_records.py")
cli = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cli)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Unlabeled manifests (record_id, image_path, text: no entity_id, no role) and a quickly built model."""
    root = tmp_path_factory.mktemp("link")
    records = generate_benchmark(root / "docs", n_entities=8, distractor_fraction=0.0, n_pool=0, seed=2)
    references = records[records["role"] == "reference"][["record_id", "image_path", "text"]]
    queries = records[records["role"] == "query"][["record_id", "image_path", "text"]]
    twin = references.iloc[[3]].assign(record_id="twin_of_" + references["record_id"].iloc[3])
    queries = pd.concat([queries, twin])
    references.to_csv(root / "docs" / "references.csv", index=False)
    queries.to_csv(root / "docs" / "queries.csv", index=False)
    torch.manual_seed(0)
    bundle = modeling.load_bundle("clippings-linecnn-char", None, vocab=CharTokenizer.build(records["text"]))
    model = root / "models" / "sup_multimodal" / "model.pt"
    artifacts.save_artifact(model, bundle.model, bundle.architecture, vocab=bundle.tokenizer, extra={"w": 0.5})
    return root, model, references, queries


def _link(root, model, *extra):
    out = root / "matches.csv"
    cli.main(["--model", str(model), "--queries", str(root / "docs" / "queries.csv"), "--references",
              str(root / "docs" / "references.csv"), "--out", str(out), "--device", "auto", *extra])  # fmt: skip
    return pd.read_csv(out, dtype={"query_id": str, "reference_id": str, "top_k_reference_ids": str})


def test_matches_columns_and_identical_query(setup):
    root, model, references, queries = setup
    matches = _link(root, model, "--ocr-column", "text", "--top-k", "3")
    assert list(matches.columns) == matching.MATCH_COLUMNS
    assert matches["query_id"].tolist() == queries["record_id"].tolist()
    twin = matches.set_index("query_id").loc["twin_of_" + references["record_id"].iloc[3]]
    assert twin["reference_id"] == references["record_id"].iloc[3]
    assert twin["similarity"] == pytest.approx(1.0, abs=1e-4)
    ids = matches["top_k_reference_ids"].str.split(";")
    sims = matches["top_k_similarities"].str.split(";").map(lambda s: [float(x) for x in s])
    assert (ids.map(len) == 3).all() and (ids.str[0] == matches["reference_id"]).all()
    assert all(s == sorted(s, reverse=True) for s in sims)
    assert np.allclose(sims.str[0], matches["similarity"], atol=1e-5)
    assert not matches["no_match"].any()  # no threshold given


def test_no_match_flag_follows_the_tuned_threshold(setup):
    root, model, _, _ = setup
    similarity = _link(root, model, "--ocr-column", "text")["similarity"]
    ranked = np.sort(similarity.unique())
    threshold = float(ranked[len(ranked) // 2 - 1] + ranked[len(ranked) // 2]) / 2  # between two similarities
    table = root / "thresholds.csv"
    pd.DataFrame({"method": ["sup_vision", "sup_multimodal", "sup_multimodal"], "ocr": ["noisy", "noisy", "clean"],
                  "threshold": [-1.0, threshold, 2.0]}).to_csv(table, index=False)  # fmt: skip
    # --method defaults to the model's folder name (sup_multimodal), --ocr to noisy.
    matches = _link(root, model, "--ocr-column", "text", "--thresholds", str(table))
    assert (matches["no_match"] == (matches["similarity"] < threshold)).all()
    assert 0 < matches["no_match"].sum() < len(matches)
    assert np.allclose(matches["threshold"], threshold, atol=1e-6)
    with pytest.raises(ValueError, match="no threshold for method 'sup_language'"):
        _link(root, model, "--ocr-column", "text", "--thresholds", str(table), "--method", "sup_language")


def test_without_ocr_column_tesseract_reads_the_crops(setup):
    root, model, references, queries = setup
    few = root / "docs" / "few"  # absolute image paths, inside the folder the images are allowed in (docs)
    few.mkdir(exist_ok=True)
    absolute = lambda frame: frame.assign(image_path=[str(root / "docs" / p) for p in frame["image_path"]])  # noqa: E731
    absolute(references.iloc[1:4][["record_id", "image_path"]]).to_csv(few / "references.csv", index=False)
    absolute(queries.tail(2)[["record_id", "image_path"]]).to_csv(few / "queries.csv", index=False)
    with pytest.raises(ManifestError, match=r"record_id 'r\d+'.*column image_path.*outside the manifest's folder"):
        matching.load_records(few / "references.csv", None, "jpn", "jpn_vert", 256)
    with image_files.extra_roots([root / "docs"]):
        records = matching.load_records(few / "references.csv", None, "jpn", "jpn_vert", 256)
    assert (records["text"].str.len() > 0).all()
    out = root / "few_matches.csv"
    with image_files.extra_roots([root / "docs"]):
        cli.main(["--model", str(model), "--queries", str(few / "queries.csv"), "--references",
                  str(few / "references.csv"), "--out", str(out), "--threshold", "0.5"])  # fmt: skip
    matches = pd.read_csv(out, dtype=str)
    assert len(matches) == 2 and matches["reference_id"].isin(references["record_id"]).all()
    twin = queries["record_id"].iloc[-1]
    # The same crop read by the same Tesseract gives the same embedding: the twin links to its reference.
    assert matches.set_index("query_id").loc[twin, "reference_id"] == references["record_id"].iloc[3]


def test_bad_inputs_fail_naming_the_record(setup, tmp_path):
    root, model, references, _ = setup
    (tmp_path / "empty.csv").write_text("record_id,image_path,text\n")
    with pytest.raises(ManifestError, match="the manifest has no records"):
        cli.main(["--model", str(model), "--queries", str(root / "docs" / "queries.csv"), "--references",
                  str(tmp_path / "empty.csv"), "--out", str(tmp_path / "m.csv"), "--ocr-column", "text"])  # fmt: skip
    data = (root / "docs" / references["image_path"].iloc[0]).read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 3])
    broken = references.head(2).assign(
        image_path=[str(tmp_path / "cut.png"), str(root / "docs" / references["image_path"].iloc[1])]
    )
    broken.to_csv(tmp_path / "queries.csv", index=False)
    with pytest.raises(ManifestError, match=rf"line 2 \(record_id '{references['record_id'].iloc[0]}'\): image file "
                                            r"cannot be decoded"):  # fmt: skip
        cli.main(["--model", str(model), "--queries", str(tmp_path / "queries.csv"), "--references",
                  str(root / "docs" / "references.csv"), "--out", str(tmp_path / "m.csv"), "--ocr-column", "text"])
    assert not (tmp_path / "m.csv").exists()
