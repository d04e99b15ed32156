"""Search a reference set too large for one node's memory: the references split into shards, each its own index
(built, saved and searched anywhere: another node, another process, one at a time from disk), and each query's
top-k lists merged.

With exact shards (``IndexFlatIP``) the merged top-k equals one search of the whole set: every reference is scored
by the same inner product in both (with FAISS's per-query kernel, the same float bits). Among references with
exactly equal scores (duplicates) the merge orders by the lower global position, so it does not depend on the order
the shards come in; FAISS's own order among such ties is its heap's and may differ. Approximate shards (IVF,
HNSW) merge the same way, each with its own recall; IVF-PQ shards are the other way to fit a large set in memory
(docs/deployment.md, "Sharded linking").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from clippings_wf.linking import faiss_index


def split_references(n: int, shards: int) -> list[slice]:
    """``shards`` contiguous, nearly equal slices of ``range(n)``: shard i holds global positions slice i."""
    bounds = [(n * i) // shards for i in range(shards + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(shards)]


def build_reference_shards(references: np.ndarray, shards: int, kind: str = "flat", **index_params):
    """(index, first global position) per shard of ``references`` [N, d]; each shard's index holds its slice."""
    return [(faiss_index.build_index(references[part], kind=kind, **index_params), part.start)
            for part in split_references(len(references), shards)]  # fmt: skip


def merge_topk(results: Iterable[tuple[np.ndarray, np.ndarray, int]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge per-shard top-k lists (scores [Q, k], shard-local ids [Q, k] with -1 for none, first global position)
    into one (scores, global ids), best first, ties to the lower global id; -1 and -inf pad missing entries."""
    all_scores, all_ids = [], []
    for scores, ids, offset in results:
        found = ids >= 0
        all_ids.append(np.where(found, ids + offset, -1))
        all_scores.append(np.where(found, scores, -np.inf).astype(np.float32))
    scores, ids = np.concatenate(all_scores, axis=1), np.concatenate(all_ids, axis=1)
    # Sort each row by score descending, then by global id ascending (missing ids last among -inf).
    tiebreak = np.where(ids >= 0, ids, np.iinfo(np.int64).max)
    order = np.lexsort((tiebreak, -scores), axis=1)[:, :k]
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)


def sharded_search(reference_shards: Sequence[tuple[object, int]], queries: np.ndarray, k: int,
                   per_query: bool = True) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Top-k (scores [Q, k], global reference positions [Q, k]) of ``queries`` over reference shards given as
    (FAISS index, first global position). Only one shard's results ([Q, k]) are held beside the merged list, so
    a shard may be loaded, searched and dropped before the next. ``per_query``: FAISS's per-query kernel
    (``faiss_index.per_query_kernel``), whose float bits do not depend on the shard's size or the query block."""
    results = []
    for index, offset in reference_shards:
        if per_query:
            with faiss_index.per_query_kernel():
                scores, ids = faiss_index.search(index, queries, k)
        else:
            scores, ids = faiss_index.search(index, queries, k)
        results.append((scores, ids, offset))
        if len(results) > 1:  # fold in as we go: memory stays at two [Q, k] lists, not one per shard
            merged = merge_topk(results, k)
            results = [(merged[0], merged[1], 0)]
    if not results:
        raise ValueError("sharded_search needs at least one reference shard")
    return merge_topk(results, k)
