"""Classical string-matching baselines: link each query's OCR text to the most similar reference OCR text.

Every method yields a similarity matrix ``[n_query, n_reference]`` in [0, 1] (float32). An empty text (after
stripping whitespace) scores 0 against everything, including another empty text, so it can never win a match
by accident; a row of zeros links to reference 0, the lowest index, which keeps ties deterministic.
"""

import contextlib
import io
import logging
import warnings
from collections.abc import Callable, Sequence

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler, Levenshtein
from sklearn.feature_extraction.text import TfidfVectorizer

from clippings_wf.evaluation.metrics import as_text, retrieval_top1, top1_accuracy

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
METHODS = (*RAPIDFUZZ_SCORERS, "stroke_ngram", "tfidf_char")
DEFAULT_TFIDF_NGRAM_RANGES = ((1, 1), (1, 2), (1, 3), (2, 3))


def clean_texts(texts: Sequence) -> list[str]:
    return [as_text(t) for t in texts]


def _zero_empty(similarity: np.ndarray, query_texts: list[str], ref_texts: list[str]) -> np.ndarray:
    """Zero rows and columns of empty texts: rapidfuzz scores ("", "") as a perfect match."""
    similarity[[i for i, t in enumerate(query_texts) if not t.strip()], :] = 0.0
    similarity[:, [j for j, t in enumerate(ref_texts) if not t.strip()]] = 0.0
    return similarity


def _tfidf_matcher(ref_texts: list[str], ngram_range=(1, 2)) -> Callable[[list[str]], np.ndarray]:
    """Character n-gram TF-IDF fitted on the references; cosine = dot product of L2-normalised rows.

    Fitting on the references makes the legal forms every firm shares (株式会社) cheap and the distinctive
    characters of the name expensive, which is why it beats edit distances on this data.
    """
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=tuple(ngram_range), lowercase=False, norm="l2")
    try:
        ref_matrix = vectorizer.fit_transform(ref_texts)
    except ValueError:  # every reference empty: sklearn refuses an empty vocabulary
        return lambda queries: np.zeros((len(queries), len(ref_texts)), dtype=np.float32)
    ref_t = ref_matrix.T.tocsr()
    return lambda queries: (vectorizer.transform(queries) @ ref_t).toarray().astype(np.float32)


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


def _stroke_matcher(ref_texts: list[str], ngram_range=(3, 3)) -> Callable[[list[str]], np.ndarray]:
    """The paper's CJK baseline: TF-IDF cosine over stroke n-grams, via ``fuzzychinese.FuzzyChineseMatch``.

    Its stroke table covers kanji only (old forms included); kana, ㈱ and punctuation contribute nothing, so a
    kana-only OCR string has similarity 0 to everything. The full matrix is the matcher's ``sim_matrix_``.
    """
    with _quiet_fuzzychinese():
        from fuzzychinese import FuzzyChineseMatch

        matcher = FuzzyChineseMatch(ngram_range=tuple(ngram_range), analyzer="stroke")
        try:
            matcher.fit(ref_texts)
        except ValueError:  # no reference has a single kanji
            return lambda queries: np.zeros((len(queries), len(ref_texts)), dtype=np.float32)

    def similarity(queries: list[str]) -> np.ndarray:
        if not queries:
            return np.zeros((0, len(ref_texts)), dtype=np.float32)
        with _quiet_fuzzychinese():
            matcher.transform(queries, n=1)
        return np.asarray(matcher.sim_matrix_, dtype=np.float32)

    return similarity


def make_matcher(
    method: str, ref_texts: Sequence[str], workers: int = 1, **kw
) -> Callable[[Sequence[str]], np.ndarray]:
    """Prepare ``method`` against fixed references once; the result maps query texts to a similarity block.

    Keyword options: ``ngram_range`` for ``tfidf_char`` (default (1, 2)) and ``stroke_ngram`` (default (3, 3)).
    """
    refs = clean_texts(ref_texts)
    if method in RAPIDFUZZ_SCORERS:
        scorer, scale = RAPIDFUZZ_SCORERS[method]

        def core(queries):
            sim = process.cdist(queries, refs, scorer=scorer, dtype=np.float32, workers=workers)
            return sim / np.float32(scale) if scale != 1.0 else sim

    elif method == "tfidf_char":
        core = _tfidf_matcher(refs, **kw)
    elif method == "stroke_ngram":
        core = _stroke_matcher(refs, **kw)
    else:
        raise ValueError(f"unknown baseline {method!r}; choose from {METHODS}")

    def similarity(query_texts: Sequence[str]) -> np.ndarray:
        queries = clean_texts(query_texts)
        return _zero_empty(np.asarray(core(queries), dtype=np.float32), queries, refs)

    return similarity


def baseline_similarity(
    method: str, query_texts: Sequence[str], ref_texts: Sequence[str], workers: int = 1, **kw
) -> np.ndarray:
    """Similarity matrix float32 ``[n_query, n_reference]`` in [0, 1] for one baseline ``method``."""
    return make_matcher(method, ref_texts, workers=workers, **kw)(query_texts)


def baseline_top1(
    method: str, query_texts: Sequence[str], ref_texts: Sequence[str], workers: int = 1, chunk_size: int = 2048, **kw
) -> tuple[np.ndarray, np.ndarray]:
    """Best reference index and its score per query, computed in query chunks to bound memory."""
    matcher = make_matcher(method, ref_texts, workers=workers, **kw)
    query_texts = list(query_texts)
    best = np.zeros(len(query_texts), dtype=np.int64)
    score = np.zeros(len(query_texts), dtype=np.float32)
    for start in range(0, len(query_texts), chunk_size):
        block = matcher(query_texts[start : start + chunk_size])
        idx = retrieval_top1(block)
        best[start : start + len(block)] = idx
        score[start : start + len(block)] = block[np.arange(len(block)), idx]
    return best, score


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
    chosen = max(scores, key=lambda r: (np.nan_to_num(scores[r], nan=-1.0), -list(scores).index(r)))
    return chosen, scores


def tuned_options(method: str, texts, entity_ids, val_queries, references, ngram_ranges, workers: int = 1) -> dict:
    """A baseline's options tuned on validation: the n-gram range of ``tfidf_char`` (by top-1 of the records
    ``val_queries`` against ``references``, index arrays into ``texts`` and ``entity_ids``; the first range where
    there are none, as for a dataset evaluated by clustering alone); nothing for the others, whose settings are
    fixed."""
    if method != "tfidf_char":
        return {}
    if len(val_queries) == 0 or len(references) == 0:  # no linking task to tune on (clustering alone)
        log.info("tfidf_char: no validation queries with references to tune on: n-gram range %s", ngram_ranges[0])
        return {"ngram_range": tuple(int(n) for n in ngram_ranges[0])}
    texts, entity_ids = np.asarray(texts, dtype=object), np.asarray(entity_ids, dtype=object)
    chosen, _ = select_tfidf_ngram_range(
        texts[val_queries], entity_ids[val_queries], texts[references], entity_ids[references],
        [tuple(r) for r in ngram_ranges], workers=workers,
    )  # fmt: skip
    return {"ngram_range": chosen}
