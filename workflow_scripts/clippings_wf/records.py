"""The workflow's records table (records.csv, manifest.csv): its columns, roles, splits and OCR conditions, and
the readers every step uses. A user's manifest is checked and imported by ``data.user_manifest``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from clippings_wf.image_files import policy_of, resolve_checked, use_max_pixels

# The generator's and the import's records.csv; the OCR step adds one ``ocr_<condition>`` column per condition.
RECORD_COLUMNS = ["record_id", "image_path", "entity_id", "role", "split", "text", "base_name", "vertical", "font",
                  "clean_image_path"]  # fmt: skip
REQUIRED_COLUMNS = ("record_id", "image_path", "entity_id", "role", "split")  # of the workflow's manifest.csv
# query / reference: a linking dataset's records; record: a labelled record of a dataset evaluated by clustering
# alone (clippings_wf.kinds.EVALUATIONS); unlabeled: the self-supervised pool of either.
ROLES = ("query", "reference", "record", "unlabeled")
LINKING_ROLES = ("query", "reference", "unlabeled")
CLUSTERING_ROLES = ("record", "unlabeled")
SPLITS = ("train", "val", "test")
# The OCR conditions, each a manifest column ``ocr_<condition>``: Tesseract on the degraded crop (noisy) and on an
# undegraded render (clean), as in the paper, and a modern pretrained recognizer (PP-OCR) on the degraded crop.
# The only place they are spelled: every step loops over ``ocr_conditions(frame)``.
OCR_CONDITIONS = ("noisy", "clean", "modern")


def ocr_conditions(frame) -> list[str]:
    """The OCR conditions whose ``ocr_<condition>`` column ``frame`` has (a DataFrame, or any container of column
    names), in OCR_CONDITIONS order: a manifest made before the modern recognizer, or a user's without its
    column, has two."""
    columns = set(frame.columns if hasattr(frame, "columns") else frame)
    return [c for c in OCR_CONDITIONS if f"ocr_{c}" in columns]


def read_manifest(path) -> pd.DataFrame:
    """The workflow's manifest.csv: all columns as strings; empty cells stay empty strings (empty OCR is data)."""
    path = Path(path)
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing manifest columns {missing} (required: {list(REQUIRED_COLUMNS)})")
    return frame.fillna("").astype(str) if path.suffix == ".parquet" else frame


def resolve_image_path(path, manifest_dir, record_id=None, column: str = "image_path", policy=None) -> Path:
    """A manifest's image path: relative to the manifest's folder unless absolute, and refused
    (``image_files.UntrustedPathError``, naming the record, the column and the path) where it leads outside the
    manifest's folder and the allowed image roots (``image_files``: the policy written beside the manifest)."""
    return resolve_checked(path, manifest_dir, policy, record_id, column)


def resolve_image_paths(manifest: pd.DataFrame, manifest_dir, column: str = "image_path") -> list[Path]:
    """``resolve_image_path`` of every row's ``column`` (the policy beside the manifest read once)."""
    policy = policy_of(manifest_dir)
    use_max_pixels(policy.max_pixels)  # the images about to be opened are this manifest's
    ids = manifest["record_id"] if "record_id" in manifest else [None] * len(manifest)
    return [resolve_image_path(p, manifest_dir, r, column, policy) for p, r in zip(manifest[column], ids)]


def read_records(path):
    """Read records.csv / manifest.csv keeping ids and texts as strings (empty entity_id stays "")."""
    records = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "vertical" in records:
        records["vertical"] = records["vertical"].replace("", "0").astype(int)
    return records


def cap_ocr_texts(texts: pd.Series, max_chars: int) -> tuple[pd.Series, int]:
    """Cut OCR texts to ``max_chars`` characters; returns the texts and how many were cut."""
    texts = texts.fillna("").astype(str)
    long = texts.str.len() > max_chars
    return texts.where(~long, texts.str.slice(0, max_chars)), int(long.sum())


def fill_entity_names(records: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Give every labelled entity without a name one: the OCR text of its reference (clean OCR, else noisy),
    or of its first query where it has no reference. The synthetic stage renders these names for training
    and the leakage check compares them across splits. Returns the records and how many entities were named."""
    records = records.copy()
    missing = (records["base_name"] == "") & (records["entity_id"] != "")
    if not missing.any():
        return records, 0
    text = records.get("ocr_clean", pd.Series("", index=records.index)).fillna("")
    text = text.where(text.str.strip() != "", records.get("ocr_noisy", pd.Series("", index=records.index)).fillna(""))
    ranked = records.assign(_text=text.str.strip(), _rank=(records["role"] != "reference").astype(int))
    ranked = ranked[ranked["entity_id"] != ""].sort_values(["_rank"], kind="stable")
    derived = ranked[ranked["_text"] != ""].groupby("entity_id")["_text"].first()
    records.loc[missing, "base_name"] = records.loc[missing, "entity_id"].map(derived).fillna("")
    return records, int(records.loc[missing, "entity_id"].nunique())
