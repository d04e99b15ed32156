"""One training stage of the recipe: a resumable, seeded loop over epochs, and the choice of the epoch kept.

Objectives (the ``objective`` key of a stage's recipe, see rules/common.smk; losses in ``objectives.py``):
- ``views``: SupCon between renders of one synthetic name, on one tower (``modality`` image or text);
- ``clip``: CLIP's symmetric InfoNCE between each crop and its own OCR text, labels unused;
- ``supcon``: SupCon on the pooled embedding normalize(w*img + (1-w)*txt), on synthetic views or on the
  labelled training split with m records per entity per batch and hard negatives mined from the current model.

Every stage: AdamW with a learning rate per tower (``lr_vision``, ``lr_text``; 0 freezes a tower), weight decay on
weight matrices only, linear warm-up then cosine over the batches actually drawn, or the authors' cosine with warm
restarts (``schedule.py``); with validation data, the best epoch on validation top-1 is kept, the starting weights
(epoch 0) included. Per-epoch checkpoints (``checkpoints.py``) make a stage resumable.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from clippings_wf.models import embedding
from clippings_wf.training import checkpoints
from clippings_wf.training.batches import epoch_batches, epoch_sampler
from clippings_wf.training.checkpoints import Progress
from clippings_wf.training.data import EvalData, TrainingData
from clippings_wf.training.objectives import batch_loss, stage_weight
from clippings_wf.training.schedule import (GRAD_CLIP, MAX_LOGIT_SCALE, frozen_towers, make_optimizer, step_lr_factor,
                                            tower_lrs, train_mode)  # fmt: skip

log = logging.getLogger(__name__)

_atomic_save = checkpoints.atomic_save  # every checkpoint is written through this name (tests replace it)


def train_stage(
    bundle,
    recipe: dict,
    data: TrainingData,
    eval_data: EvalData | None,
    checkpoint_dir: Path,
    seed: int,
    batch_size: int,
    eval_batch_size: int,
    device,
) -> tuple[dict, list[dict]]:
    """Train ``bundle.model`` in place for one stage; returns (best state_dict, metric rows).

    With validation data the starting weights are evaluated as epoch 0 and every epoch after, and the best of them
    is returned (the start itself if no epoch beats it). Per-epoch checkpoints in ``checkpoint_dir`` make the stage
    resumable: rerunning the same recipe continues after the last finished epoch, with the same batches and the
    same result as an uninterrupted run.
    """
    model = bundle.model.to(device)
    epochs, lrs = int(recipe["epochs"]), tower_lrs(recipe)
    batch_size = int(recipe.get("batch_size", batch_size))  # a stage's own batch (the authors' SupCon used 126)
    torch.manual_seed(seed)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    last = checkpoint_dir / "last.pt"
    fingerprint = checkpoints.run_fingerprint(recipe, model, data, eval_data, seed, batch_size)
    with frozen_towers(model, lrs):
        optimizer = make_optimizer(model, recipe)
        resumed = _resume(last, fingerprint, model, optimizer, recipe, device)
        progress, best_state = resumed or _start(bundle, recipe, eval_data, eval_batch_size, device)
        for epoch in range(progress.epoch, epochs):
            started = time.time()
            sampler = epoch_sampler(bundle, recipe, data, progress, epoch, batch_size, eval_batch_size, seed, device)
            generator = torch.Generator().manual_seed(seed * 1000 + epoch)
            text_rng = np.random.default_rng(seed * 1000 + epoch)
            batches = epoch_batches(data, sampler, batch_size, generator)
            train_mode(model, lrs)
            loss = run_epoch(bundle, recipe, data, batches, optimizer, progress, epoch, generator, text_rng, device)
            val = _evaluate(bundle, recipe, eval_data, eval_batch_size, device, progress, epoch + 1)
            log.info(
                "%s epoch %d/%d: loss %.4f, val top-1 %.4f, %.0f s",
                recipe["stage"], epoch + 1, epochs, loss, val, time.time() - started,
            )  # fmt: skip
            best_state = _keep_if_best(model, progress, val, epoch + 1, best_state)
            progress.epoch = epoch + 1
            _atomic_save(checkpoints.checkpoint_state(fingerprint, model, optimizer, best_state, progress), last)
    _log_selection(recipe, progress)
    return best_state, progress.rows


def _clone(state: dict) -> dict:
    return {k: v.detach().clone() for k, v in state.items()}


def _start(bundle, recipe: dict, eval_data, eval_batch_size: int, device) -> tuple[Progress, dict]:
    """A fresh run: the starting weights are epoch 0, evaluated where there is validation data."""
    progress = Progress(best_epoch=0)
    if eval_data is not None:
        progress.best_val = _evaluate(bundle, recipe, eval_data, eval_batch_size, device, progress, 0)
        log.info("%s epoch 0 (start): val top-1 %.4f", recipe["stage"], progress.best_val)
    return progress, _clone(bundle.model.state_dict())


def _resume(last: Path, fingerprint: str, model, optimizer, recipe: dict, device) -> tuple[Progress, dict] | None:
    """(progress, best state) from the checkpoint of this very run (recipe, seed, start and data), else None."""
    state = checkpoints.read(last, device)
    if state is None:
        return None
    if state.get("fingerprint") != fingerprint:
        log.info("ignoring the checkpoint in %s: made from another recipe, seed, start or data", last.parent)
        return None
    progress, best_state = checkpoints.restore(state, model, optimizer)
    log.info("resumed %s after epoch %d of %d", recipe["stage"], progress.epoch, int(recipe["epochs"]))
    return progress, best_state


def run_epoch(bundle, recipe: dict, data: TrainingData, batches: list, optimizer, progress: Progress, epoch: int,
              generator, text_rng, device) -> float:  # fmt: skip
    """One pass over ``batches``, the learning rate set per step by the recipe's schedule (``schedule.py``);
    appends a metrics row per step, numbered by the stage's running step count. Returns the epoch's mean loss."""
    objective, w, epochs = recipe["objective"], stage_weight(recipe), int(recipe["epochs"])
    losses_epoch = []
    bar = tqdm(batches, desc=f"{recipe['stage']} epoch {epoch + 1}/{epochs}", mininterval=10)
    for step, idx in enumerate(bar):
        factor = step_lr_factor(recipe, epoch, step, len(batches), progress.step)
        for group in optimizer.param_groups:
            group["lr"] = group["base_lr"] * factor
        loss = batch_loss(bundle, objective, w, data, idx, generator, text_rng, recipe, device)
        progress.step += 1
        if not _optimizer_step(bundle.model, optimizer, loss, recipe, progress.step):
            progress.skipped += 1
        value = float(loss.detach())
        losses_epoch.append(value)
        progress.rows.append({"epoch": epoch + 1, "step": progress.step, "loss": value, "val_top1": None})
        bar.set_postfix(loss=f"{value:.3f}", refresh=False)  # drawn every mininterval, not every step
    return float(np.mean(losses_epoch))


def _optimizer_step(model, optimizer, loss: torch.Tensor, recipe: dict, step: int) -> bool:
    """Backward, clip the gradient norm, step, and clamp CLIP's learned temperature as open_clip does. Returns
    False, the step skipped, where the gradient norm is not finite."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    grad_norm = torch.nn.utils.clip_grad_norm_(params, float(recipe.get("grad_clip", GRAD_CLIP)))
    # A last resort: an all-zero embedding no longer overflows the norm (modeling.l2_normalize), but a step whose
    # norm is still not finite (an OpenMP thread limit below torch's threads did that, CHANGELOG 2026-11-24) would
    # write NaN into every weight. Skipped, and logged as an error that the workflow's tests count.
    if not torch.isfinite(grad_norm):
        bad = [n for n, p in model.named_parameters() if p.grad is not None and not p.grad.isfinite().all()]
        log.error(
            "%s step %d: non-finite gradient norm (loss %.4f; %d tensors, first %s), step skipped",
            recipe["stage"], step, float(loss.detach()), len(bad), ", ".join(bad[:3]),
        )  # fmt: skip
        return False
    optimizer.step()
    logit_scale = getattr(model, "logit_scale", None)
    if logit_scale is not None and logit_scale.requires_grad:
        with torch.no_grad():
            logit_scale.clamp_(0, MAX_LOGIT_SCALE)
    return True


def evaluate_top1(bundle, data: EvalData, w: float, batch_size: int, device) -> float:
    """Top-1 of the validation queries against the references, on the pooled embedding at ``w``."""
    img, txt = embedding.embed_arrays(
        bundle, data.crops if w > 0 else None, data.tokens if w < 1 else None, batch_size, device, desc="val"
    )
    emb = embedding.pooled(img, txt, w)
    top1, _, _ = embedding.top1_from_embeddings(
        emb[data.query_idx], emb[data.ref_idx], data.entities[data.query_idx], data.entities[data.ref_idx]
    )
    return top1


def _evaluate(bundle, recipe: dict, eval_data, eval_batch_size: int, device, progress: Progress, epoch: int) -> float:
    """Validation top-1 at the stage's w (NaN without validation data), recorded as the epoch's metrics row."""
    val = float("nan")
    if eval_data is not None:
        val = evaluate_top1(bundle, eval_data, stage_weight(recipe), eval_batch_size, device)
    progress.rows.append({"epoch": epoch, "step": progress.step, "loss": None, "val_top1": val})
    return val


def _keep_if_best(model, progress: Progress, val: float, epoch: int, best_state: dict) -> dict:
    """Validation top-1 selects the epoch, the start (epoch 0) included, ties to the earlier; without validation
    data the last epoch is kept."""
    if math.isnan(val) or val > progress.best_val:
        progress.best_val = progress.best_val if math.isnan(val) else val
        progress.best_epoch = epoch
        return _clone(model.state_dict())
    return best_state


def _log_selection(recipe: dict, progress: Progress) -> None:
    if progress.skipped:
        log.error("%s: %d of %d optimizer steps were skipped (see the errors above)", recipe["stage"],
                  progress.skipped, progress.step)  # fmt: skip
    if progress.best_epoch == 0 and int(recipe["epochs"]) > 0:
        log.warning(
            "%s: no epoch beat the starting weights on validation (top-1 %.4f): returning the starting weights",
            recipe["stage"], progress.best_val,
        )  # fmt: skip
    else:
        log.info("%s: kept epoch %d (val top-1 %.4f)", recipe["stage"], progress.best_epoch, progress.best_val)


def metrics_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["epoch", "step", "loss", "val_top1"])
