"""Contrastive losses: CLIP's symmetric InfoNCE (open_clip) and supervised contrastive (pytorch-metric-learning)."""
from __future__ import annotations

import torch
from open_clip.loss import ClipLoss
from pytorch_metric_learning.losses import SupConLoss

_clip = ClipLoss()  # single process: no gathering across ranks


def clip_loss(img_emb: torch.Tensor, txt_emb: torch.Tensor, logit_scale) -> torch.Tensor:
    """Mean of image->text and text->image cross-entropy over logits = logit_scale * img @ txt.T, pairs on the
    diagonal. Embeddings must be L2-normalized; logit_scale is the multiplier (model.logit_scale.exp())."""
    return _clip(img_emb, txt_emb, logit_scale)


def supcon_loss(emb: torch.Tensor, labels: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al.) on cosine similarity / temperature: for each anchor, the mean
    over its positives of -log softmax over all other records; averaged over anchors that have a positive.
    To contrast two views (image and text, two crops), concatenate them and repeat the labels."""
    return SupConLoss(temperature=temperature)(emb, labels)
