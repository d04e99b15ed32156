"""The sha256 of a file, read once per process while the file is unchanged: the OCR models (logged, and the
recognizer checked before every load), exported model files and the bundles that name them."""

import functools
import hashlib
from pathlib import Path


@functools.lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime: float) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path) -> str:
    """Hex sha256 of ``path``; size and mtime key the cache, so a replaced file is read again."""
    stat = Path(path).stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime)
