"""Link new, unlabeled records to a reference set with a trained model (README "Linking new records").

Both sets are manifests (record_id, image_path, optionally an OCR text column); each record is embedded as
normalize(w * image + (1 - w) * text) and linked to its nearest references by FAISS inner product. A query whose
best similarity is below the no-match threshold (tuned on validation by the workflow) is flagged as a no-match.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from clippings_wf.models import embedding
from clippings_wf.linking import faiss_index
from clippings_wf.ocr import tesseract
from clippings_wf.data.user_manifest import ManifestError, check_manifest
from clippings_wf.records import cap_ocr_texts

log = logging.getLogger(__name__)

MATCH_COLUMNS = ["query_id", "reference_id", "similarity", "no_match", "threshold", "top_k_reference_ids",
                 "top_k_similarities"]  # fmt: skip


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
    """record_id, image_file and OCR text of every record of a manifest (labels not needed).

    Every image is decoded first, so a broken file fails here naming its record. Without ``ocr_column`` the
    crops are read by Tesseract (a crop taller than wide as a vertical line, as in the workflow).
    """
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
    return pd.DataFrame({"record_id": frame["record_id"], "image_file": frame["image_file"], "text": texts})


def embed(bundle, records: pd.DataFrame, w: float, device, batch_size: int = 512, workers: int = 1) -> np.ndarray:
    """Pooled embeddings normalize(w * image + (1 - w) * text); a tower with weight 0 is not run."""
    crops = bundle.load_crops(list(records["image_file"]), workers=workers) if w > 0 else None
    tokens = bundle.tokenize(records["text"].tolist()) if w < 1 else None
    image, text = embedding.embed_arrays(bundle, crops, tokens, batch_size, device, desc="embed")
    return embedding.pooled(image, text, w)


def match(query_emb: np.ndarray, ref_emb: np.ndarray, query_ids, ref_ids, top_k: int = 5,
          threshold: float | None = None, index: str = "flat") -> pd.DataFrame:
    """One row per query: best reference, its similarity, the top-k (ids and similarities separated by ';', best
    first) and no_match = similarity < threshold (never, without a threshold)."""
    if len(ref_ids) == 0:
        raise ManifestError("the reference set is empty: nothing to link to")
    k = min(int(top_k), len(ref_ids))
    scores, found = faiss_index.search(faiss_index.build_index(ref_emb, kind=index), query_emb, k)
    ref_ids = np.asarray(ref_ids, dtype=object)
    best = scores[:, 0].astype(float)
    return pd.DataFrame(
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
