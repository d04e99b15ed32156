"""Batches for supervised contrastive training: m records per class, hard-negative classes side by side."""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from clippings_wf.linking.faiss_index import build_index, search


class HardNegativeBatchSampler:
    """Yields lists of record indices (a torch DataLoader `batch_sampler`).

    Each batch holds batch_size // m_per_class classes with exactly m_per_class records each (drawn without
    replacement, with replacement when a class has fewer records). A batch is filled seed by seed: the next class
    of a shuffled order, then its hard-negative neighbour classes (``neighbours[seed]``, nearest first), so that
    confusable firms meet in one batch; when they run out the next seed follows. The epoch ends once every class
    has been in a batch (neighbours may come round twice). Deterministic for (seed, epoch): call set_epoch(epoch).
    """

    def __init__(self, labels, batch_size: int, m_per_class: int, neighbours: dict | None = None, seed: int = 0):
        labels = np.asarray(labels)
        if m_per_class < 1 or batch_size < 2 * m_per_class:
            raise ValueError(f"batch_size ({batch_size}) must hold at least two classes of m_per_class "
                             f"({m_per_class}) records")
        by_class = defaultdict(list)
        for i, lab in enumerate(labels.tolist()):
            by_class[lab].append(i)
        self.classes = sorted(by_class)
        self.index_of = {c: np.asarray(ix, dtype=np.int64) for c, ix in by_class.items()}
        if len(self.classes) < batch_size // m_per_class:
            raise ValueError(f"{len(self.classes)} classes cannot fill a batch of {batch_size // m_per_class}")
        self.m = m_per_class
        self.classes_per_batch = batch_size // m_per_class
        self.batch_size = self.classes_per_batch * m_per_class
        self.neighbours = {c: [n for n in ns if n in self.index_of and n != c]
                           for c, ns in (neighbours or {}).items() if c in self.index_of}
        self.seed = seed
        self.epoch = 0
        self._plan = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self._plan = None

    def _rng(self):
        return np.random.default_rng([self.seed, self.epoch])

    def _class_plan(self) -> list[list]:
        if self._plan is not None:
            return self._plan
        rng = self._rng()
        order = [self.classes[i] for i in rng.permutation(len(self.classes))]
        used, plan, pos = set(), [], 0
        while len(used) < len(self.classes):
            batch, in_batch = [], set()
            while len(batch) < self.classes_per_batch:
                while pos < len(order) and order[pos] in used:
                    pos += 1
                if pos < len(order):
                    seed_class = order[pos]
                else:  # every class is used: top up the last batch with random ones
                    seed_class = self.classes[rng.integers(len(self.classes))]
                    if seed_class in in_batch:
                        continue
                for c in [seed_class] + self.neighbours.get(seed_class, []):
                    if len(batch) == self.classes_per_batch:
                        break
                    if c not in in_batch:
                        batch.append(c)
                        in_batch.add(c)
                        used.add(c)
            plan.append(batch)
        self._plan = plan
        return plan

    def __len__(self) -> int:
        return len(self._class_plan())

    def __iter__(self):
        plan = self._class_plan()
        rng = np.random.default_rng([self.seed, self.epoch, 1])
        for classes in plan:
            out = []
            for c in classes:
                ix = self.index_of[c]
                out.extend(rng.choice(ix, self.m, replace=len(ix) < self.m).tolist())
            yield out


def mine_hard_negatives(class_embeddings: np.ndarray, class_ids, k: int) -> dict:
    """{class_id: [k nearest other class_ids, nearest first]} by inner product of (normalized) class centroids."""
    x = np.asarray(class_embeddings, dtype=np.float32)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    class_ids = list(class_ids)
    k = min(k, len(class_ids) - 1)
    if k <= 0:
        return {c: [] for c in class_ids}
    _, nn = search(build_index(x, "flat"), x, k + 1)
    out = {}
    for i, row in enumerate(nn):
        out[class_ids[i]] = [class_ids[j] for j in row if j != i and j >= 0][:k]
    return out
