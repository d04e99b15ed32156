"""Build CLIP models (vision + text tower) through open_clip's factory, pool their embeddings, pick the device.

``build_model`` and ``load_bundle`` take an architecture name (``architectures.py``) and where its weights come
from: random init, an open_clip pretrained tag, or a local checkpoint (read safely, ``artifacts.py``). A bundle
(``bundle.py``) is the model with its tokenizer and input pipeline; ``artifacts.save_artifact`` and
``artifacts.load_artifact`` write and read a trained one.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import open_clip
import torch
import torch.nn.functional as F

from clippings_wf.models import architectures, hub
from clippings_wf.models.architectures import is_char_architecture, is_none, is_textline_model, model_cfg
from clippings_wf.models.artifacts import load_state_dict_strict, read_checkpoint
from clippings_wf.models.bundle import ModelBundle, as_tokenizer, make_bundle
from clippings_wf.models.tokenizer import CharTokenizer


def build_model(architecture: str, pretrained: str | None = None, vocab_size: int | None = None,
                device="cpu") -> torch.nn.Module:
    """open_clip CLIP model. pretrained: None/"none" (random init), an open_clip tag (downloads), or a local .pt
    (an artifact from save_artifact, or a bare/{"state_dict": ...} checkpoint), loaded strictly.
    For our char architectures vocab_size may be omitted when the checkpoint is an artifact (taken from its vocab)."""
    if not is_none(pretrained) and Path(str(pretrained)).is_file():
        ckpt = read_checkpoint(pretrained)
        if vocab_size is None and ckpt.get("vocab") is not None:
            vocab_size = len(ckpt["vocab"]) + 3
        model = architectures.create(architecture, model_cfg(architecture, vocab_size), device)
        load_state_dict_strict(model, ckpt, architecture, pretrained)
        return model.to(device)
    if is_none(pretrained):
        return architectures.create(architecture, model_cfg(architecture, vocab_size), device)
    if is_char_architecture(architecture):
        raise ValueError(f"pretrained='{pretrained}' is neither 'none' nor an existing checkpoint file; "
                         f"'{architecture}' has no open_clip pretrained tags")
    tags = open_clip.list_pretrained_tags_by_model(architecture)
    if pretrained not in tags:
        raise ValueError(f"pretrained='{pretrained}' is neither a checkpoint file nor an open_clip tag for "
                         f"'{architecture}' (tags: {tags})")
    return hub.create_pretrained(architecture, pretrained, device)  # a failed download names the download command


def load_bundle(architecture: str, pretrained: str | None = None, vocab=None, device="cpu") -> ModelBundle:
    """Model + its input pipeline. vocab: CharTokenizer, JSON path, dict, list of chars, or None (built-ins, or
    when `pretrained` is an artifact that carries its vocabulary)."""
    tokenizer = as_tokenizer(vocab)
    if tokenizer is None and not is_none(pretrained) and Path(str(pretrained)).is_file():
        ckpt_vocab = read_checkpoint(pretrained).get("vocab")
        tokenizer = CharTokenizer(ckpt_vocab) if ckpt_vocab is not None else None
    vocab_size = tokenizer.vocab_size if tokenizer is not None else None
    model = build_model(architecture, pretrained, vocab_size, device)
    return make_bundle(model, architecture, tokenizer, model_cfg(architecture, vocab_size))


def finetune_encoder(bundle: ModelBundle) -> None:
    """Train the recognizer's encoder too, from pixels (the GPU path; on a CPU it is far too slow)."""
    if not is_textline_model(bundle.model):
        raise ValueError(f"finetune_encoder: '{bundle.architecture}' has no recognizer encoder to fine-tune")
    bundle.model.visual.trunk.set_encoder_trainable(True)
    bundle.input_kind = "recognizer_pixels"
    bundle.feature_cache = None
    bundle.extra["encoder_finetuned"] = True


def l2_normalize(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``F.normalize(x, dim=dim)``, value for value, without its exploding gradient at an all-zero row.

    F.normalize divides by max(|x|, 1e-12): an all-zero row stays zero, but the gradient that reaches it is
    multiplied by 1e12, by 1e24 where the loss normalizes again (pytorch-metric-learning's cosine similarity
    does): its squares overflow float32 in a gradient norm, and under fp16 autocast it is inf, and inf * 0 = NaN
    in the projection's weight gradient. A zero row has no direction to learn: it gets no gradient here. Every
    other row's gradient and every value are F.normalize's to the bit (``where`` copies)."""
    out = F.normalize(x, dim=dim)
    return torch.where(x.ne(0).any(dim, keepdim=True), out, out.detach())


def pooled_embedding(img_emb: torch.Tensor | None, txt_emb: torch.Tensor | None, w: float) -> torch.Tensor:
    """L2-normalize(w * normalize(img) + (1 - w) * normalize(txt)); w=1 image only, w=0 text only."""
    if w >= 1.0 or txt_emb is None:
        return l2_normalize(img_emb.float(), dim=-1)
    if w <= 0.0 or img_emb is None:
        return l2_normalize(txt_emb.float(), dim=-1)
    x = w * l2_normalize(img_emb.float(), dim=-1) + (1 - w) * l2_normalize(txt_emb.float(), dim=-1)
    return l2_normalize(x, dim=-1)


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
