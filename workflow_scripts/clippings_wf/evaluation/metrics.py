"""Evaluation metrics: OCR character error rate and top-1 record-linkage accuracy."""

from collections.abc import Sequence

import numpy as np
import pandas as pd
from rapidfuzz.distance import Levenshtein


def as_text(value) -> str:
    """Missing OCR (NaN/None from a CSV round trip) counts as the empty string."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def as_flags(values) -> np.ndarray:
    """Booleans from a column of flags as CSVs write them (True/False, 1/0, "1.0"; ``hit``, ``vertical``);
    anything else, the empty string included, is False."""
    values = pd.Series(values)
    if values.dtype == bool:
        return values.to_numpy()
    return values.astype(str).str.strip().str.lower().isin(["true", "1", "1.0"]).to_numpy()


def character_error_rate(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus-level CER: total Levenshtein edits over total reference characters.

    Pooled rather than averaged per line, so short names do not dominate. NaN if the references are all empty.
    """
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses for {len(refs)} references")
    edits = 0
    chars = 0
    for hyp, ref in zip(hyps, refs):
        hyp, ref = as_text(hyp), as_text(ref)
        edits += Levenshtein.distance(hyp, ref)
        chars += len(ref)
    return edits / chars if chars else float("nan")


def top1_accuracy(pred_entity_ids: Sequence, true_entity_ids: Sequence) -> float:
    """Share of queries whose top-ranked reference belongs to the query's own entity."""
    pred = np.asarray(pred_entity_ids, dtype=object)
    true = np.asarray(true_entity_ids, dtype=object)
    if pred.shape != true.shape:
        raise ValueError(f"{pred.shape} predictions for {true.shape} labels")
    if pred.size == 0:
        return float("nan")
    return float(np.mean(pred == true))


def retrieval_top1(similarity: np.ndarray, chunk_size: int = 4096) -> np.ndarray:
    """Index of the most similar reference per query row; ties go to the lowest index (np.argmax).

    Works in row chunks so a memory-mapped or float64 matrix is never copied whole.
    """
    similarity = np.asarray(similarity) if not hasattr(similarity, "shape") else similarity
    n_query = similarity.shape[0]
    best = np.empty(n_query, dtype=np.int64)
    for start in range(0, n_query, chunk_size):
        block = np.asarray(similarity[start : start + chunk_size])
        best[start : start + len(block)] = np.argmax(block, axis=1)
    return best


def top1_over_chunks(block_of, n_queries: int, n_references: int, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Each query's most similar reference and its similarity, from the similarity computed ``chunk`` references
    at a time (``block_of(start, stop)`` -> [n_queries, stop - start]): memory n_queries x chunk, never x all
    references. Exactly ``retrieval_top1`` of the whole matrix: ties go to the lowest index (a later chunk wins
    only with a strictly higher similarity). No references: index 0, similarity 0."""
    best = np.zeros(n_queries, dtype=np.int64)
    score = np.zeros(n_queries, dtype=np.float32)
    rows = np.arange(n_queries)
    for start in range(0, n_references, max(1, int(chunk))):
        block = np.asarray(block_of(start, min(n_references, start + chunk)), dtype=np.float32)
        idx = np.argmax(block, axis=1)
        value = block[rows, idx]
        better = slice(None) if start == 0 else value > score
        best[better], score[better] = idx[better] + start, value[better]
    return best, score


def ocr_cer_table(
    manifest: pd.DataFrame,
    ocr_columns: Sequence[str] | None = None,
    query_split: str = "test",
) -> pd.DataFrame:
    """CER of each OCR column against the ground-truth ``text``, for the records the evaluation uses.

    Queries are ``role==query & split==query_split``; references are every ``role==reference`` row.
    Returns columns role, ocr (column name without the ``ocr_`` prefix), cer, n_records, n_empty.
    ``ocr_columns`` default: every ``ocr_<condition>`` column the manifest has (``manifest.ocr_conditions``).
    """
    from clippings_wf.records import ocr_conditions  # manifest imports PIL; metrics stays light for its other users

    if ocr_columns is None:
        ocr_columns = [f"ocr_{c}" for c in ocr_conditions(manifest)]
    queries = manifest[(manifest["role"] == "query") & (manifest["split"] == query_split)]
    references = manifest[manifest["role"] == "reference"]
    rows = []
    for role, frame in (("query", queries), ("reference", references)):
        for column in ocr_columns:
            hyps = [as_text(v) for v in frame[column]]
            rows.append(
                {
                    "role": role,
                    "ocr": ocr_condition_name(column),
                    "cer": character_error_rate(hyps, [as_text(v) for v in frame["text"]]),
                    "n_records": len(frame),
                    "n_empty": sum(1 for h in hyps if not h.strip()),
                }
            )
    return pd.DataFrame(rows)


def ocr_condition_name(column: str) -> str:
    """``ocr_noisy`` -> ``noisy``: the name tables and plots use for an OCR condition."""
    return column[4:] if column.startswith("ocr_") else column
