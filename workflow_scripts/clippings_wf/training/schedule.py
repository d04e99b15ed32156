"""The optimisation of a stage: AdamW with a learning rate per tower, its schedule, and frozen towers.

Weight decay, gradient clipping and the warm-up are recipe keys (``weight_decay``, ``grad_clip``,
``warmup_fraction``; schemas/config.schema.yaml) with the defaults below.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import torch

WEIGHT_DECAY = 0.05  # AdamW's decoupled decay, on weight matrices and kernels only (see _decays)
GRAD_CLIP = 5.0  # max global gradient norm
WARMUP_FRACTION = 1 / 20  # of the stage's steps, linear warm-up before the cosine decay
MAX_LOGIT_SCALE = math.log(100)  # open_clip's clamp of CLIP's learned temperature


def lr_factor(done: float, share: float, warmup: float = WARMUP_FRACTION) -> float:
    """Learning-rate multiplier of a step that starts once the fraction ``done`` of the stage's batches is trained
    and is itself the fraction ``share`` of them: linear warm-up over the first ``warmup`` of the stage, then a half
    cosine that reaches 0 where the stage ends. Fractions of the batches actually drawn, so an epoch that draws
    more batches (mined hard negatives) neither ends the schedule early nor runs past it."""
    if done < warmup:
        return min(1.0, (done + share) / warmup)
    return 0.5 * (1.0 + math.cos(math.pi * (done - warmup) / (1.0 - warmup)))


def tower_lrs(recipe: dict) -> dict:
    """Learning rate per tower: ``lr_vision`` and ``lr_text`` where given, else ``lr``; 0 freezes a tower (LiT)."""
    lr = float(recipe["lr"])
    return {"vision": float(recipe.get("lr_vision", lr)), "text": float(recipe.get("lr_text", lr))}


def _tower(name: str) -> str:
    return "vision" if name.startswith("visual.") else "text"  # the text tower: the rest, logit_scale included


def _decays(name: str, p: torch.Tensor) -> bool:
    """open_clip's rule: no weight decay on gains, biases, norm layers or the temperature."""
    return not (p.ndim < 2 or "bn" in name or "ln" in name or "bias" in name or "logit_scale" in name)


def make_optimizer(model, recipe: dict) -> torch.optim.AdamW:
    """AdamW over the trainable parameters, a group per tower and weight decay; each group keeps its ``base_lr``,
    which the step loop scales by ``lr_factor``."""
    lrs, decay = tower_lrs(recipe), float(recipe.get("weight_decay", WEIGHT_DECAY))
    groups = {}
    for name, p in model.named_parameters():
        tower = _tower(name)
        if not p.requires_grad or lrs[tower] == 0:
            continue
        decays = _decays(name, p)
        group = groups.setdefault((tower, decays), {
            "name": tower if decays else f"{tower} no decay", "params": [], "lr": lrs[tower],
            "base_lr": lrs[tower], "weight_decay": decay if decays else 0.0,
        })  # fmt: skip
        group["params"].append(p)
    if not groups:
        raise ValueError(f"stage {recipe['stage']} has nothing to train: both towers have learning rate 0")
    return torch.optim.AdamW(list(groups.values()))


@contextmanager
def frozen_towers(model, lrs: dict):
    """A tower with learning rate 0 takes no gradient during the stage; requires_grad is restored after it."""
    frozen = [p for name, p in model.named_parameters() if lrs[_tower(name)] == 0 and p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in frozen:
            p.requires_grad_(True)


def train_mode(model, lrs: dict) -> None:
    """Training mode, except in frozen towers: their BatchNorm statistics must not move either."""
    model.train()
    for name, module in model.named_children():
        if lrs[_tower(name + ".")] == 0:
            module.eval()
