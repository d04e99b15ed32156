"""The string baselines evaluated as the main table's linking rows: every test query against every reference, per
method and OCR condition, each method's settings tuned on validation queries only. The baselines answer through
the same interface as the model rows (``evaluation.methods.baseline_scorers``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from clippings_wf.baselines.matchers import DEFAULT_TFIDF_NGRAM_RANGES, METHODS
from clippings_wf.evaluation.methods import Scorer, baseline_scorers
from clippings_wf.evaluation.metrics import ocr_condition_name, top1_accuracy

log = logging.getLogger(__name__)


def _setting(scorer: Scorer) -> str:
    """A baseline's settings as the summary prints them."""
    if scorer.method == "tfidf_char":
        low, high = scorer.options["ngram_range"]
        return f"ngram_range={low}-{high}"
    return "stroke ngram_range=3-3" if scorer.method == "stroke_ngram" else ""


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
    manifest has, ``records.ocr_conditions``). Settings (the TF-IDF n-gram range) are tuned on validation
    queries only. Returns a DataFrame with one row per (method, ocr): method, ocr, top1, n_queries, setting,
    val_top1 (tuned methods only), group="classical".
    With ``return_predictions=True`` also returns per-query rows: method, ocr, query_id, pred_ref_id,
    score, hit.
    """
    manifest = manifest.reset_index(drop=True)
    role, split = manifest["role"].to_numpy(), manifest["split"].to_numpy()
    references = np.flatnonzero(role == "reference")
    test, val = (np.flatnonzero((role == "query") & (split == name)) for name in ("test", "val"))
    entities = manifest["entity_id"].astype(str).to_numpy(dtype=object)
    ids = manifest["record_id"].astype(str).to_numpy(dtype=object)
    wanted = None if ocr_columns is None else [ocr_condition_name(c) for c in ocr_columns]
    summary, predictions = [], []
    for scorer in baseline_scorers(manifest, methods, val, references, tfidf_ngram_ranges, workers):
        if wanted is not None and scorer.ocr not in wanted:
            continue
        best, score = scorer.top1(test, references)
        hit = entities[references][best] == entities[test]
        top1 = float(hit.mean()) if len(hit) else float("nan")
        val_top1 = float("nan")
        if scorer.options:  # tuned on validation: its validation top-1 beside the test one
            val_best, _ = scorer.top1(val, references)
            val_top1 = top1_accuracy(entities[references][val_best], entities[val])
        log.info("%s on %s OCR: top-1 %.3f over %d test queries", scorer.method, scorer.ocr, top1, len(test))
        summary.append(
            {"method": scorer.method, "ocr": scorer.ocr, "top1": top1, "n_queries": len(test),
             "setting": _setting(scorer), "val_top1": val_top1, "group": "classical"}
        )  # fmt: skip
        if return_predictions:
            predictions.append(pd.DataFrame(
                {"method": scorer.method, "ocr": scorer.ocr, "query_id": ids[test],
                 "pred_ref_id": ids[references][best], "score": score, "hit": hit.astype(bool)}
            ))  # fmt: skip
    summary = pd.DataFrame(summary)
    if return_predictions:
        return summary, pd.concat(predictions, ignore_index=True) if predictions else pd.DataFrame()
    return summary
