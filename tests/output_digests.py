"""Digests of a run's outputs, to pin them byte for byte across a change that must not change any result.

Every file under results/ counts except what a rerun may legitimately change: figures (PNG/PDF metadata), timing
and memory (``resources.*``; benchmark files live outside results/). NumPy archives are digested by their arrays,
since ``np.savez`` stamps each member with the time of writing, and torch files by their archive's members.

    python tests/output_digests.py <workdir>/results > tests/data/tiny_run_digests.json

repins after a change that is meant to change results (say so in the commit). The pin records the CPU's vector
instruction sets: torch's kernels are pinned to AVX2 (clippings_wf.runtime.cpu), but onnxruntime (the recognizer's
features, the modern OCR) and Tesseract pick theirs by the CPU, so on another instruction set only the outputs
upstream of them (the generated records and crops) are comparable byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

EXCLUDED_FOLDERS = ("figures",)
EXCLUDED_STEMS = ("resources",)
# Written by the generator alone (Python, NumPy, PIL): the same bytes on every CPU.
CPU_INDEPENDENT = ("data/records.csv", "data/images/", "data/clean_images/")
# The instruction sets onnxruntime's MLAS and Tesseract's dot products choose between.
VECTOR_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile")


def cpu_signature() -> list[str]:
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return []
    present = set(flags.split(":", 1)[1].split())
    return [f for f in VECTOR_FLAGS if f in present]


def cpu_independent(relative: str) -> bool:
    """Whether an output path (dataset/...) is written upstream of every CPU-dependent kernel."""
    inner = relative.split("/", 1)[1] if "/" in relative else relative
    return inner.startswith(CPU_INDEPENDENT)


def _npz_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with np.load(path, allow_pickle=False) as archive:
        for name in sorted(archive.files):
            array = archive[name]
            digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _torch_digest(path: Path) -> str:
    """A torch.save zip by its members' names and bytes below the archive's folder, whose name ``torch.save``
    takes from the file it writes (an atomic write's temporary name, before 2026-12-04)."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(path) as archive:
        for name in sorted(archive.namelist(), key=lambda n: n.split("/", 1)[-1]):
            digest.update(name.split("/", 1)[-1].encode() + b";")
            digest.update(archive.read(name))
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
            if path.suffix == ".npz":
                data = _npz_digest(path)
            elif path.suffix == ".pt":
                data = _torch_digest(path)
            else:
                data = hashlib.sha256(path.read_bytes()).hexdigest()
            digests[relative.as_posix()] = data
    return digests


if __name__ == "__main__":
    json.dump({"cpu": cpu_signature(), "digests": output_digests(Path(sys.argv[1]))}, sys.stdout, indent=0,
              sort_keys=True)
    sys.stdout.write("\n")
