"""The string baselines evaluated as the main table's linking rows: every test query against every reference, per
method and OCR condition, each method's settings tuned on validation queries only."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from clippings_wf.baselines.matchers import (
    DEFAULT_TFIDF_NGRAM_RANGES,
    METHODS,
    clean_texts,
    baseline_top1,
    select_tfidf_ngram_range,
)
from clippings_wf.evaluation.metrics import ocr_condition_name
from clippings_wf.records import ocr_conditions

log = logging.getLogger(__name__)


def _validation_setting(
    method: str, val: pd.DataFrame, column: str, ref_texts: list[str], ref_entities: np.ndarray,
    tfidf_ngram_ranges: Sequence[Sequence[int]], workers: int,
) -> tuple[dict, str, float]:  # fmt: skip
    """A baseline's options under one OCR column, its setting as the summary prints it and its validation top-1
    (NaN for the methods with fixed settings)."""
    if method == "tfidf_char":
        chosen, val_scores = select_tfidf_ngram_range(
            clean_texts(val[column]), val["entity_id"].astype(str), ref_texts, ref_entities,
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
        ref_texts = clean_texts(references[column])
        for method in methods:
            kw, setting, val_top1 = _validation_setting(
                method, val, column, ref_texts, ref_entities, tfidf_ngram_ranges, workers
            )
            best, score = baseline_top1(method, clean_texts(test[column]), ref_texts, workers=workers, **kw)
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
