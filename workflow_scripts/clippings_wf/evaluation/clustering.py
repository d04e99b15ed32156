"""Clustering records into entities: single linkage on cosine similarity, cut at a threshold tuned on validation.

Single linkage cut at similarity t puts two records in one cluster exactly when a chain of pairs with
similarity >= t joins them: the connected components of the graph with those edges. We build that graph from
each record's k nearest neighbours (FAISS for embeddings; row chunks of a string similarity for the baselines),
so memory is N * k rather than N * N. It equals single linkage whenever no record has more than k neighbours
at or above t (each one's every such neighbour is then among its k nearest); ``saturated`` counts the records
where that may fail, and the log reports them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.cluster import contingency_matrix

from clippings_wf.evaluation import intervals

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ValidationClustering:
    """What tuning a method's own settings by validation ARI needs (a dataset evaluated by clustering alone has
    no linking task to tune on): the validation records (row positions) and the graph's settings."""

    records: np.ndarray
    neighbours: int
    grid_size: int


def knn_graph_from_embeddings(emb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each record's k nearest other records by inner product (cosine on normalized rows), exact FAISS search.

    Returns (neighbours int64 [N, k], similarities float32 [N, k]), best first; -1 where fewer exist.
    """
    from clippings_wf.linking import faiss_index  # FAISS only here: the string baselines' environment has none

    n = len(emb)
    k = min(k, max(n - 1, 0))
    sims, idx = faiss_index.search(faiss_index.build_index(emb), emb, k + 1)
    return _drop_self(idx, sims, k)


# Columns (other records) per similarity block of the kNN graph: memory row_chunk x COLUMN_CHUNK whatever the number
# of records. Every dataset the default config makes fits one block, where the graph is exactly the one-block
# computation of before (argpartition of the whole row).
COLUMN_CHUNK = 8192


def knn_graph_from_similarity(
    similarity_rows: Callable[[int, int], np.ndarray], n: int, k: int, chunk_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """The same graph from a similarity computed a block of rows at a time: ``similarity_rows(start, stop)``
    returns the [stop - start, n] block, so memory stays chunk_size * n (``knn_graph_from_blocks`` bounds the
    columns too)."""
    return knn_graph_from_blocks(lambda i, j, c0, c1: similarity_rows(i, j), n, k, chunk_size, column_chunk=n)


def knn_graph_from_blocks(
    similarity_block: Callable[[int, int, int, int], np.ndarray], n: int, k: int, row_chunk: int = 1024,
    column_chunk: int = COLUMN_CHUNK,
) -> tuple[np.ndarray, np.ndarray]:
    """Each record's k nearest other records from a similarity computed a block at a time:
    ``similarity_block(row_start, row_stop, col_start, col_stop)`` returns that [rows, cols] block (a string
    matcher's), so memory stays row_chunk * column_chunk (+ the graph), never row_chunk * n.

    With more records than one block's columns, each row's best k + 1 are kept across column blocks (running
    top-k, ties to the lowest index); with one block it is the whole-row selection."""
    k = min(k, max(n - 1, 0))
    neighbours = np.full((n, k + 1), -1, dtype=np.int64)
    sims = np.full((n, k + 1), -np.inf, dtype=np.float32)
    column_chunk = max(int(column_chunk), k + 1, 1)
    for start in range(0, n, row_chunk):
        stop = min(n, start + row_chunk)
        if column_chunk >= n:
            block = np.asarray(similarity_block(start, stop, 0, n), dtype=np.float32)
            top, top_sims = _whole_row_top(block, k, n)
        else:
            top, top_sims = _running_top(lambda c0, c1, i=start, j=stop: similarity_block(i, j, c0, c1), n, k + 1,
                                         column_chunk)  # fmt: skip
        neighbours[start:stop], sims[start:stop] = top, top_sims
    return _drop_self(neighbours, sims, k)


def _whole_row_top(block: np.ndarray, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The k + 1 most similar of whole rows, best first (argpartition, then a stable sort)."""
    top = np.argpartition(-block, k, axis=1)[:, : k + 1] if k + 1 < n else np.tile(np.arange(n), (len(block), 1))
    top_sims = np.take_along_axis(block, top, axis=1)
    order = np.argsort(-top_sims, axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1), np.take_along_axis(top_sims, order, axis=1)


def _running_top(block_of, n: int, keep: int, column_chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``keep`` most similar columns of rows given a column block at a time (``block_of(c0, c1)``), best
    first, ties to the lowest column: candidates so far (ordered by column) are merged with each next block."""
    idx = vals = None
    for c0 in range(0, n, column_chunk):
        block = np.asarray(block_of(c0, min(n, c0 + column_chunk)), dtype=np.float32)
        columns = np.broadcast_to(np.arange(c0, c0 + block.shape[1]), block.shape)
        if idx is not None:  # earlier candidates first: every column of theirs is lower than this block's
            block, columns = np.concatenate([vals, block], axis=1), np.concatenate([idx, columns], axis=1)
        idx, vals = _top_lowest_index(block, columns, keep)
    order = np.argsort(-vals, axis=1, kind="stable")  # vals are in column order: ties stay lowest first
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(vals, order, axis=1)


def _top_lowest_index(vals: np.ndarray, columns: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the ``keep`` largest values (``columns`` ascending along each row), a tie at the cut going to the
    lowest columns; returned in column order."""
    if vals.shape[1] <= keep:
        return np.ascontiguousarray(columns), vals
    cut = -np.partition(-vals, keep - 1, axis=1)[:, keep - 1 : keep]  # each row's keep-th largest value
    above, at = vals > cut, vals == cut
    take = above | (at & (np.cumsum(at, axis=1) <= keep - above.sum(axis=1, keepdims=True)))
    rows = len(vals)
    return columns[take].reshape(rows, keep), vals[take].reshape(rows, keep)


def _drop_self(idx: np.ndarray, sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Remove each row's own index (not always first: duplicates tie with it) and keep k neighbours."""
    n = len(idx)
    is_self = idx == np.arange(n)[:, None]
    # Rows where self is not among the k + 1 found: drop the last neighbour instead.
    missing = ~is_self.any(axis=1)
    is_self[missing, -1] = True
    keep = ~is_self
    return idx[keep].reshape(n, k), sims[keep].reshape(n, k)


def cluster_labels(neighbours: np.ndarray, sims: np.ndarray, threshold: float) -> np.ndarray:
    """Connected components of the kNN graph restricted to edges with similarity >= threshold."""
    n = len(neighbours)
    rows = np.repeat(np.arange(n), neighbours.shape[1])
    cols, values = neighbours.ravel(), sims.ravel()
    keep = (cols >= 0) & (values >= threshold)
    graph = coo_matrix((np.ones(int(keep.sum()), dtype=np.int8), (rows[keep], cols[keep])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def saturated(sims: np.ndarray, threshold: float) -> int:
    """Records whose k-th neighbour is still >= threshold: the kNN graph may miss some of their edges."""
    return int((sims[:, -1] >= threshold).sum()) if sims.shape[1] else 0


def pairwise_scores(true_labels, predicted_labels) -> dict[str, float]:
    """Precision, recall and F1 over pairs of records put in one cluster (0 where a denominator is 0)."""
    table = contingency_matrix(true_labels, predicted_labels, sparse=True)

    def pairs(counts):
        counts = np.asarray(counts, dtype=np.float64)
        return float((counts * (counts - 1) / 2).sum())

    together = pairs(table.data)
    predicted = pairs(np.asarray(table.sum(axis=0)).ravel())
    true = pairs(np.asarray(table.sum(axis=1)).ravel())
    precision = together / predicted if predicted else 0.0
    recall = together / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pair_precision": precision, "pair_recall": recall, "pair_f1": f1}


def merge_levels(neighbours: np.ndarray, sims: np.ndarray) -> np.ndarray:
    """The similarities at which single linkage merges two clusters: the edges of the graph's maximum spanning
    tree. Only at these thresholds does the clustering change, so they are the candidates worth trying."""
    n = len(neighbours)
    rows = np.repeat(np.arange(n), neighbours.shape[1])
    cols, values = neighbours.ravel(), sims.ravel()
    valid = cols >= 0
    rows, cols, values = rows[valid], cols[valid], values[valid]
    # Integer ranks as weights (1 = most similar) keep the edge values exact and every weight positive.
    rank = np.empty(len(values), dtype=np.float64)
    rank[np.argsort(-values, kind="stable")] = np.arange(1, len(values) + 1)
    tree = minimum_spanning_tree(csr_matrix((rank, (rows, cols)), shape=(n, n))).tocoo()
    by_rank = np.empty(len(values), dtype=values.dtype)
    by_rank[(rank - 1).astype(np.int64)] = values
    return np.unique(by_rank[(tree.data - 1).astype(np.int64)])


def threshold_grid(neighbours: np.ndarray, sims: np.ndarray, size: int) -> np.ndarray:
    """Candidate thresholds: the merge levels, thinned to at most ``size`` of their quantiles (as merge levels
    themselves, so each candidate is a distinct cut and the method's own scale is followed)."""
    levels = merge_levels(neighbours, sims)
    if not len(levels):
        return np.array([0.0])
    if len(levels) <= size:
        return levels
    return np.unique(np.quantile(levels, np.linspace(0.0, 1.0, size), method="nearest"))


def tune_threshold(neighbours, sims, labels, grid: Sequence[float]) -> tuple[float, float, pd.DataFrame]:
    """The grid threshold with the best ARI of the clustering against ``labels`` (highest threshold wins a tie).

    Returns (threshold, ARI, curve with columns threshold, ari).
    """
    aris = np.array([adjusted_rand_score(labels, cluster_labels(neighbours, sims, t)) for t in grid])
    best = len(aris) - 1 - int(np.argmax(aris[::-1]))
    return float(grid[best]), float(aris[best]), pd.DataFrame({"threshold": grid, "ari": aris})


def evaluate_clustering(neighbours, sims, labels, threshold: float) -> dict[str, float]:
    """ARI (with ari_low / ari_high: a 95% bootstrap interval over resampled test entities, each with all its
    records) and pairwise scores of the clustering at ``threshold``."""
    predicted = cluster_labels(neighbours, sims, threshold)
    n_saturated = saturated(sims, threshold)
    if n_saturated:
        log.warning("%d records have all k neighbours above %.4f: raise k for exact single linkage", n_saturated,
                    threshold)  # fmt: skip
    _, ari_low, ari_high = intervals.cluster_bootstrap_ari(labels, predicted)
    return {
        "ari": float(adjusted_rand_score(labels, predicted)),
        "ari_low": ari_low,
        "ari_high": ari_high,
        **pairwise_scores(labels, predicted),
        "n_records": len(labels),
        "n_entities": len(np.unique(labels)),
        "n_clusters": len(np.unique(predicted)),
        "saturated": n_saturated,
    }


def clustering_records(manifest: pd.DataFrame, split: str) -> np.ndarray:
    """Row positions of the split's labelled records, queries and references alike."""
    labelled = manifest["entity_id"].astype(str).str.strip() != ""
    return np.flatnonzero(((manifest["split"] == split) & labelled).to_numpy())


def tune_and_evaluate(val_graph, val_labels, test_graph, test_labels, grid_size: int) -> tuple[dict, pd.DataFrame]:
    """Tune the threshold on the validation graph, apply it to the test graph. Returns (row, val curve)."""
    grid = threshold_grid(*val_graph, grid_size)
    threshold, val_ari, curve = tune_threshold(*val_graph, val_labels, grid)
    test = evaluate_clustering(*test_graph, test_labels, threshold)
    return {"threshold": threshold, "val_ari": val_ari, **test}, curve


def sibling_top1(neighbours: np.ndarray, labels) -> dict[str, float]:
    """Retrieval among the clustered records: of the records whose entity has another record here, the share
    whose nearest other record (the kNN graph's first neighbour) is of the same entity, with a 95% bootstrap
    interval over entities (each with all its records). Columns sibling_top1 (_low, _high), n_with_sibling."""
    labels = np.asarray(labels, dtype=object).astype(str)
    _, entity, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    has_sibling = sizes[entity.ravel()] >= 2
    first = neighbours[:, 0] if neighbours.shape[1] else np.full(len(labels), -1)
    hits = (first >= 0) & (labels[np.maximum(first, 0)] == labels)
    top1, low, high = intervals.bootstrap_ci(hits[has_sibling], labels[has_sibling])
    return {"sibling_top1": top1, "sibling_top1_low": low, "sibling_top1_high": high,
            "n_with_sibling": int(has_sibling.sum())}  # fmt: skip


def paired_differences(assignments: pd.DataFrame, truth: pd.Series, method: str) -> pd.DataFrame:
    """``method``'s test ARI minus every other method's under each OCR condition, with the paired 95% interval
    (the same entities drawn for both). ``assignments``: record_id, method, ocr, cluster (the test clusterings);
    ``truth``: entity_id by record_id. Columns ocr, method, compared_with, ari_method, ari_compared, gain_pts
    (_low, _high: ARI x 100), n_records, holds (the interval lies above zero)."""
    rows = []
    for ocr, under in assignments.groupby("ocr", sort=False):
        clusters = under.pivot(index="record_id", columns="method", values="cluster")
        if method not in clusters:
            continue
        for other in [m for m in dict.fromkeys(under["method"]) if m != method]:
            both = clusters[[method, other]].dropna()
            labels = truth.loc[both.index].to_numpy()
            diff, low, high = intervals.paired_cluster_bootstrap_ari_diff(labels, both[method], both[other])
            rows.append({
                "ocr": ocr, "method": method, "compared_with": other,
                "ari_method": adjusted_rand_score(labels, both[method]),
                "ari_compared": adjusted_rand_score(labels, both[other]),
                "gain_pts": 100.0 * diff, "gain_pts_low": 100.0 * low, "gain_pts_high": 100.0 * high,
                "n_records": len(both), "holds": bool(low > 0),
            })  # fmt: skip
    return pd.DataFrame(rows, columns=["ocr", "method", "compared_with", "ari_method", "ari_compared", "gain_pts",
                                       "gain_pts_low", "gain_pts_high", "n_records", "holds"])  # fmt: skip
