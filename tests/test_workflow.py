"""The workflow itself: lint, formatting, failing fast on a bad config, and the tiny configuration end to end."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO

BIN = Path(sys.executable).parent
WORKFLOW_FILES = ["Snakefile", "config.yaml", "rules", "schemas", "workflow_scripts", "report", "profiles", "envs"]


def _copy_workflow(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest / name)
    shutil.copy(REPO / "tests" / "config_tiny.yaml", dest / "config_tiny.yaml")
    return dest


def _snakemake(workdir: Path, *args, check=True):
    result = subprocess.run(
        [str(BIN / "snakemake"), "--cores", "2", *args], cwd=workdir, capture_output=True, text=True
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


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


def _run_tiny(workdir: Path) -> Path:
    _copy_workflow(workdir)
    _snakemake(workdir, "--configfile", "config_tiny.yaml")
    return workdir / "results" / "jp_firms"


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """The tiny configuration, run twice from scratch with the same seed."""
    root = tmp_path_factory.mktemp("tiny")
    return _run_tiny(root / "first"), _run_tiny(root / "second")


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
    # Every benchmarked job is matched to its rule's declared mem_mb, and stayed within it.
    memory = pd.read_csv(results / "tables" / "resources.csv")
    assert {"ocr_records", "warmup_vision", "supcon_labelled", "embed_records", "link_records"} <= set(memory["rule"])
    assert memory["mem_mb_declared"].notna().all() and memory["within"].all(), memory


SEEDED_OUTPUTS = ["data/records.csv", "data/manifest.csv", "synthetic/views.parquet", "baselines/top1.csv",
                  "linking/top1.csv", "tables/main_results.csv"]  # fmt: skip


def test_same_seed_gives_identical_manifest_and_tables(tiny_runs):
    # Every table, the trained models' top-1 included: training is bit-identical on CPU (clippings_wf.determinism).
    first, second = tiny_runs
    for relative in SEEDED_OUTPUTS:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative
    for model in first.glob("models/*/metrics.csv"):
        assert model.read_bytes() == (second / model.relative_to(first)).read_bytes(), model


def test_another_seed_changes_manifest_and_baseline_table(tiny_runs, tmp_path):
    # Only the cheap targets: that another training seed changes the weights is shown in test_determinism.py.
    workdir = _copy_workflow(tmp_path / "seed7")
    targets = ["results/jp_firms/data/manifest.csv", "results/jp_firms/baselines/top1.csv"]
    # A config file, not --config: snakemake reads nested --config values as strings ('7').
    (workdir / "seed7.yaml").write_text("datasets:\n  jp_firms:\n    generate:\n      seed: 7\n")
    _snakemake(workdir, *targets, "--configfile", "config_tiny.yaml", "seed7.yaml")
    first = tiny_runs[0]
    for relative in ("data/manifest.csv", "baselines/top1.csv"):
        assert (workdir / "results" / "jp_firms" / relative).read_bytes() != (first / relative).read_bytes()


def test_report_builds(tiny_runs):
    workdir = tiny_runs[0].parents[1]
    _snakemake(workdir, "--configfile", "config_tiny.yaml", "--report", "report.html")
    assert (workdir / "report.html").stat().st_size > 10_000
