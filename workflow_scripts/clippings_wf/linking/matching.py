"""Link new, unlabeled records to a reference set with a trained model (README "Using a trained model").

Both sets are manifests (record_id, image_path, optionally an OCR text column); each record is embedded as
normalize(w * image + (1 - w) * text) and linked to its nearest references by FAISS inner product. A query whose
best similarity is below the no-match threshold (tuned on validation by the workflow) is flagged as a no-match.
Where the reference manifest has an ``entity_id`` column, matches.csv also names the best reference's entity
(``reference_entity_id``, right after ``reference_id``); without one that column is absent.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from clippings_wf.models import embedding
from clippings_wf.linking import faiss_index
from clippings_wf.linking.reference_index import ReferenceIndex
from clippings_wf.ocr import tesseract
from clippings_wf.data.user_manifest import ManifestError, check_manifest
from clippings_wf.records import cap_ocr_texts

log = logging.getLogger(__name__)

MATCH_COLUMNS = ["query_id", "reference_id", "similarity", "no_match", "threshold", "top_k_reference_ids",
                 "top_k_similarities"]  # fmt: skip
ENTITY_COLUMN = "reference_entity_id"  # after reference_id, where the references have entity ids


def read_threshold(path, method: str, ocr_condition: str = "noisy") -> float:
    """The tuned no-match threshold of ``method`` (a main-table row, e.g. sup_multimodal) from thresholds.csv
    (columns method, ocr, threshold)."""
    table = pd.read_csv(path, dtype={"method": str, "ocr": str})
    missing = {"method", "ocr", "threshold"} - set(table.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)} (expected method, ocr, threshold)")
    row = table[(table["method"] == method) & (table["ocr"] == ocr_condition)]
    if row.empty:
        known = sorted(set(zip(table["method"], table["ocr"])))
        raise ValueError(f"{path}: no threshold for method {method!r} with {ocr_condition!r} OCR (has: {known})")
    return float(row["threshold"].iloc[0])


def load_records(path, ocr_column: str | None, lang: str, lang_vertical: str, max_chars: int,
                 workers: int = 1) -> pd.DataFrame:
    """record_id, image_file and OCR text (and entity_id, where the manifest has one) of every record of a
    manifest (labels not needed). ``path`` may also be a DataFrame with the manifest's columns (relative image
    paths then resolve against the working folder); it is checked exactly like a file.

    Every image is decoded first, so a broken file fails here naming its record. Without ``ocr_column`` the
    crops are read by Tesseract (a crop taller than wide as a vertical line, as in the workflow).
    """
    if isinstance(path, pd.DataFrame):
        return _load_frame(path, ocr_column, lang, lang_vertical, max_chars, workers)
    columns = {"text": ocr_column} if ocr_column else {}
    checked = check_manifest(path, columns, labelled=False, images="decode", require_role=False,
                             max_ocr_chars=max_chars)  # fmt: skip
    frame = checked.frame
    if ocr_column:
        texts = frame[ocr_column]
    else:
        items = [(f, h > w) for f, (w, h) in zip(frame["image_file"], checked.sizes)]
        texts = pd.Series(tesseract.ocr_images(items, lang, lang_vertical, workers=workers, desc=f"ocr {Path(path).name}"),
                          index=frame.index)
    texts, cut = cap_ocr_texts(texts, max_chars)
    if cut:
        log.warning("%s: %d OCR texts longer than %d characters were cut", path, cut, max_chars)
    empty = int((texts.str.strip() == "").sum())
    if empty:
        log.warning("%s: %d records have empty OCR (linked on the image alone where w > 0)", path, empty)
    records = pd.DataFrame({"record_id": frame["record_id"], "image_file": frame["image_file"], "text": texts})
    if "entity_id" in frame:
        records["entity_id"] = frame["entity_id"]
    return records


def _load_frame(frame: pd.DataFrame, ocr_column, lang, lang_vertical, max_chars, workers) -> pd.DataFrame:
    """A DataFrame goes through the same checks as a manifest file: written to a temporary CSV, image paths made
    absolute first (so they resolve against the working folder, not the temporary one)."""
    if "image_path" not in frame and "image_file" in frame:  # load_records' own output, passed back in
        frame = frame.rename(columns={"image_file": "image_path"})
    if "image_path" not in frame:
        raise ManifestError(f"records: missing column 'image_path'; found columns {list(frame.columns)}")
    absolute = [str(Path(p).resolve()) if str(p).strip() else "" for p in frame["image_path"].fillna("")]
    with tempfile.TemporaryDirectory(prefix="clippings_records_") as folder:
        path = Path(folder) / "records.csv"
        frame.assign(image_path=absolute).to_csv(path, index=False)
        return load_records(path, ocr_column, lang, lang_vertical, max_chars, workers)


def embed(bundle, records: pd.DataFrame, w: float, device, batch_size: int = 512, workers: int = 1) -> np.ndarray:
    """Pooled embeddings normalize(w * image + (1 - w) * text); a tower with weight 0 is not run."""
    crops = bundle.load_crops(list(records["image_file"]), workers=workers) if w > 0 else None
    tokens = bundle.tokenize(records["text"].tolist()) if w < 1 else None
    image, text = embedding.embed_arrays(bundle, crops, tokens, batch_size, device, desc="embed")
    return embedding.pooled(image, text, w)


def match(query_emb: np.ndarray, ref_emb: np.ndarray, query_ids, ref_ids, top_k: int = 5,
          threshold: float | None = None, index: str = "flat", ref_entity_ids=None) -> pd.DataFrame:
    """One row per query: best reference, its similarity, the top-k (ids and similarities separated by ';', best
    first) and no_match = similarity < threshold (never, without a threshold)."""
    if len(ref_ids) == 0:
        raise ManifestError("the reference set is empty: nothing to link to")
    k = min(int(top_k), len(ref_ids))
    scores, found = faiss_index.search(faiss_index.build_index(ref_emb, kind=index), query_emb, k)
    return match_table(query_ids, scores, found, ref_ids, threshold, ref_entity_ids)


def match_index(query_emb: np.ndarray, query_ids, references: ReferenceIndex, top_k: int = 5,
                threshold: float | None = None) -> pd.DataFrame:
    """``match`` against a (saved) reference index."""
    if len(references) == 0:
        raise ManifestError("the reference set is empty: nothing to link to")
    scores, found = references.search(query_emb, top_k)
    return match_table(query_ids, scores, found, references.reference_ids, threshold, references.entity_ids)


def match_table(query_ids, scores: np.ndarray, found: np.ndarray, ref_ids, threshold: float | None = None,
                ref_entity_ids=None) -> pd.DataFrame:
    """matches.csv's rows from the search results (scores and reference positions [Q, k], best first)."""
    ref_ids = np.asarray(ref_ids, dtype=object)
    best = scores[:, 0].astype(float)
    table = pd.DataFrame(
        {
            "query_id": np.asarray(query_ids, dtype=object),
            "reference_id": ref_ids[found[:, 0]],
            "similarity": best,
            "no_match": best < threshold if threshold is not None else np.zeros(len(best), dtype=bool),
            "threshold": np.nan if threshold is None else float(threshold),
            "top_k_reference_ids": [";".join(ref_ids[row]) for row in found],
            "top_k_similarities": [";".join(f"{s:.6f}" for s in row) for row in scores],
        },
        columns=MATCH_COLUMNS,
    )
    if ref_entity_ids is not None:
        table.insert(2, ENTITY_COLUMN, np.asarray(ref_entity_ids, dtype=object)[found[:, 0]])
    return table
