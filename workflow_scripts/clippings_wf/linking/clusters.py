"""Clustering and deduplicating new, unlabeled records: single linkage on the pooled embeddings' kNN graph, cut
at a similarity threshold (the workflow's evaluation.clustering, which tunes that threshold on validation).

``deduplicate`` follows LinkTransformer's dedup_rows: each cluster keeps its first record (in the records'
order) as the representative, and every other record of the cluster is flagged as its duplicate.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from clippings_wf.evaluation import clustering

log = logging.getLogger(__name__)

CLUSTER_COLUMNS = ["record_id", "cluster_id"]
DEDUP_COLUMNS = CLUSTER_COLUMNS + ["cluster_size", "representative_id", "is_duplicate"]


def cluster_embeddings(embeddings: np.ndarray, record_ids, threshold: float, neighbours: int = 50) -> pd.DataFrame:
    """record_id, cluster_id: records joined by a chain of pairs with similarity >= threshold share a cluster.
    Clusters are numbered 0, 1, ... in the order of their first record."""
    if len(record_ids) == 0:
        raise ValueError("no records to cluster")
    graph = clustering.knn_graph_from_embeddings(embeddings, int(neighbours))
    labels = clustering.cluster_labels(*graph, float(threshold))
    # A graph of every other record (few records) is complete: single linkage is then exact, nothing to warn of.
    saturated = clustering.saturated(graph[1], float(threshold)) if graph[0].shape[1] < len(record_ids) - 1 else 0
    if saturated:
        log.warning("%d records have all %d neighbours at or above %.4f: single linkage may miss some of their "
                    "links; raise the number of neighbours", saturated, neighbours, threshold)  # fmt: skip
    cluster_id = pd.factorize(labels)[0]  # connected_components' numbering, made first-appearance order
    return pd.DataFrame({"record_id": np.asarray(record_ids, dtype=object), "cluster_id": cluster_id},
                        columns=CLUSTER_COLUMNS)  # fmt: skip


def deduplicate(clusters: pd.DataFrame) -> pd.DataFrame:
    """``clusters`` (record_id, cluster_id) with cluster_size, representative_id (the cluster's first record)
    and is_duplicate (every record of the cluster but its representative)."""
    by_cluster = clusters.groupby("cluster_id", sort=False)["record_id"]
    representative = by_cluster.transform("first")
    return clusters.assign(cluster_size=by_cluster.transform("size").astype(int), representative_id=representative,
                           is_duplicate=clusters["record_id"] != representative)[DEDUP_COLUMNS]  # fmt: skip
