"""Bootstrap intervals for the numbers the tables claim (numpy only, seeded, so a rerun gives the same interval).

Every interval resamples test ENTITIES (firms), each drawn entity bringing all its records: an entity's queries
share one reference and one name, so their hits are correlated, and resampling queries one by one would give
intervals too narrow. ``_entity_draws`` gives, per resample, how often each entity was drawn.

Top-1 and no-match accuracy are means over test queries: a resample's value is the mean hit over its queries,
sum of the drawn entities' hits over the number of their queries (a ratio estimator: an entity with three queries
weighs three times one with one, as in the point estimate). Two methods on the same queries are compared by
drawing the same entities for both, which keeps their correlation (a firm hard for one is usually hard for the
other) and gives a much narrower interval than two separate ones.

ARI is not a mean over records: the index counts pairs, and in a resample an entity drawn twice counts as two
entities (each copy its own label). ARI needs only three pair counts (pairs in one entity, pairs in one predicted
cluster, pairs in both), so a resample is scored from pairs rather than from a relabelled partition: two records
of one copy keep their pair status, two records of different entities keep theirs whichever copies they belong
to, and two copies of one entity are never together (distinct cluster ids: the method could not have merged a
firm with itself twice). Splitting clusters by copy number instead (the k-th copies together) would drop most
false merges between entities and bias the resampled ARI upwards, past the point estimate.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

N_BOOT = 1000
SEED = 0
ALPHA = 0.05
_CHUNK_CELLS = 4_000_000  # resamples x items held in memory at once


def _percentile_interval(stats: np.ndarray, alpha: float) -> tuple[float, float]:
    low, high = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _entity_draws(n_entities: int, n_boot: int, seed: int, cells: int | None = None) -> Iterator[np.ndarray]:
    """How often each of ``n_boot`` resamples (``n_entities`` draws with replacement each) drew each entity:
    [chunk, n_entities] count matrices, a chunk at a time so that about ``_CHUNK_CELLS`` cells (``cells`` per
    resample, default n_entities) are held at once."""
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // max(cells or n_entities, 1))
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        draws = rng.integers(0, n_entities, size=(size, n_entities))
        flat = (np.arange(size)[:, None] * n_entities + draws).ravel()
        yield np.bincount(flat, minlength=size * n_entities).reshape(size, n_entities)


def _entity_positions(groups, n: int) -> np.ndarray:
    groups = np.asarray(groups).ravel()
    if len(groups) != n:
        raise ValueError(f"{len(groups)} entity ids for {n} queries")
    return np.unique(groups.astype(str), return_inverse=True)[1].ravel()


def _resampled_means(values: np.ndarray, entity: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Mean of per-query ``values`` over n_boot entity resamples: the drawn entities' value totals over their
    query counts, [n_boot]."""
    n_entities = int(entity.max()) + 1
    totals = np.bincount(entity, weights=values, minlength=n_entities)
    sizes = np.bincount(entity, minlength=n_entities).astype(np.float64)
    return np.concatenate([(m @ totals) / (m @ sizes) for m in _entity_draws(n_entities, n_boot, seed)])


def bootstrap_ci(
    values, groups, n_boot: int = N_BOOT, seed: int = SEED, alpha: float = ALPHA
) -> tuple[float, float, float]:
    """(mean, low, high): the mean of per-query values (hits as 0/1) and its percentile interval over resampled
    entities. ``groups``: each query's entity id (one entity per query gives the plain per-query bootstrap)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    entity = _entity_positions(groups, len(values))
    if not len(values):
        return float("nan"), float("nan"), float("nan")
    stats = _resampled_means(values, entity, n_boot, seed)
    return (float(values.mean()), *_percentile_interval(stats, alpha))


def paired_bootstrap_diff(
    a, b, groups, n_boot: int = N_BOOT, seed: int = SEED, alpha: float = ALPHA
) -> tuple[float, float, float]:
    """(mean(a) - mean(b), low, high) for two methods' per-query values on the same queries (same order), the
    same entities (``groups``: each query's entity id) drawn for both. Identical vectors give exactly (0, 0, 0)."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired values differ in length: {a.shape} vs {b.shape}")
    return bootstrap_ci(a - b, groups, n_boot, seed, alpha)


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


def cluster_bootstrap_ari(
    true_labels, predicted_labels, n_boot: int = N_BOOT, seed: int = SEED, alpha: float = ALPHA
) -> tuple[float, float, float]:
    """(ARI, low, high): the clustering's ARI and its percentile interval over resampled test entities."""
    table = _EntityTable(true_labels, predicted_labels)
    if not len(table.entities):
        return float("nan"), float("nan"), float("nan")
    point = float(table.ari(np.ones((1, len(table.entities)), dtype=np.int64))[0])
    cells = max(len(table.entities), len(table.cell_n) + table.n_clusters)
    stats = np.concatenate([table.ari(m) for m in _entity_draws(len(table.entities), n_boot, seed, cells)])
    return (point, *_percentile_interval(stats, alpha))


def paired_cluster_bootstrap_ari_diff(
    true_labels, predicted_a, predicted_b, n_boot: int = N_BOOT, seed: int = SEED, alpha: float = ALPHA
) -> tuple[float, float, float]:
    """(ARI(a) - ARI(b), low, high): two clusterings of the same records, each resample drawing the same test
    entities for both, so the interval is of the paired difference (an entity one method splits is often split
    by the other too). Identical clusterings give exactly (0, 0, 0)."""
    a, b = _EntityTable(true_labels, predicted_a), _EntityTable(true_labels, predicted_b)
    n_entities = len(a.entities)
    if not n_entities:
        return float("nan"), float("nan"), float("nan")
    ones = np.ones((1, n_entities), dtype=np.int64)
    point = float(a.ari(ones)[0] - b.ari(ones)[0])
    cells = max(n_entities, len(a.cell_n) + a.n_clusters, len(b.cell_n) + b.n_clusters)
    stats = np.concatenate([a.ari(m) - b.ari(m) for m in _entity_draws(n_entities, n_boot, seed, cells)])
    return (point, *_percentile_interval(stats, alpha))
