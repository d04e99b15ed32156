"""A pretrained photo encoder that installs from PyPI: the backbone of PP-OCRv6's text detector (rapidocr wheel).

No model hub is reachable, and no registry package we found ships the weights of an image classifier or of
CLIP; rapidocr ships a text *detector* (PP-OCRv6 det small, a convolutional backbone trained on photographs of
scenes and documents to find text). Its stride-16 stage (``ENCODER_NODE``: 192 channels) is our frozen photo
encoder. Each photo, in grayscale, is descreened (a Gaussian blur of ``DESCREEN_RADIUS`` printed pixels: the
detector answers to halftone dots as it would to text strokes), stretched to ``SIZE`` x ``SIZE`` (printings crop
a source differently; a stretched photo keeps its content where a letterboxed one moves it with the aspect), and
its feature map averaged on a ``GRID`` x ``GRID`` grid, which keeps the layout that tells two crops of one
picture apart.

Measured on two printings each of 496 crops of 8 of the news_wire pictures (2026-12-04), nearest-printing
top-1 with no training: these features 0.48 (0.15 without descreening), 16 x 16 pixels 0.47, pHash 0.33. So
frozen, the detector's features are as good as raw pixels; the photo tower's trainable head (``photo_tower.py``)
learns what tells printings of one source from crops of its picture, reading the cached features as the line
tower reads the recognizer's.
"""

from __future__ import annotations

import functools
import io
import multiprocessing
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from tqdm import tqdm

from clippings_wf.ocr import recognizer

MODEL_FILE = "PP-OCRv6_det_small.onnx"
MODEL_SHA256 = "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f"
ENCODER_NODE = "p2o.pd_op.add.50.0"  # the backbone's stride-16 stage output, [B, 192, SIZE / 16, SIZE / 16]
SIZE = 160
DESCREEN_RADIUS = 2.5  # halftone cells are 3-5 printed pixels
CHANNELS = 192
GRID = 4
FEATURE_DIM = CHANNELS * GRID * GRID


def check_model(path=None) -> Path:
    return recognizer.check_package_file(MODEL_FILE, MODEL_SHA256, path, what="photo encoder (text detector)")


@functools.lru_cache(maxsize=1)
def _encoder_onnx_bytes(path: str) -> bytes:
    import onnx

    model = onnx.load(path)
    return onnx.utils.Extractor(model).extract_model(["x"], [ENCODER_NODE]).SerializeToString()


def prepare_photo(image) -> np.ndarray:
    """A photo (PIL image, path or PNG/JPEG bytes) -> float32 [3, SIZE, SIZE] in [-1, 1]: grayscale,
    descreened, stretched."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        image = Image.open(io.BytesIO(image))
    elif not isinstance(image, Image.Image):
        image = Image.open(image)
    gray = image.convert("L").filter(ImageFilter.GaussianBlur(DESCREEN_RADIUS))
    gray = np.asarray(gray.resize((SIZE, SIZE), Image.BILINEAR), dtype=np.float32)
    return np.repeat((gray / 127.5 - 1.0)[None], 3, axis=0)


def grid_pool(maps: np.ndarray) -> np.ndarray:
    """[B, C, H, W] -> [B, C * GRID * GRID]: the mean over each cell of a GRID x GRID grid (cells split as
    torch's adaptive average pooling splits them: overlapping by a row where H is not a multiple of GRID)."""
    b, c, h, w = maps.shape
    out = np.empty((b, c, GRID, GRID), dtype=np.float32)
    for i in range(GRID):
        r0, r1 = (i * h) // GRID, -((-(i + 1) * h) // GRID)
        for j in range(GRID):
            c0, c1 = (j * w) // GRID, -((-(j + 1) * w) // GRID)
            out[:, :, i, j] = maps[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return out.reshape(b, -1)


class PhotoEncoder:
    """One onnxruntime session, one thread (parallelism comes from worker processes, as for the recognizer)."""

    def __init__(self, path=None):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(_encoder_onnx_bytes(str(check_model(path))), options,
                                                    providers=["CPUExecutionProvider"])  # fmt: skip

    def run(self, batch: np.ndarray) -> np.ndarray:
        """float32 [B, 3, SIZE, SIZE] -> float32 [B, FEATURE_DIM]."""
        return grid_pool(self.session.run([ENCODER_NODE], {"x": batch})[0])


_worker = {}  # per process: the model path, then its PhotoEncoder


def _encode_chunk(sources) -> np.ndarray:
    if "engine" not in _worker:
        _worker["engine"] = PhotoEncoder(_worker.get("path"))
    return _worker["engine"].run(np.stack([prepare_photo(s) for s in sources])).astype(np.float16)


def _init_worker(path):
    _worker.clear()
    _worker["path"] = path


def encode_photos(sources, workers: int = 1, chunk: int = 32, path=None, desc="photo encoder") -> np.ndarray:
    """float16 [N, FEATURE_DIM] features of every photo (paths or image bytes), in input order."""
    sources = [str(s) if isinstance(s, Path) else s for s in sources]
    path = str(check_model(path))
    jobs = [sources[i : i + chunk] for i in range(0, len(sources), chunk)]
    features = np.zeros((len(sources), FEATURE_DIM), dtype=np.float16)
    workers = max(1, min(int(workers), len(jobs) or 1))
    pool = None
    if workers == 1:
        _init_worker(path)
        results = map(_encode_chunk, jobs)
    else:
        pool = multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker, initargs=(path,))
        results = pool.imap(_encode_chunk, jobs)
    done = 0
    try:
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
