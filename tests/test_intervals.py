"""Bootstrap intervals: hand-checkable cases, pairing, entity resampling for ARI, speed."""

import time

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from clippings_wf import intervals


def test_all_hits_give_a_point_interval_at_one():
    assert intervals.bootstrap_ci(np.ones(50)) == (1.0, 1.0, 1.0)
    assert intervals.bootstrap_ci(np.zeros(50)) == (0.0, 0.0, 0.0)


def test_half_hits_interval_contains_half_with_the_binomial_width():
    n = 400
    mean, low, high = intervals.bootstrap_ci(np.arange(n) % 2 == 0)
    assert mean == 0.5 and low < 0.5 < high
    binomial_width = 2 * 1.96 * np.sqrt(0.25 / n)
    assert high - low == pytest.approx(binomial_width, rel=0.2)


def test_seeded_and_empty():
    hits = np.random.default_rng(0).random(300) < 0.7
    assert intervals.bootstrap_ci(hits, seed=3) == intervals.bootstrap_ci(hits, seed=3)
    assert np.isnan(intervals.bootstrap_ci([])).all()


def test_paired_difference_of_identical_vectors_is_exactly_zero():
    hits = np.random.default_rng(1).random(200) < 0.6
    assert intervals.paired_bootstrap_diff(hits, hits) == (0.0, 0.0, 0.0)


def test_paired_difference_is_narrower_than_unpaired_for_correlated_methods():
    rng = np.random.default_rng(2)
    a = rng.random(600) < 0.7
    b = a.copy()
    b[rng.choice(600, 30, replace=False)] ^= True  # b differs from a on 5% of the queries
    diff, low, high = intervals.paired_bootstrap_diff(a, b)
    assert diff == pytest.approx(a.mean() - b.mean())
    _, a_low, a_high = intervals.bootstrap_ci(a)
    assert high - low < (a_high - a_low) / 2
    with pytest.raises(ValueError):
        intervals.paired_bootstrap_diff(a, b[:-1])


def test_thousand_resamples_of_700_queries_well_under_a_second():
    rng = np.random.default_rng(3)
    a, b = rng.random(700) < 0.75, rng.random(700) < 0.7
    start = time.perf_counter()
    intervals.bootstrap_ci(a)
    intervals.paired_bootstrap_diff(a, b)
    assert time.perf_counter() - start < 0.5


def _clustering(rng, n_entities=40, noise=0.3):
    true = np.repeat(np.arange(n_entities), rng.integers(1, 5, n_entities))
    predicted = true.copy()
    wrong = rng.random(len(true)) < noise
    predicted[wrong] = rng.integers(0, n_entities // 3, wrong.sum())  # false merges across entities
    return true, predicted


def test_entity_resampling_keeps_an_entitys_records_together():
    true = np.array(["b", "a", "b", "c", "a", "b"])
    # entity positions in np.unique order: a=0, b=1, c=2; b drawn twice, a once, c never
    records, copies = intervals.resample_entities(true, [1, 0, 1])
    assert records.tolist() == [0, 2, 5, 1, 4, 0, 2, 5]
    assert copies.tolist() == [0, 0, 0, 1, 1, 2, 2, 2]  # each draw is its own entity, with all its records


def _pair_count_ari(true, predicted, draw):
    """The resample's ARI by brute force over record pairs: two copies of one entity are never together."""
    records, copies = intervals.resample_entities(true, draw)
    t, p = true[records], predicted[records]
    n, together, same_entity, same_cluster = len(records), 0, 0, 0
    for i in range(n):
        for j in range(i + 1, n):
            entity = copies[i] == copies[j]
            cluster = p[i] == p[j] and (entity or t[i] != t[j])
            same_entity, same_cluster = same_entity + entity, same_cluster + cluster
            together += entity and cluster
    return float(intervals._ari_from_pairs(np.float64(n), together, same_entity, same_cluster))


def test_resampled_ari_counts_pairs_as_the_brute_force_does():
    rng = np.random.default_rng(4)
    true, predicted = _clustering(rng, n_entities=25)
    entities = np.unique(true)
    for _ in range(3):
        draw = rng.integers(0, len(entities), len(entities))
        multiplicity = np.bincount(draw, minlength=len(entities))
        assert intervals.resampled_ari(true, predicted, multiplicity)[0] == pytest.approx(
            _pair_count_ari(true, predicted, draw)
        )


def test_resampled_ari_without_duplicates_is_sklearns_on_the_subset():
    rng = np.random.default_rng(5)
    true, predicted = _clustering(rng)
    kept = rng.permutation(40)[:25]
    records, copies = intervals.resample_entities(true, kept)
    multiplicity = np.bincount(kept, minlength=40)
    assert intervals.resampled_ari(true, predicted, multiplicity)[0] == pytest.approx(
        adjusted_rand_score(copies, predicted[records])
    )
    everything = intervals.resampled_ari(true, predicted, np.ones(40))[0]
    assert everything == pytest.approx(adjusted_rand_score(true, predicted))


def test_cluster_bootstrap_ari_point_interval_and_pairing():
    rng = np.random.default_rng(6)
    true, predicted = _clustering(rng, n_entities=300)
    ari, low, high = intervals.cluster_bootstrap_ari(true, predicted)
    assert ari == pytest.approx(adjusted_rand_score(true, predicted))
    assert low < ari < high and high - low < 0.3
    assert intervals.cluster_bootstrap_ari(true, true) == (1.0, 1.0, 1.0)  # perfect clustering of every resample
    assert intervals.paired_cluster_bootstrap_ari(true, predicted, predicted) == (0.0, 0.0, 0.0)
    diff, d_low, d_high = intervals.paired_cluster_bootstrap_ari(true, true, predicted)
    assert diff == pytest.approx(1.0 - ari) and 0 < d_low < diff < d_high


def test_cluster_bootstrap_is_fast_for_a_test_split():
    rng = np.random.default_rng(7)
    true, predicted = _clustering(rng, n_entities=450)
    start = time.perf_counter()
    intervals.cluster_bootstrap_ari(true, predicted)
    assert time.perf_counter() - start < 2.0
