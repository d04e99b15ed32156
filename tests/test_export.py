"""The exported model bundle (rules/export.smk): bundle.json and the model card from small hand-made tables, and
the tiny run's bundles end to end."""

import json

import pandas as pd
import pytest
import yaml

from clippings_wf.reporting import model_card
from clippings_wf.runtime import checksums
from clippings_wf.reporting.tables import display_name

from helpers import REPO, copy_workflow, dry_run_jobs, run_snakemake

EXPORT = {
    "dataset": "ds",
    "model": "selfsup",
    "method": "selfsup_multimodal",
    "w": 0.5,
    "record_kind": "text_line",
    "ocr": {"lang": "jpn", "lang_vertical": "jpn_vert"},
    "cluster_neighbours": 50,
    "architecture": "clippings-textline-char",
    "data": {
        "generate": {"generator": "jp_firms", "n_entities": 60, "n_pool": 30, "seed": 0,
                     "split": {"train": 0.7, "val": 0.15, "test": 0.15}},  # fmt: skip
        "synthetic": {"n_extra_names": 80, "views_per_name": 2},
    },
    "recipe": [
        {"stage": "warmup_vision", "objective": "views", "epochs": 1, "lr": 0.002, "temperature": 0.1},
        {"stage": "selfsup", "objective": "clip", "data": "pool+synthetic", "epochs": 1, "lr": 0.0005, "w": 0.5},
    ],
    "training": {"seed": 0, "batch_size": 16},
}
# Method keys, as thresholds.csv and clustering/models.csv write them; selfsup has a row per pooling weight.
NOMATCH = pd.DataFrame({
    "method": ["selfsup_vision", "selfsup_multimodal", "selfsup_multimodal", "selfsup_multimodal", "levenshtein"],
    "ocr": ["noisy", "noisy", "clean", "modern", "noisy"],
    "threshold": [0.11, 0.712345, 0.765432, 0.8, 0.3],
})  # fmt: skip
CLUSTER = pd.DataFrame({"method": ["selfsup_multimodal"] * 2 + ["sup_vision"], "ocr": ["noisy", "clean", "noisy"],
                        "threshold": [0.81, 0.83, 0.9]})  # fmt: skip
# The tables: display names, rounded numbers with intervals.
MAIN = pd.DataFrame({
    "method": ["Levenshtein", "SelfSup multimodal"], "group": ["classical", "model"],
    "top1_noisy": [0.52, 0.798], "top1_noisy_low": [0.478, 0.761], "top1_noisy_high": [0.56, 0.833],
    "top1_clean": [0.687, 0.919], "top1_clean_low": [0.651, 0.89], "top1_clean_high": [0.723, 0.943],
    "gain_noisy": [0.0, 9.0], "best_noisy": [True, False],
})  # fmt: skip
TOP1 = pd.DataFrame({"method": ["selfsup_multimodal"] * 2, "ocr": ["noisy", "clean"], "w": [0.5, 0.5],
                     "top1": [0.7985, 0.9188], "val_top1": [0.781792, 0.907514]})  # fmt: skip
CLUSTERING = pd.DataFrame({"method": ["SelfSup multimodal"], "group": ["model"], "ocr": ["noisy"], "threshold": [0.81],
                           "val_ari": [0.823], "ari": [0.809], "ari_low": [0.755], "ari_high": [0.853]})  # fmt: skip


def test_thresholds_come_from_the_bundles_own_row_and_conditions():
    assert model_card.tuned_thresholds(NOMATCH, "selfsup_multimodal") == {"noisy": 0.712345, "clean": 0.765432}
    assert model_card.tuned_thresholds(CLUSTER, "sup_vision") == {"noisy": 0.9}
    assert model_card.tuned_thresholds(NOMATCH, "sup_language") == {}  # no row of the method
    assert model_card.tuned_thresholds(None, "selfsup_multimodal") == {}  # no such evaluation


def test_bundle_json_follows_the_contract():
    bundle = model_card.bundle_manifest(EXPORT, NOMATCH, CLUSTER, "ab" * 32)
    assert bundle == {
        "format": 1, "dataset": "ds", "model": "selfsup", "method": "selfsup_multimodal", "w": 0.5,
        "record_kind": "text_line", "ocr": {"lang": "jpn", "lang_vertical": "jpn_vert"},
        "thresholds": {"nomatch": {"noisy": 0.712345, "clean": 0.765432}, "cluster": {"noisy": 0.81, "clean": 0.83}},
        "cluster_neighbours": 50, "model_sha256": "ab" * 32,
    }  # fmt: skip
    assert json.loads(json.dumps(bundle)) == bundle


def test_a_dataset_without_nomatch_gets_empty_nomatch_thresholds():
    bundle = model_card.bundle_manifest(EXPORT | {"ocr": {"lang": "eng"}}, None, CLUSTER, "0" * 64)
    assert bundle["thresholds"] == {"nomatch": {}, "cluster": {"noisy": 0.81, "clean": 0.83}}
    assert bundle["ocr"] == {"lang": "eng", "lang_vertical": None}


def test_metrics_are_the_tables_rows_of_the_method():
    linking = model_card.linking_metrics(MAIN, TOP1, "selfsup_multimodal")
    assert [r["ocr"] for r in linking] == ["noisy", "clean"]
    assert linking[0] == {"ocr": "noisy", "val": 0.781792, "test": 0.798, "low": 0.761, "high": 0.833}
    assert model_card.linking_metrics(MAIN, TOP1, "sup_vision") == []
    ari = model_card.method_rows_metrics(CLUSTERING, "selfsup_multimodal", "ari", "val_ari")
    assert ari == [{"ocr": "noisy", "val": 0.823, "test": 0.809, "low": 0.755, "high": 0.853}]
    assert model_card.method_rows_metrics(None, "selfsup_multimodal", "accuracy", "val_accuracy") == []


def test_card_names_metrics_with_intervals_thresholds_recipe_and_licences():
    bundle = model_card.bundle_manifest(EXPORT, NOMATCH, CLUSTER, "cd" * 32)
    metrics = {
        "Linking top-1": model_card.linking_metrics(MAIN, TOP1, "selfsup_multimodal"),
        "No-match accuracy": [],
        "Clustering ARI": model_card.method_rows_metrics(CLUSTERING, "selfsup_multimodal", "ari", "val_ari"),
    }
    card = model_card.model_card(bundle, EXPORT, metrics)
    assert card.startswith("# SelfSup multimodal (`selfsup`), trained on `ds`")
    assert "| noisy OCR | 0.782 | 0.798 [0.761, 0.833] |" in card
    assert "| clean OCR | 0.908 | 0.919 [0.890, 0.943] |" in card
    assert "### Clustering ARI" in card and "| noisy OCR | 0.823 | 0.809 [0.755, 0.853] |" in card
    assert "No-match accuracy" not in card  # an empty section is left out
    assert "| noisy OCR | 0.7123 | 0.8100 |" in card and "| clean OCR | 0.7654 | 0.8300 |" in card
    assert "w = 0.5" in card and "60 entities" in card and "docs/data.md" in card
    assert "| `warmup_vision` | views | – | 1 | 0.002 | 0.1 | – |" in card  # every stage with its settings
    assert "clippings link --model results/ds/export/selfsup" in card
    assert "MIT" in card and "THIRD_PARTY.md" in card and "cd" * 32 in card
    assert "clippings_textline_s" in card  # the towers, read from the architecture's config


def test_card_of_a_clustering_dataset_shows_missing_nomatch_thresholds_as_such():
    bundle = model_card.bundle_manifest(EXPORT, None, CLUSTER, "0" * 64)
    card = model_card.model_card(bundle, EXPORT | {"architecture": "ViT-B-32"}, {"Linking top-1": []})
    assert "| noisy OCR | – | 0.8100 |" in card
    assert "### Linking top-1" not in card and "open_clip's built-in `ViT-B-32`" in card


def tiny_linked_models() -> list[str]:
    """The models the tiny configuration trains and links (rules/common.smk's LINKED_MODELS)."""
    tiny = yaml.safe_load((REPO / "tests" / "config_tiny.yaml").read_text())
    full = yaml.safe_load((REPO / "config.yaml").read_text())
    variants = (tiny.get("training", {}).get("supervised", {}).get("variants")
                or full["training"]["supervised"]["variants"])  # fmt: skip
    unimodal = full["training"].get("unimodal_vision", True)
    return ["selfsup"] + [f"sup_{v}" for v in variants] + (["sup_unimodal_vision"] if unimodal else [])


@pytest.mark.e2e
def test_tiny_run_exports_every_linked_model(tiny_run):
    results = tiny_run
    main = pd.read_csv(results / "tables" / "main_results.csv").set_index("method")
    models = tiny_linked_models()
    assert sorted(p.name for p in (results / "export").iterdir()) == sorted(models)
    for model in models:
        folder = results / "export" / model
        weights = (results / "models" / model / "model.pt").read_bytes()
        assert (folder / "model.pt").read_bytes() == weights, model
        bundle = json.loads((folder / "bundle.json").read_text())
        assert bundle["format"] == 1 and bundle["dataset"] == "jp_firms" and bundle["model"] == model
        assert bundle["method"] == (model if model != "selfsup" else "selfsup_multimodal")
        assert bundle["model_sha256"] == checksums.file_sha256(folder / "model.pt")
        for evaluation in ("nomatch", "cluster"):
            thresholds = bundle["thresholds"][evaluation]
            assert set(thresholds) == {"noisy", "clean"}, (model, evaluation)
            assert all(isinstance(t, float) for t in thresholds.values())
        card = (folder / "README.md").read_text()
        row = main.loc[display_name(bundle["method"])]
        test_top1 = f"{row['top1_noisy']:.3f} [{row['top1_noisy_low']:.3f}, {row['top1_noisy_high']:.3f}]"
        assert test_top1 in card, (model, test_top1)
    # nothing is trained on the evaluation-only dataset, so nothing is exported from it
    assert not (results.parent / "jp_firms_shifted" / "export").exists()


def test_every_trained_model_and_no_evaluation_only_dataset_is_exported(tmp_path):
    """The tiny configuration's DAG: one export job per linked model of jp_firms, reading that model's weights and
    the tuned thresholds; none for jp_firms_shifted (models_from: jp_firms)."""
    workdir = copy_workflow(tmp_path / "wf")
    result = run_snakemake(workdir, "-n", "--configfile", "config_tiny.yaml")
    jobs = [job for job in dry_run_jobs(result.stdout + result.stderr) if job["rule"] == "export_model"]
    assert sorted(job["wildcards"]["model"] for job in jobs) == sorted(tiny_linked_models())
    for job in jobs:
        assert job["wildcards"]["dataset"] == "jp_firms"
        for path in (f"results/jp_firms/models/{job['wildcards']['model']}/model.pt",
                     "results/jp_firms/nomatch/thresholds.csv", "results/jp_firms/clustering/models.csv"):
            assert path in job["input"], (job["wildcards"], path)
