"""The worked example of README "Bring your own data": generated crops written out as a manifest of images
with labels and no OCR, as a researcher's own documents would come."""

import shutil
from pathlib import Path

from clippings_wf.data.benchmark import generate_benchmark


def write_example_manifest(out_dir: Path, n_entities: int = 40, seed: int = 0) -> Path:
    """Render ``n_entities`` firms into ``out_dir/images`` and write ``out_dir/manifest.csv`` (no split, no OCR)."""
    out_dir = Path(out_dir)
    records = generate_benchmark(out_dir, n_entities=n_entities, n_pool=0, seed=seed)
    manifest = records[["record_id", "image_path", "entity_id", "role"]]
    path = out_dir / "manifest.csv"
    manifest.to_csv(path, index=False, lineterminator="\n")
    # Only the crops and the manifest remain: no ground truth, no split, no better scans.
    (out_dir / "records.csv").unlink()
    shutil.rmtree(out_dir / "clean_images")
    return path
