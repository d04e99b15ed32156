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
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler, Levenshtein
from sklearn.feature_extraction.text import TfidfVectorizer

from clippings_wf.records import ocr_conditions
from clippings_wf.evaluation.metrics import as_text, ocr_condition_name, retrieval_top1, top1_accuracy

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


def _clean_texts(texts: Sequence) -> list[str]:
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
    refs = _clean_texts(ref_texts)
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
        queries = _clean_texts(query_texts)
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
        return {"ngram_range": tuple(int(n) for n in ngram_ranges[0])}
    texts, entity_ids = np.asarray(texts, dtype=object), np.asarray(entity_ids, dtype=object)
    chosen, _ = select_tfidf_ngram_range(
        texts[val_queries], entity_ids[val_queries], texts[references], entity_ids[references],
        [tuple(r) for r in ngram_ranges], workers=workers,
    )  # fmt: skip
    return {"ngram_range": chosen}


def _validation_setting(
    method: str, val: pd.DataFrame, column: str, ref_texts: list[str], ref_entities: np.ndarray,
    tfidf_ngram_ranges: Sequence[Sequence[int]], workers: int,
) -> tuple[dict, str, float]:  # fmt: skip
    """A baseline's options under one OCR column, its setting as the summary prints it and its validation top-1
    (NaN for the methods with fixed settings)."""
    if method == "tfidf_char":
        chosen, val_scores = select_tfidf_ngram_range(
            _clean_texts(val[column]), val["entity_id"].astype(str), ref_texts, ref_entities,
            tfidf_ngram_ranges, workers=workers,
        )  # fmt: skip
        log.info("tfidf_char %s: validation top-1 per n-gram range %s", ocr_condition_name(column), val_scores)
        return {"ngram_range": chosen}, f"ngram_range={chosen[0]}-{chosen[1]}", val_scores[chosen]
    if method == "stroke_ngram":
        return {}, "stroke ngram_range=3-3", float("nan")
    return {}, "", float("nan")


def _prediction_rows(method: str, ocr: str, test: pd.DataFrame, references: pd.DataFrame, best: np.ndarray,
                     score: np.ndarray, hit: np.ndarray) -> pd.DataFrame:  # fmt: skip
    """Per-query rows of one baseline under one OCR condition: method, ocr, query_id, pred_ref_id, score, hit."""
    return pd.DataFrame(
        {"method": method, "ocr": ocr, "query_id": test["record_id"].astype(str).to_numpy(),
         "pred_ref_id": references["record_id"].astype(str).to_numpy()[best],
         "score": score, "hit": hit.astype(bool)}
    )  # fmt: skip


def run_baselines(
    manifest: pd.DataFrame,
    methods: Sequence[str] = METHODS,
    ocr_columns: Sequence[str] | None = None,
    tfidf_ngram_ranges: Sequence[Sequence[int]] = DEFAULT_TFIDF_NGRAM_RANGES,
    workers: int = 1,
    return_predictions: bool = False,
):
    """Evaluate each baseline under each OCR condition: test queries against every reference.

    Queries and references are read through the same OCR column (default: every ``ocr_<condition>`` column the
    manifest has, ``manifest.ocr_conditions``). Settings (the TF-IDF n-gram range) are tuned on validation
    queries only. Returns a DataFrame with one row per (method, ocr): method, ocr, top1, n_queries, setting,
    val_top1 (tuned methods only), group="classical".
    With ``return_predictions=True`` also returns per-query rows: method, ocr, query_id, pred_ref_id,
    score, hit.
    """
    references = manifest[manifest["role"] == "reference"].reset_index(drop=True)
    queries = manifest[manifest["role"] == "query"]
    test = queries[queries["split"] == "test"].reset_index(drop=True)
    val = queries[queries["split"] == "val"].reset_index(drop=True)
    ref_entities = references["entity_id"].astype(str).to_numpy(dtype=object)
    summary, predictions = [], []
    if ocr_columns is None:
        ocr_columns = [f"ocr_{c}" for c in ocr_conditions(manifest)]
    for column in ocr_columns:
        ocr = ocr_condition_name(column)
        ref_texts = _clean_texts(references[column])
        for method in methods:
            kw, setting, val_top1 = _validation_setting(
                method, val, column, ref_texts, ref_entities, tfidf_ngram_ranges, workers
            )
            best, score = baseline_top1(method, _clean_texts(test[column]), ref_texts, workers=workers, **kw)
            hit = ref_entities[best] == test["entity_id"].astype(str).to_numpy(dtype=object)
            top1 = float(hit.mean()) if len(hit) else float("nan")
            log.info("%s on %s OCR: top-1 %.3f over %d test queries", method, ocr, top1, len(test))
            summary.append(
                {"method": method, "ocr": ocr, "top1": top1, "n_queries": len(test), "setting": setting,
                 "val_top1": val_top1, "group": "classical"}
            )  # fmt: skip
            if return_predictions:
                predictions.append(_prediction_rows(method, ocr, test, references, best, score, hit))
    summary = pd.DataFrame(summary)
    if return_predictions:
        return summary, pd.concat(predictions, ignore_index=True) if predictions else pd.DataFrame()
    return summary
