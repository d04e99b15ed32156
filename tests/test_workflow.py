"""The workflow itself: lint, formatting, failing fast on a bad config, and the tiny configuration end to end."""

import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pandas as pd
import pytest

from clippings_wf.records import ocr_conditions
from conftest import BIN, DETERMINISTIC_OUTPUTS, REPO, SAME_SEED_COMPARED, assert_same_outputs, skipped_steps
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


def test_tiny_run_fills_the_table(tiny_run):
    results = tiny_run
    table = pd.read_csv(results / "tables" / "main_results.csv")
    expected = {"Levenshtein", "Stroke n-gram", "Char TF-IDF (n-grams tuned)", "SelfSup multimodal", "Sup vision",
                "Sup language", "Sup multimodal", "Sup vision, no image-OCR alignment"}  # fmt: skip
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
    conditions = run_ocr_conditions(results)
    assert set(quality["condition"]) == conditions and {"noisy", "clean"} <= conditions
    assert all(f"top1_{c}" in table for c in conditions)
    # Every top-1 with its interval; the findings and the orientation split beside the main table.
    assert ((table["top1_noisy_low"] <= table["top1_noisy"]) & (table["top1_noisy"] <= table["top1_noisy_high"])).all()
    findings = pd.read_csv(results / "tables" / "findings.csv")
    assert "F1" in set(findings["finding"]) and set(findings["verdict"]) <= {"holds", "not shown", "reversed"}
    assert (results / "tables" / "orientation.md").stat().st_size > 0
    # Every benchmarked job is matched to its rule's declared mem_mb, and stayed within it.
    memory = pd.read_csv(results / "tables" / "resources.csv")
    assert {"ocr_records", "warmup_vision", "supcon_labelled", "embed_records", "link_records"} <= set(memory["rule"])
    assert memory["mem_mb_declared"].notna().all() and memory["within"].all(), memory


def test_tiny_run_fills_the_nomatch_and_clustering_tables(tiny_run):
    check_evaluation_tables(tiny_run)


def run_ocr_conditions(results: Path) -> set:
    """The OCR conditions of the run's manifest.csv (noisy, clean and modern where the OCR step wrote it)."""
    return set(ocr_conditions(pd.read_csv(results / "data" / "manifest.csv", nrows=0)))


def check_evaluation_tables(results: Path):
    """No-match and clustering tables: a row per method and OCR condition, metrics in range, thresholds file."""
    methods = {"Levenshtein", "Stroke n-gram", "Char TF-IDF (n-grams tuned)", "SelfSup multimodal", "Sup vision",
               "Sup language", "Sup multimodal", "Sup vision, no image-OCR alignment"}  # fmt: skip
    nomatch = pd.read_csv(results / "tables" / "nomatch.csv")
    clusters = pd.read_csv(results / "tables" / "clustering.csv")
    for table in (nomatch, clusters):
        assert methods <= set(table["method"])
        assert not table.duplicated(["method", "ocr"]).any()
        assert table.groupby("method")["ocr"].apply(set).eq(run_ocr_conditions(results)).all()
    rates = ["val_accuracy", "accuracy", "match_accuracy", "nomatch_precision", "nomatch_recall"]
    assert nomatch[rates].stack().between(0, 1).all() and len(nomatch[rates].stack()) == nomatch[rates].size
    assert (nomatch["n_nomatch"] > 0).all() and (nomatch["n_nomatch"] < nomatch["n_queries"]).all()
    assert clusters[["pair_precision", "pair_recall", "pair_f1"]].stack().between(0, 1).all()
    assert clusters["ari"].between(-1, 1).all() and clusters["val_ari"].between(-1, 1).all()
    # String matching on tiny data links most clean queries (see test above), so its best clustering and
    # no-match accuracy are far above chance.
    classical = clusters["group"] == "classical"
    assert clusters.loc[classical & (clusters["ocr"] == "clean"), "ari"].max() > 0.3
    assert nomatch.loc[nomatch["group"] == "classical", "accuracy"].max() > 0.5
    thresholds = pd.read_csv(results / "nomatch" / "thresholds.csv")
    assert list(thresholds.columns) == ["method", "ocr", "threshold"]
    assert {"sup_multimodal", "tfidf_char"} <= set(thresholds["method"]) and thresholds["threshold"].notna().all()
    for figure in ("nomatch_thresholds", "clustering"):
        assert (results / "figures" / f"{figure}.png").stat().st_size > 1000


def test_same_seed_gives_identical_manifest_and_tables(tiny_run, tmp_path_factory):
    # Data, OCR and baselines always; the trained models' tables whenever training was bit-identical (conftest).
    if SAME_SEED_COMPARED:  # test_slurm.py runs first and made the same comparison with its run on the cluster
        pytest.skip(f"the same-seed run {SAME_SEED_COMPARED[0]} (SLURM) was already compared with the local run")
    first, second = tiny_run, _run_tiny(tmp_path_factory.mktemp("tiny") / "second")
    if not assert_same_outputs(first, second):
        warnings.warn(
            "same-seed training differed between the two tiny runs (README, known limits); steps skipped for a "
            f"non-finite gradient: {skipped_steps(first)} and {skipped_steps(second)}; "
            f"{_kernels(first.parents[1] / 'logs' / first.name)}"
        )


def _fake_run(root: Path, loss: str, skipped: int) -> Path:
    results = root / "results" / "jp_firms"
    for relative in DETERMINISTIC_OUTPUTS:
        (results / relative).parent.mkdir(parents=True, exist_ok=True)
        (results / relative).write_text("same")
    (results / "models" / "warmup_vision").mkdir(parents=True)
    (results / "models" / "warmup_vision" / "metrics.csv").write_text(f"epoch,step,loss\n1,1,{loss}\n")
    (root / "logs" / "jp_firms").mkdir(parents=True)
    warning = "WARNING warmup_vision step 3: non-finite gradient norm (loss 2.7), step skipped\n"
    (root / "logs" / "jp_firms" / "warmup_vision.log").write_text("started\n" + warning * skipped)
    return results


def test_differing_training_fails_unless_a_step_was_skipped(tmp_path):
    same = _fake_run(tmp_path / "a", "2.78", 0)
    with pytest.raises(AssertionError, match="same-seed training differed"):
        assert_same_outputs(same, _fake_run(tmp_path / "b", "2.79", 0))
    assert assert_same_outputs(same, _fake_run(tmp_path / "c", "2.79", 2)) is False  # the known host issue: warn
    assert skipped_steps(tmp_path / "c" / "results" / "jp_firms") == 2


def _kernels(logs: Path) -> str:
    """What the first training step's log says about the CPU (e.g. 'AMD EPYC, torch kernels AVX2')."""
    text = (logs / "warmup_vision.log").read_text()
    return text.split("fp32; ", 1)[1].split(")", 1)[0] if "fp32; " in text else "no CPU line in the log"


def test_training_steps_log_the_pinned_cpu_kernels(tiny_run):
    from clippings_wf.runtime.cpu import _cpu_flags

    results = tiny_run
    text = (results.parents[1] / "logs" / results.name / "warmup_vision.log").read_text()
    assert "threads, fp32; " in text
    if "avx2" in _cpu_flags():
        assert "torch kernels AVX2)" in text  # pinned by start_step_log, whatever the CPU could do


def test_another_seed_changes_manifest_and_baseline_table(tiny_run, tmp_path):
    # Only the cheap targets: that another training seed changes the weights is shown in test_determinism.py.
    workdir = _copy_workflow(tmp_path / "seed7")
    targets = ["results/jp_firms/data/manifest.csv", "results/jp_firms/baselines/top1.csv"]
    # A config file, not --config: snakemake reads nested --config values as strings ('7').
    (workdir / "seed7.yaml").write_text("datasets:\n  jp_firms:\n    generate:\n      seed: 7\n")
    _snakemake(workdir, *targets, "--configfile", "config_tiny.yaml", "seed7.yaml")
    first = tiny_run
    for relative in ("data/manifest.csv", "baselines/top1.csv"):
        assert (workdir / "results" / "jp_firms" / relative).read_bytes() != (first / relative).read_bytes()


def test_report_builds(tiny_run):
    workdir = tiny_run.parents[1]
    _snakemake(workdir, "--configfile", "config_tiny.yaml", "--report", "report.html")
    assert (workdir / "report.html").stat().st_size > 10_000


def test_tiny_english_dataset_data_ocr_and_baselines(tmp_path):
    """us_firms through the same rules (generate, Tesseract eng, string baselines with their no-match scores and
    clustering); its training is left out to keep the test cheap, the Japanese tiny run covers those rules."""
    workdir = _copy_workflow(tmp_path / "wf")
    shutil.copy(REPO / "tests" / "config_tiny_en.yaml", workdir / "config_tiny_en.yaml")
    results = workdir / "results" / "us_firms"
    outputs = ("data/ocr_quality.csv", "baselines/top1.csv", "nomatch/baseline_scores.csv", "clustering/baselines.csv")
    targets = [f"results/us_firms/{p}" for p in outputs]
    _snakemake(workdir, "--configfile", "config_tiny.yaml", "config_tiny_en.yaml", "--", *targets)
    quality = pd.read_csv(results / "data" / "ocr_quality.csv").set_index(["condition", "role"])
    assert quality.loc[("clean", "reference"), "cer"] < 0.05  # Tesseract eng on Latin type, not jpn
    assert quality.loc[["noisy", "clean"], "empty"].sum() == 0  # Tesseract RAW_LINE reads every line
    # The recognizer returns nothing for a few faint lines (3% in the default run): counted, not hidden.
    modern = quality.loc["modern"]
    assert modern["empty"].sum() < 0.1 * modern["n"].sum()
    top1 = pd.read_csv(results / "baselines" / "top1.csv")
    assert "stroke_ngram" not in set(top1["method"]) and "tfidf_char" in set(top1["method"])
    assert top1.loc[top1["ocr"] == "clean", "top1"].max() > 0.5
    # the no-match and clustering evaluations run the same baselines: no stroke n-grams on Latin script either
    for relative in ("nomatch/baseline_scores.csv", "clustering/baselines.csv"):
        methods = set(pd.read_csv(results / relative)["method"])
        assert "stroke_ngram" not in methods and "tfidf_char" in methods, relative
    assert not (workdir / "results" / "jp_firms").exists()


def _dry_run_jobs(text: str) -> list[dict]:
    """The jobs a `snakemake -n` run lists: rule, input, output and wildcards (as a dict) of each."""
    jobs = []
    for rule, body in re.findall(r"^rule (\w+):\n((?:    .*\n?)*)", text, flags=re.M):
        fields = dict(re.findall(r"^    (\w+): (.*)$", body, flags=re.M))
        wildcards = dict(kv.split("=", 1) for kv in fields.get("wildcards", "").split(", ") if "=" in kv)
        jobs.append({"rule": rule, "input": fields.get("input", ""), "output": fields.get("output", ""),
                     "wildcards": wildcards})
    return jobs


def test_evaluation_only_dataset_trains_nothing(tmp_path):
    """The tiny config's jp_firms_shifted (models_from: jp_firms): generated, OCR'd, embedded with jp_firms'
    models, linked and tabled; no training rule, synthetic render, no-match or clustering job of its own."""
    workdir = _copy_workflow(tmp_path / "wf")
    result = _snakemake(workdir, "-n", "--configfile", "config_tiny.yaml")
    jobs = _dry_run_jobs(result.stdout + result.stderr)
    by_dataset = {}
    for job in jobs:
        by_dataset.setdefault(job["wildcards"].get("dataset"), []).append(job)
    shifted, trained = by_dataset["jp_firms_shifted"], by_dataset["jp_firms"]
    rules = {job["rule"] for job in shifted}
    assert {"generate_benchmark", "recognize_records", "ocr_records", "string_baselines", "embed_records",
            "link_records", "main_table", "shift_comparison", "resource_report"} <= rules  # fmt: skip
    training = {"synthetic_renders", "recognize_views", "plot_training"}
    for stage in ("pretrain", "finetune", "nomatch", "cluster"):
        training |= set(re.findall(r"^rule (\w+):", (REPO / "rules" / f"{stage}.smk").read_text(), flags=re.M))
    assert not rules & training
    assert {"synthetic_renders", "align_selfsup", "supcon_labelled"} <= {job["rule"] for job in trained}
    assert not any("results/jp_firms_shifted/" in job["output"] and "/models/" in job["output"] for job in jobs)
    embeds = [job for job in shifted if job["rule"] == "embed_records"]
    assert len(embeds) == len([job for job in trained if job["rule"] == "embed_records"]) > 0
    for job in embeds:
        assert f"results/jp_firms/models/{job['wildcards']['model']}/model.pt" in job["input"]


def test_tiny_run_evaluates_the_shifted_dataset_with_jp_firms_models(tiny_run):
    from clippings_wf.data import shifted as shifted_generator

    shifted = tiny_run.parent / "jp_firms_shifted"
    table = pd.read_csv(shifted / "tables" / "main_results.csv")
    assert {"Levenshtein", "Sup multimodal"} <= set(table["method"]) and table["top1_noisy"].between(0, 1).all()
    assert "paper_noisy" not in table  # the paper's in-distribution numbers are not set beside a shifted set
    comparison = pd.read_csv(shifted / "tables" / "shift_comparison.csv")
    assert set(comparison["method"]) == set(table["method"])
    assert comparison["top1_noisy_in_distribution"].notna().all() and comparison["top1_noisy_shifted"].notna().all()
    assert set(pd.read_csv(shifted / "data" / "records.csv")["font"]) <= set(shifted_generator.FONTS)
    for own in ("models", "synthetic", "nomatch", "clustering", "checkpoints"):  # nothing trained or tuned on it
        assert not (shifted / own).exists(), own
