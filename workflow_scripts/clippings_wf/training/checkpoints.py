"""Per-epoch checkpoints of a stage: what they hold, when one may be resumed, and how it is written.

A checkpoint is resumed only by the very run that wrote it: same recipe, seed, batch size, starting weights (and so
architecture and previous stage), training and validation data, and checkpoint format (``run_fingerprint``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from clippings_wf.models.artifacts import safe_load
from clippings_wf.runtime.atomic import atomic_path

CHECKPOINT_FORMAT = 3  # in the resume fingerprint: a checkpoint of another training loop is not resumed


@dataclass
class Progress:
    """Everything a resumed run needs besides the weights and the optimizer."""

    epoch: int = 0
    step: int = 0  # optimizer steps taken in the stage so far: the metrics rows' running step number
    best_val: float = -1.0
    best_epoch: int = -1
    rows: list = field(default_factory=list)
    neighbours: dict | None = None  # hard-negative classes of each class, as last mined
    skipped: int = 0  # optimizer steps skipped for a non-finite gradient norm


def _recipe_hash(recipe: dict, extra: dict) -> str:
    return hashlib.sha256(json.dumps([recipe, extra], sort_keys=True, default=str).encode()).hexdigest()[:16]


def _content_hash(*parts) -> str:
    """sha256 of arrays, tensors (a state_dict's values) and JSON-able values, in order."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, dict):  # a state_dict
            for name, tensor in sorted(part.items()):
                digest.update(name.encode())
                digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        elif isinstance(part, np.ndarray):
            digest.update(np.ascontiguousarray(part).tobytes())
        elif isinstance(part, torch.Tensor):
            digest.update(part.detach().cpu().contiguous().numpy().tobytes())
        else:
            digest.update(json.dumps(part, default=str).encode())
    return digest.hexdigest()[:16]


def run_fingerprint(recipe: dict, model, data, eval_data, seed: int, batch_size: int) -> str:
    """What a checkpoint must have been trained from to be resumed: the recipe, the seed, the starting weights
    (and so the architecture and the previous stage) and the training and validation data."""
    inputs = {
        "format": CHECKPOINT_FORMAT,
        "seed": seed,
        "batch_size": batch_size,
        "init": _content_hash(model.state_dict()),
        "data": _content_hash(data.crops, data.texts, data.labels if data.labels is not None else []),
        "eval": None if eval_data is None else _content_hash(eval_data.crops, eval_data.tokens,
                                                              list(eval_data.entities)),
    }
    return _recipe_hash(recipe, inputs)


def atomic_save(checkpoint: dict, path: Path) -> None:
    """Written to a temporary file and renamed: a run killed while writing leaves the previous checkpoint."""
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        torch.save(checkpoint, file)  # a file object: the archive's folder is "archive", not the temporary name


def read(path: Path, device) -> dict | None:
    """The checkpoint in ``path``, None if there is none; a pickle that would run code is refused (safe_load)."""
    return safe_load(path, map_location=device) if path.exists() else None


def checkpoint_state(fingerprint: str, model, optimizer, best_state: dict, progress: Progress) -> dict:
    """The checkpoint of a finished epoch: weights, optimizer, best weights so far, progress, random generators."""
    # The schedule is a function of (epoch, step in epoch, batches in epoch): it has no state of its own.
    return {
        "fingerprint": fingerprint,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "best_model": best_state,
        "epoch": progress.epoch,
        "step": progress.step,
        "best_val": progress.best_val,
        "best_epoch": progress.best_epoch,
        "rows": progress.rows,
        "neighbours": progress.neighbours,
        "skipped": progress.skipped,
        "torch_rng": torch.get_rng_state(),
        **({"cuda_rng": torch.cuda.get_rng_state_all()} if torch.cuda.is_available() else {}),
    }


def restore(state: dict, model, optimizer) -> tuple[Progress, dict]:
    """Weights, optimizer and random generators from a checkpoint; returns (progress, best state)."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    progress = Progress(
        epoch=state["epoch"], step=state["step"], best_val=state["best_val"], best_epoch=state["best_epoch"],
        rows=list(state["rows"]), neighbours=state["neighbours"], skipped=state.get("skipped", 0),
    )  # fmt: skip
    # Dropout (the recognizer tower's head) draws from torch's global generator: continue its stream where the
    # interrupted run left it, so the resumed epochs draw the masks an uninterrupted run would have.
    torch.set_rng_state(state["torch_rng"].cpu())
    if "cuda_rng" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])
    return progress, state["best_model"]
