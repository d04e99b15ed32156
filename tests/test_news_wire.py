"""The news_wire benchmark: the generator (determinism, split by parent picture, leakage, every edit and
degradation) and a tiny end-to-end run of the dataset through the workflow."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from helpers import REPO, copy_workflow, run_snakemake

from clippings_wf.data import captions, photos
from clippings_wf.data.leakage import check_no_leakage
from clippings_wf.data.news_wire import generate_news_wire


def _digest(folder):
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def news(tmp_path_factory):
    out = tmp_path_factory.mktemp("news")
    return out, generate_news_wire(out, n_entities=96, n_pool=34, seed=5)


def test_same_seed_same_bytes(news, tmp_path):
    out, records = news
    again = generate_news_wire(tmp_path, n_entities=96, n_pool=34, seed=5)
    pd.testing.assert_frame_equal(records, again)
    assert _digest(out) == _digest(tmp_path)
    other = generate_news_wire(tmp_path / "other", n_entities=96, n_pool=34, seed=6)
    assert not records["text"].equals(other["text"])


def test_sources_printed_one_to_four_times_split_by_picture(news):
    out, records = news
    labelled = records[records["role"] == "record"]
    assert labelled["entity_id"].nunique() == 96
    printings = labelled.groupby("entity_id").size()
    assert printings.between(1, 4).all() and (printings == 1).sum() > (printings == 4).sum()
    # Every printing of a source is of one picture and split; every picture is in one split.
    assert (labelled.groupby("entity_id")[["picture", "split", "base_name"]].nunique() == 1).all().all()
    assert (records[records["split"] != "pool"].groupby("picture")["split"].nunique() == 1).all()
    assert set(records["split"]) == {"train", "val", "test", "pool"}
    pool = records[records["role"] == "unlabeled"]
    assert len(pool) == 34 and (pool["entity_id"] == "").all()
    train_pictures = set(records.loc[records["split"] == "train", "picture"])
    assert set(pool["picture"]) <= train_pictures
    assert set(records["picture"]) <= {p.name for p in photos.PICTURES}
    pictures = pd.read_csv(out / "pictures.csv")  # the dataset's summary: every photograph's origin and licence
    assert list(pictures["picture"]) == [p.name for p in photos.PICTURES]
    assert pictures["licence"].notna().all() and pictures["sources"].sum() == 96
    assert (pictures.set_index("picture")["split"].reindex(labelled["picture"]).to_numpy() == labelled["split"]).all()


def test_no_validation_or_test_source_reaches_a_training_pool(news):
    _, records = news
    check_no_leakage(records)
    held = records[records["split"] == "val"].iloc[0]
    # a crop of a validation picture in the pool, or a validation caption in the training split, is refused
    moved = records.copy()
    moved.loc[moved.index[moved["split"] == "pool"][0], "picture"] = held["picture"]
    with pytest.raises(ValueError, match="parent pictures in the unlabeled pool"):
        check_no_leakage(moved)
    copied = records.copy()
    copied.loc[copied.index[copied["split"] == "train"][0], "base_name"] = held["base_name"]
    with pytest.raises(ValueError, match="val/test firm names in the train split"):
        check_no_leakage(copied)
    train_row = records.index[records["split"] == "train"][0]
    for column, message in (("entity_id", "entity ids in the train split"),
                            ("picture", "parent pictures in the train split")):  # fmt: skip
        changed = records.copy()
        changed.loc[train_row, column] = held[column]
        with pytest.raises(ValueError, match=message):
            check_no_leakage(changed)


def test_every_edit_and_degradation_present_and_files_written(news):
    out, records = news
    edits = set(" ".join(records["edits"].fillna("")).split())
    degradations = set(" ".join(records["degradations"].fillna("")).split())
    assert edits == set(captions.EDITS)
    assert degradations == set(photos.DEGRADATIONS)
    for column in ("image_path", "ocr_image_path", "clean_ocr_image_path"):
        assert all((out / p).is_file() for p in records[column])
    # the printed caption is the wire caption edited: they share most words but not always all
    wire, printed = records["base_name"].str.lower().str.split(), records["text"].str.lower().str.split()
    shared = np.array([len(set(a) & set(b)) / len(set(b)) for a, b in zip(wire, printed)])
    assert shared.mean() > 0.5 and (records["base_name"] != records["text"]).mean() > 0.5


@pytest.mark.e2e
def test_news_wire_runs_end_to_end(tmp_path):
    """The dataset through every stage: OCR of the caption blocks, the photo encoder, self-supervised and
    supervised training, embedding, the baselines (caption Jaccard, TF-IDF, pHash) and the clustering table."""
    workdir = copy_workflow(tmp_path)
    (workdir / "config_tiny_news.yaml").write_text((REPO / "tests" / "config_tiny_news.yaml").read_text())
    run_snakemake(workdir, "--configfile", "config_tiny.yaml", "config_tiny_news.yaml")
    results = workdir / "results" / "news_wire"
    manifest = pd.read_csv(results / "data" / "manifest.csv", dtype=str, keep_default_na=False)
    assert (manifest["ocr_noisy"] != "").mean() > 0.9 and "ocr_modern" not in manifest
    table = pd.read_csv(results / "tables" / "clustering.csv")
    assert {"Sup multimodal", "Sup vision", "Sup language", "Caption word Jaccard", "Char TF-IDF (n-grams tuned)",
            "pHash (photo only)"} <= set(table["method"])  # fmt: skip
    assert table["ari"].between(-1, 1).all() and table["sibling_top1"].between(0, 1).all()
    phash = table[table["method"] == "pHash (photo only)"]
    assert set(phash["ocr"]) == {"noisy", "clean"} and phash["ari"].nunique() == 1  # the photo reads no OCR
    paper = table.set_index(["method", "ocr"])["paper_ari"]
    assert paper[("Caption word Jaccard", "noisy")] == pytest.approx(0.403)
    assert paper[("Sup multimodal", "noisy")] == pytest.approx(0.615)
    assert np.isnan(paper[("Sup vision", "noisy")])  # no number where the paper has no row
    comparisons = pd.read_csv(results / "tables" / "clustering_comparisons.csv")
    assert set(comparisons["method"]) == {"Sup multimodal"} and len(comparisons) == 2 * (len(table) // 2 - 1)
    for figure in ("clustering", "cluster_gallery", "example_records"):
        assert (results / "figures" / f"{figure}.png").is_file(), figure
    assert (results / "data" / "pictures.csv").is_file()
    assert not (results / "tables" / "main_results.csv").exists()
    # Its exported model: clustering thresholds only (no no-match evaluation), photo records, no synthetic renders.
    bundle = json.loads((results / "export" / "sup_multimodal" / "bundle.json").read_text())
    assert bundle["record_kind"] == "photo_caption" and bundle["thresholds"]["nomatch"] == {}
    assert set(bundle["thresholds"]["cluster"]) == {"noisy", "clean"}
    card = (results / "export" / "sup_multimodal" / "README.md").read_text()
    assert "Clustering ARI" in card and "Synthetic renders" not in card
