"""The photo tower: a fixed front end (``photo_encoder.py``: the squashed low DCT frequencies of the descreened
photo, computed once per photo and cached) with a trainable head, trained from scratch (no pretrained photo
encoder installs without a model hub; ``photo_encoder.py`` has the measurements).

The front end alone clusters printings better than pHash, and a head trained on it from scratch learns the few
training pictures instead (CHANGELOG, 2026-12-04), so the head starts as the identity: the features plus a residual MLP
whose last layer is zero at initialisation, then a fixed orthonormal lift to the joint embedding's width (cosines
unchanged). open_clip adds no projection (``timm_proj: none``), so an untrained tower embeds a photo as its
front-end features, and training can only move it from there.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from timm.models import register_model

from clippings_wf.models import photo_encoder

_IGNORED_TIMM_KWARGS = ("pretrained_cfg", "pretrained_cfg_overlay", "drop_path_rate", "drop_rate",
                        "patch_drop_rate", "cache_dir", "pretrained")  # fmt: skip


class PhotoTower(nn.Module):
    """timm-style model: forward(features [B, FEATURE_DIM]) -> [B, width], the joint embedding's width."""

    def __init__(self, width: int = 128, hidden: int = 256, num_classes: int = 0, global_pool: str = "", **kwargs):
        super().__init__()
        for key in kwargs:
            if key not in _IGNORED_TIMM_KWARGS:
                raise TypeError(f"PhotoTower got an unexpected argument {key!r}")
        dim = photo_encoder.FEATURE_DIM
        if width < dim:
            raise ValueError(f"PhotoTower's width {width} is below its features' {dim}: the lift would lose them")
        self.residual = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        nn.init.zeros_(self.residual[-1].weight)
        nn.init.zeros_(self.residual[-1].bias)
        # Orthonormal columns, the same on every machine: a lift that keeps every inner product.
        lift, _ = torch.linalg.qr(torch.randn(width, dim, generator=torch.Generator().manual_seed(0)))
        self.register_buffer("lift", lift)
        self.num_features = self.head_hidden_size = width
        self.fc = nn.Identity()
        self.num_classes = 0
        self.default_cfg = self.pretrained_cfg = {
            "url": "", "num_classes": 0, "input_size": (1, photo_encoder.SIZE, photo_encoder.SIZE),
            "pool_size": None, "crop_pct": 1.0, "interpolation": "bilinear", "mean": (0.5,), "std": (0.5,),
            "first_conv": "", "classifier": "fc",
        }  # fmt: skip

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int, global_pool: str | None = None):
        if num_classes:
            raise ValueError("PhotoTower has no classifier: it ends at the joint embedding's width")

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True):
        if enable:
            raise NotImplementedError("gradient checkpointing is not implemented for PhotoTower")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != photo_encoder.FEATURE_DIM:
            raise ValueError(f"PhotoTower reads the photo front end's features [B, {photo_encoder.FEATURE_DIM}], not a "
                             f"tensor of shape {tuple(x.shape)} (photos go through photo_encoder.encode_photos first)")
        return x.float()

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return (x + self.residual(x)) @ self.lift.T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


@register_model
def clippings_photo_s(pretrained=False, **kwargs) -> PhotoTower:
    """DCT front end (63 squashed low frequencies) + a zero-initialised residual MLP, lifted to 128 dimensions."""
    return PhotoTower(width=128, hidden=256, **kwargs)
