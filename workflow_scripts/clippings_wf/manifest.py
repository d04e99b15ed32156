"""Read a records manifest (see README "Dataset format") the same way everywhere."""

from pathlib import Path

import pandas as pd

REQUIRED_COLUMNS = ("record_id", "image_path", "entity_id", "role", "split")


def read_manifest(path) -> pd.DataFrame:
    """All columns as strings; empty cells stay empty strings (an empty OCR output is data, not NaN)."""
    path = Path(path)
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing manifest columns {missing} (required: {list(REQUIRED_COLUMNS)})")
    return frame.fillna("").astype(str) if path.suffix == ".parquet" else frame
