"""Model files: the artifact a training stage writes, and the safe loading of every checkpoint.

An artifact is one .pt file: {"format", "architecture", "model_cfg", "state_dict", "vocab" (list of chars or None),
"extra"}, holding only what ``torch.load(weights_only=True)`` reads back, so that loading a file never runs code.
Artifacts written before formats were recorded (no "format" key) have format 1's layout and load as such; a newer
or unknown format is refused naming both, never misread.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from clippings_wf.models import architectures
from clippings_wf.models.bundle import ModelBundle, as_tokenizer, make_bundle
from clippings_wf.models.tokenizer import CharTokenizer
from clippings_wf.runtime.atomic import atomic_path

FORMAT = 1


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint that holds more than tensors and plain containers: loading it could run code."""


def safe_load(path, map_location="cpu"):
    """torch.load(weights_only=True), with a short error naming the file and what it tried to import."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        blocked = [line.strip() for line in str(e).splitlines() if "GLOBAL" in line]
        reason = blocked[0] if blocked else str(e).splitlines()[0]
        raise UnsafeCheckpointError(
            f"refusing to load {path}: it is not a plain weights file, and unpickling it could run code "
            f"({reason}). Only tensors, numbers, strings, lists and dicts are loaded (torch.load weights_only=True)."
        ) from None


def read_checkpoint(path) -> dict:
    """An artifact, or a bare state_dict as {"state_dict": ...}; safe_load refuses a pickle that would run code."""
    obj = safe_load(path)
    if not isinstance(obj, dict):
        raise ValueError(f"checkpoint {path} holds a {type(obj).__name__}, not a state_dict or artifact")
    if "state_dict" in obj and isinstance(obj["state_dict"], dict):
        return obj
    return {"state_dict": obj}  # a bare state_dict


def load_state_dict_strict(model, ckpt: dict, architecture: str, path) -> None:
    """The checkpoint's weights into ``model``; a checkpoint of another architecture is refused naming both."""
    ckpt_arch = ckpt.get("architecture")
    if ckpt_arch is not None and ckpt_arch != architecture:
        raise ValueError(f"checkpoint {path} is for architecture '{ckpt_arch}', "
                         f"but architecture '{architecture}' was requested")
    state = {k.removeprefix("module."): v for k, v in ckpt["state_dict"].items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise ValueError(f"checkpoint {path} (architecture '{ckpt_arch or 'unknown: bare state_dict'}') does not "
                         f"fit architecture '{architecture}': {e}") from e


def _check_plain(obj, where="extra"):
    """Only what torch.load(weights_only=True) reads back: tensors, str, int, float, bool, None, lists, dicts."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"{where}: key {k!r} is not str/int")
            _check_plain(v, f"{where}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_plain(v, f"{where}[{i}]")
    elif not (obj is None or isinstance(obj, (str, int, float, bool, torch.Tensor))):
        raise TypeError(f"{where}: {type(obj).__name__} cannot be stored in a weights_only artifact")


def save_artifact(path, model, architecture: str, vocab=None, extra: dict | None = None) -> None:
    """One .pt file: {"architecture", "model_cfg", "state_dict", "vocab" (list of chars or None), "extra"}."""
    tokenizer = as_tokenizer(vocab)
    chars = list(tokenizer.chars) if tokenizer is not None else None
    cfg = architectures.model_cfg(architecture, tokenizer.vocab_size if tokenizer is not None else None)
    if chars is not None and hasattr(model, "vocab_size") and model.vocab_size != len(chars) + 3:
        raise ValueError(f"model vocab_size {model.vocab_size} != tokenizer vocab_size {len(chars) + 3}")
    extra = dict(extra or {})
    _check_plain(extra)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # Saved through a file object: the zip archive's folder is then "archive" rather than the temporary file's
    # name (which holds the process id), so the same model gives the same bytes in every run.
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        torch.save({"format": FORMAT, "architecture": architecture, "model_cfg": cfg, "state_dict": state,
                    "vocab": chars, "extra": extra}, file)  # fmt: skip


def load_artifact(path, device="cpu", architecture: str | None = None) -> ModelBundle:
    """Bundle from save_artifact's file (weights_only load). architecture: refuse an artifact of another one."""
    ckpt = read_checkpoint(path)
    arch = ckpt.get("architecture")
    if arch is None:
        raise ValueError(f"{path} is not a clippings artifact (no 'architecture' key)")
    version = ckpt.get("format", 1)
    if version != FORMAT:
        raise ValueError(f"artifact {path} has format {version!r}, but this code reads format {FORMAT}: retrain it, "
                         f"or load it with the version of this workflow that wrote it")
    if architecture is not None and arch != architecture:
        raise ValueError(f"artifact {path} is for architecture '{arch}', but architecture '{architecture}' "
                         f"was requested")
    tokenizer = CharTokenizer(ckpt["vocab"]) if ckpt.get("vocab") is not None else None
    cfg = ckpt.get("model_cfg") or architectures.model_cfg(arch, tokenizer.vocab_size if tokenizer else None)
    model = architectures.create(arch, cfg, "cpu")
    load_state_dict_strict(model, ckpt, arch, path)
    bundle = make_bundle(model.to(device), arch, tokenizer, cfg, ckpt.get("extra"))
    if (bundle.extra or {}).get("record_kind") == "photo_caption":  # trained on photos: read images as photos
        bundle.fit = "photo"
    return bundle
