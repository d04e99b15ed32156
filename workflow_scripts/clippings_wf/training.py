"""One training stage of the recipe: its data, its objective, and a resumable, seeded loop.

Objectives (the ``objective`` key of a stage's recipe, see rules/common.smk):
- ``views``: SupCon between renders of one synthetic name, on one tower (``modality`` image or text);
- ``clip``: CLIP's symmetric InfoNCE between each crop and its own OCR text, labels unused;
- ``supcon``: SupCon on the pooled embedding normalize(w*img + (1-w)*txt), on synthetic views or on the
  labelled training split with m records per entity per batch and hard negatives mined from the current model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from clippings_wf import embedding, images, losses, modeling, samplers
from clippings_wf.atomic import atomic_path
from clippings_wf.metrics import as_text

log = logging.getLogger(__name__)


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
        crops = bundle.load_crops(list(views["png"]), workers=workers)
        parts.append((crops, [[as_text(t)] for t in views["ocr"]], views["name_id"].to_numpy()))
    if source == "pool+synthetic":
        pool = manifest[manifest["split"] == "pool"]
        if len(pool):
            crops = bundle.load_crops(embedding.resolve_image_paths(pool, manifest_dir), workers=workers)
            parts.append((crops, [[as_text(t)] for t in pool["ocr_noisy"]], None))
    if source == "labelled":
        train = manifest[(manifest["split"] == "train") & manifest["entity_id"].notna()]
        train = train[train["entity_id"].astype(str) != ""]
        crops = bundle.load_crops(embedding.resolve_image_paths(train, manifest_dir), workers=workers)
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
    crops = bundle.load_crops(embedding.resolve_image_paths(rows, manifest_dir), workers=workers)
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


def _cosine_with_warmup(total_steps: int, warmup_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


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

    Per-epoch checkpoints in ``checkpoint_dir`` make the stage resumable: rerunning the same recipe continues
    after the last finished epoch, with the same batches and the same result as an uninterrupted run.
    """
    objective, w = recipe["objective"], stage_weight(recipe)
    model = bundle.model.to(device)
    epochs = int(recipe["epochs"])
    m = int(recipe.get("m_per_class", 2)) if data.labels is not None else 1
    if objective == "views" and data.labels is not None:
        m = int(np.bincount(data.labels).max())  # every view of a name in one batch
    torch.manual_seed(seed)

    def make_sampler(neighbours=None):
        if data.labels is None:
            return None
        return samplers.HardNegativeBatchSampler(data.labels, batch_size, m, neighbours=neighbours, seed=seed)

    sampler = make_sampler()
    steps_per_epoch = len(sampler) if sampler is not None else max(1, len(data.crops) // batch_size)
    total_steps = max(1, epochs * steps_per_epoch)

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=float(recipe["lr"]), weight_decay=0.05)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _cosine_with_warmup(total_steps, max(1, total_steps // 20))
    )

    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    last = checkpoint_dir / "last.pt"
    fingerprint = run_fingerprint(recipe, model, data, eval_data, seed, batch_size)
    progress = Progress()
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if last.exists():
        state = modeling.safe_load(last, map_location=device)
        if state.get("fingerprint") == fingerprint:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            best_state = state["best_model"]
            progress = Progress(
                state["epoch"], state["best_val"], state["best_epoch"], list(state["rows"]), state["neighbours"]
            )
            log.info("resumed %s after epoch %d of %d", recipe["stage"], progress.epoch, epochs)
        else:
            log.info("ignoring the checkpoint in %s: made from another recipe, seed, start or data", checkpoint_dir)

    mining = objective == "supcon" and data.labels is not None and int(recipe.get("hard_negatives_k", 0)) > 0
    remine_every = int(recipe.get("remine_every", 1))
    for epoch in range(progress.epoch, epochs):
        started = time.time()
        if mining and (epoch % remine_every == 0 or progress.neighbours is None):
            progress.neighbours = _hard_negative_neighbours(
                bundle, data, w, int(recipe["hard_negatives_k"]), eval_batch_size, device
            )
        if mining:
            sampler = make_sampler(progress.neighbours)
        model.train()
        generator = torch.Generator().manual_seed(seed * 1000 + epoch)
        text_rng = np.random.default_rng(seed * 1000 + epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)
            batches = list(iter(sampler))
        else:
            order = torch.randperm(len(data.crops), generator=generator).numpy()
            batches = [order[i : i + batch_size] for i in range(0, len(order) - batch_size + 1, batch_size)]
            batches = batches or [order]
        losses_epoch = []
        bar = tqdm(batches, desc=f"{recipe['stage']} epoch {epoch + 1}/{epochs}", mininterval=10)
        for step, batch in enumerate(bar):
            idx = np.asarray(batch)
            loss = _batch_loss(bundle, objective, w, data, idx, generator, text_rng, recipe, device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(params, 5.0)
            # A crop whose features all vanish under max pooling gives an infinite gradient through the L2
            # normalization: skip that step rather than write NaN into every weight.
            if torch.isfinite(grad_norm):
                optimizer.step()
            else:
                bad = [n for n, p in model.named_parameters() if p.grad is not None and not p.grad.isfinite().all()]
                log.warning(
                    "%s step %d: non-finite gradient norm (loss %.4f; %d tensors, first %s), step skipped",
                    recipe["stage"], step + 1, float(loss.detach()), len(bad), ", ".join(bad[:3]),
                )
            scheduler.step()
            value = float(loss.detach())
            losses_epoch.append(value)
            progress.rows.append(
                {"epoch": epoch + 1, "step": epoch * steps_per_epoch + step + 1, "loss": value, "val_top1": None}
            )
            bar.set_postfix(loss=f"{value:.3f}", refresh=False)  # drawn every mininterval, not every step
        val = float("nan")
        if eval_data is not None and (objective == "supcon" or epoch == epochs - 1):
            val = evaluate_top1(bundle, eval_data, w, eval_batch_size, device)
        progress.rows.append(
            {"epoch": epoch + 1, "step": (epoch + 1) * steps_per_epoch, "loss": None, "val_top1": val}
        )
        log.info(
            "%s epoch %d/%d: loss %.4f, val top-1 %.4f, %.0f s",
            recipe["stage"], epoch + 1, epochs, float(np.mean(losses_epoch)), val, time.time() - started,
        )
        # Select on validation top-1 where the stage is evaluated every epoch; otherwise keep the last epoch.
        if objective != "supcon" or math.isnan(val) or val > progress.best_val:
            progress.best_val = val if not math.isnan(val) else progress.best_val
            progress.best_epoch = epoch + 1
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        progress.epoch = epoch + 1
        _atomic_save(
            {
                "fingerprint": fingerprint,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "best_model": best_state,
                "epoch": progress.epoch,
                "best_val": progress.best_val,
                "best_epoch": progress.best_epoch,
                "rows": progress.rows,
                "neighbours": progress.neighbours,
            },
            last,
        )
    log.info("%s: kept epoch %d (val top-1 %.4f)", recipe["stage"], progress.best_epoch, progress.best_val)
    return best_state, progress.rows


def _batch_loss(bundle, objective, w, data: TrainingData, idx, generator, text_rng, recipe, device):
    model = bundle.model
    need_image = objective == "clip" or w > 0
    need_text = objective == "clip" or w < 1
    img = txt = None
    with modeling.autocast(device):
        if need_image:
            crops = images.augment_crops(torch.from_numpy(data.crops[idx]), generator)
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
