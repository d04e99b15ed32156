"""Build, save and load CLIP models (vision + text tower) through open_clip's factory.

Architectures are open_clip model configs: ours live in ``model_configs/`` (a timm-registered line CNN from
``linecnn.py`` + a small character-level TextTransformer); any open_clip built-in (e.g. "ViT-B-32") also works and
keeps its own text tower and BPE tokenizer.

Text tower: causal mask + argmax pooling at the end token (the highest id). The end token sees every character and
the padding that follows it is never attended to. A bidirectional tower (``no_causal_mask``) runs in open_clip, but
its config cannot switch on the padding mask, so characters would attend to padding: we keep the causal mask.

A ``ModelBundle`` carries everything needed to turn crops and OCR text into model inputs:
    bundle.model, bundle.tokenize(texts) -> LongTensor, bundle.image_size (h, w), bundle.channels,
    bundle.mean / bundle.std, bundle.fit ("height" for line models, "contain" for square ones),
    bundle.load_crops(sources) -> uint8 [N, h, w], bundle.to_input(uint8 batch) -> float [B, C, h, w].
"""
from __future__ import annotations

import contextlib
import copy
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import open_clip
import torch
import torch.nn.functional as F

from clippings_wf.runtime.atomic import atomic_path
from clippings_wf.models import linecnn  # noqa: F401  (registers the timm model names open_clip looks up)
from clippings_wf.ocr import recognizer
from clippings_wf.models.textline_tower import TextLineTower
from clippings_wf.models.images import load_crops as _load_crops
from clippings_wf.models.images import to_model_input
from clippings_wf.models.tokenizer import CharTokenizer

CONFIG_DIR = Path(__file__).resolve().parent / "model_configs"
open_clip.add_model_config(CONFIG_DIR)


def is_char_architecture(architecture: str) -> bool:
    """Our architectures (character tokenizer, 1-channel line crops) are the JSON files in model_configs/."""
    return (CONFIG_DIR / f"{architecture}.json").is_file()


def _is_none(pretrained) -> bool:
    return pretrained is None or str(pretrained).strip().lower() in ("", "none", "null")


def _model_cfg(architecture: str, vocab_size: int | None) -> dict:
    cfg = open_clip.get_model_config(architecture)
    if cfg is None:
        raise ValueError(f"unknown architecture '{architecture}'; known: {open_clip.list_models()}")
    cfg = copy.deepcopy(cfg)
    if is_char_architecture(architecture):
        if vocab_size is None:
            raise ValueError(f"architecture '{architecture}' needs vocab_size (from the character tokenizer)")
        cfg["text_cfg"]["vocab_size"] = int(vocab_size)
    return cfg


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


def _read_checkpoint(path) -> dict:
    """safe_load: a pickle that would run code is refused (UnsafeCheckpointError)."""
    obj = safe_load(path)
    if not isinstance(obj, dict):
        raise ValueError(f"checkpoint {path} holds a {type(obj).__name__}, not a state_dict or artifact")
    if "state_dict" in obj and isinstance(obj["state_dict"], dict):
        return obj
    return {"state_dict": obj}  # a bare state_dict


def _load_state_dict_strict(model, ckpt: dict, architecture: str, path) -> None:
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


def _create(architecture: str, cfg: dict, device) -> torch.nn.Module:
    # Passing the (patched) sub-configs as kwargs overrides open_clip's copy of the JSON config.
    kwargs = {k: v for k, v in cfg.items() if k in ("embed_dim", "vision_cfg", "text_cfg")}
    return open_clip.create_model(architecture, pretrained=None, device=device, **kwargs)


def build_model(architecture: str, pretrained: str | None = None, vocab_size: int | None = None,
                device="cpu") -> torch.nn.Module:
    """open_clip CLIP model. pretrained: None/"none" (random init), an open_clip tag (downloads), or a local .pt
    (an artifact from save_artifact, or a bare/{"state_dict": ...} checkpoint), loaded strictly.
    For our char architectures vocab_size may be omitted when the checkpoint is an artifact (taken from its vocab)."""
    if not _is_none(pretrained) and Path(str(pretrained)).is_file():
        ckpt = _read_checkpoint(pretrained)
        if vocab_size is None and ckpt.get("vocab") is not None:
            vocab_size = len(ckpt["vocab"]) + 3
        model = _create(architecture, _model_cfg(architecture, vocab_size), device)
        _load_state_dict_strict(model, ckpt, architecture, pretrained)
        return model.to(device)
    if _is_none(pretrained):
        return _create(architecture, _model_cfg(architecture, vocab_size), device)
    if is_char_architecture(architecture):
        raise ValueError(f"pretrained='{pretrained}' is neither 'none' nor an existing checkpoint file; "
                         f"'{architecture}' has no open_clip pretrained tags")
    tags = open_clip.list_pretrained_tags_by_model(architecture)
    if pretrained not in tags:
        raise ValueError(f"pretrained='{pretrained}' is neither a checkpoint file nor an open_clip tag for "
                         f"'{architecture}' (tags: {tags})")
    return open_clip.create_model(architecture, pretrained=pretrained, device=device)


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
    # "recognizer_pixels": uint8 gray lines for the recognizer's encoder, when it is fine-tuned (finetune_encoder).
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
        return _load_crops(sources, *self.image_size, workers=workers, fit=self.fit, progress=progress)

    def to_input(self, batch: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
        if self.input_kind == "features":
            return batch.float()
        if self.input_kind == "recognizer_pixels":
            return recognizer.gray_to_input(batch)
        return to_model_input(batch, self.channels, self.mean, self.std, channels_last)


def _vocab_tokenizer(vocab) -> CharTokenizer | None:
    if vocab is None or isinstance(vocab, CharTokenizer):
        return vocab
    if isinstance(vocab, (str, Path)):
        return CharTokenizer.load(vocab)
    if isinstance(vocab, dict):
        return CharTokenizer.from_dict(vocab)
    return CharTokenizer(list(vocab))


def _bundle(model, architecture, tokenizer, cfg, extra=None) -> ModelBundle:
    h, w = _image_hw(cfg["vision_cfg"].get("image_size", 224))
    ctx = cfg["text_cfg"].get("context_length", 77)
    if is_char_architecture(architecture):
        if tokenizer is None:
            raise ValueError(f"architecture '{architecture}' needs a character vocabulary")
        textline = is_textline_model(model)
        return ModelBundle(model, architecture, lambda texts: tokenizer(texts, ctx), (h, w), 3 if textline else 1,
                           None, None, "height", ctx, tokenizer, cfg, extra or {},
                           input_kind=_textline_input(extra) if textline else "pixels")
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


def finetune_encoder(bundle: ModelBundle) -> None:
    """Train the recognizer's encoder too, from pixels (the GPU path; on a CPU it is far too slow)."""
    if not is_textline_model(bundle.model):
        raise ValueError(f"finetune_encoder: '{bundle.architecture}' has no recognizer encoder to fine-tune")
    bundle.model.visual.trunk.set_encoder_trainable(True)
    bundle.input_kind = "recognizer_pixels"
    bundle.feature_cache = None
    bundle.extra["encoder_finetuned"] = True


def is_textline_model(model) -> bool:
    """Whether the vision tower is the pretrained recognizer's encoder with a trainable head."""
    return isinstance(getattr(model.visual, "trunk", None), TextLineTower)


def uses_recognizer(architecture: str) -> bool:
    """From the architecture's config alone (no model built): is its vision tower the recognizer's?"""
    cfg = open_clip.get_model_config(architecture) or {}
    return str(cfg.get("vision_cfg", {}).get("timm_model_name", "")).startswith("clippings_textline")


def _image_hw(size) -> tuple:
    return (int(size), int(size)) if isinstance(size, (int, float)) else (int(size[0]), int(size[1]))


def load_bundle(architecture: str, pretrained: str | None = None, vocab=None, device="cpu") -> ModelBundle:
    """Model + its input pipeline. vocab: CharTokenizer, JSON path, dict, list of chars, or None (built-ins, or
    when `pretrained` is an artifact that carries its vocabulary)."""
    tokenizer = _vocab_tokenizer(vocab)
    if tokenizer is None and not _is_none(pretrained) and Path(str(pretrained)).is_file():
        ckpt_vocab = _read_checkpoint(pretrained).get("vocab")
        tokenizer = CharTokenizer(ckpt_vocab) if ckpt_vocab is not None else None
    vocab_size = tokenizer.vocab_size if tokenizer is not None else None
    model = build_model(architecture, pretrained, vocab_size, device)
    return _bundle(model, architecture, tokenizer, _model_cfg(architecture, vocab_size))


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
    tokenizer = _vocab_tokenizer(vocab)
    chars = list(tokenizer.chars) if tokenizer is not None else None
    cfg = _model_cfg(architecture, tokenizer.vocab_size if tokenizer is not None else None)
    if chars is not None and hasattr(model, "vocab_size") and model.vocab_size != len(chars) + 3:
        raise ValueError(f"model vocab_size {model.vocab_size} != tokenizer vocab_size {len(chars) + 3}")
    extra = dict(extra or {})
    _check_plain(extra)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save({"architecture": architecture, "model_cfg": cfg, "state_dict": state, "vocab": chars,
                    "extra": extra}, tmp)


def load_artifact(path, device="cpu", architecture: str | None = None) -> ModelBundle:
    """Bundle from save_artifact's file (weights_only load). architecture: refuse an artifact of another one."""
    ckpt = _read_checkpoint(path)
    arch = ckpt.get("architecture")
    if arch is None:
        raise ValueError(f"{path} is not a clippings artifact (no 'architecture' key)")
    if architecture is not None and arch != architecture:
        raise ValueError(f"artifact {path} is for architecture '{arch}', but architecture '{architecture}' "
                         f"was requested")
    tokenizer = CharTokenizer(ckpt["vocab"]) if ckpt.get("vocab") is not None else None
    cfg = ckpt.get("model_cfg") or _model_cfg(arch, tokenizer.vocab_size if tokenizer else None)
    model = _create(arch, cfg, "cpu")
    _load_state_dict_strict(model, ckpt, arch, path)
    return _bundle(model.to(device), arch, tokenizer, cfg, ckpt.get("extra"))


def encode(model, images_float: torch.Tensor | None, tokens: torch.Tensor | None, normalize: bool = True):
    """(img_emb, txt_emb); either input may be None (that output is then None)."""
    img = model.encode_image(images_float, normalize=normalize) if images_float is not None else None
    txt = model.encode_text(tokens, normalize=normalize) if tokens is not None else None
    return img, txt


def pooled_embedding(img_emb: torch.Tensor | None, txt_emb: torch.Tensor | None, w: float) -> torch.Tensor:
    """L2-normalize(w * normalize(img) + (1 - w) * normalize(txt)); w=1 image only, w=0 text only."""
    if w >= 1.0 or txt_emb is None:
        return F.normalize(img_emb.float(), dim=-1)
    if w <= 0.0 or img_emb is None:
        return F.normalize(txt_emb.float(), dim=-1)
    x = w * F.normalize(img_emb.float(), dim=-1) + (1 - w) * F.normalize(txt_emb.float(), dim=-1)
    return F.normalize(x, dim=-1)


def pick_device(requested: str = "auto") -> torch.device:
    if requested in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(requested)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device '{requested}' requested but CUDA is not available")
    return dev


def autocast(device, enabled: bool = True):
    """bf16 autocast on CUDA (fp16 where bf16 is unsupported: then use a GradScaler), no-op on CPU."""
    device = torch.device(device)
    if not enabled or device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


def describe_device(device) -> str:
    """What a step's log says about where it ran: the CUDA card and autocast dtype, or CPU and its threads."""
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        dtype = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return f"cuda:{index} ({torch.cuda.get_device_name(index)}, {dtype} autocast)"
    from clippings_wf.runtime.cpu import cpu_kernels

    return f"{device.type} ({torch.get_num_threads()} threads, fp32; {cpu_kernels()})"


def count_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
