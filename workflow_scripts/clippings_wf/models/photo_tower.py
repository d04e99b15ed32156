"""The photo tower: the pretrained photo encoder (``photo_encoder.py``, frozen, features cached) with a small
trainable head.

``head``: LayerNorm over the encoder's grid features, then a 2-layer MLP (GELU) to 256 features; open_clip's
TimmModel adds the linear projection to the joint embedding. The encoder runs in onnxruntime, once per photo
(rules/ocr.smk ``encode_photos``), so the tower's input is always the cached features [B, FEATURE_DIM]; unlike the
line tower it has no torch copy of its encoder to fine-tune.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from timm.models import register_model

from clippings_wf.models import photo_encoder

_IGNORED_TIMM_KWARGS = ("pretrained_cfg", "pretrained_cfg_overlay", "drop_path_rate", "drop_rate",
                        "patch_drop_rate", "cache_dir", "pretrained")  # fmt: skip


class PhotoTower(nn.Module):
    """timm-style model: forward(features [B, FEATURE_DIM]) -> pooled features [B, width]."""

    def __init__(self, hidden: int = 512, width: int = 256, num_classes: int = 0, global_pool: str = "", **kwargs):
        super().__init__()
        for key in kwargs:
            if key not in _IGNORED_TIMM_KWARGS:
                raise TypeError(f"PhotoTower got an unexpected argument {key!r}")
        self.head = nn.Sequential(
            nn.LayerNorm(photo_encoder.FEATURE_DIM),
            nn.Dropout(0.1),
            nn.Linear(photo_encoder.FEATURE_DIM, hidden),
            nn.GELU(),
            nn.Linear(hidden, width),
        )
        self.num_features = self.head_hidden_size = width
        self.fc = nn.Identity()
        self.num_classes = 0
        size = photo_encoder.SIZE
        self.default_cfg = self.pretrained_cfg = {
            "url": "", "num_classes": 0, "input_size": (3, size, size), "pool_size": None, "crop_pct": 1.0,
            "interpolation": "bilinear", "mean": (0.5,) * 3, "std": (0.5,) * 3, "first_conv": "",
            "classifier": "fc",
        }  # fmt: skip

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int, global_pool: str | None = None):
        if num_classes:
            raise ValueError("PhotoTower has no classifier: open_clip projects its pooled features")

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True):
        if enable:
            raise NotImplementedError("gradient checkpointing is not implemented for PhotoTower")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != photo_encoder.FEATURE_DIM:
            raise ValueError(f"PhotoTower reads the photo encoder's cached features [B, {photo_encoder.FEATURE_DIM}]"
                             f", not a tensor of shape {tuple(x.shape)} (pixels go through photo_encoder first)")
        return x.float()

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


@register_model
def clippings_photo_s(pretrained=False, **kwargs) -> PhotoTower:
    """PP-OCRv6 det backbone (stride 16, 4 x 4 grid, frozen) + a 3072 -> 512 -> 256 MLP head."""
    return PhotoTower(hidden=512, width=256, **kwargs)
