"""Bootstrap intervals over test entities: hand-checkable cases, pairing, entity resampling for ARI."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from clippings_wf.evaluation import intervals


def _singletons(n):
    """One entity per query: the plain per-query bootstrap."""
    return np.arange(n)


def test_all_hits_give_a_point_interval_at_one():
    groups = np.repeat(np.arange(20), [1, 2, 3, 2] * 5)  # 40 queries, entities of 1-3 queries
    assert intervals.bootstrap_ci(np.ones(40), groups) == (1.0, 1.0, 1.0)
    assert intervals.bootstrap_ci(np.zeros(40), groups) == (0.0, 0.0, 0.0)


def test_half_hits_interval_contains_half_with_the_binomial_width():
    n = 400
    mean, low, high = intervals.bootstrap_ci(np.arange(n) % 2 == 0, _singletons(n))
    assert mean == 0.5 and low < 0.5 < high
    binomial_width = 2 * 1.96 * np.sqrt(0.25 / n)
    assert high - low == pytest.approx(binomial_width, rel=0.2)


def test_seeded_empty_and_one_entity_id_per_query():
    hits = np.random.default_rng(0).random(300) < 0.7
    groups = np.arange(300) // 3
    assert intervals.bootstrap_ci(hits, groups, seed=3) == intervals.bootstrap_ci(hits, groups, seed=3)
    assert np.isnan(intervals.bootstrap_ci([], [])).all()
    with pytest.raises(ValueError):
        intervals.bootstrap_ci(hits, groups[:-1])


def test_an_entitys_queries_are_drawn_together():
    # Two firms of three queries each, one always right, one always wrong: a resample draws two firms, so its
    # top-1 is 0, 1/2 or 1 (never 1/6 or 1/3, which resampling queries one by one would give).
    hits = np.array([1, 1, 1, 0, 0, 0])
    groups = np.array(["a", "a", "a", "b", "b", "b"])
    assert intervals.bootstrap_ci(hits, groups) == (0.5, 0.0, 1.0)  # 0 and 1 each have probability 1/4
    assert intervals.bootstrap_ci(hits, groups, alpha=0.6) == (0.5, 0.5, 0.5)  # 1/2: probability 1/2
    _, per_query_low, per_query_high = intervals.bootstrap_ci(hits, _singletons(6))
    assert per_query_low > 0 and per_query_high < 1


def test_ratio_estimator_on_unequal_entities_by_hand():
    # a: one query, right; b: three queries, wrong. Resamples {a, a}: 2/2, {a, b}: 1/4, {b, b}: 0/6, with
    # probabilities 1/4, 1/2, 1/4; the point estimate is 1/4 (a mean of the entities' means would say 1/2).
    hits, groups = np.array([1, 0, 0, 0]), np.array(["a", "b", "b", "b"])
    assert intervals.bootstrap_ci(hits, groups, alpha=0.6) == (0.25, 0.25, 0.25)
    assert intervals.bootstrap_ci(hits, groups) == (0.25, 0.0, 1.0)


def test_correlated_queries_widen_the_interval():
    rng = np.random.default_rng(8)
    firm_hit = rng.random(200) < 0.7
    hits = np.repeat(firm_hit, 3)  # each firm's three queries all right or all wrong
    _, low, high = intervals.bootstrap_ci(hits, np.repeat(np.arange(200), 3))
    _, q_low, q_high = intervals.bootstrap_ci(hits, _singletons(600))
    assert high - low == pytest.approx(np.sqrt(3) * (q_high - q_low), rel=0.25)


def test_paired_difference_of_identical_vectors_is_exactly_zero():
    hits = np.random.default_rng(1).random(200) < 0.6
    assert intervals.paired_bootstrap_diff(hits, hits, np.arange(200) // 2) == (0.0, 0.0, 0.0)


def test_paired_difference_is_narrower_than_unpaired_for_correlated_methods():
    rng = np.random.default_rng(2)
    a = rng.random(600) < 0.7
    b = a.copy()
    b[rng.choice(600, 30, replace=False)] ^= True  # b differs from a on 5% of the queries
    groups = _singletons(600)
    diff, low, high = intervals.paired_bootstrap_diff(a, b, groups)
    assert diff == pytest.approx(a.mean() - b.mean())
    _, a_low, a_high = intervals.bootstrap_ci(a, groups)
    assert high - low < (a_high - a_low) / 2
    with pytest.raises(ValueError):
        intervals.paired_bootstrap_diff(a, b[:-1], groups)


def test_paired_difference_draws_the_same_entities_for_both():
    # a and b differ only on firm x, where a is right: a resample's difference is 2 * (x's draws) / 6, from 0 to 1;
    # drawing entities for a and for b separately could give -1 (a drawing y three times, b drawing z).
    a = np.array([1, 1, 0, 0, 1, 1])
    b = np.array([0, 0, 0, 0, 1, 1])
    groups = np.array(["x", "x", "y", "y", "z", "z"])
    diff, low, high = intervals.paired_bootstrap_diff(a, b, groups)
    assert diff == pytest.approx(1 / 3) and low == 0.0 and high == 1.0


def _clustering(rng, n_entities=40, noise=0.3):
    true = np.repeat(np.arange(n_entities), rng.integers(1, 5, n_entities))
    predicted = true.copy()
    wrong = rng.random(len(true)) < noise
    predicted[wrong] = rng.integers(0, n_entities // 3, wrong.sum())  # false merges across entities
    return true, predicted


def resampled_ari(true_labels, predicted_labels, multiplicity):
    """ARI of the clustering on resamples given as entity multiplicities [n_boot, n_entities], the entities in
    ``np.unique(true_labels)`` order (a row of ones is the clustering itself)."""
    return intervals._EntityTable(true_labels, predicted_labels).ari(np.atleast_2d(multiplicity))


def resample_entities(true_labels, draw):
    """One resample written out record by record: ``draw`` lists entity positions (into ``np.unique``). Returns
    (record positions, the copy each record belongs to: its position in ``draw``), every record of a drawn entity
    once per draw."""
    _, entity = np.unique(np.asarray(true_labels), return_inverse=True)
    members = [np.flatnonzero(entity == e) for e in np.asarray(draw)]
    copies = [np.full(len(m), i) for i, m in enumerate(members)]
    return np.concatenate(members), np.concatenate(copies)


def test_entity_resampling_keeps_an_entitys_records_together():
    true = np.array(["b", "a", "b", "c", "a", "b"])
    # entity positions in np.unique order: a=0, b=1, c=2; b drawn twice, a once, c never
    records, copies = resample_entities(true, [1, 0, 1])
    assert records.tolist() == [0, 2, 5, 1, 4, 0, 2, 5]
    assert copies.tolist() == [0, 0, 0, 1, 1, 2, 2, 2]  # each draw is its own entity, with all its records


def _pair_count_ari(true, predicted, draw):
    """The resample's ARI by brute force over record pairs: two copies of one entity are never together."""
    records, copies = resample_entities(true, draw)
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
        assert resampled_ari(true, predicted, multiplicity)[0] == pytest.approx(
            _pair_count_ari(true, predicted, draw)
        )


def test_resampled_ari_without_duplicates_is_sklearns_on_the_subset():
    rng = np.random.default_rng(5)
    true, predicted = _clustering(rng)
    kept = rng.permutation(40)[:25]
    records, copies = resample_entities(true, kept)
    multiplicity = np.bincount(kept, minlength=40)
    assert resampled_ari(true, predicted, multiplicity)[0] == pytest.approx(
        adjusted_rand_score(copies, predicted[records])
    )
    everything = resampled_ari(true, predicted, np.ones(40))[0]
    assert everything == pytest.approx(adjusted_rand_score(true, predicted))


def test_cluster_bootstrap_ari_point_and_interval():
    rng = np.random.default_rng(6)
    true, predicted = _clustering(rng, n_entities=300)
    ari, low, high = intervals.cluster_bootstrap_ari(true, predicted)
    assert ari == pytest.approx(adjusted_rand_score(true, predicted))
    assert low < ari < high and high - low < 0.3
    assert intervals.cluster_bootstrap_ari(true, true) == (1.0, 1.0, 1.0)  # perfect clustering of every resample
