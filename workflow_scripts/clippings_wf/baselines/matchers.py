"""Classical string-matching baselines: link each query's OCR text to the most similar reference OCR text.

Every method yields similarities ``[n_query, n_reference]`` in [0, 1] (float32), computed a reference chunk at
a time (``Matcher``), so linking, no-match scores and the clustering graph never hold a query x all-references
matrix. An empty text (after
stripping whitespace) scores 0 against everything, including another empty text, so it can never win a match
by accident; a row of zeros links to reference 0, the lowest index, which keeps ties deterministic.
"""

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Callable, Sequence

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler, Levenshtein
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer

from clippings_wf.evaluation import clustering
from clippings_wf.evaluation.metrics import as_text, top1_accuracy, top1_over_chunks

log = logging.getLogger(__name__)

# rapidfuzz scorers and the factor that brings each to [0, 1]. Japanese has no spaces, so token_set_ratio sees
# one token per name and degenerates to a plain ratio; it is kept because the paper's lineage reports it.
RAPIDFUZZ_SCORERS: dict[str, tuple[Callable, float]] = {
    "levenshtein": (Levenshtein.normalized_similarity, 1.0),
    "jaro_winkler": (JaroWinkler.normalized_similarity, 1.0),
    "indel": (fuzz.ratio, 100.0),
    "partial_ratio": (fuzz.partial_ratio, 100.0),
    "token_set_ratio": (fuzz.token_set_ratio, 100.0),
}
METHODS = (*RAPIDFUZZ_SCORERS, "stroke_ngram", "tfidf_char", "jaccard_words")
DEFAULT_TFIDF_NGRAM_RANGES = ((1, 1), (1, 2), (1, 3), (2, 3))
# References per similarity block: a query block's memory is query_chunk x REFERENCE_CHUNK floats, whatever the
# number of references.
REFERENCE_CHUNK = 4096


def clean_texts(texts: Sequence) -> list[str]:
    return [as_text(t) for t in texts]


def _zero_empty(similarity: np.ndarray, query_texts: list[str], ref_texts: list[str]) -> np.ndarray:
    """Zero rows and columns of empty texts: rapidfuzz scores ("", "") as a perfect match."""
    similarity[[i for i, t in enumerate(query_texts) if not t.strip()], :] = 0.0
    similarity[:, [j for j, t in enumerate(ref_texts) if not t.strip()]] = 0.0
    return similarity


class Matcher:
    """A baseline prepared once against fixed references: the similarity of query texts to any slice of them.

    ``prepare(queries)`` turns cleaned query texts into what ``score(prepared, start, stop)`` compares with the
    references ``start:stop`` (a float [n_query, stop - start] block). Every consumer (top-1 linking, no-match
    scores, the clustering graph) reduces over reference chunks of bounded size, so memory is
    query block x REFERENCE_CHUNK, never query block x all references. Each entry is computed exactly as in
    the whole matrix (a pair's own score, or a sparse dot product summed in the query's feature order)."""

    def __init__(self, refs: list[str], prepare: Callable, score: Callable):
        self.refs, self._prepare, self._score = refs, prepare, score

    def __len__(self) -> int:
        return len(self.refs)

    def _block(self, queries: list[str], prepared, start: int, stop: int) -> np.ndarray:
        block = np.asarray(self._score(prepared, start, stop), dtype=np.float32)
        return _zero_empty(block, queries, self.refs[start:stop])

    def block(self, query_texts: Sequence[str], start: int = 0, stop: int | None = None) -> np.ndarray:
        """float32 [n_query, stop - start] similarity to references ``start:stop`` (default all) in [0, 1]."""
        queries = clean_texts(query_texts)
        stop = len(self.refs) if stop is None else min(int(stop), len(self.refs))
        return self._block(queries, self._prepare(queries), start, stop)

    __call__ = block  # the whole matrix: for small sets and the tests

    def top1(self, query_texts: Sequence[str], reference_chunk: int = REFERENCE_CHUNK) -> tuple[np.ndarray, np.ndarray]:
        """Best reference index and its score per query, over reference chunks (ties: the lowest index)."""
        queries = clean_texts(query_texts)
        prepared = self._prepare(queries)
        return top1_over_chunks(lambda i, j: self._block(queries, prepared, i, j), len(queries), len(self.refs),
                                reference_chunk)  # fmt: skip

    def rows_block(self, texts: Sequence[str]) -> Callable[[int, int, int, int], np.ndarray]:
        """``(row_start, row_stop, col_start, col_stop) -> block`` of ``texts`` (these references' own texts, for
        the clustering graph) against references: each row block is prepared once for all its column blocks."""
        texts = clean_texts(texts)
        last = {}

        def block(i: int, j: int, c0: int, c1: int) -> np.ndarray:
            if last.get("rows") != (i, j):
                last.update(rows=(i, j), prepared=self._prepare(texts[i:j]))
            return self._block(texts[i:j], last["prepared"], c0, min(c1, len(self.refs)))

        return block


def _tfidf_matcher(ref_texts: list[str], ngram_range=(1, 2)) -> Matcher:
    """Character n-gram TF-IDF fitted on the references; cosine = dot product of L2-normalised rows.

    Fitting on the references makes the legal forms every firm shares (株式会社) cheap and the distinctive
    characters of the name expensive, which is why it beats edit distances on this data.
    """
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=tuple(ngram_range), lowercase=False, norm="l2")
    try:
        ref_matrix = vectorizer.fit_transform(ref_texts).tocsr()
    except ValueError:  # every reference empty: sklearn refuses an empty vocabulary
        return Matcher(ref_texts, len, lambda n_queries, i, j: np.zeros((n_queries, j - i), dtype=np.float32))
    return Matcher(ref_texts, vectorizer.transform,
                   lambda queries, i, j: (queries @ ref_matrix[i:j].T.tocsr()).toarray().astype(np.float32))


_WORD = re.compile(r"[a-z0-9]+")


def caption_words(text: str) -> set[str]:
    """The set of lowercase ASCII letter/digit runs of a text. Tesseract reads a caption's punctuation as stray
    marks (``Wash-ington,'`` or ``(AP)—``), so splitting on whitespace would make "washington," and "washington"
    different words; runs of [a-z0-9] keep the word and drop the noise around it."""
    return set(_WORD.findall(text.lower()))


def _word_matrix(word_sets: list[set[str]], vocabulary: dict[str, int]) -> csr_matrix:
    """Binary float32 [n_texts, n_vocabulary] matrix of the words each set shares with ``vocabulary``."""
    rows, cols = [], []
    for i, words in enumerate(word_sets):
        found = [vocabulary[w] for w in words if w in vocabulary]
        rows += [i] * len(found)
        cols += found
    data = np.ones(len(rows), dtype=np.float32)
    return csr_matrix((data, (rows, cols)), shape=(len(word_sets), len(vocabulary)), dtype=np.float32)


def _jaccard_matcher(ref_texts: list[str]) -> Matcher:
    """The paper's newspaper baseline: Jaccard similarity |A ∩ B| / |A ∪ B| of two captions' word sets.

    The intersection is a sparse product of binary word matrices over the references' vocabulary; a query's own
    set size counts the words the references lack too, so the union is |A| + |B| - |A ∩ B|. Two texts without a
    word (empty, or punctuation only) score 0, as an empty text does for the other baselines.
    """
    ref_words = [caption_words(t) for t in ref_texts]
    vocabulary = {w: i for i, w in enumerate(sorted(set().union(*ref_words)))}
    ref_matrix = _word_matrix(ref_words, vocabulary)
    ref_sizes = np.array([len(w) for w in ref_words], dtype=np.float32)

    def prepare(queries: list[str]):
        query_words = [caption_words(q) for q in queries]
        return _word_matrix(query_words, vocabulary), np.array([len(w) for w in query_words], dtype=np.float32)

    def score(prepared, i: int, j: int) -> np.ndarray:
        words, sizes = prepared
        inter = (words @ ref_matrix[i:j].T.tocsr()).toarray().astype(np.float32)
        union = sizes[:, None] + ref_sizes[None, i:j] - inter
        return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)

    return Matcher(ref_texts, prepare, score)


@contextlib.contextmanager
def _quiet_fuzzychinese():
    """fuzzychinese logs "not Chinese" for every kana/punctuation character and imports pkg_resources."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import fuzzychinese  # noqa: F401  (its import resets its logger's level, so import before silencing)
    logger = logging.getLogger("fuzzychinese")
    old_level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(old_level)


def _stroke_matcher(ref_texts: list[str], ngram_range=(3, 3)) -> Matcher:
    """The paper's CJK baseline: TF-IDF cosine over stroke n-grams, via ``fuzzychinese.FuzzyChineseMatch``.

    Its stroke table covers kanji only (old forms included); kana, ㈱ and punctuation contribute nothing, so a
    kana-only OCR string has similarity 0 to everything. ``FuzzyChineseMatch.transform`` computes the similarity
    to all references at once (its ``sim_matrix_``); the same product (its fitted vectorizer and reference
    matrix, fuzzychinese 0.1.5's attributes) is computed here a reference chunk at a time.
    """
    with _quiet_fuzzychinese():
        from fuzzychinese import FuzzyChineseMatch

        matcher = FuzzyChineseMatch(ngram_range=tuple(ngram_range), analyzer="stroke")
        try:
            matcher.fit(ref_texts)
        except ValueError:  # no reference has a single kanji
            return Matcher(ref_texts, len, lambda n_queries, i, j: np.zeros((n_queries, j - i), dtype=np.float32))
    ref_matrix = matcher.dict_feature_matrix_.tocsr()

    def prepare(queries: list[str]):
        if not queries:
            return None
        with _quiet_fuzzychinese():
            return matcher._vectorizer.transform(np.array(queries))

    def score(prepared, i: int, j: int) -> np.ndarray:
        if prepared is None:
            return np.zeros((0, j - i), dtype=np.float32)
        return prepared.dot(ref_matrix[i:j].T).toarray()

    return Matcher(ref_texts, prepare, score)


def make_matcher(method: str, ref_texts: Sequence[str], workers: int = 1, **kw) -> Matcher:
    """Prepare ``method`` against fixed references once: a ``Matcher`` (called with query texts: the similarity
    block; ``top1``: the best reference over reference chunks).

    Keyword options: ``ngram_range`` for ``tfidf_char`` (default (1, 2)) and ``stroke_ngram`` (default (3, 3)).
    """
    refs = clean_texts(ref_texts)
    if method in RAPIDFUZZ_SCORERS:
        scorer, scale = RAPIDFUZZ_SCORERS[method]

        def score(queries, i, j):
            sim = process.cdist(queries, refs[i:j], scorer=scorer, dtype=np.float32, workers=workers)
            return sim / np.float32(scale) if scale != 1.0 else sim

        return Matcher(refs, lambda queries: queries, score)
    if method == "tfidf_char":
        return _tfidf_matcher(refs, **kw)
    if method == "stroke_ngram":
        return _stroke_matcher(refs, **kw)
    if method == "jaccard_words":
        return _jaccard_matcher(refs)
    raise ValueError(f"unknown baseline {method!r}; choose from {METHODS}")


def baseline_similarity(
    method: str, query_texts: Sequence[str], ref_texts: Sequence[str], workers: int = 1, **kw
) -> np.ndarray:
    """Similarity matrix float32 ``[n_query, n_reference]`` in [0, 1] for one baseline ``method`` (the whole
    matrix: small sets and tests; the workflow reduces over chunks with ``baseline_top1`` and the kNN graph)."""
    return make_matcher(method, ref_texts, workers=workers, **kw)(query_texts)


def baseline_top1(
    method: str, query_texts: Sequence[str], ref_texts: Sequence[str], workers: int = 1, chunk_size: int = 2048,
    reference_chunk: int = REFERENCE_CHUNK, **kw,
) -> tuple[np.ndarray, np.ndarray]:
    """Best reference index and its score per query (ties: the lowest index), in blocks of ``chunk_size``
    queries x ``reference_chunk`` references: memory does not grow with the number of references."""
    matcher = make_matcher(method, ref_texts, workers=workers, **kw)
    query_texts = list(query_texts)
    best = np.zeros(len(query_texts), dtype=np.int64)
    score = np.zeros(len(query_texts), dtype=np.float32)
    for start in range(0, len(query_texts), chunk_size):
        chunk = query_texts[start : start + chunk_size]
        best[start : start + len(chunk)], score[start : start + len(chunk)] = matcher.top1(chunk, reference_chunk)
    return best, score


def _first_best(scores: dict) -> tuple[int, int]:
    """The candidate with the highest score, the first listed winning a tie (NaN counts as the lowest)."""
    order = list(scores)
    return max(scores, key=lambda r: (np.nan_to_num(scores[r], nan=-1.0), -order.index(r)))


def select_tfidf_ngram_range(
    val_query_texts: Sequence[str],
    val_entity_ids: Sequence,
    ref_texts: Sequence[str],
    ref_entity_ids: Sequence,
    ngram_ranges: Sequence[Sequence[int]] = DEFAULT_TFIDF_NGRAM_RANGES,
    workers: int = 1,
) -> tuple[tuple[int, int], dict[tuple[int, int], float]]:
    """Pick the character n-gram range with the best validation top-1 (first listed wins a tie).

    Returns the chosen range and every candidate's validation top-1.
    """
    ref_entity_ids = np.asarray(ref_entity_ids, dtype=object)
    scores = {}
    for ngram_range in ngram_ranges:
        ngram_range = tuple(int(n) for n in ngram_range)
        best, _ = baseline_top1("tfidf_char", val_query_texts, ref_texts, workers=workers, ngram_range=ngram_range)
        scores[ngram_range] = top1_accuracy(ref_entity_ids[best], val_entity_ids)
    return _first_best(scores), scores


def select_tfidf_ngram_range_by_ari(
    val_texts: Sequence[str],
    val_entity_ids: Sequence,
    ngram_ranges: Sequence[Sequence[int]],
    neighbours: int,
    grid_size: int,
    workers: int = 1,
) -> tuple[tuple[int, int], dict[tuple[int, int], float]]:
    """Pick the character n-gram range whose single-linkage clustering of the validation records has the best
    ARI (first listed wins a tie), each range with its own threshold tuned on the same records, exactly as the
    clustering step evaluates a method (``clustering.tune_threshold`` over its merge levels; TF-IDF fitted on the
    clustered texts). Returns the chosen range and every candidate's validation ARI."""
    texts = np.asarray(clean_texts(val_texts), dtype=object)
    scores = {}
    for ngram_range in ngram_ranges:
        ngram_range = tuple(int(n) for n in ngram_range)
        matcher = make_matcher("tfidf_char", texts, workers=workers, ngram_range=ngram_range)
        graph = clustering.knn_graph_from_blocks(matcher.rows_block(texts), len(texts), neighbours)
        _, scores[ngram_range], _ = clustering.tune_threshold(
            *graph, val_entity_ids, clustering.threshold_grid(*graph, grid_size)
        )
    return _first_best(scores), scores


def tuned_options(method: str, texts, entity_ids, val_queries, references, ngram_ranges, workers: int = 1,
                  val_clustering: clustering.ValidationClustering | None = None) -> dict:  # fmt: skip
    """A baseline's options tuned on validation: the n-gram range of ``tfidf_char``, nothing for the others,
    whose settings are fixed. By top-1 of the records ``val_queries`` against ``references`` (index arrays into
    ``texts`` and ``entity_ids``); where there are none (a dataset evaluated by clustering alone), by the
    validation ARI of clustering ``val_clustering``'s records; the first range where neither is given."""
    if method != "tfidf_char":
        return {}
    texts, entity_ids = np.asarray(texts, dtype=object), np.asarray(entity_ids, dtype=object)
    ranges = [tuple(int(n) for n in r) for r in ngram_ranges]
    if len(val_queries) and len(references):
        chosen, _ = select_tfidf_ngram_range(
            texts[val_queries], entity_ids[val_queries], texts[references], entity_ids[references], ranges,
            workers=workers,
        )  # fmt: skip
        return {"ngram_range": chosen}
    if val_clustering is not None and len(val_clustering.records):
        val = val_clustering.records
        chosen, scores = select_tfidf_ngram_range_by_ari(
            texts[val], entity_ids[val], ranges, val_clustering.neighbours, val_clustering.grid_size, workers
        )
        log.info("tfidf_char: validation ARI by n-gram range %s: %s", scores, chosen)
        return {"ngram_range": chosen}
    log.info("tfidf_char: no validation records to tune on: n-gram range %s", ranges[0])
    return {"ngram_range": ranges[0]}
