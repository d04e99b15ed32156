"""Digests of a run's outputs, to pin them byte for byte across a change that must not change any result.

Every file under results/ counts except what a rerun may legitimately change: figures (PNG/PDF metadata), timing
and memory (``resources.*``; benchmark files live outside results/). NumPy archives are digested by their arrays,
since ``np.savez`` stamps each member with the time of writing.

    python tests/output_digests.py <workdir>/results > tests/data/tiny_run_digests.json

repins after a change that is meant to change results (say so in the commit).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

EXCLUDED_FOLDERS = ("figures",)
EXCLUDED_STEMS = ("resources",)


def _npz_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with np.load(path, allow_pickle=False) as archive:
        for name in sorted(archive.files):
            array = archive[name]
            digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def pinned(relative: Path) -> bool:
    return not (set(relative.parts[:-1]) & set(EXCLUDED_FOLDERS)) and relative.stem not in EXCLUDED_STEMS


def output_digests(results: Path) -> dict[str, str]:
    """{path relative to ``results``: sha256} of every pinned output file."""
    results = Path(results)
    digests = {}
    for path in sorted(p for p in results.rglob("*") if p.is_file()):
        relative = path.relative_to(results)
        if pinned(relative):
            data = _npz_digest(path) if path.suffix == ".npz" else hashlib.sha256(path.read_bytes()).hexdigest()
            digests[relative.as_posix()] = data
    return digests


if __name__ == "__main__":
    json.dump(output_digests(Path(sys.argv[1])), sys.stdout, indent=0, sort_keys=True)
    sys.stdout.write("\n")
