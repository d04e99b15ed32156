"""The default vision tower: the pretrained text-line recognizer's encoder with a small trainable head.

``encoder``: the recognizer (clippings_wf.ocr.recognizer) up to its 120-d sequence features, converted to torch by
onnx2torch from the installed package's file (its weights are the pretraining; there is no random init).
``head``: a 1-layer, 128-wide transformer over the feature sequence (a 2-layer, 192-wide one cost 5 times as
much per CPU step, about 1.2 s for 128 lines under load), so the embedding keeps character order, then mean
and max pooling. open_clip's TimmModel adds the linear projection to the joint embedding.

The encoder is frozen by default: on a CPU its features are computed once per crop (onnxruntime, the same
numbers to 1e-5) and cached, and only the head trains (a 3-d input [B, T, 120] is taken as cached features).
``set_encoder_trainable(True)`` fine-tunes it end to end from crops (a 4-d input [B, 3, 48, W]), which is what
a GPU is for.
"""
from __future__ import annotations

import functools

import torch
import torch.nn as nn
from timm.models import register_model

from clippings_wf.ocr import recognizer

_IGNORED_TIMM_KWARGS = ("pretrained_cfg", "pretrained_cfg_overlay", "drop_path_rate", "drop_rate",
                        "patch_drop_rate", "cache_dir", "pretrained")


@functools.lru_cache(maxsize=1)
def _encoder_onnx_bytes() -> bytes:
    """The recognizer graph cut at its feature node (checked file, SAME_UPPER made explicit)."""
    import onnx

    model = recognizer.load_onnx(with_features=False)
    cut = onnx.utils.Extractor(model).extract_model(["x"], [recognizer.FEATURE_NODE])
    return cut.SerializeToString()


def convert_encoder() -> nn.Module:
    """The recognizer's encoder as a torch module: float [B, 3, 48, W] in [-1, 1] -> [B, W / 8, 120]."""
    import onnx
    from onnx2torch import convert

    return convert(onnx.load_from_string(_encoder_onnx_bytes()))


class SequenceHead(nn.Module):
    def __init__(self, in_dim: int, width: int, layers: int, heads: int, max_len: int):
        super().__init__()
        self.norm_in = nn.LayerNorm(in_dim)
        self.proj_in = nn.Linear(in_dim, width)
        self.pos = nn.Parameter(torch.zeros(1, max_len, width))
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(width, heads, 2 * width, dropout=0.1, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm_out = nn.LayerNorm(2 * width)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        x = self.proj_in(self.norm_in(seq)) + self.pos[:, : seq.shape[1]]
        x = self.blocks(x)
        return self.norm_out(torch.cat([x.mean(1), x.amax(1)], dim=-1))


class TextLineTower(nn.Module):
    """timm-style model: forward(x) -> pooled features [B, 2 * width] (open_clip adds the projection)."""

    def __init__(self, width: int = 128, layers: int = 1, heads: int = 4, input_width: int = 320,
                 num_classes: int = 0, global_pool: str = "", **kwargs):
        super().__init__()
        for key in kwargs:
            if key not in _IGNORED_TIMM_KWARGS:
                raise TypeError(f"TextLineTower got an unexpected argument {key!r}")
        self.encoder = convert_encoder()
        self.head = SequenceHead(recognizer.FEATURE_DIM, width, layers, heads, input_width // recognizer.STRIDE)
        self.num_features = self.head_hidden_size = 2 * width
        self.fc = nn.Identity()
        self.num_classes = 0
        self.default_cfg = self.pretrained_cfg = {
            "url": "", "num_classes": 0, "input_size": (3, recognizer.HEIGHT, input_width), "pool_size": None,
            "crop_pct": 1.0, "interpolation": "bilinear", "mean": (0.5,) * 3, "std": (0.5,) * 3,
            "first_conv": "", "classifier": "fc",
        }
        self.set_encoder_trainable(False)

    def set_encoder_trainable(self, trainable: bool) -> None:
        self.encoder_trainable = bool(trainable)
        for p in self.encoder.parameters():
            p.requires_grad_(self.encoder_trainable)
        self.encoder.train(self.training and self.encoder_trainable)

    def train(self, mode: bool = True):
        super().train(mode)
        # A frozen encoder keeps its pretrained BatchNorm statistics.
        self.encoder.train(mode and getattr(self, "encoder_trainable", False))
        return self

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int, global_pool: str | None = None):
        if num_classes:
            raise ValueError("TextLineTower has no classifier: open_clip projects its pooled features")

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True):
        if enable:
            raise NotImplementedError("gradient checkpointing is not implemented for TextLineTower")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Crops [B, 3, 48, W] through the encoder, or cached encoder features [B, T, 120] as they are."""
        if x.dim() == 4:
            with torch.set_grad_enabled(torch.is_grad_enabled() and self.encoder_trainable):
                x = self.encoder(x)
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return self.head(x.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


@register_model
def clippings_textline_s(pretrained=False, **kwargs) -> TextLineTower:
    """PP-OCRv6 small encoder + 1-layer, 128-wide sequence head, 320-pixel lines (40 positions)."""
    return TextLineTower(width=128, layers=1, heads=4, input_width=320, **kwargs)


@register_model
def clippings_textline_l(pretrained=False, **kwargs) -> TextLineTower:
    """The same for long lines (English firm names): 640 pixels, 80 positions."""
    return TextLineTower(width=128, layers=1, heads=4, input_width=640, **kwargs)
