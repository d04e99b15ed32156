"""The photo tower's fixed front end: the low-frequency layout of a descreened photo (no pretrained weights).

No model hub is reachable, and the one pretrained convolutional network a wheel ships (rapidocr's PP-OCRv6 text
detector) describes a picture's texture, which every crop of one photograph shares, not which crop a printing
shows: as a frozen photo encoder it clustered news_wire's printings at ARI about 0 (CHANGELOG, 2026-12-04). So
the photo tower is trained from scratch on this front end, which keeps what a printing cannot change:

each photo, in grayscale, is descreened (a Gaussian blur of ``DESCREEN_RADIUS`` printed pixels: halftone cells
are 3-5 pixels), stretched to ``SIZE`` x ``SIZE`` (printings crop and stretch a source differently; a stretched
photo keeps its layout where a letterboxed one moves it), and reduced to the ``KEEP`` x ``KEEP`` lowest
frequencies of its 2-D DCT: pHash's layout, but squashed smoothly around their median (tanh of the deviation in
units of its median size) instead of cut to bits, without the constant term, L2-normalized. Faded ink or a lost
contrast move every coefficient together, which the median and the squashing take out. On news_wire's
validation / test printings these features alone cluster at ARI 0.50 / 0.58 (pHash 0.34 / 0.49).
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from scipy.fft import dctn
from tqdm import tqdm

from clippings_wf.image_files import open_image

SIZE = 32
DESCREEN_RADIUS = 2.5
KEEP = 8
FEATURE_DIM = KEEP * KEEP - 1


def _open(image) -> Image.Image:
    return image if isinstance(image, Image.Image) else open_image(image)  # refused over the pixel limit


def photo_features(image) -> np.ndarray:
    """A photo (PIL image, path or image bytes) -> float32 [FEATURE_DIM], unit length (zero for a flat photo)."""
    gray = _open(image).convert("L").filter(ImageFilter.GaussianBlur(DESCREEN_RADIUS))
    pixels = np.asarray(gray.resize((SIZE, SIZE), Image.Resampling.BOX), dtype=np.float64)
    low = dctn(pixels, norm="ortho")[:KEEP, :KEEP].ravel()
    deviation = low - np.median(low)
    scale = np.median(np.abs(deviation))
    squashed = np.tanh(deviation / scale)[1:] if scale > 1e-9 else np.zeros(FEATURE_DIM)
    norm = np.linalg.norm(squashed)
    return (squashed / norm if norm > 1e-9 else squashed).astype(np.float32)


def _encode_chunk(sources) -> np.ndarray:
    return np.stack([photo_features(s) for s in sources]).astype(np.float16)


def encode_photos(sources, workers: int = 1, chunk: int = 256, desc="photo features") -> np.ndarray:
    """float16 [N, FEATURE_DIM] features of every photo (paths or image bytes), in input order."""
    sources = [str(s) if isinstance(s, Path) else s for s in sources]
    jobs = [sources[i : i + chunk] for i in range(0, len(sources), chunk)]
    features = np.zeros((len(sources), FEATURE_DIM), dtype=np.float16)
    workers = max(1, min(int(workers), len(jobs) or 1))
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 else None
    done = 0
    try:
        results = pool.imap(_encode_chunk, jobs) if pool else map(_encode_chunk, jobs)
        with tqdm(total=len(sources), desc=desc, mininterval=5) as bar:
            for block in results:
                features[done : done + len(block)] = block
                done += len(block)
                bar.update(len(block))
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return features
