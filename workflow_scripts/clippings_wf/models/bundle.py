"""A model with everything needed to turn crops and OCR text into its inputs.

A ``ModelBundle`` carries:
    bundle.model, bundle.tokenize(texts) -> LongTensor, bundle.image_size (h, w), bundle.channels,
    bundle.mean / bundle.std, bundle.fit ("height" for line models, "contain" for square ones),
    bundle.load_crops(sources) -> uint8 [N, h, w], bundle.to_input(uint8 batch) -> float [B, C, h, w].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import open_clip
import torch

from clippings_wf.models import photo_encoder
from clippings_wf.models.architectures import is_char_architecture, is_photo_model, is_textline_model
from clippings_wf.models.images import load_crops as _load_crops
from clippings_wf.models.images import to_model_input
from clippings_wf.models.tokenizer import CharTokenizer
from clippings_wf.ocr import recognizer


@dataclass
class ModelBundle:
    model: torch.nn.Module
    architecture: str
    tokenize: Callable  # texts -> LongTensor [N, context_length]
    image_size: tuple  # (h, w)
    channels: int
    mean: tuple | None
    std: tuple | None
    fit: str  # preprocess_line_crop's fit
    context_length: int
    tokenizer: CharTokenizer | None = None  # None for open_clip built-ins (BPE)
    model_cfg: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    # "pixels": crops are uint8 ink images; "features": the pretrained recognizer's frozen sequence features,
    # read from ``feature_cache`` by record key where one is attached (computed from the crops otherwise);
    # "recognizer_pixels": uint8 gray lines for the recognizer's encoder, when it is fine-tuned (finetune_encoder);
    # "photo_features": the photo tower's front-end features (photo_encoder.py), cached the same way.
    input_kind: str = "pixels"
    feature_cache: object = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def load_crops(self, sources, workers: int = 1, progress: bool = True, keys=None) -> np.ndarray:
        """The vision tower's inputs for these crops: uint8 [N, h, w] images, or float16 [N, T, 120] features."""
        if self.input_kind == "features":
            if self.feature_cache is not None and keys is not None:
                return self.feature_cache.take(list(keys))
            return recognizer.read_lines(sources, self.image_size[1], workers=workers)[1]
        if self.input_kind == "recognizer_pixels":
            return recognizer.load_gray_lines(sources, self.image_size[1])
        if self.input_kind == "photo_features":
            if self.feature_cache is not None and keys is not None:
                return self.feature_cache.take(list(keys))
            return photo_encoder.encode_photos(sources, workers=workers)
        return _load_crops(sources, *self.image_size, workers=workers, fit=self.fit, progress=progress)

    def to_input(self, batch: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
        if self.input_kind in ("features", "photo_features"):
            return batch.float()
        if self.input_kind == "recognizer_pixels":
            return recognizer.gray_to_input(batch)
        return to_model_input(batch, self.channels, self.mean, self.std, channels_last)


def as_tokenizer(vocab) -> CharTokenizer | None:
    """A CharTokenizer from a CharTokenizer, a JSON path, a dict, a list of characters, or None."""
    if vocab is None or isinstance(vocab, CharTokenizer):
        return vocab
    if isinstance(vocab, (str, Path)):
        return CharTokenizer.load(vocab)
    if isinstance(vocab, dict):
        return CharTokenizer.from_dict(vocab)
    return CharTokenizer(list(vocab))


def make_bundle(model, architecture: str, tokenizer: CharTokenizer | None, cfg: dict, extra=None) -> ModelBundle:
    """The bundle of a built model: its tokenizer and input pipeline from the architecture and its config."""
    h, w = _image_hw(cfg["vision_cfg"].get("image_size", 224))
    ctx = cfg["text_cfg"].get("context_length", 77)
    if is_char_architecture(architecture):
        if tokenizer is None:
            raise ValueError(f"architecture '{architecture}' needs a character vocabulary")
        textline, photo = is_textline_model(model), is_photo_model(model)
        input_kind = _textline_input(extra) if textline else "photo_features" if photo else "pixels"
        return ModelBundle(model, architecture, lambda texts: tokenizer(texts, ctx), (h, w), 1 if input_kind ==
                           "pixels" else 3, None, None, "photo" if photo else "height", ctx, tokenizer, cfg,
                           extra or {}, input_kind=input_kind)  # fmt: skip
    pp = getattr(model.visual, "preprocess_cfg", {}) or {}
    mean = tuple(pp.get("mean", open_clip.OPENAI_DATASET_MEAN))
    std = tuple(pp.get("std", open_clip.OPENAI_DATASET_STD))
    tok = open_clip.get_tokenizer(architecture)
    fit = "height" if w > h else "contain"
    return ModelBundle(model, architecture, lambda texts: tok(list(texts)), (h, w), 3, mean, std, fit, ctx, None,
                       cfg, extra or {})


def _textline_input(extra) -> str:
    """A fine-tuned encoder no longer computes the cached features: such a model reads pixels."""
    return "recognizer_pixels" if (extra or {}).get("encoder_finetuned") else "features"


def _image_hw(size) -> tuple:
    return (int(size), int(size)) if isinstance(size, (int, float)) else (int(size[0]), int(size[1]))
