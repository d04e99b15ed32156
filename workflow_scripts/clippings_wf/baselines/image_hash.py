"""The classical image-only baseline: perceptual hashes (pHash) of the printed photos, compared by Hamming distance.

pHash (``imagehash.phash``) shrinks the photo to 32 x 32 grayscale, takes its discrete cosine transform and keeps
one bit per low frequency of the 8 x 8 corner: whether it is above their median. Two prints of one wire photo keep
the coarse layout of light and dark that those frequencies describe through halftoning, cropping at the edges and
scan noise, so their hashes differ in few bits; unrelated photos differ in about half.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from clippings_wf.image_files import open_image

METHOD = "phash"  # its name in config's baseline methods and in the tables
BITS = 64  # imagehash.phash's default hash_size 8: an 8 x 8 corner of the DCT


def _phash(path) -> np.ndarray:
    # imported here: the table steps read METHOD in an environment without imagehash
    import imagehash

    with open_image(path) as img:  # refused over the pixel limit, naming the file
        return imagehash.phash(img).hash.ravel()


def phash_bits(paths: Sequence, workers: int = 1) -> np.ndarray:
    """The 64-bit pHash of each image: bool [n, BITS] (row-major over the 8 x 8 DCT corner)."""
    if not len(paths):
        return np.zeros((0, BITS), dtype=bool)
    with ThreadPoolExecutor(max(1, workers)) as pool:  # PIL decodes and resizes without the GIL
        return np.stack(list(pool.map(_phash, paths))).astype(bool)


def hamming_similarity(a_bits: np.ndarray, b_bits: np.ndarray) -> np.ndarray:
    """1 - Hamming distance / bits between every hash of ``a_bits`` [na, bits] and of ``b_bits`` [nb, bits]:
    float32 [na, nb] in [0, 1], 1 for identical hashes. The distance is counted as two matrix products (bits
    set in a but not in b, and the reverse), so a block of rows costs one BLAS call."""
    a, b = np.asarray(a_bits, dtype=np.float32), np.asarray(b_bits, dtype=np.float32)
    differing = a @ (1.0 - b).T + (1.0 - a) @ b.T
    return (1.0 - differing / np.float32(a.shape[1])).astype(np.float32)
