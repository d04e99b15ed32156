"""Architectures by name: open_clip model configs, ours (``model_configs/``) beside open_clip's built-ins.

Ours pair a timm-registered vision tower (the line CNN of ``linecnn.py`` or the recognizer tower of
``textline_tower.py``) with a small character-level TextTransformer; any open_clip built-in (e.g. "ViT-B-32") also
works and keeps its own text tower and BPE tokenizer.

Text tower: causal mask + argmax pooling at the end token (the highest id). The end token sees every character and
the padding that follows it is never attended to. A bidirectional tower (``no_causal_mask``) runs in open_clip, but
its config cannot switch on the padding mask, so characters would attend to padding: we keep the causal mask.
"""

from __future__ import annotations

import copy
from pathlib import Path

import open_clip
import torch

from clippings_wf.models import linecnn  # noqa: F401  (registers the timm model names open_clip looks up)
from clippings_wf.models.photo_tower import PhotoTower
from clippings_wf.models.textline_tower import TextLineTower

CONFIG_DIR = Path(__file__).resolve().parent / "model_configs"
open_clip.add_model_config(CONFIG_DIR)


def is_char_architecture(architecture: str) -> bool:
    """Our architectures (character tokenizer, 1-channel line crops) are the JSON files in model_configs/."""
    return (CONFIG_DIR / f"{architecture}.json").is_file()


def is_none(pretrained) -> bool:
    """Whether a ``pretrained`` value means random init: None, "", "none" or "null"."""
    return pretrained is None or str(pretrained).strip().lower() in ("", "none", "null")


def model_cfg(architecture: str, vocab_size: int | None) -> dict:
    """A copy of the architecture's open_clip config; ours get the character vocabulary's size."""
    cfg = open_clip.get_model_config(architecture)
    if cfg is None:
        raise ValueError(f"unknown architecture '{architecture}'; known: {open_clip.list_models()}")
    cfg = copy.deepcopy(cfg)
    if is_char_architecture(architecture):
        if vocab_size is None:
            raise ValueError(f"architecture '{architecture}' needs vocab_size (from the character tokenizer)")
        cfg["text_cfg"]["vocab_size"] = int(vocab_size)
    return cfg


def create(architecture: str, cfg: dict, device) -> torch.nn.Module:
    """A randomly initialised model of ``cfg`` (from ``model_cfg`` or an artifact)."""
    # Passing the (patched) sub-configs as kwargs overrides open_clip's copy of the JSON config.
    kwargs = {k: v for k, v in cfg.items() if k in ("embed_dim", "vision_cfg", "text_cfg")}
    return open_clip.create_model(architecture, pretrained=None, device=device, **kwargs)


def is_textline_model(model) -> bool:
    """Whether the vision tower is the pretrained recognizer's encoder with a trainable head."""
    return isinstance(getattr(model.visual, "trunk", None), TextLineTower)


def is_photo_model(model) -> bool:
    """Whether the vision tower is the photo tower (it reads the cached front-end features)."""
    return isinstance(getattr(model.visual, "trunk", None), PhotoTower)
