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
