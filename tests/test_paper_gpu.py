"""The paper-scale GPU overlay (config/paper_gpu.yaml), tested offline: it validates, carries the authors' recipe,
and builds the DAG. Training it needs a GPU and the pretrained weights from the Hugging Face hub, so the tests stop
where the model would be built: there they check that the failure names the download command."""

import os
import subprocess
import sys

import open_clip
import pytest
import yaml
from snakemake.utils import update_config

from clippings_wf.config_checks import ConfigError, check_config, validate_config

from helpers import BIN, REPO

OVERLAY = REPO / "config" / "paper_gpu.yaml"
SCHEMA = REPO / "schemas" / "config.schema.yaml"
sys.path.insert(0, str(REPO / "workflow_scripts"))
import download_pretrained  # noqa: E402  (a step-style script beside the package)


def _default() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))


def _merged(edit=None) -> dict:
    """config.yaml with the overlay over it, nested keys merged as Snakemake merges --configfile config.yaml
    config/paper_gpu.yaml."""
    overlay = yaml.safe_load(OVERLAY.read_text(encoding="utf-8"))
    if edit:
        edit(overlay)
    config = _default()
    update_config(config, overlay)
    return config


def test_overlay_validates_and_carries_the_authors_recipe():
    config = _merged()
    validate_config(config, SCHEMA)
    check_config(config)
    model = config["model"]
    assert model["pretrained"] in open_clip.list_pretrained_tags_by_model(model["architecture"])
    assert model["device"] == "cuda"
    training, supervised = config["training"], config["training"]["supervised"]
    stages = {"selfsup": training["selfsup"], "synthetic": supervised["synthetic"], "labelled": supervised["labelled"]}
    for name, recipe in stages.items():  # AdamW(0.9, 0.98, 1e-6), CosineAnnealingWarmRestarts(T_0 10, T_mult 2)
        assert (recipe["betas"], recipe["eps"]) == ([0.9, 0.98], 1e-6), name
        assert (recipe["schedule"], recipe["T0"], recipe["T_mult"]) == ("cosine_restarts", 10, 2), name
        # one rate for both towers: no lr_vision of the CPU recipe may survive the merge
        assert recipe.get("lr_vision", recipe["lr"]) == recipe.get("lr_text", recipe["lr"]) == recipe["lr"], name
    assert stages["selfsup"]["lr"] == 5e-5
    assert (stages["synthetic"]["lr"], supervised["temperature"]) == (5e-6, 0.1)
    labelled = stages["labelled"]
    assert (labelled["lr"], labelled["weight_decay"], labelled["temperature"], labelled["batch_size"]) == (
        5e-7, 0.05, 0.05, 126)  # fmt: skip
    assert (labelled["hard_negatives_k"], labelled["m_per_class"]) == (3, 3)
    assert labelled["remine_every"] >= labelled["epochs"]  # mined once, before training, as the authors did
    default = _default()["datasets"]["jp_firms"]
    for block, key in (("generate", "n_entities"), ("generate", "n_pool"), ("synthetic", "n_extra_names")):
        assert config["datasets"]["jp_firms"][block][key] >= 10 * default[block][key]


def test_a_dataset_whose_architecture_has_no_such_tag_is_refused():
    """us_firms keeps its character architecture, which has no open_clip tag: refused before any job runs."""
    config = _merged(lambda overlay: overlay["datasets"]["us_firms"].update(enabled=True))
    validate_config(config, SCHEMA)
    with pytest.raises(ConfigError, match=r"datasets\.us_firms: model\.pretrained 'laion5b_s13b_b90k' is not"):
        check_config(config)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t["selfsup"].update(schedule="warmup_cosine"), r"training\.selfsup: T0 and T_mult"),
        (lambda t: t["supervised"]["labelled"].update(warmup_fraction=0.1), "cosine_restarts has no warm-up"),
    ],
)
def test_schedule_keys_that_the_schedule_would_ignore_are_refused(edit, message):
    config = _merged(lambda overlay: edit(overlay["training"]))
    validate_config(config, SCHEMA)
    with pytest.raises(ConfigError, match=message):
        check_config(config)


def test_the_dag_builds_offline(tmp_path):
    """`snakemake -n --configfile config.yaml config/paper_gpu.yaml`: no model is built, so no hub is needed. The
    pretrained CLIP replaces the synthetic warm-up of the text tower; the other datasets are off."""
    for name in ("Snakefile", "rules", "schemas", "workflow_scripts", "report", "envs", "config", "config.yaml"):
        (tmp_path / name).symlink_to(REPO / name)
    result = subprocess.run(
        [str(BIN / "snakemake"), "-n", "--cores", "1", "--configfile", "config.yaml", "config/paper_gpu.yaml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    for path in ("results/jp_firms/models/selfsup/model.pt", "results/jp_firms/models/sup_multimodal/model.pt",
                 "results/jp_firms_shifted/tables/main_results.csv"):  # fmt: skip
        assert path in result.stdout, path
    assert "models/warmup_text/" not in result.stdout
    assert "results/us_firms/" not in result.stdout and "results/news_wire/" not in result.stdout


def _offline_env(tmp_path) -> dict:
    """An empty Hugging Face cache and no hub, as on a compute node before the download."""
    env = dict(os.environ, HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1", CUDA_VISIBLE_DEVICES="")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "workflow_scripts"), env.get("PYTHONPATH", "")])
    return env


def test_building_the_pretrained_model_offline_fails_naming_the_download_command(tmp_path):
    """Where the test stops: the overlay's model needs hub files (its weights; with transformers, its text tower's
    config and tokenizer) even to be built. Offline with an empty cache, building it as train.py does fails with
    the download command in the message, not a bare hub error."""
    config = _merged()
    architecture, tag = config["model"]["architecture"], config["model"]["pretrained"]
    code = f"from clippings_wf.models import modeling; modeling.load_bundle({architecture!r}, {tag!r})"
    result = subprocess.run([sys.executable, "-c", code], env=_offline_env(tmp_path), capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode != 0
    assert "PretrainedUnavailable" in result.stderr
    assert "python workflow_scripts/download_pretrained.py --configfile" in result.stderr
    assert "requirements-gpu.txt" in result.stderr


def test_download_script_names_the_overlays_model_and_refuses_offline_mode(tmp_path):
    assert download_pretrained.pretrained_models(_merged()) == [("xlm-roberta-base-ViT-B-32", "laion5b_s13b_b90k")]
    assert download_pretrained.pretrained_models(_default()) == []
    result = subprocess.run(
        [sys.executable, "workflow_scripts/download_pretrained.py", "--configfile", "config.yaml",
         "config/paper_gpu.yaml"], cwd=REPO, env=_offline_env(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2
    assert "HF_HUB_OFFLINE is set" in result.stderr and "Traceback" not in result.stderr


def test_download_script_reports_a_failed_download_without_a_traceback(monkeypatch, capsys):
    """No hub here: the fetch fails (as open_clip reports it) and the script says so in a line, exit status 1."""
    from clippings_wf.models import hub

    def no_hub(architecture, tag):
        cause = RuntimeError("Failed to download weights: no connection")
        raise hub.unavailable(architecture, tag, cause) from cause

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(download_pretrained, "fetch", no_hub)
    status = download_pretrained.main(["--configfile", str(REPO / "config.yaml"), str(OVERLAY)])
    err = capsys.readouterr().err
    assert status == 1
    assert "could not fetch xlm-roberta-base-ViT-B-32 (laion5b_s13b_b90k): RuntimeError: Failed to download" in err
    assert "pip install -r requirements-gpu.txt" in err
