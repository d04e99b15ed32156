import numpy as np
import pytest

from clippings_wf.linking.faiss_index import build_index, search


def _unit(rng, n, d):
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("kind,params", [("flat", {}), ("ivf", {"nlist": 4, "nprobe": 4}),
                                         ("hnsw", {"M": 16, "efSearch": 128})])
def test_top1_equals_bruteforce(kind, params):
    rng = np.random.default_rng(0)
    ref, query = _unit(rng, 400, 16), _unit(rng, 50, 16)
    scores, idx = search(build_index(ref, kind, **params), query, 1)
    truth = (query @ ref.T).argmax(1)
    assert idx.shape == (50, 1) and idx.dtype == np.int64
    # IVF with nprobe == nlist and HNSW with a wide beam are exact at this size
    assert (idx[:, 0] == truth).mean() >= (1.0 if kind != "hnsw" else 0.98)
    np.testing.assert_allclose(scores[:, 0], (query * ref[idx[:, 0]]).sum(1), rtol=1e-5)


def test_search_k_sorted():
    rng = np.random.default_rng(1)
    ref = _unit(rng, 30, 8)
    scores, idx = search(build_index(ref), ref[:3], k=5)
    assert (idx[:, 0] == np.arange(3)).all()
    assert (np.diff(scores, axis=1) <= 1e-6).all()


def test_ivf_queries_whose_lists_hold_too_few_are_searched_over_every_list():
    rng = np.random.default_rng(2)
    ref, query = _unit(rng, 200, 8), _unit(rng, 40, 8)
    index = build_index(ref, "ivf", nlist=50, nprobe=1)
    short = (index.search(query, 10)[1] < 0).any(axis=1)  # FAISS alone: -1 where one list held fewer than 10
    assert short.any()
    scores, idx = search(index, query, 10)
    assert (idx >= 0).all() and index.nprobe == 1  # nothing points at "the last reference", the setting is back
    truth = np.argsort(-(query @ ref.T), axis=1)[:, :10]
    assert (idx[short] == truth[short]).all()  # every list searched: exact
    np.testing.assert_allclose(scores, np.take_along_axis(query @ ref.T, idx, axis=1), rtol=1e-5)
