"""config.yaml is validated before any job runs: the schema, then the checks the schema cannot express."""

import copy

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from clippings_wf.config_checks import ConfigError, check_config, known_architectures, validate_config

from helpers import REPO

SCHEMA = str(REPO / "schemas" / "config.schema.yaml")


def _default():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_default_config_is_valid_and_defaults_are_filled():
    config = _default()
    del config["linking"]
    validate(config, schema=SCHEMA)
    check_config(config)
    assert config["linking"]["index"] == "flat"


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["datasets"]["jp_firms"]["generate"].update(n_entities=-5), "n_entities"),
        (lambda c: c["datasets"]["jp_firms"]["generate"].update(n_entities="many"), "n_entities"),
        (lambda c: c["training"].update(batch_sise=64), "batch_sise"),
        (lambda c: c["training"].pop("selfsup"), "selfsup"),
        (lambda c: c["model"].update(device="tpu"), "tpu"),
    ],
)
def test_schema_rejects_bad_values_naming_the_key(edit, message):
    config = _default()
    edit(config)
    with pytest.raises(WorkflowError, match=message):
        validate(config, schema=SCHEMA)


def test_unknown_architecture_is_refused_with_the_known_names():
    config = _default()
    config["model"]["architecture"] = "ViT-Q-99"
    with pytest.raises(ConfigError, match="ViT-Q-99.*clippings-linecnn-char"):
        check_config(config)
    assert "ViT-B-32" in known_architectures()


def test_missing_ocr_language_and_checkpoint_are_refused():
    config = _default()
    config["datasets"]["jp_firms"]["ocr"]["lang"] = "klingon"
    config["model"]["pretrained"] = "/nonexistent/model.pt"
    with pytest.raises(ConfigError) as error:
        check_config(config)
    assert "tesseract-ocr-klingon" in str(error.value)
    assert "/nonexistent/model.pt" in str(error.value)


def test_split_fractions_must_sum_to_one():
    config = copy.deepcopy(_default())
    config["datasets"]["jp_firms"]["generate"]["split"] = {"train": 0.7, "val": 0.2, "test": 0.2}
    with pytest.raises(ConfigError, match="sum to 1"):
        check_config(config)


def _configure(config):
    """What rules/common.smk does before any job: the schema with short messages, then the extra checks."""
    validate_config(config, SCHEMA)
    check_config(config)


@pytest.mark.parametrize(
    "edit, expected",
    [
        # wrong type
        (lambda c: c["training"].update(seed="zero"), ["training.seed: 'zero' is not of type integer"]),
        # unknown key: named with its path, and the keys allowed there
        (lambda c: c["training"].update(batch_sise=64), ["training.batch_sise: unknown key", "batch_size"]),
        # missing required key
        (lambda c: c["training"].pop("selfsup"), ["training.selfsup: required key missing"]),
        # negative size
        (lambda c: c["datasets"]["jp_firms"]["generate"].update(n_entities=-5),
         ["datasets.jp_firms.generate.n_entities: -5 is out of range (allowed: >= 10)"]),
        # unknown model name
        (lambda c: c["model"].update(architecture="ViT-Q-99"),
         ["model.architecture: unknown 'ViT-Q-99'", "clippings-linecnn-char", "ViT-B-32"]),
        # unknown OCR language
        (lambda c: c["datasets"]["jp_firms"]["ocr"].update(lang="klingon"),
         ["datasets.jp_firms.ocr.lang: Tesseract language 'klingon' is not installed", "jpn_vert"]),
    ],
    ids=["wrong-type", "unknown-key", "missing-key", "negative-size", "unknown-model", "unknown-ocr-language"],
)  # fmt: skip
def test_bad_config_message_names_the_key_and_the_allowed_values(edit, expected):
    config = _default()
    edit(config)
    with pytest.raises(ConfigError) as error:
        _configure(config)
    message = str(error.value)
    for part in expected:
        assert part in message
    assert len(message) < 1500  # a few lines, not the schema and the config dumped


def test_every_schema_error_is_listed_at_once():
    config = _default()
    config["training"]["seed"] = -1
    config["model"]["device"] = "tpu"
    with pytest.raises(ConfigError) as error:
        _configure(config)
    assert "training.seed" in str(error.value) and "model.device: 'tpu' is not allowed (allowed: auto, cpu, cuda)" in str(
        error.value
    )


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda c: c["datasets"]["jp_firms_shifted"].update(models_from="jp_firm"),
         "datasets.jp_firms_shifted.models_from: 'jp_firm' is not an enabled dataset"),
        (lambda c: c["datasets"]["jp_firms"].update(enabled=False),
         "datasets.jp_firms_shifted.models_from: 'jp_firms' is not an enabled dataset"),
        (lambda c: c["datasets"]["jp_firms_shifted"].update(models_from="jp_firms_shifted"),
         "cannot take its models from itself"),
        (lambda c: c["datasets"]["us_firms"].update(models_from="jp_firms_shifted"),
         "datasets.us_firms.models_from: 'jp_firms_shifted' takes its models from 'jp_firms' itself"),
        (lambda c: c["datasets"]["jp_firms_shifted"].update(model={"architecture": "clippings-linecnn-char"}),
         "datasets.jp_firms_shifted.model: an evaluation-only dataset uses the architecture"),
        (lambda c: c["datasets"]["us_firms"]["generate"].update(shift=True),
         "datasets.us_firms.generate.shift: the shifted fonts and names are Japanese"),
        (lambda c: c["datasets"]["jp_firms"].update(model={"architecture": "clippings-linecnn-char",
                                                           "finetune_encoder": True}),
         "datasets.jp_firms: finetune_encoder needs a recognizer tower"),
    ],
    ids=["unknown", "disabled", "itself", "chain", "own-model", "shift-en", "finetune-linecnn"],
)  # fmt: skip
def test_bad_models_from_and_shift_are_refused(edit, expected):
    config = _default()
    edit(config)
    with pytest.raises(ConfigError) as error:
        _configure(config)
    assert expected in str(error.value)


def test_evaluation_only_dataset_is_valid_and_off_when_disabled():
    config = _default()
    _configure(config)
    shifted = config["datasets"]["jp_firms_shifted"]
    assert shifted["models_from"] == "jp_firms" and shifted["generate"]["shift"]
    assert config["datasets"]["jp_firms"]["generate"]["shift"] is False  # the default is filled in
    config = _default()
    config["datasets"]["jp_firms"]["enabled"] = False
    config["datasets"]["jp_firms_shifted"]["enabled"] = False  # a disabled evaluation-only dataset is not checked
    _configure(config)


@pytest.mark.parametrize(
    "supervised, expected",
    [
        ({"variants": {"vision": 1.0, "language": 0.0}}, r"training\.supervised\.pooled: name the variant"),
        ({"variants": {"a": 0.3, "b": 0.6}}, r"candidates \['a', 'b'\]"),
        ({"variants": {"vision": 1.0, "both": 0.5}, "pooled": "multimodal"}, "'multimodal' is not one of"),
        ({"variants": {"vision": 1.0, "both": 0.5}, "pooled": "vision"}, "needs 0 < w < 1"),
        ({"variants": {"unimodal_vision": 1.0, "both": 0.5}}, "'unimodal_vision' is not usable"),
        ({"variants": {"Vision-2": 1.0, "both": 0.5}}, "'Vision-2' is not usable"),
        ({"variants": {"vision_synthetic": 1.0, "both": 0.5}}, "'vision_synthetic' is not usable"),
    ],
)
def test_variants_the_rules_cannot_run_are_refused(supervised, expected):
    config = _default()
    config["training"]["supervised"].update(supervised)
    if "pooled" not in supervised:
        del config["training"]["supervised"]["pooled"]
    with pytest.raises(ConfigError, match=expected):
        check_config(config)


def test_variant_names_come_from_config(tmp_path):
    """No variant name or w is spelled in the rules: variants named otherwise build the whole DAG, the pooled one
    giving the tuned-w row's model, the retrieval figures' embeddings and the self-supervised stage's w."""
    import subprocess
    import sys
    from pathlib import Path

    config = _default()
    config["training"]["supervised"].update(variants={"img": 1.0, "txt": 0.0, "both": 0.3}, pooled="both")
    for name in ("Snakefile", "rules", "schemas", "workflow_scripts", "report", "envs"):
        (tmp_path / name).symlink_to(REPO / name)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "snakemake"), "-n", "--cores", "1", "--printshellcmds", "all"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "multimodal" not in result.stdout
    for path in ("models/sup_both/model.pt", "models/sup_img/model.pt", "figures/retrieval_gallery.png"):
        assert path in result.stdout
