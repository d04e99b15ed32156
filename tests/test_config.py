"""config.yaml is validated before any job runs: the schema, then the checks the schema cannot express."""

import copy

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from clippings_wf.config_checks import ConfigError, check_config, known_architectures

from conftest import REPO

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
