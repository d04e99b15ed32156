"""Bootstrap intervals for the numbers the tables claim (numpy only, seeded, so a rerun gives the same interval).

Top-1 and no-match accuracy are means over test queries: the queries are resampled (percentile interval). Two
methods on the same queries are compared by resampling query indices jointly, which keeps their correlation (a
query hard for one is usually hard for the other) and gives a much narrower interval than two separate ones.

ARI is not a mean over records: records of one entity are not independent, and the index counts pairs. So the
test ENTITIES are resampled, each drawn entity bringing all its records, and an entity drawn twice counts as two
entities (each copy its own label). ARI needs only three pair counts (pairs in one entity, pairs in one predicted
cluster, pairs in both), so a resample is scored from pairs rather than from a relabelled partition: two records
of one copy keep their pair status, two records of different entities keep theirs whichever copies they belong
to, and two copies of one entity are never together (distinct cluster ids: the method could not have merged a
firm with itself twice). Splitting clusters by copy number instead (the k-th copies together) would drop most
false merges between entities and bias the resampled ARI upwards, past the point estimate.
"""

from __future__ import annotations

import numpy as np

N_BOOT = 1000
SEED = 0
ALPHA = 0.05
_CHUNK_CELLS = 4_000_000  # resamples x items held in memory at once


def _percentile_interval(stats: np.ndarray, alpha: float) -> tuple[float, float]:
    low, high = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _resampled_means(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Mean of ``values`` (one row per query, columns = quantities) over n_boot query resamples: [n_boot, k]."""
    rng = np.random.default_rng(seed)
    n = len(values)
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    means = []
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        means.append(values[idx].mean(axis=1))
    return np.concatenate(means)


def bootstrap_ci(values, n_boot: int = N_BOOT, seed: int = SEED, alpha: float = ALPHA) -> tuple[float, float, float]:
    """(mean, low, high): the mean of per-query values (hits as 0/1) and its percentile bootstrap interval."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if not len(values):
        return float("nan"), float("nan"), float("nan")
    stats = _resampled_means(values[:, None], n_boot, seed)[:, 0]
    return (float(values.mean()), *_percentile_interval(stats, alpha))


def paired_bootstrap_diff(
    a, b, n_boot: int = N_BOOT, seed: int = SEED, alpha: float = ALPHA
) -> tuple[float, float, float]:
    """(mean(a) - mean(b), low, high) for two methods' per-query values on the same queries (same order),
    resampling query indices jointly. Identical vectors give exactly (0, 0, 0)."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired values differ in length: {a.shape} vs {b.shape}")
    if not len(a):
        return float("nan"), float("nan"), float("nan")
    diff = a - b
    stats = _resampled_means(diff[:, None], n_boot, seed)[:, 0]
    return (float(diff.mean()), *_percentile_interval(stats, alpha))


# --- ARI over resampled entities ---------------------------------------------------------------------------


def _comb2(x):
    x = np.asarray(x, dtype=np.float64)
    return x * (x - 1) / 2


class _EntityTable:
    """The contingency of true entities x predicted clusters, kept as its nonzero cells (entity, cluster, n)."""

    def __init__(self, true_labels, predicted_labels):
        true_labels, predicted_labels = np.asarray(true_labels), np.asarray(predicted_labels)
        if true_labels.shape != predicted_labels.shape:
            raise ValueError(f"{true_labels.shape} true labels for {predicted_labels.shape} predicted")
        self.entities, entity = np.unique(true_labels, return_inverse=True)
        clusters, cluster = np.unique(predicted_labels, return_inverse=True)
        self.n_clusters = len(clusters)
        cells, counts = np.unique(entity.astype(np.int64) * self.n_clusters + cluster, return_counts=True)
        self.cell_entity, self.cell_cluster = cells // self.n_clusters, cells % self.n_clusters
        self.cell_n = counts.astype(np.float64)
        n_entities = len(self.entities)
        self.entity_size = np.bincount(entity, minlength=n_entities).astype(np.float64)
        self.entity_pairs = _comb2(self.entity_size)
        self.together_pairs = np.bincount(self.cell_entity, weights=_comb2(counts), minlength=n_entities)
        self.cell_squares = np.bincount(self.cell_entity, weights=self.cell_n**2, minlength=n_entities)

    def ari(self, multiplicity: np.ndarray) -> np.ndarray:
        """ARI of each resample, given how often it drew each entity: [n_boot, n_entities] -> [n_boot]."""
        m = np.asarray(multiplicity, dtype=np.float64)
        n = m @ self.entity_size
        together = m @ self.together_pairs
        true_pairs = m @ self.entity_pairs
        # Pairs of records of different entities in one cluster, each entity weighted by its draws: half of
        # (sum over clusters of the weighted size squared) minus every entity's own, copies of itself included.
        rows = np.arange(len(m))[:, None] * self.n_clusters
        cell_weights = (m[:, self.cell_entity] * self.cell_n).ravel()
        weighted = np.bincount((rows + self.cell_cluster).ravel(), weights=cell_weights,
                               minlength=len(m) * self.n_clusters).reshape(len(m), self.n_clusters)  # fmt: skip
        across = ((weighted**2).sum(axis=1) - (m**2) @ self.cell_squares) / 2
        return _ari_from_pairs(n, together, true_pairs, together + across)


def _ari_from_pairs(n, together, true_pairs, predicted_pairs) -> np.ndarray:
    """sklearn's adjusted_rand_score from pair counts (its pair-confusion form, 1.0 where no pair disagrees)."""
    tp = 2 * together
    fp = 2 * (predicted_pairs - together)
    fn = 2 * (true_pairs - together)
    tn = n * (n - 1) - tp - fp - fn
    denominator = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)
    perfect = (fn == 0) & (fp == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ari = 2.0 * (tp * tn - fn * fp) / denominator
    return np.where(perfect, 1.0, ari)


def _bootstrap_ari(tables: list[_EntityTable], n_boot: int, seed: int) -> list[np.ndarray]:
    """Each table's ARI on the same n_boot entity resamples (drawn a chunk at a time to bound memory)."""
    rng = np.random.default_rng(seed)
    n_entities = len(tables[0].entities)
    chunk = max(1, _CHUNK_CELLS // max(n_entities, *(len(t.cell_n) + t.n_clusters for t in tables)))
    out = [[] for _ in tables]
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        draws = rng.integers(0, n_entities, size=(size, n_entities))
        flat = (np.arange(size)[:, None] * n_entities + draws).ravel()
        multiplicity = np.bincount(flat, minlength=size * n_entities).reshape(size, n_entities)
        for values, table in zip(out, tables):
            values.append(table.ari(multiplicity))
    return [np.concatenate(v) for v in out]


def resampled_ari(true_labels, predicted_labels, multiplicity) -> np.ndarray:
    """ARI of the clustering on resamples given as entity multiplicities [n_boot, n_entities], the entities in
    ``np.unique(true_labels)`` order (a row of ones is the clustering itself)."""
    return _EntityTable(true_labels, predicted_labels).ari(np.atleast_2d(multiplicity))


def resample_entities(true_labels, draw) -> tuple[np.ndarray, np.ndarray]:
    """One resample written out record by record: ``draw`` lists entity positions (into ``np.unique``). Returns
    (record positions, the copy each record belongs to: its position in ``draw``), every record of a drawn entity
    once per draw. ``resampled_ari`` scores such a resample without building it."""
    _, entity = np.unique(np.asarray(true_labels), return_inverse=True)
    members = [np.flatnonzero(entity == e) for e in np.asarray(draw)]
    copies = [np.full(len(m), i) for i, m in enumerate(members)]
    empty = np.zeros(0, dtype=np.int64)
    return np.concatenate(members or [empty]), np.concatenate(copies or [empty])


def cluster_bootstrap_ari(
    true_labels, predicted_labels, n_boot: int = N_BOOT, seed: int = SEED, alpha: float = ALPHA
) -> tuple[float, float, float]:
    """(ARI, low, high): the clustering's ARI and its percentile interval over resampled test entities."""
    table = _EntityTable(true_labels, predicted_labels)
    if not len(table.entities):
        return float("nan"), float("nan"), float("nan")
    point = float(table.ari(np.ones((1, len(table.entities)), dtype=np.int64))[0])
    stats = _bootstrap_ari([table], n_boot, seed)[0]
    return (point, *_percentile_interval(stats, alpha))


def paired_cluster_bootstrap_ari(
    true_labels, predicted_a, predicted_b, n_boot: int = N_BOOT, seed: int = SEED, alpha: float = ALPHA
) -> tuple[float, float, float]:
    """(ARI(a) - ARI(b), low, high) for two clusterings of the same records, the same entities drawn for both."""
    a, b = _EntityTable(true_labels, predicted_a), _EntityTable(true_labels, predicted_b)
    if not len(a.entities):
        return float("nan"), float("nan"), float("nan")
    ones = np.ones((1, len(a.entities)), dtype=np.int64)
    point = float(a.ari(ones)[0] - b.ari(ones)[0])
    stats_a, stats_b = _bootstrap_ari([a, b], n_boot, seed)
    return (point, *_percentile_interval(stats_a - stats_b, alpha))
