"""Killing the workflow in the middle of training and rerunning the same command resumes from the last epoch
checkpoint, and ends with the same model and metrics as an uninterrupted run.

One training stage (warmup_vision, 3 epochs on data smaller than the tiny configuration's) through Snakemake in a temporary folder: first
uninterrupted, then killed (SIGTERM, then SIGKILL, to snakemake's whole process group) right after the first epoch's
checkpoint appears, then rerun with the same command.
"""

import os
import shutil
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import BIN, TRAINING_RECIPE, copy_workflow, rendered_views, skipped_steps, untrained_bundle

STAGE = "results/jp_firms/models/warmup_vision"
CHECKPOINT = "results/jp_firms/checkpoints/warmup_vision/last.pt"
EPOCHS = 3
CONFIG = f"""# smaller than the tiny configuration: a few steps per epoch
datasets:
  jp_firms:
    generate: {{n_entities: 30, n_pool: 10}}
    synthetic: {{n_extra_names: 20}}
training:
  warmup_vision: {{epochs: {EPOCHS}, lr: 0.002, temperature: 0.1}}
"""
SNAKEMAKE = [str(BIN / "snakemake"), "--cores", "2", "--configfile", "config_tiny.yaml", "interrupt.yaml", "--"]
COMMAND = SNAKEMAKE + [f"{STAGE}/model.pt"]  # what a user types, and types again after the interruption


def _run(workdir, check=True):
    result = subprocess.run(COMMAND, cwd=workdir, capture_output=True, text=True)
    if check:
        assert result.returncode == 0, result.stderr[-4000:]
    return result


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The data, features and vocabulary once (kept mtimes: copies do not rerun them), then one uninterrupted
    stage."""
    root = tmp_path_factory.mktemp("interrupt")
    base = copy_workflow(root / "base")
    (base / "interrupt.yaml").write_text(CONFIG)
    # The recognizer's cached features too, kept (--notemp): otherwise every copy would recognize the views again.
    features = ["results/jp_firms/features/records.npz", "results/jp_firms/features/views.npz"]
    prep = SNAKEMAKE[:-1] + ["--notemp", "--", "results/jp_firms/models/vocab.json", *features]
    result = subprocess.run(prep, cwd=base, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-4000:]
    reference = root / "reference"
    shutil.copytree(base, reference, symlinks=True)
    _run(reference)
    return root, reference


def _kill_after_first_checkpoint(workdir, how):
    process = subprocess.Popen(COMMAND, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)  # fmt: skip
    checkpoint = workdir / CHECKPOINT
    try:
        deadline = time.time() + 300
        while not checkpoint.exists():
            assert process.poll() is None, "the stage ended before its first checkpoint"
            assert time.time() < deadline, "no checkpoint after 300 s"
            time.sleep(0.05)
        # The whole process group, as a terminal, a scheduler or a shutdown does. (SIGTERM to snakemake alone
        # is a graceful stop: it lets the running job finish, and nothing is lost.)
        os.killpg(process.pid, getattr(signal, how))
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    return torch.load(checkpoint, weights_only=True)["epoch"]


@pytest.mark.e2e
@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_killed_training_resumes_to_the_uninterrupted_result(prepared, how):
    root, reference = prepared
    workdir = root / how
    shutil.copytree(root / "base", workdir, symlinks=True)
    epoch = _kill_after_first_checkpoint(workdir, how)
    assert 1 <= epoch < EPOCHS, epoch
    assert not (workdir / STAGE / "model.pt").exists()

    if how == "SIGKILL":
        # SIGKILL gives snakemake no chance to remove its lock: the user types --unlock once (README).
        assert "--unlock" in _run(workdir, check=False).stderr
        unlock = subprocess.run(SNAKEMAKE[:-1] + ["--unlock"], cwd=workdir, capture_output=True, text=True)
        assert unlock.returncode == 0, unlock.stderr[-4000:]
    before = pd.DataFrame(torch.load(workdir / CHECKPOINT, weights_only=True)["rows"])
    _run(workdir)  # the same command again
    # Neither run may have skipped a step for a non-finite gradient norm: a failure of its own, named here.
    skipped = [f"{run.name}: {step}" for run in (workdir, reference) for step in skipped_steps(run / "results/jp_firms")]
    assert not skipped, "training skipped steps for a non-finite gradient norm: " + "; ".join(skipped)
    log = (workdir / "logs/jp_firms/warmup_vision.log").read_text()
    assert f"resumed warmup_vision after epoch {epoch} of {EPOCHS}" in log
    # Resumed, not restarted: the rerun trains only the epochs after the checkpoint, and keeps the rows of the
    # epochs before it exactly as the killed run wrote them.
    trained = [k for k in range(1, EPOCHS + 1) if f"warmup_vision epoch {k}/{EPOCHS}:" in log]
    assert trained == list(range(epoch + 1, EPOCHS + 1)), trained
    metrics = pd.read_csv(workdir / STAGE / "metrics.csv")
    expected = pd.read_csv(reference / STAGE / "metrics.csv")
    assert metrics.shape == expected.shape and metrics["step"].tolist() == expected["step"].tolist()
    assert np.allclose(metrics.loc[: len(before) - 1, "loss"], before["loss"], equal_nan=True)
    # Same seed, same result as the uninterrupted run, to the bit: metrics and weights.
    assert (workdir / STAGE / "metrics.csv").read_bytes() == (reference / STAGE / "metrics.csv").read_bytes()
    want = torch.load(reference / STAGE / "model.pt", weights_only=True)["state_dict"]
    got = torch.load(workdir / STAGE / "model.pt", weights_only=True)["state_dict"]
    assert want.keys() == got.keys()
    for name in want:
        assert torch.equal(want[name], got[name]), name
    assert not (workdir / CHECKPOINT).parent.exists()  # removed once the stage finished


def test_checkpoint_of_other_inputs_is_not_resumed(tmp_path, caplog):
    """The resume fingerprint covers the starting weights and the data, not only the recipe."""
    from clippings_wf.training import stage

    recipe = dict(TRAINING_RECIPE, epochs=1)

    def train(bundle, data):
        return stage.train_stage(bundle, recipe, data, None, tmp_path, seed=0, batch_size=8,
                                    eval_batch_size=16, device="cpu")  # fmt: skip

    def stop_after_checkpoint(obj, path):
        real_save(obj, path)
        raise KeyboardInterrupt

    real_save = stage._atomic_save
    stage._atomic_save = stop_after_checkpoint
    try:
        with pytest.raises(KeyboardInterrupt):
            train(untrained_bundle(), rendered_views())
    finally:
        stage._atomic_save = real_save

    caplog.set_level("INFO", logger="clippings_wf.training.stage")
    other_start = untrained_bundle()
    with torch.no_grad():
        next(other_start.model.parameters()).add_(1.0)
    train(other_start, rendered_views())  # finished: its own checkpoint replaces the first
    other_data = rendered_views()
    other_data.crops = np.ascontiguousarray(other_data.crops[:, :, ::-1])
    train(untrained_bundle(), other_data)
    assert caplog.text.count("ignoring the checkpoint") == 2 and "resumed" not in caplog.text


def test_interrupted_table_write_leaves_the_old_table(tmp_path, monkeypatch):
    """Tables are written to a temporary file and renamed: a writer killed halfway leaves no partial table."""
    from clippings_wf.reporting import table_format

    stem = tmp_path / "tables" / "main_results"
    table_format.write_table(pd.DataFrame({"method": ["a"], "top1_noisy": [0.5]}), stem)
    before = stem.with_suffix(".csv").read_bytes()

    def write_half_then_die(self, path, **kwargs):
        with open(path, "w") as f:
            f.write("method,top1_noisy\nb,")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", write_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        table_format.write_table(pd.DataFrame({"method": ["b"], "top1_noisy": [0.9]}), stem)
    assert stem.with_suffix(".csv").read_bytes() == before
    assert sorted(p.name for p in stem.parent.iterdir()) == ["main_results.csv", "main_results.md", "main_results.tex"]
