"""The optimisation of a stage: AdamW with a learning rate per tower, its schedule, and frozen towers.

Weight decay, AdamW's betas and eps, gradient clipping and the schedule are recipe keys (``weight_decay``,
``betas``, ``eps``, ``grad_clip``, ``schedule``, ``warmup_fraction``, ``T0``, ``T_mult``;
schemas/config.schema.yaml) with the defaults below. Two schedules:
- ``warmup_cosine`` (default): linear warm-up, then one half cosine that reaches 0 where the stage ends;
- ``cosine_restarts``: the authors' recipe (torch's CosineAnnealingWarmRestarts, stepped after every batch, so T0
  counts optimizer steps): no warm-up, a cosine from the base rate to 0 over T0 steps, then over T0 * T_mult, ...
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import torch

WEIGHT_DECAY = 0.05  # AdamW's decoupled decay, on weight matrices and kernels only (see _decays)
GRAD_CLIP = 5.0  # max global gradient norm
WARMUP_FRACTION = 1 / 20  # of the stage's steps, linear warm-up before the cosine decay
MAX_LOGIT_SCALE = math.log(100)  # open_clip's clamp of CLIP's learned temperature
BETAS = (0.9, 0.999)  # torch's AdamW defaults, which every stage used before they became recipe keys
EPS = 1e-8
T0, T_MULT = 10, 2  # cosine_restarts: the authors' CosineAnnealingWarmRestarts(optimizer, 10, 2)


def lr_factor(done: float, share: float, warmup: float = WARMUP_FRACTION) -> float:
    """Learning-rate multiplier of a step that starts once the fraction ``done`` of the stage's batches is trained
    and is itself the fraction ``share`` of them: linear warm-up over the first ``warmup`` of the stage, then a half
    cosine that reaches 0 where the stage ends. Fractions of the batches actually drawn, so an epoch that draws
    more batches (mined hard negatives) neither ends the schedule early nor runs past it."""
    if done < warmup:
        return min(1.0, (done + share) / warmup)
    return 0.5 * (1.0 + math.cos(math.pi * (done - warmup) / (1.0 - warmup)))


def restarts_factor(steps_done: int, t0: int = T0, t_mult: int = T_MULT) -> float:
    """Learning-rate multiplier of the step after ``steps_done`` optimizer steps under cosine annealing with warm
    restarts (SGDR): the cycles last t0, t0 * t_mult, t0 * t_mult**2, ... steps, each a half cosine from 1 to 0
    (torch's CosineAnnealingWarmRestarts with eta_min 0, stepped once per batch as the authors' code does)."""
    if t_mult == 1:
        return 0.5 * (1.0 + math.cos(math.pi * (steps_done % t0) / t0))
    cycle = t0
    while steps_done >= cycle:  # whole cycles are integers: no rounding at a restart, unlike a log
        steps_done -= cycle
        cycle *= t_mult
    return 0.5 * (1.0 + math.cos(math.pi * steps_done / cycle))


def step_lr_factor(recipe: dict, epoch: int, step: int, n_batches: int, steps_done: int) -> float:
    """Learning-rate multiplier of batch ``step`` of ``n_batches`` in ``epoch``, the stage having made
    ``steps_done`` optimizer steps before it, under the recipe's ``schedule``."""
    if recipe.get("schedule", "warmup_cosine") == "cosine_restarts":
        return restarts_factor(steps_done, int(recipe.get("T0", T0)), int(recipe.get("T_mult", T_MULT)))
    epochs = int(recipe["epochs"])
    warmup = float(recipe.get("warmup_fraction", WARMUP_FRACTION))
    return lr_factor((epoch + step / n_batches) / epochs, 1 / (n_batches * epochs), warmup)


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
    """AdamW over the trainable parameters, a group per tower and weight decay, with the recipe's betas and eps;
    each group keeps its ``base_lr``, which the step loop scales by ``step_lr_factor``."""
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
    betas = tuple(float(b) for b in recipe.get("betas", BETAS))
    return torch.optim.AdamW(list(groups.values()), betas=betas, eps=float(recipe.get("eps", EPS)))


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
