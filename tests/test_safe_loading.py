"""Checkpoints load with weights_only=True: a pickle that would run code is refused before it runs, with a clear
error, wherever the workflow loads one (artifacts, pretrained paths, training resume checkpoints)."""

import os

import pytest
import torch

from clippings_wf.models import modeling
from clippings_wf.training import stage
from clippings_wf.models import artifacts
from clippings_wf.models.artifacts import UnsafeCheckpointError

from helpers import TRAINING_RECIPE, rendered_views, untrained_bundle


class _CreatesDirectory:
    """Unpickling this calls os.mkdir(path): the stand-in for any code a malicious checkpoint would run."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def _malicious_checkpoint(tmp_path, payload_dict):
    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.pt"
    torch.save(dict(payload_dict, hook=_CreatesDirectory(marker)), path)
    return path, marker


def test_the_malicious_file_really_runs_code_when_unpickled_unsafely(tmp_path):
    # Proves the test file is a real threat: an unsafe load creates the marker.
    path, marker = _malicious_checkpoint(tmp_path, {"state_dict": {}})
    torch.load(path, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("loader", ["load_artifact", "build_model", "load_bundle"])
def test_malicious_artifact_refused_before_running_code(tmp_path, loader):
    path, marker = _malicious_checkpoint(tmp_path, {"architecture": "clippings-linecnn-char", "state_dict": {}})
    calls = {
        "load_artifact": lambda: artifacts.load_artifact(path),
        "build_model": lambda: modeling.build_model("clippings-linecnn-char", str(path), 10),
        "load_bundle": lambda: modeling.load_bundle("clippings-linecnn-char", str(path)),
    }
    with pytest.raises(UnsafeCheckpointError) as error:
        calls[loader]()
    message = str(error.value)
    assert str(path) in message and "refusing to load" in message and "posix.mkdir" in message
    assert not marker.exists()


def test_malicious_resume_checkpoint_refused(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    path, marker = _malicious_checkpoint(tmp_path, {"epoch": 1})
    path.rename(checkpoints / "last.pt")
    with pytest.raises(UnsafeCheckpointError, match="last.pt"):
        stage.train_stage(untrained_bundle(), dict(TRAINING_RECIPE, epochs=1), rendered_views(), None, checkpoints,
                          seed=0, batch_size=8, eval_batch_size=16, device="cpu")  # fmt: skip
    assert not marker.exists()
