"""One training stage of the recipe: its data, its objective, and a resumable, seeded loop.

Objectives (the ``objective`` key of a stage's recipe, see rules/common.smk):
- ``views``: SupCon between renders of one synthetic name, on one tower (``modality`` image or text);
- ``clip``: CLIP's symmetric InfoNCE between each crop and its own OCR text, labels unused;
- ``supcon``: SupCon on the pooled embedding normalize(w*img + (1-w)*txt), on synthetic views or on the
  labelled training split with m records per entity per batch and hard negatives mined from the current model.

Every stage: AdamW with a learning rate per tower (``lr_vision``, ``lr_text``; 0 freezes a tower), weight decay on
weight matrices only, linear warm-up then cosine over the batches actually drawn; with validation data, the best
epoch on validation top-1 is kept, the starting weights (epoch 0) included.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from clippings_wf.models import embedding
from clippings_wf.models import feature_cache
from clippings_wf.models import images
from clippings_wf.models import losses
from clippings_wf.models import modeling
from clippings_wf.training import samplers
from clippings_wf.runtime.atomic import atomic_path
from clippings_wf.evaluation.metrics import as_text

log = logging.getLogger(__name__)

# Defaults of the recipe keys weight_decay, grad_clip and warmup_fraction.
WEIGHT_DECAY = 0.05  # AdamW's decoupled decay, on weight matrices and kernels only (see _decays)
GRAD_CLIP = 5.0  # max global gradient norm
WARMUP_FRACTION = 1 / 20  # of the stage's steps, linear warm-up before the cosine decay
MAX_LOGIT_SCALE = math.log(100)  # open_clip's clamp of CLIP's learned temperature
CHECKPOINT_FORMAT = 3  # in the resume fingerprint: a checkpoint of another training loop is not resumed


@dataclass
class TrainingData:
    crops: np.ndarray  # uint8 [N, H, W]
    texts: list[list[str]]  # per record, its OCR alternatives (one is drawn per step)
    labels: np.ndarray | None  # int class per record; None for the self-supervised objective


@dataclass
class EvalData:
    crops: np.ndarray
    tokens: torch.Tensor
    query_idx: np.ndarray
    ref_idx: np.ndarray
    entities: np.ndarray


@dataclass
class Progress:
    """Everything a resumed run needs besides the weights and the optimizer."""

    epoch: int = 0
    step: int = 0  # optimizer steps taken in the stage so far: the metrics rows' running step number
    best_val: float = -1.0
    best_epoch: int = -1
    rows: list = field(default_factory=list)
    neighbours: dict | None = None  # hard-negative classes of each class, as last mined


def load_training_data(
    bundle, source: str, manifest: pd.DataFrame, manifest_dir: Path, views: pd.DataFrame, workers: int = 1
) -> TrainingData:
    """The pool of a stage: ``synthetic``, ``pool+synthetic`` or ``labelled`` (the training split)."""
    parts = []
    if source in ("synthetic", "pool+synthetic"):
        crops = bundle.load_crops(list(views["png"]), workers=workers, keys=feature_cache.view_keys(len(views)))
        parts.append((crops, [[as_text(t)] for t in views["ocr"]], views["name_id"].to_numpy()))
    if source == "pool+synthetic":
        pool = manifest[manifest["split"] == "pool"]
        if len(pool):
            crops = bundle.load_crops(embedding.resolve_image_paths(pool, manifest_dir), workers=workers,
                                      keys=pool["record_id"])
            parts.append((crops, [[as_text(t)] for t in pool["ocr_noisy"]], None))
    if source == "labelled":
        train = manifest[(manifest["split"] == "train") & manifest["entity_id"].notna()]
        train = train[train["entity_id"].astype(str) != ""]
        crops = bundle.load_crops(embedding.resolve_image_paths(train, manifest_dir), workers=workers,
                                  keys=train["record_id"])
        # Either OCR condition may be met at linking time: draw one per step.
        texts = [[as_text(a), as_text(b)] for a, b in zip(train["ocr_noisy"], train["ocr_clean"])]
        labels = pd.factorize(train["entity_id"].astype(str), sort=True)[0]
        parts.append((crops, texts, labels))
    if not parts:
        raise ValueError(f"unknown training data source {source!r}")
    crops = np.concatenate([p[0] for p in parts])
    texts = [t for p in parts for t in p[1]]
    labels = None if source == "pool+synthetic" else np.concatenate([p[2] for p in parts])
    if len(crops) == 0:
        raise ValueError(f"the {source} training pool is empty")
    return TrainingData(crops, texts, labels)


def load_eval_data(bundle, manifest: pd.DataFrame, manifest_dir: Path, split: str = "val", workers: int = 1):
    """Validation queries against the full reference set, with noisy OCR (model selection)."""
    q, r = embedding.evaluation_indices(manifest, split)
    if len(q) == 0:
        return None
    rows = manifest.iloc[np.concatenate([q, r])]
    crops = bundle.load_crops(embedding.resolve_image_paths(rows, manifest_dir), workers=workers,
                              keys=rows["record_id"])
    tokens = bundle.tokenize([as_text(t) for t in rows["ocr_noisy"]])
    n = len(q)
    return EvalData(crops, tokens, np.arange(n), np.arange(n, len(rows)), rows["entity_id"].astype(str).to_numpy())


def evaluate_top1(bundle, data: EvalData, w: float, batch_size: int, device) -> float:
    img, txt = embedding.embed_arrays(
        bundle, data.crops if w > 0 else None, data.tokens if w < 1 else None, batch_size, device, desc="val"
    )
    emb = embedding.pooled(img, txt, w)
    top1, _, _ = embedding.top1_from_embeddings(
        emb[data.query_idx], emb[data.ref_idx], data.entities[data.query_idx], data.entities[data.ref_idx]
    )
    return top1


def stage_weight(recipe: dict) -> float:
    """Which towers a stage trains and evaluates: 1 image only, 0 text only, between both."""
    if recipe["objective"] == "views":
        return 1.0 if recipe["modality"] == "image" else 0.0
    if recipe["objective"] == "clip":
        return 0.5
    return float(recipe["w"])


def _recipe_hash(recipe: dict, extra: dict) -> str:
    return hashlib.sha256(json.dumps([recipe, extra], sort_keys=True, default=str).encode()).hexdigest()[:16]


def _content_hash(*parts) -> str:
    """sha256 of arrays, tensors (a state_dict's values) and JSON-able values, in order."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, dict):  # a state_dict
            for name, tensor in sorted(part.items()):
                digest.update(name.encode())
                digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        elif isinstance(part, np.ndarray):
            digest.update(np.ascontiguousarray(part).tobytes())
        elif isinstance(part, torch.Tensor):
            digest.update(part.detach().cpu().contiguous().numpy().tobytes())
        else:
            digest.update(json.dumps(part, default=str).encode())
    return digest.hexdigest()[:16]


def run_fingerprint(recipe: dict, model, data: TrainingData, eval_data, seed: int, batch_size: int) -> str:
    """What a checkpoint must have been trained from to be resumed: the recipe, the seed, the starting weights
    (and so the architecture and the previous stage) and the training and validation data."""
    inputs = {
        "format": CHECKPOINT_FORMAT,
        "seed": seed,
        "batch_size": batch_size,
        "init": _content_hash(model.state_dict()),
        "data": _content_hash(data.crops, data.texts, data.labels if data.labels is not None else []),
        "eval": None if eval_data is None else _content_hash(eval_data.crops, eval_data.tokens,
                                                              list(eval_data.entities)),
    }
    return _recipe_hash(recipe, inputs)


def _atomic_save(obj, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


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
def _frozen_towers(model, lrs: dict):
    """A tower with learning rate 0 takes no gradient during the stage; requires_grad is restored after it."""
    frozen = [p for name, p in model.named_parameters() if lrs[_tower(name)] == 0 and p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in frozen:
            p.requires_grad_(True)


def _train_mode(model, lrs: dict) -> None:
    """Training mode, except in frozen towers: their BatchNorm statistics must not move either."""
    model.train()
    for name, module in model.named_children():
        if lrs[_tower(name + ".")] == 0:
            module.eval()


def _hard_negative_neighbours(bundle, data: TrainingData, w: float, k: int, batch_size: int, device):
    """k nearest other classes of each class, by the current model's pooled class centroids."""
    img, txt = embedding.embed_arrays(
        bundle,
        data.crops if w > 0 else None,
        bundle.tokenize([t[0] for t in data.texts]) if w < 1 else None,
        batch_size,
        device,
        desc="mine",
    )
    emb = embedding.pooled(img, txt, w)
    classes = np.unique(data.labels)
    centroids = np.stack([emb[data.labels == c].mean(0) for c in classes]).astype(np.float32)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True) + 1e-12
    mined = samplers.mine_hard_negatives(centroids, classes, k)
    # Plain ints, so the checkpoint stays loadable with weights_only=True.
    return {int(c): [int(n) for n in ns] for c, ns in mined.items()}


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
    torch.manual_seed(seed)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    last = checkpoint_dir / "last.pt"
    fingerprint = run_fingerprint(recipe, model, data, eval_data, seed, batch_size)
    with _frozen_towers(model, lrs):
        optimizer = make_optimizer(model, recipe)
        resumed = _resume(last, fingerprint, model, optimizer, recipe, device)
        progress, best_state = resumed or _start(bundle, recipe, eval_data, eval_batch_size, device)
        for epoch in range(progress.epoch, epochs):
            started = time.time()
            sampler = _epoch_sampler(bundle, recipe, data, progress, epoch, batch_size, eval_batch_size, seed, device)
            generator = torch.Generator().manual_seed(seed * 1000 + epoch)
            text_rng = np.random.default_rng(seed * 1000 + epoch)
            batches = _epoch_batches(data, sampler, batch_size, generator)
            _train_mode(model, lrs)
            loss = run_epoch(bundle, recipe, data, batches, optimizer, progress, epoch, generator, text_rng, device)
            val = _evaluate(bundle, recipe, eval_data, eval_batch_size, device, progress, epoch + 1)
            log.info(
                "%s epoch %d/%d: loss %.4f, val top-1 %.4f, %.0f s",
                recipe["stage"], epoch + 1, epochs, loss, val, time.time() - started,
            )  # fmt: skip
            best_state = _keep_if_best(model, progress, val, epoch + 1, best_state)
            progress.epoch = epoch + 1
            _atomic_save(_checkpoint(fingerprint, model, optimizer, best_state, progress), last)
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
    if not last.exists():
        return None
    state = modeling.safe_load(last, map_location=device)
    if state.get("fingerprint") != fingerprint:
        log.info("ignoring the checkpoint in %s: made from another recipe, seed, start or data", last.parent)
        return None
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    progress = Progress(
        epoch=state["epoch"], step=state["step"], best_val=state["best_val"], best_epoch=state["best_epoch"],
        rows=list(state["rows"]), neighbours=state["neighbours"],
    )  # fmt: skip
    # Dropout (the recognizer tower's head) draws from torch's global generator: continue its stream where the
    # interrupted run left it, so the resumed epochs draw the masks an uninterrupted run would have.
    torch.set_rng_state(state["torch_rng"].cpu())
    if "cuda_rng" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])
    log.info("resumed %s after epoch %d of %d", recipe["stage"], progress.epoch, int(recipe["epochs"]))
    return progress, state["best_model"]


def _checkpoint(fingerprint: str, model, optimizer, best_state: dict, progress: Progress) -> dict:
    # The schedule is a function of (epoch, step in epoch, batches in epoch): it has no state of its own.
    return {
        "fingerprint": fingerprint,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "best_model": best_state,
        "epoch": progress.epoch,
        "step": progress.step,
        "best_val": progress.best_val,
        "best_epoch": progress.best_epoch,
        "rows": progress.rows,
        "neighbours": progress.neighbours,
        "torch_rng": torch.get_rng_state(),
        **({"cuda_rng": torch.cuda.get_rng_state_all()} if torch.cuda.is_available() else {}),
    }


def _epoch_sampler(bundle, recipe: dict, data: TrainingData, progress: Progress, epoch: int, batch_size: int,
                   eval_batch_size: int, seed: int, device):  # fmt: skip
    """The epoch's batch sampler (None without labels), with hard negatives (re)mined from the current model."""
    if data.labels is None:
        return None
    objective, k = recipe["objective"], int(recipe.get("hard_negatives_k", 0))
    m = int(recipe.get("m_per_class", 2))
    if objective == "views":
        m = int(np.bincount(data.labels).max())  # every view of a name in one batch
    mining = objective == "supcon" and k > 0
    if mining and (epoch % int(recipe.get("remine_every", 1)) == 0 or progress.neighbours is None):
        progress.neighbours = _hard_negative_neighbours(bundle, data, stage_weight(recipe), k, eval_batch_size, device)
    neighbours = progress.neighbours if mining else None
    sampler = samplers.HardNegativeBatchSampler(data.labels, batch_size, m, neighbours=neighbours, seed=seed)
    sampler.set_epoch(epoch)
    return sampler


def _epoch_batches(data: TrainingData, sampler, batch_size: int, generator) -> list[np.ndarray]:
    """Every batch of the epoch, drawn before the first step: the schedule is sized from their number."""
    if sampler is not None:
        return [np.asarray(batch) for batch in sampler]
    order = torch.randperm(len(data.crops), generator=generator).numpy()
    batches = [order[i : i + batch_size] for i in range(0, len(order) - batch_size + 1, batch_size)]
    return batches or [order]


def run_epoch(bundle, recipe: dict, data: TrainingData, batches: list, optimizer, progress: Progress, epoch: int,
              generator, text_rng, device) -> float:  # fmt: skip
    """One pass over ``batches``, the learning rate set per step from the fraction of the stage trained; appends a
    metrics row per step, numbered by the stage's running step count. Returns the epoch's mean loss."""
    objective, w, epochs = recipe["objective"], stage_weight(recipe), int(recipe["epochs"])
    warmup = float(recipe.get("warmup_fraction", WARMUP_FRACTION))
    losses_epoch = []
    bar = tqdm(batches, desc=f"{recipe['stage']} epoch {epoch + 1}/{epochs}", mininterval=10)
    for step, idx in enumerate(bar):
        factor = lr_factor((epoch + step / len(batches)) / epochs, 1 / (len(batches) * epochs), warmup)
        for group in optimizer.param_groups:
            group["lr"] = group["base_lr"] * factor
        loss = _batch_loss(bundle, objective, w, data, idx, generator, text_rng, recipe, device)
        progress.step += 1
        _optimizer_step(bundle.model, optimizer, loss, recipe, progress.step)
        value = float(loss.detach())
        losses_epoch.append(value)
        progress.rows.append({"epoch": epoch + 1, "step": progress.step, "loss": value, "val_top1": None})
        bar.set_postfix(loss=f"{value:.3f}", refresh=False)  # drawn every mininterval, not every step
    return float(np.mean(losses_epoch))


def _optimizer_step(model, optimizer, loss: torch.Tensor, recipe: dict, step: int) -> None:
    """Backward, clip the gradient norm, step, and clamp CLIP's learned temperature as open_clip does."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    grad_norm = torch.nn.utils.clip_grad_norm_(params, float(recipe.get("grad_clip", GRAD_CLIP)))
    # A crop whose features all vanish under max pooling gives an infinite gradient through the L2
    # normalization: skip that step rather than write NaN into every weight.
    if not torch.isfinite(grad_norm):
        bad = [n for n, p in model.named_parameters() if p.grad is not None and not p.grad.isfinite().all()]
        log.warning(
            "%s step %d: non-finite gradient norm (loss %.4f; %d tensors, first %s), step skipped",
            recipe["stage"], step, float(loss.detach()), len(bad), ", ".join(bad[:3]),
        )  # fmt: skip
        return
    optimizer.step()
    logit_scale = getattr(model, "logit_scale", None)
    if logit_scale is not None and logit_scale.requires_grad:
        with torch.no_grad():
            logit_scale.clamp_(0, MAX_LOGIT_SCALE)


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
    if progress.best_epoch == 0 and int(recipe["epochs"]) > 0:
        log.warning(
            "%s: no epoch beat the starting weights on validation (top-1 %.4f): returning the starting weights",
            recipe["stage"], progress.best_val,
        )  # fmt: skip
    else:
        log.info("%s: kept epoch %d (val top-1 %.4f)", recipe["stage"], progress.best_epoch, progress.best_val)


def _batch_loss(bundle, objective, w, data: TrainingData, idx, generator, text_rng, recipe, device):
    model = bundle.model
    need_image = objective == "clip" or w > 0
    need_text = objective == "clip" or w < 1
    img = txt = None
    with modeling.autocast(device):
        if need_image:
            crops = torch.from_numpy(data.crops[idx])
            if bundle.input_kind == "pixels":  # cached recognizer features are not augmented
                crops = images.augment_crops(crops, generator)
            x = bundle.to_input(crops.to(device), channels_last=embedding.use_channels_last(bundle))
            img = model.encode_image(x).float()
        if need_text:
            texts = [alts[text_rng.integers(len(alts))] for alts in (data.texts[i] for i in idx)]
            txt = model.encode_text(bundle.tokenize(texts).to(device)).float()
    if objective == "clip":
        img = torch.nn.functional.normalize(img, dim=-1)
        txt = torch.nn.functional.normalize(txt, dim=-1)
        return losses.clip_loss(img, txt, model.logit_scale.exp())
    labels = torch.from_numpy(data.labels[idx]).to(device)
    if img is None:
        emb = torch.nn.functional.normalize(txt, dim=-1)
    elif txt is None:
        emb = torch.nn.functional.normalize(img, dim=-1)
    else:
        emb = modeling.pooled_embedding(img, txt, w)
    return losses.supcon_loss(emb, labels, float(recipe.get("temperature", 0.1)))


def metrics_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["epoch", "step", "loss", "val_top1"])
