"""The workflow itself: lint, formatting, failing fast on a bad config, and the tiny configuration end to end."""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from clippings_wf.models import artifacts, embedding, feature_cache, modeling
from clippings_wf.records import ocr_conditions, read_manifest
from clippings_wf.runtime import determinism
from clippings_wf.training.data import load_eval_data
from clippings_wf.training.stage import evaluate_top1

from helpers import BIN, DETERMINISTIC_OUTPUTS, REPO, SAME_SEED_COMPARED, TRAINED_OUTPUTS, assert_same_outputs
from helpers import copy_workflow, dry_run_jobs, run_snakemake, run_tiny, skipped_steps


def test_lint_is_clean():
    result = run_snakemake(REPO, "--lint")
    assert "Congratulations, your workflow is in a good condition" in result.stdout + result.stderr


def test_snakefmt_check():
    result = subprocess.run([str(BIN / "snakefmt"), "--check", "."], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_bad_config_fails_before_any_job(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    (workdir / "bad.yaml").write_text("datasets:\n  jp_firms:\n    generate:\n      n_entities: -3\n")
    result = run_snakemake(workdir, "--configfile", "bad.yaml", check=False)
    assert result.returncode != 0
    assert "n_entities" in result.stderr and "-3" in result.stderr
    assert not (workdir / "results").exists()


@pytest.mark.e2e
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


@pytest.mark.e2e
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


CPU = torch.device("cpu")


def _run_config(workdir: Path) -> dict:
    """The run's configuration as Snakemake merged it: config.yaml, then config_tiny.yaml over it, key by key."""

    def merged(base: dict, over: dict) -> dict:
        out = dict(base)
        for key, value in over.items():
            out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        return out

    config = yaml.safe_load((workdir / "config.yaml").read_text())
    return merged(config, yaml.safe_load((workdir / "config_tiny.yaml").read_text()))


def _supervised_weights(config: dict) -> dict[str, float]:
    """Each supervised model (sup_<variant>) of the run and the pooling weight w of the image it is linked with."""
    weights = {f"sup_{name}": float(w) for name, w in config["training"]["supervised"]["variants"].items()}
    if config["training"].get("unimodal_vision", True):
        weights["sup_unimodal_vision"] = 1.0
    return weights


def _starting_model(results: Path, config: dict):
    """The weights the run's training started from, rebuilt as train.py builds them for its first stage (seeded,
    then the architecture's initial or pretrained weights), before any step."""
    dataset = results.name
    model_cfg = config["model"] | config["datasets"][dataset].get("model", {})
    architecture = artifacts.load_artifact(next(results.glob("models/sup_*/model.pt"))).architecture
    deterministic = torch.are_deterministic_algorithms_enabled()
    try:
        determinism.make_deterministic(int(config["training"]["seed"]))
        return modeling.load_bundle(architecture, model_cfg["pretrained"], vocab=str(results / "models" / "vocab.json"))
    finally:
        torch.use_deterministic_algorithms(deterministic)  # the rest of this process as it was


def _reading_records(bundle, results: Path):
    """``bundle`` set up to read the run's records as its steps do: cached recognizer features, channels_last."""
    feature_cache.attach(bundle, [results / "features" / "records.npz"])
    if embedding.use_channels_last(bundle):
        bundle.model.visual.to(memory_format=torch.channels_last)
    return bundle


def _query_hits(bundle, results: Path, records: pd.DataFrame, weights, batch_size: int) -> dict[float, np.ndarray]:
    """Whether each query of ``records`` links to its entity's reference (noisy OCR, nearest of all references),
    at each pooling weight w: the workflow's embedding and linking (embed_records.py, link_records.py)."""
    encoded = embedding.encode_records(bundle, records, results / "data", ocr_columns=["ocr_noisy"])
    image, text = embedding.embed_arrays(bundle, encoded.crops, encoded.tokens["ocr_noisy"], batch_size, CPU)
    queries = np.flatnonzero((records["role"] == "query").to_numpy())
    references = np.flatnonzero((records["role"] == "reference").to_numpy())
    entities = records["entity_id"].to_numpy()
    hits = {}
    for w in weights:
        pooled = embedding.pooled(image, text, w)
        _, best, _ = embedding.top1_from_embeddings(pooled[queries], pooled[references], entities[queries],
                                                    entities[references])  # fmt: skip
        hits[w] = entities[references][best] == entities[queries]
    return hits


def learning_failures(trained: dict[str, dict[float, float]], untrained: dict[float, float],
                      weights: dict[str, float], pooling_margin: float = 0.05) -> list[str]:  # fmt: skip
    """What the tiny run failed to learn, from top-1 accuracies: ``trained[model][w]`` at the model's own w and at
    1 (image) and 0 (text), ``untrained[w]`` of the starting weights. Each model must link better than the start
    at its own w (an image or text tower that did not learn, or a stage that never moved, fails); a pooled model
    (0 < w < 1) must not link worse than both of its single modalities by more than ``pooling_margin`` (pooling
    that mixes up or drops a modality fails)."""
    failures = []
    for model, w in weights.items():
        own = trained[model][w]
        if not own > untrained[w]:
            failures.append(f"{model} (w={w}): top-1 {own:.3f}, not above the untrained model's {untrained[w]:.3f}")
        image, text = trained[model][1.0], trained[model][0.0]
        if 0 < w < 1 and own < min(image, text) - pooling_margin:
            failures.append(f"{model}: pooled (w={w}) top-1 {own:.3f} below both its image ({image:.3f}) and text "
                            f"({text:.3f}) top-1 by more than {pooling_margin}")  # fmt: skip
    return failures


def test_learning_failures_name_a_tower_that_did_not_learn_and_broken_pooling():
    weights = {"sup_vision": 1.0, "sup_language": 0.0, "sup_multimodal": 0.5}
    untrained = {1.0: 0.5, 0.0: 0.55, 0.5: 0.7}
    learned = {1.0: 0.75, 0.0: 0.6, 0.5: 0.8}
    trained = {model: dict(learned) for model in weights}
    assert learning_failures(trained, untrained, weights) == []
    dead_vision = dict(trained, sup_vision={1.0: 0.5, 0.0: 0.6, 0.5: 0.7})  # the image tower kept its start
    assert learning_failures(dead_vision, untrained, weights) == [
        "sup_vision (w=1.0): top-1 0.500, not above the untrained model's 0.500"
    ]
    broken_pooling = dict(trained, sup_multimodal={1.0: 0.75, 0.0: 0.6, 0.5: 0.54})
    failures = learning_failures(broken_pooling, untrained, weights)
    assert len(failures) == 2 and "not above the untrained model's 0.700" in failures[0]
    assert failures[1] == ("sup_multimodal: pooled (w=0.5) top-1 0.540 below both its image (0.750) and text (0.600) "
                           "top-1 by more than 0.05")  # fmt: skip
    # Within the margin of the weaker modality: tiny data, not broken pooling.
    assert learning_failures(dict(trained, sup_multimodal={1.0: 0.75, 0.0: 0.78, 0.5: 0.72}), untrained, weights) == []


@pytest.mark.e2e
def test_tiny_run_links_better_than_its_untrained_model(tiny_run):
    """Every supervised model of the tiny run, at its own pooling weight, links more queries than the same
    architecture before any training; the pooled one is not worse than both of its towers alone.

    Measured over every labelled query (train, validation and test) against all references, with the workflow's
    embedding and linking: on 60 entities the test split alone holds too few queries to tell a trained model from
    an untrained one, which already links most of them (the frozen recognizer's features, and OCR text through a
    random text tower, go far on their own). The question is whether training moved the towers the right way at
    all; how well that generalises is the table's (test_tiny_run_fills_the_table)."""
    results, workdir = tiny_run, tiny_run.parents[1]
    config = _run_config(workdir)
    weights = _supervised_weights(config)
    batch_size = int(config["training"]["eval_batch_size"])
    manifest = read_manifest(results / "data" / "manifest.csv")
    records = manifest[manifest["role"].isin(["query", "reference"])].reset_index(drop=True)
    test_queries = (records.loc[records["role"] == "query", "split"] == "test").to_numpy()

    start = _reading_records(_starting_model(results, config), results)
    if (results / "models" / "warmup_vision").exists():  # the premise: these are the weights training started from
        first_row = pd.read_csv(results / "models" / "warmup_vision" / "metrics.csv").iloc[0]
        rebuilt = evaluate_top1(start, load_eval_data(start, manifest, results / "data", "val"), 1.0, batch_size, CPU)
        assert first_row["epoch"] == 0 and rebuilt == pytest.approx(first_row["val_top1"], abs=1e-9), (
            f"the rebuilt starting weights give val top-1 {rebuilt}, warmup_vision's epoch 0 {first_row['val_top1']}"
        )
    start_hits = _query_hits(start, results, records, {1.0, 0.0, *weights.values()}, batch_size)
    untrained = {w: hits.mean() for w, hits in start_hits.items()}
    linked = pd.read_csv(results / "linking" / "top1.csv").query("ocr == 'noisy'").set_index("method")["top1"]
    trained = {}
    for model, w in weights.items():
        bundle = _reading_records(artifacts.load_artifact(results / "models" / model / "model.pt"), results)
        hits = _query_hits(bundle, results, records, {1.0, 0.0, w}, batch_size)
        trained[model] = {v: h.mean() for v, h in hits.items()}
        # The premise: this is the workflow's own measurement (its test top-1, up to a tie broken otherwise).
        test_top1 = hits[w][test_queries].mean()
        assert abs(test_top1 - linked[model]) <= 1 / test_queries.sum() + 1e-9, (model, test_top1, linked[model])
    failures = learning_failures(trained, untrained, weights)
    assert not failures, failures


@pytest.mark.e2e
def test_same_seed_gives_identical_data_models_and_tables(tiny_run, tmp_path_factory):
    # Data, OCR, baselines, every trained model's weights and metrics and the tables, byte for byte; a run that
    # skipped a training step fails (helpers.assert_same_outputs).
    if SAME_SEED_COMPARED:  # test_slurm.py runs first and made the same comparison with its run on the cluster
        pytest.skip(f"the same-seed run {SAME_SEED_COMPARED[0]} (SLURM) was already compared with the local run")
    assert_same_outputs(tiny_run, run_tiny(tmp_path_factory.mktemp("tiny") / "second"))


def _fake_run(root: Path, loss: str = "2.78", weights: str = "same", skipped: int = 0) -> Path:
    """A results folder as assert_same_outputs reads it: the same bytes everywhere except warmup_vision's metrics
    (its loss) and weights, and ``skipped`` steps skipped for a non-finite gradient norm in its log."""
    results = root / "results" / "jp_firms"
    for relative in DETERMINISTIC_OUTPUTS + TRAINED_OUTPUTS:
        (results / relative).parent.mkdir(parents=True, exist_ok=True)
        (results / relative).write_text("same")
    (results / "models" / "warmup_vision").mkdir(parents=True)
    (results / "models" / "warmup_vision" / "metrics.csv").write_text(f"epoch,step,loss\n1,1,{loss}\n")
    (results / "models" / "warmup_vision" / "model.pt").write_text(weights)
    (root / "logs" / "jp_firms").mkdir(parents=True)
    warning = ("2026-01-01 00:00:00,000 WARNING clippings_wf.training.stage: warmup_vision step 3: non-finite gradient "
               "norm (loss 2.7000; 2 tensors, first visual.head.weight), step skipped\n")  # fmt: skip
    (root / "logs" / "jp_firms" / "warmup_vision.log").write_text("started\n" + warning * skipped)
    return results


def test_same_seed_comparison_fails_on_differing_training_and_on_any_skipped_step(tmp_path):
    first = _fake_run(tmp_path / "a")
    assert_same_outputs(first, _fake_run(tmp_path / "same"))
    with pytest.raises(AssertionError, match=r"same-seed training differed: \['models/warmup_vision/metrics.csv'\]"):
        assert_same_outputs(first, _fake_run(tmp_path / "loss", loss="2.79"))
    with pytest.raises(AssertionError, match=r"same-seed training differed: \['models/warmup_vision/model.pt'\]"):
        assert_same_outputs(first, _fake_run(tmp_path / "weights", weights="other"))
    # A skipped step fails the comparison even where every output agrees, naming the step and its log.
    skipped = _fake_run(tmp_path / "skipped", skipped=2)
    assert skipped_steps(skipped) == ["warmup_vision.log: warmup_vision step 3"] * 2
    with pytest.raises(AssertionError, match="non-finite gradient norm: .*skipped.*warmup_vision.log: warmup_vision step 3"):
        assert_same_outputs(first, skipped)
    assert skipped_steps(first) == []


@pytest.mark.e2e
def test_training_steps_log_the_pinned_cpu_kernels(tiny_run):
    from clippings_wf.runtime.cpu import _cpu_flags

    results = tiny_run
    text = (results.parents[1] / "logs" / results.name / "warmup_vision.log").read_text()
    assert "threads, fp32; " in text
    if "avx2" in _cpu_flags():
        assert "torch kernels AVX2)" in text  # pinned by start_step_log, whatever the CPU could do


@pytest.mark.e2e
def test_another_seed_changes_manifest_and_baseline_table(tiny_run, tmp_path):
    # Only the cheap targets: that another training seed changes the weights is shown in test_determinism.py.
    workdir = copy_workflow(tmp_path / "seed7")
    targets = ["results/jp_firms/data/manifest.csv", "results/jp_firms/baselines/top1.csv"]
    # A config file, not --config: snakemake reads nested --config values as strings ('7').
    (workdir / "seed7.yaml").write_text("datasets:\n  jp_firms:\n    generate:\n      seed: 7\n")
    run_snakemake(workdir, *targets, "--configfile", "config_tiny.yaml", "seed7.yaml")
    first = tiny_run
    for relative in ("data/manifest.csv", "baselines/top1.csv"):
        assert (workdir / "results" / "jp_firms" / relative).read_bytes() != (first / relative).read_bytes()


@pytest.mark.e2e
def test_report_builds(tiny_run):
    workdir = tiny_run.parents[1]
    run_snakemake(workdir, "--configfile", "config_tiny.yaml", "--report", "report.html")
    assert (workdir / "report.html").stat().st_size > 10_000


@pytest.mark.e2e
def test_tiny_english_dataset_data_ocr_and_baselines(tmp_path):
    """us_firms through the same rules (generate, Tesseract eng, string baselines with their no-match scores and
    clustering); its training is left out to keep the test cheap, the Japanese tiny run covers those rules."""
    workdir = copy_workflow(tmp_path / "wf")
    shutil.copy(REPO / "tests" / "config_tiny_en.yaml", workdir / "config_tiny_en.yaml")
    results = workdir / "results" / "us_firms"
    outputs = ("data/ocr_quality.csv", "baselines/top1.csv", "nomatch/baseline_scores.csv", "clustering/baselines.csv")
    targets = [f"results/us_firms/{p}" for p in outputs]
    run_snakemake(workdir, "--configfile", "config_tiny.yaml", "config_tiny_en.yaml", "--", *targets)
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


def test_evaluation_only_dataset_trains_nothing(tmp_path):
    """The tiny config's jp_firms_shifted (models_from: jp_firms): generated, OCR'd, embedded with jp_firms'
    models, linked and tabled; no training rule, synthetic render, no-match or clustering job of its own."""
    workdir = copy_workflow(tmp_path / "wf")
    result = run_snakemake(workdir, "-n", "--configfile", "config_tiny.yaml")
    jobs = dry_run_jobs(result.stdout + result.stderr)
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


@pytest.mark.e2e
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
