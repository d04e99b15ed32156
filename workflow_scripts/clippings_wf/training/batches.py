"""The batches of an epoch: shuffled records, or m records per class with hard negatives mined from the model."""

from __future__ import annotations

import numpy as np
import torch

from clippings_wf.models import embedding
from clippings_wf.training import samplers
from clippings_wf.training.checkpoints import Progress
from clippings_wf.training.data import TrainingData
from clippings_wf.training.objectives import stage_weight


def epoch_sampler(bundle, recipe: dict, data: TrainingData, progress: Progress, epoch: int, batch_size: int,
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
        progress.neighbours = hard_negative_neighbours(bundle, data, stage_weight(recipe), k, eval_batch_size, device)
    neighbours = progress.neighbours if mining else None
    sampler = samplers.HardNegativeBatchSampler(data.labels, batch_size, m, neighbours=neighbours, seed=seed)
    sampler.set_epoch(epoch)
    return sampler


def epoch_batches(data: TrainingData, sampler, batch_size: int, generator) -> list[np.ndarray]:
    """Every batch of the epoch, drawn before the first step: the schedule is sized from their number."""
    if sampler is not None:
        return [np.asarray(batch) for batch in sampler]
    order = torch.randperm(len(data.crops), generator=generator).numpy()
    batches = [order[i : i + batch_size] for i in range(0, len(order) - batch_size + 1, batch_size)]
    return batches or [order]


def hard_negative_neighbours(bundle, data: TrainingData, w: float, k: int, batch_size: int, device) -> dict:
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
