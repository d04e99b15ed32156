"""Single-linkage clustering through a kNN graph: equals scipy's single linkage, recovers planted clusters; the
paired ARI differences and the sibling top-1 of the clustering comparisons."""

import numpy as np
import pandas as pd
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.metrics import adjusted_rand_score

from clippings_wf.evaluation import clustering, intervals


def _planted(rng, n_clusters, size, d=16, spread=0.05):
    centres = rng.normal(size=(n_clusters, d))
    x = np.repeat(centres, size, axis=0) + spread * rng.normal(size=(n_clusters * size, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), np.repeat(np.arange(n_clusters), size)


def _scipy_single_linkage(x, threshold):
    """Clusters of scipy's single linkage on cosine distance, cut at distance 1 - threshold."""
    return fcluster(linkage(x.astype(np.float64), method="single", metric="cosine"), 1 - threshold, "distance")


@pytest.mark.parametrize("threshold", [0.05, 0.3, 0.6])
def test_knn_graph_equals_scipy_single_linkage(threshold):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sims = x @ x.T
    assert np.abs(sims - threshold).min() > 1e-4  # no pair at the cut, so float32 vs float64 cannot differ
    graph = clustering.knn_graph_from_embeddings(x, k=59)  # k = N - 1: the full graph
    ours = clustering.cluster_labels(*graph, threshold)
    assert adjusted_rand_score(_scipy_single_linkage(x, threshold), ours) == 1.0
    assert len(np.unique(ours)) == len(np.unique(_scipy_single_linkage(x, threshold)))
    least_similar_other = np.where(np.eye(60, dtype=bool), np.inf, sims).min(axis=1)
    assert clustering.saturated(graph[1], threshold) == (least_similar_other >= threshold).sum()


def test_merge_levels_are_scipy_linkage_heights():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(40, 6)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    levels = clustering.merge_levels(*clustering.knn_graph_from_embeddings(x, k=39))
    heights = linkage(x.astype(np.float64), method="single", metric="cosine")[:, 2]
    np.testing.assert_allclose(np.sort(levels), np.sort(1 - heights), atol=1e-5)


def test_small_k_is_exact_when_no_record_is_saturated():
    rng = np.random.default_rng(1)
    x, labels = _planted(rng, n_clusters=30, size=4)
    threshold = 0.9
    graph = clustering.knn_graph_from_embeddings(x, k=5)
    assert clustering.saturated(graph[1], threshold) == 0
    ours = clustering.cluster_labels(*graph, threshold)
    assert adjusted_rand_score(_scipy_single_linkage(x, threshold), ours) == 1.0
    assert adjusted_rand_score(labels, ours) == 1.0


def test_similarity_rows_graph_matches_embedding_graph():
    rng = np.random.default_rng(2)
    x, _ = _planted(rng, n_clusters=10, size=3)
    a = clustering.knn_graph_from_embeddings(x, k=4)
    b = clustering.knn_graph_from_similarity(lambda i, j: x[i:j] @ x.T, len(x), k=4, chunk_size=7)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], atol=1e-5)


def test_threshold_tuned_on_val_recovers_planted_clusters():
    rng = np.random.default_rng(3)
    val_x, val_labels = _planted(rng, n_clusters=40, size=3)
    test_x, test_labels = _planted(rng, n_clusters=40, size=3)
    row, curve = clustering.tune_and_evaluate(
        clustering.knn_graph_from_embeddings(val_x, 10), val_labels,
        clustering.knn_graph_from_embeddings(test_x, 10), test_labels, grid_size=100,
    )  # fmt: skip
    assert row["val_ari"] == 1.0 and row["ari"] == 1.0
    assert row["pair_precision"] == row["pair_recall"] == row["pair_f1"] == 1.0
    assert row["n_clusters"] == row["n_entities"] == 40
    assert curve["ari"].min() < 0.5  # the lowest grid threshold joins everything: the tuning had work to do


def test_pairwise_scores_by_hand():
    # truth {0,1,2},{3}; predicted {0,1},{2,3}: pairs predicted (0,1),(2,3); true (0,1),(0,2),(1,2)
    scores = clustering.pairwise_scores([0, 0, 0, 1], [5, 5, 6, 6])
    assert scores["pair_precision"] == pytest.approx(1 / 2)
    assert scores["pair_recall"] == pytest.approx(1 / 3)
    assert scores["pair_f1"] == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))


def test_evaluation_gives_ari_an_entity_bootstrap_interval():
    rng = np.random.default_rng(5)
    x, labels = _planted(rng, n_clusters=60, size=3, spread=0.6)
    graph = clustering.knn_graph_from_embeddings(x, 10)
    row = clustering.evaluate_clustering(*graph, labels, threshold=0.7)
    assert 0 < row["ari"] < 1 and row["ari_low"] < row["ari"] < row["ari_high"]
    tight, tight_labels = _planted(rng, n_clusters=20, size=3)
    perfect = clustering.evaluate_clustering(*clustering.knn_graph_from_embeddings(tight, 5), tight_labels, 0.9)
    assert perfect["ari"] == perfect["ari_low"] == perfect["ari_high"] == 1.0


def test_paired_ari_difference_of_identical_clusterings_is_exactly_zero():
    rng = np.random.default_rng(6)
    truth = np.repeat(np.arange(20), 3)
    predicted = rng.integers(0, 25, size=len(truth))
    assert intervals.paired_cluster_bootstrap_ari_diff(truth, predicted, predicted.copy(), n_boot=200) == (0, 0, 0)


def test_paired_ari_difference_of_perfect_and_random_clusterings_lies_above_zero():
    rng = np.random.default_rng(7)
    truth = np.repeat(np.arange(30), 3)
    random = rng.integers(0, 30, size=len(truth))
    diff, low, high = intervals.paired_cluster_bootstrap_ari_diff(truth, truth, random, n_boot=300)
    assert diff == pytest.approx(1.0 - adjusted_rand_score(truth, random))
    assert 0 < low <= diff <= high
    # the other way round, the same interval mirrored
    assert intervals.paired_cluster_bootstrap_ari_diff(truth, random, truth, n_boot=300) == pytest.approx(
        (-diff, -high, -low)
    )


def test_sibling_top1_on_a_toy_graph():
    # entities a: records 0-1, b: 2-4, c: 5 alone (no sibling, not counted); first neighbours below
    labels = ["a", "a", "b", "b", "b", "c"]
    neighbours = np.array([[1, 2], [2, 0], [3, 4], [0, 2], [2, 3], [0, 1]])
    row = clustering.sibling_top1(neighbours, labels)
    # hits: 0->1 yes, 1->2 no, 2->3 yes, 3->0 no, 4->2 yes: 3 of 5
    assert row["n_with_sibling"] == 5 and row["sibling_top1"] == pytest.approx(3 / 5)
    # a resample holds a (1 of 2) and b (2 of 3) in some mix: between 1/2 and 2/3
    assert 1 / 2 <= row["sibling_top1_low"] <= 3 / 5 <= row["sibling_top1_high"] <= 2 / 3


def test_paired_differences_compare_the_named_method_with_every_other():
    truth = pd.Series(np.repeat([f"e{i}" for i in range(15)], 2), index=[f"r{i}" for i in range(30)])
    rng = np.random.default_rng(8)
    clusterings = {"pooled": np.repeat(np.arange(15), 2), "words": rng.integers(0, 15, size=30),
                   "same": np.repeat(np.arange(15), 2)}  # fmt: skip
    assignments = pd.concat(
        pd.DataFrame({"record_id": truth.index, "method": m, "ocr": ocr, "cluster": c})
        for ocr in ("noisy", "clean") for m, c in clusterings.items()
    )  # fmt: skip
    table = clustering.paired_differences(assignments, truth, "pooled")
    assert table[["ocr", "compared_with"]].values.tolist() == [
        ["noisy", "words"], ["noisy", "same"], ["clean", "words"], ["clean", "same"]
    ]  # fmt: skip
    assert table["holds"].tolist() == [True, False, True, False]
    same = table[table["compared_with"] == "same"]
    assert (same[["gain_pts", "gain_pts_low", "gain_pts_high"]] == 0).all().all()
    assert (table["ari_method"] == 1.0).all() and (table["n_records"] == 30).all()
