"""The workflow itself: lint, formatting, failing fast on a bad config, and the tiny configuration end to end."""

import subprocess

import pandas as pd
import pytest

from conftest import BIN, DETERMINISTIC_OUTPUTS, REPO
from conftest import copy_workflow as _copy_workflow
from conftest import run_snakemake as _snakemake
from conftest import run_tiny as _run_tiny


def test_lint_is_clean():
    result = _snakemake(REPO, "--lint")
    assert "Congratulations, your workflow is in a good condition" in result.stdout + result.stderr


def test_snakefmt_check():
    result = subprocess.run([str(BIN / "snakefmt"), "--check", "."], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_bad_config_fails_before_any_job(tmp_path):
    workdir = _copy_workflow(tmp_path / "wf")
    (workdir / "bad.yaml").write_text("datasets:\n  jp_firms:\n    generate:\n      n_entities: -3\n")
    result = _snakemake(workdir, "--configfile", "bad.yaml", check=False)
    assert result.returncode != 0
    assert "n_entities" in result.stderr and "-3" in result.stderr
    assert not (workdir / "results").exists()


@pytest.fixture(scope="module")
def tiny_runs(tiny_run, tmp_path_factory):
    """The tiny configuration, run twice from scratch with the same seed (the first run is the session's)."""
    return tiny_run, _run_tiny(tmp_path_factory.mktemp("tiny") / "second")


def test_tiny_run_fills_the_table(tiny_runs):
    results, _ = tiny_runs
    table = pd.read_csv(results / "tables" / "main_results.csv")
    expected = {"Levenshtein", "Stroke n-gram", "Char TF-IDF (n-grams tuned)", "SelfSup multimodal", "Sup vision",
                "Sup language", "Sup multimodal", "Unimodally pretrained ViT"}  # fmt: skip
    assert expected <= set(table["method"])
    for column in ("top1_noisy", "top1_clean"):
        assert table[column].between(0, 1).all(), table[column]
    # String matching on tiny data is far above chance (1 / number of references).
    classical = table[table["group"] == "classical"]
    assert classical["top1_clean"].max() > 0.5
    assert table["best_noisy"].sum() == 1
    for figure in ("main_results", "example_records", "training_curves", "retrieval_gallery", "embedding_map"):
        assert (results / "figures" / f"{figure}.png").stat().st_size > 1000
    quality = pd.read_csv(results / "data" / "ocr_quality.csv")
    assert set(quality["condition"]) == {"noisy", "clean"}


def test_same_seed_gives_identical_manifest_and_baseline_table(tiny_runs):
    # The data, the OCR and the string baselines are byte-identical across runs. Training is not yet: the first
    # step's loss matches, later vision-tower steps differ on a 2-thread CPU (see README, known limits).
    first, second = tiny_runs
    for relative in DETERMINISTIC_OUTPUTS:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative


def test_report_builds(tiny_runs):
    workdir = tiny_runs[0].parents[1]
    _snakemake(workdir, "--configfile", "config_tiny.yaml", "--report", "report.html")
    assert (workdir / "report.html").stat().st_size > 10_000
