"""String baselines at scale: every consumer (top-1 linking, no-match scores, the clustering graph) reduces over
reference chunks, so memory does not grow with the number of references, and the results are exactly those of
the whole query x reference matrix (ties: the lowest reference index)."""

import time

import numpy as np
import pytest

from clippings_wf.baselines import matchers
from clippings_wf.evaluation import clustering
from helpers import peak_traced_bytes

ALPHABET = list("東京大阪電機気紡績銀行造船製鉄商事醸造株式会社")


def _names(rng, n):
    """Short firm-like names over a small alphabet: many exact duplicates and tied scores, some empty."""
    names = ["".join(rng.choice(ALPHABET, size=rng.integers(2, 9))) for _ in range(n)]
    for i in rng.choice(n, size=max(1, n // 50), replace=False):
        names[i] = ""
    return names


@pytest.mark.parametrize("method", matchers.METHODS)
def test_top1_over_reference_chunks_is_the_whole_matrix_argmax(method):
    rng = np.random.default_rng(0)
    queries, references = _names(rng, 300), _names(rng, 700)
    if method == "jaccard_words":  # caption words are Latin
        queries = [" ".join(rng.choice(["wire", "photo", "ap", "the", "city", "fire"], size=3)) for _ in queries]
        references = [" ".join(rng.choice(["wire", "photo", "ap", "the", "city", "fire"], size=3)) for _ in references]
    whole = matchers.baseline_similarity(method, queries, references)
    best, score = matchers.baseline_top1(method, queries, references, chunk_size=64, reference_chunk=97)
    np.testing.assert_array_equal(best, whole.argmax(axis=1))  # ties to the lowest index, as np.argmax
    assert score.tobytes() == whole[np.arange(len(queries)), best].tobytes()  # bit for bit
    matcher = matchers.make_matcher(method, references)
    assert matcher.block(queries, 97, 194).tobytes() == np.ascontiguousarray(whole[:, 97:194]).tobytes()


def test_knn_graph_over_column_chunks_keeps_the_same_similarities_and_the_lowest_tied_index():
    rng = np.random.default_rng(1)
    texts = np.asarray(matchers.clean_texts(_names(rng, 600)), dtype=object)
    matcher = matchers.make_matcher("tfidf_char", texts, ngram_range=(1, 2))
    k = 10
    whole = clustering.knn_graph_from_blocks(matcher.rows_block(texts), len(texts), k, row_chunk=128,
                                             column_chunk=len(texts))  # fmt: skip
    chunked = clustering.knn_graph_from_blocks(matcher.rows_block(texts), len(texts), k, row_chunk=128,
                                               column_chunk=64)  # fmt: skip
    assert chunked[1].tobytes() == whole[1].tobytes()  # each record's k best similarities, bit for bit
    similarity = matcher(texts)
    for row in range(len(texts)):  # the neighbours: best first, a tie going to the lowest index, self left out
        order = [int(j) for j in np.lexsort((np.arange(len(texts)), -similarity[row]))[: k + 1]]
        expected = [j for j in order if j != row][:k]
        assert chunked[0][row].tolist() == expected


# indel (fuzz.ratio) stands for the rapidfuzz scorers: cdist's own output buffer is not allocated through numpy's
# traced allocator, but its scaling to [0, 1] is, so a query x references block shows (levenshtein's would not).
@pytest.mark.parametrize("method", ["tfidf_char", "indel"])
def test_linking_memory_does_not_grow_with_the_references(method):
    """A fixed query set against 2,000 and then 16,000 references: numpy's and scikit-learn's allocations are
    traced, and the peak stays about the same (the 1,500 x 512 block), far below the 1,500 x 16,000 matrix."""
    rng = np.random.default_rng(2)
    queries, references = _names(rng, 1500), _names(rng, 16000)
    options = dict(chunk_size=1500, reference_chunk=512)
    started = time.perf_counter()
    small = peak_traced_bytes(matchers.baseline_top1, method, queries, references[:2000], **options)
    large = peak_traced_bytes(matchers.baseline_top1, method, queries, references, **options)
    assert large < 1.5 * small, (small, large)
    assert large < 1500 * 16000 * 4 / 4, large  # a quarter of the dense float32 matrix it replaces
    assert time.perf_counter() - started < 60


def test_knn_graph_memory_is_the_graph_not_records_squared():
    rng = np.random.default_rng(3)
    texts = np.asarray(matchers.clean_texts(_names(rng, 6000)), dtype=object)
    matcher = matchers.make_matcher("tfidf_char", texts)
    peak = peak_traced_bytes(clustering.knn_graph_from_blocks, matcher.rows_block(texts), len(texts), 10, row_chunk=512,
                       column_chunk=1024)  # fmt: skip
    assert peak < 6000 * 6000 * 4 / 8, peak  # an eighth of the all-pairs matrix; the graph is 6,000 x 11
