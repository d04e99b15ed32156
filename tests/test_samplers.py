from collections import Counter

import numpy as np
import pytest

from clippings_wf.training.samplers import HardNegativeBatchSampler, mine_hard_negatives


def _labels():
    # 20 classes; class 0 has a single record (needs sampling with replacement), the others 3-5
    rng = np.random.default_rng(0)
    return np.array([0] + [c for c in range(1, 20) for _ in range(rng.integers(3, 6))])


def test_m_per_class_and_epoch_coverage():
    labels = _labels()
    s = HardNegativeBatchSampler(labels, batch_size=16, m_per_class=4, seed=3)
    batches = list(s)
    assert len(batches) == len(s)
    seen = set()
    for b in batches:
        counts = Counter(labels[b].tolist())
        assert len(b) == 16 and len(counts) == 4 and set(counts.values()) == {4}
        seen |= set(counts)
    assert seen == set(range(20)) and len(batches) == 5


def test_deterministic_and_epochs_differ():
    labels = _labels()
    a = HardNegativeBatchSampler(labels, 16, 4, seed=7)
    b = HardNegativeBatchSampler(labels, 16, 4, seed=7)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first


def test_hard_negatives_share_the_seed_batch():
    labels = _labels()
    neighbours = {c: [(c + 7) % 20, (c + 13) % 20] for c in range(20)}
    s = HardNegativeBatchSampler(labels, batch_size=12, m_per_class=2, neighbours=neighbours, seed=0)
    for b in s:
        classes = list(dict.fromkeys(labels[b].tolist()))  # batch order: seed class first
        assert set(neighbours[classes[0]]) <= set(classes)


def test_mine_hard_negatives_excludes_self_and_finds_nearest():
    emb = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [-1, 0]], dtype=np.float32)
    nn = mine_hard_negatives(emb, ["a", "b", "c", "d", "e"], k=1)
    assert nn == {"a": ["b"], "b": ["a"], "c": ["d"], "d": ["c"], "e": ["c"]}
    nn2 = mine_hard_negatives(emb, list("abcde"), k=2)
    assert all(len(v) == 2 and k not in v for k, v in nn2.items())


def test_too_few_classes_rejected():
    with pytest.raises(ValueError):
        HardNegativeBatchSampler(np.array([0, 0, 1, 1]), batch_size=12, m_per_class=2)
