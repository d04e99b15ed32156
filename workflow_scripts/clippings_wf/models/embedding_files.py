"""The embeddings file a model's embed step writes (results/<dataset>/embeddings/<model>.npz), versioned.

One .npz per model and dataset: ``record_id`` (str), ``image`` (n x d, or absent for a text-only model's zero
tower), ``text_<ocr condition>`` (n x d each) and ``format``. Files written before formats were recorded
(no ``format`` member) have format 1's layout and are read as such; a newer or unknown format is refused naming
both, never misread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clippings_wf.runtime.atomic import atomic_path

FORMAT = 1


def save_embeddings(path, record_ids, image: np.ndarray, texts: dict[str, np.ndarray]) -> None:
    """texts: OCR condition name (noisy, clean, ...) -> embeddings of that OCR text."""
    with atomic_path(path) as tmp:
        np.savez(tmp, format=np.array(FORMAT), record_id=np.asarray(record_ids).astype(str), image=image,
                 **{f"text_{condition}": values for condition, values in texts.items()})  # fmt: skip


def save_empty_shard(path) -> None:
    """An embedding shard with no records (config linking.shards above the number of batches): only ids."""
    with atomic_path(path) as tmp:
        np.savez(tmp, format=np.array(FORMAT), record_id=np.zeros(0, dtype=str))


def gather_shards(paths, path) -> None:
    """The embeddings file of the whole record set from its shards' (``paths`` in shard order): each array
    concatenated, so the file is the one a single embed job writes (same names, dtypes and bytes)."""
    parts = [part for part in (load_embeddings(p) for p in paths) if len(part["record_id"])]
    if not parts:
        raise ValueError(f"every embedding shard is empty: {', '.join(map(str, paths))}")
    texts = [name for name in parts[0] if name.startswith("text_")]
    texts = {name.removeprefix("text_"): np.concatenate([p[name] for p in parts]) for name in texts}
    record_ids = np.concatenate([p["record_id"] for p in parts]).tolist()
    save_embeddings(path, record_ids, np.concatenate([p["image"] for p in parts]), texts)


def load_embeddings(path) -> dict[str, np.ndarray]:
    """The arrays of an embeddings file, read into memory; ``format`` is checked, then left out."""
    with np.load(Path(path), allow_pickle=False) as data:
        version = int(data["format"]) if "format" in data.files else 1
        if version != FORMAT:
            raise ValueError(f"embeddings file {path} has format {version}, but this code reads format {FORMAT}: "
                             f"rerun its embed_records rule (or use the version of this workflow that wrote it)")
        return {name: data[name] for name in data.files if name != "format"}


def load_by_model(paths) -> dict[str, dict[str, np.ndarray]]:
    """Several models' embeddings files, keyed by model name (the file's stem)."""
    return {Path(p).stem: load_embeddings(p) for p in paths}
