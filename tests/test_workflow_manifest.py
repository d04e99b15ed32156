"""Your own data through the workflow: a bad manifest stops Snakemake before any job; a manifest of images with
labels and no OCR runs end to end (OCR by the workflow) with the tiny training settings."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from clippings_wf.data import leakage
from example_manifest import write_example_manifest
from helpers import REPO, copy_workflow, run_snakemake


def _manifest_config(workdir: Path, manifest: Path) -> None:
    """The workflow's config.yaml with one dataset, my_docs, from the manifest; training as tests/config_tiny.yaml."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    tiny = yaml.safe_load((REPO / "tests" / "config_tiny.yaml").read_text())
    config["datasets"] = {"my_docs": {"manifest": str(manifest)}}
    config["training"], config["report"] = tiny["training"], tiny["report"]
    # Cheaper still: one supervised variant (the multimodal one the gallery needs), no unimodal baseline.
    config["training"]["supervised"]["variants"] = {"multimodal": 0.5}
    config["training"]["unimodal_vision"] = False
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))


def test_bad_manifest_fails_before_any_job(tmp_path):
    manifest = write_example_manifest(tmp_path / "docs", n_entities=6)
    frame = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    frame.loc[2, "image_path"] = "images/missing.png"
    frame.to_csv(manifest, index=False)
    workdir = copy_workflow(tmp_path / "wf")
    _manifest_config(workdir, manifest)
    result = run_snakemake(workdir, check=False)
    assert result.returncode != 0
    assert f"datasets.my_docs.manifest: {manifest}: invalid manifest" in result.stderr
    assert f"line 4 (record_id {frame.loc[2, 'record_id']!r}): image file not found" in result.stderr
    assert not (workdir / "results").exists() and not (workdir / "logs").exists()


@pytest.fixture(scope="module")
def manifest_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("manifest_run")
    manifest = write_example_manifest(root / "docs", n_entities=40)
    workdir = copy_workflow(root / "wf")
    _manifest_config(workdir, manifest)
    run_snakemake(workdir)
    return workdir / "results" / "my_docs"


@pytest.mark.e2e
def test_manifest_of_images_runs_end_to_end(manifest_run):
    table = pd.read_csv(manifest_run / "tables" / "main_results.csv")
    assert {"Levenshtein", "Char TF-IDF (n-grams tuned)", "SelfSup multimodal", "Sup multimodal"} <= set(table["method"])
    assert table["top1_noisy"].between(0, 1).all()
    assert "no ground-truth text" in (manifest_run / "tables" / "main_results.md").read_text()
    for later in ("nomatch.csv", "clustering.csv"):  # the other evaluations run unchanged on it too
        assert len(pd.read_csv(manifest_run / "tables" / later)) > 0, later
    records = pd.read_csv(manifest_run / "data" / "manifest.csv", dtype=str, keep_default_na=False)
    # OCR was done by the workflow (the manifest had none); without clean images, clean repeats noisy.
    assert (records["ocr_noisy"] != "").mean() > 0.9
    assert records["ocr_clean"].equals(records["ocr_noisy"])
    assert (records.groupby("entity_id")["split"].nunique() == 1).all()
    summary = pd.read_csv(manifest_run / "data" / "summary.csv").set_index("metric")["value"]
    assert summary["split"] == "seeded (seed 0)" and int(summary["no_match_queries"]) == 0
    views = pd.read_parquet(manifest_run / "synthetic" / "views.parquet", columns=["base_name", "text"])
    train_names = set(records.loc[records["split"] == "train", "base_name"]) - {""}
    assert set(views["base_name"]) <= train_names and (views["text"] == views["base_name"]).all()
    leakage.check_no_leakage(records, views)


@pytest.mark.e2e
def test_records_without_references_are_evaluated_by_clustering_alone(tmp_path):
    """evaluation: clustering: a manifest of labelled records with no role column (every row a record) is
    imported, OCR'd, trained on and clustered; the linking tables (main table, findings, no-match) are skipped,
    not failed."""
    manifest = write_example_manifest(tmp_path / "docs", n_entities=24)
    pd.read_csv(manifest, dtype=str).drop(columns=["role"]).to_csv(manifest, index=False)
    workdir = copy_workflow(tmp_path / "wf")
    _manifest_config(workdir, manifest)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["datasets"]["my_docs"]["evaluation"] = "clustering"
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    run_snakemake(workdir)
    results = workdir / "results" / "my_docs"
    records = pd.read_csv(results / "data" / "manifest.csv", dtype=str, keep_default_na=False)
    assert set(records["role"]) == {"record"}
    summary = pd.read_csv(results / "data" / "summary.csv").set_index("metric")["value"]
    assert int(summary["records_val"]) > 0 and int(summary["records_test"]) > 0
    clustering = pd.read_csv(results / "tables" / "clustering.csv")
    assert {"Sup multimodal", "Levenshtein"} <= set(clustering["method"]) and clustering["ari"].between(-1, 1).all()
    embedded = np.load(results / "embeddings" / "sup_multimodal.npz")["record_id"]
    assert set(embedded) == set(records.loc[records["split"].isin(["val", "test"]), "record_id"])
    assert not (results / "tables" / "main_results.csv").exists() and not (results / "nomatch").exists()
