"""Resource limits: the peak-memory report per rule, and linking that never builds the query x reference matrix."""


import numpy as np
import pandas as pd
import pytest

from clippings_wf.baselines import matchers
from clippings_wf.linking import faiss_index
from clippings_wf.reporting import resources
from helpers import peak_traced_bytes


def _benchmark(path, max_rss):
    pd.DataFrame({"s": [12.5], "h:m:s": ["0:00:12"], "max_rss": [max_rss]}).to_csv(path, sep="\t", index=False)


def test_memory_table_maps_jobs_to_rules_and_flags_overruns(tmp_path):
    _benchmark(tmp_path / "supcon_labelled_vision.tsv", 5000.0)
    _benchmark(tmp_path / "supcon_synthetic_vision.tsv", 9000.0)
    _benchmark(tmp_path / "embed_records_selfsup.tsv", 1000.0)
    declared = {"supcon_labelled": 8000, "supcon_synthetic": 8000, "embed_records": 1200, "embed": 1}
    table = resources.memory_table(tmp_path, declared).set_index("job")
    assert table.loc["supcon_labelled_vision", "rule"] == "supcon_labelled"
    assert table.loc["embed_records_selfsup", "rule"] == "embed_records"  # the longest matching rule name
    assert table.loc["supcon_labelled_vision", "headroom"] == 1.6
    assert table["within"].to_dict() == {"embed_records_selfsup": True, "supcon_labelled_vision": True,
                                         "supcon_synthetic_vision": False}  # fmt: skip
    assert not table.loc["embed_records_selfsup", "margin_ok"]  # 1.2x is within, but below the 1.5x margin
    assert "| supcon_synthetic_vision | supcon_synthetic |" in resources.to_markdown(table.reset_index())


def _names(rng, n):
    alphabet = list("東京大阪電機気紡績銀行造船製鉄商事醸造株式会社")
    return ["".join(rng.choice(alphabet, size=rng.integers(2, 9))) for _ in range(n)]


@pytest.mark.parametrize("method", ["levenshtein", "partial_ratio", "tfidf_char"])
def test_baselines_in_query_chunks_equal_all_pairs_with_bounded_memory(method):
    rng = np.random.default_rng(0)
    queries, references = _names(rng, 2400), _names(rng, 1500)
    full = matchers.baseline_similarity(method, queries[:600], references)
    truth_best = full.argmax(1)
    best, score = matchers.baseline_top1(method, queries[:600], references, chunk_size=50)  # 12 chunks
    np.testing.assert_array_equal(best, truth_best)
    np.testing.assert_array_equal(score, full[np.arange(600), truth_best])

    # Memory does not grow with the number of queries: 4x the queries, about the same peak (numpy and
    # scikit-learn allocations, traced), far below the 2400 x 1500 all-pairs matrix the chunks replace.
    small = peak_traced_bytes(matchers.baseline_top1, method, queries[:600], references, chunk_size=50)
    large = peak_traced_bytes(matchers.baseline_top1, method, queries, references, chunk_size=50)
    assert large < 1.3 * small + 100_000, (small, large)
    assert large < 2400 * 1500 * 4 / 3, large


def test_faiss_search_in_query_chunks_equals_one_search():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(3000, 32)).astype(np.float32)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    queries = ref[rng.integers(0, 3000, 1000)] + 0.05 * rng.normal(size=(1000, 32)).astype(np.float32)
    index = faiss_index.build_index(ref)
    whole_scores, whole_idx = faiss_index.search(index, queries, k=3)

    calls = []

    class CountingIndex:
        def search(self, q, k):
            calls.append(len(q))
            return index.search(q, k)

    scores, idx = faiss_index.search(CountingIndex(), queries, k=3, chunk_size=128)
    assert calls == [128] * 7 + [104]  # never more than chunk_size queries at once
    np.testing.assert_array_equal(idx, whole_idx)
    np.testing.assert_allclose(scores, whole_scores, rtol=1e-6)
