"""A pretrained text-line recognizer that installs from PyPI: PP-OCRv6 small, shipped inside the rapidocr wheel.

It serves twice, from one pass over each crop:
- as an OCR engine (the ``modern`` OCR condition): greedy CTC decoding of its per-position class probabilities;
- as the pretrained vision encoder: the 120-d sequence features before its classifier (``FEATURE_NODE``),
  which the vision tower's trainable head reads (clippings_wf/models/textline_tower.py).

Nothing is downloaded: the weights are the installed package's file, checked against ``MODEL_SHA256``. Crops are
grayscale lines; a vertical crop (taller than wide) is turned 90 degrees counter-clockwise, which this recognizer
reads well (../shared/MEASURED.md: CER 0.20, against 0.55 for cutting the column into cells).
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import multiprocessing
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from clippings_wf.image_files import open_image
from clippings_wf.runtime import checksums

MODEL_FILE = "PP-OCRv6_rec_small.onnx"
MODEL_SHA256 = "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884"
PACKAGE = "rapidocr==3.10.0"
FEATURE_NODE = "p2o.pd_op.transpose.8.0"
HEIGHT = 48
STRIDE = 8  # input pixels per output position
FEATURE_DIM = 120


class RecognizerModelError(FileNotFoundError):
    """The recognizer's weights are missing or are not the file this workflow was built and tested with."""


def default_model_path() -> Path | None:
    """Where the installed rapidocr package keeps the model (found without importing rapidocr)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "models" / MODEL_FILE


def check_model(path=None) -> Path:
    """The model file, verified; RecognizerModelError names the file, the expected checksum and the install."""
    path = Path(path) if path else default_model_path()
    fix = f"install it with `pip install {PACKAGE}` (bash install.sh does)"
    if path is None or not path.is_file():
        raise RecognizerModelError(f"recognizer model {path or MODEL_FILE} not found (the rapidocr package "
                                   f"ships it, sha256 {MODEL_SHA256}): {fix}")
    found = checksums.file_sha256(path)
    if found != MODEL_SHA256:
        raise RecognizerModelError(f"recognizer model {path} has sha256 {found}, expected {MODEL_SHA256} "
                                   f"(the file of {PACKAGE}): {fix}")
    return path


def provenance(path=None) -> dict:
    """What the step's log records of the recognizer: the file actually read, its sha256 computed now (not the
    expected MODEL_SHA256) and the version of the rapidocr package that installed it."""
    path = check_model(path)
    try:
        package = importlib.metadata.version("rapidocr")
    except importlib.metadata.PackageNotFoundError:  # a model file given by path, outside the package
        package = None
    return {"model": str(path), "sha256": checksums.file_sha256(path), "rapidocr": package}


def load_onnx(path=None, with_features: bool = True):
    """The ONNX graph, with the feature node as a second output and explicit pads where it used SAME_UPPER.

    onnx2torch does not implement ``auto_pad: SAME_UPPER``; for its kernel-2, stride-1 Conv and MaxPool nodes
    that is exactly pads [0, 0, 1, 1] (one extra row and column at the end), so the graph computes the same.
    """
    import onnx

    model = onnx.load(str(check_model(path)))
    for node in model.graph.node:
        for attr in list(node.attribute):
            if attr.name == "auto_pad" and attr.s == b"SAME_UPPER":
                kernel = [a.ints for a in node.attribute if a.name == "kernel_shape"][0]
                strides = [a.ints for a in node.attribute if a.name == "strides"] or [[1, 1]]
                if list(kernel) != [2, 2] or list(strides[0]) != [1, 1]:
                    raise ValueError(f"{node.name}: unexpected SAME_UPPER kernel {kernel}, strides {strides}")
                node.attribute.remove(attr)
                node.attribute.append(onnx.helper.make_attribute("pads", [0, 0, 1, 1]))
    if with_features:
        # Greedy decoding needs only the best class per position: an ArgMax in the graph saves copying out
        # [B, T, 18710] probabilities (most of the run time at batch 64).
        probs = model.graph.output[0].name
        model.graph.node.append(onnx.helper.make_node("ArgMax", [probs], ["best_class"], axis=-1, keepdims=0))
        del model.graph.output[:]
        model.graph.output.extend([
            onnx.helper.make_tensor_value_info("best_class", onnx.TensorProto.INT64, None),
            onnx.helper.make_tensor_value_info(FEATURE_NODE, onnx.TensorProto.FLOAT, None),
        ])
    return model


def charset(model) -> list[str]:
    """Class index -> character: 0 is the CTC blank, then the model's own list, then a space."""
    meta = {p.key: p.value for p in model.metadata_props}
    return ["<blank>"] + meta["character"].splitlines() + [" "]


def ctc_greedy(best: np.ndarray, chars: list[str]) -> list[str]:
    """Best class per position [B, T], repeats merged, blanks dropped -> B strings."""
    out = []
    for row in best:
        keep = np.ones(len(row), dtype=bool)
        keep[1:] = row[1:] != row[:-1]
        out.append("".join(chars[i] for i in row[keep & (row != 0)]).strip())
    return out


def _line_gray(image, width: int) -> np.ndarray:
    """A crop (PIL image, path or PNG bytes) -> uint8 gray [48, w <= width]: vertical crops turned
    counter-clockwise, the height scaled to 48, longer lines squeezed to ``width``."""
    if not isinstance(image, Image.Image):
        image = open_image(image)  # refused over the pixel limit, naming the file
    gray = image.convert("L")
    if gray.height > gray.width:
        gray = gray.transpose(Image.Transpose.ROTATE_90)
    new_w = max(1, min(width, round(gray.width * HEIGHT / gray.height)))
    return np.asarray(gray.resize((new_w, HEIGHT), Image.BILINEAR), dtype=np.uint8)


def prepare_line(image, width: int) -> np.ndarray:
    """A crop -> the recognizer's input, float32 [3, 48, width] in [-1, 1], text left, padding 0."""
    gray = _line_gray(image, width)
    out = np.zeros((3, HEIGHT, width), dtype=np.float32)
    out[:, :, : gray.shape[1]] = gray.astype(np.float32) / 127.5 - 1.0
    return out


# Fine-tuning the encoder reads pixels, kept as uint8 gray (a 16th of the float input's memory). Padding is 128,
# 0.004 after scaling where the recognizer's own padding is 0: the cached features are not used on this path.
PAD_GRAY = 128


def load_gray_lines(sources, width: int) -> np.ndarray:
    """uint8 [N, 48, width] gray lines for the fine-tuning path (``gray_to_input`` makes them model input)."""
    out = np.full((len(sources), HEIGHT, width), PAD_GRAY, dtype=np.uint8)
    for i, source in enumerate(tqdm(sources, desc="lines", mininterval=5)):
        gray = _line_gray(source, width)
        out[i, :, : gray.shape[1]] = gray
    return out


def gray_to_input(batch):
    """uint8 [B, 48, W] torch tensor -> float [B, 3, 48, W] in [-1, 1]."""
    return (batch.float() / 127.5 - 1.0).unsqueeze(1).expand(-1, 3, -1, -1).contiguous()


class Recognizer:
    """One onnxruntime session (one thread: parallelism comes from worker processes, as for Tesseract)."""

    def __init__(self, path=None, threads: int = 1):
        import onnxruntime

        model = load_onnx(path)
        self.chars = charset(model)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                                    providers=["CPUExecutionProvider"])
        self.outputs = [o.name for o in self.session.get_outputs()]

    def run(self, batch: np.ndarray) -> tuple[list[str], np.ndarray]:
        """float32 [B, 3, 48, W] -> (texts, features float32 [B, W / 8, 120])."""
        best, features = self.session.run(self.outputs, {"x": batch})
        return ctc_greedy(best, self.chars), features


_worker = {}  # per process: the Recognizer


def _init_worker(path):
    _worker.clear()
    _worker["path"] = path


def _read_chunk(args):
    sources, width = args
    if "engine" not in _worker:
        _worker["engine"] = Recognizer(_worker.get("path"))
    batch = np.stack([prepare_line(s, width) for s in sources])
    texts, features = _worker["engine"].run(batch)
    return texts, features.astype(np.float16)


def read_lines(sources, width: int, workers: int = 1, chunk: int = 64, path=None, desc="recognizer"):
    """Texts and float16 features [N, width / 8, 120] of every crop (paths or PNG bytes), in input order."""
    sources = [str(s) if isinstance(s, Path) else s for s in sources]
    if width % STRIDE:
        raise ValueError(f"recognizer width must be a multiple of {STRIDE}, not {width}")
    path = str(check_model(path))
    jobs = [(sources[i : i + chunk], width) for i in range(0, len(sources), chunk)]
    texts, features = [], np.zeros((len(sources), width // STRIDE, FEATURE_DIM), dtype=np.float16)
    bar = tqdm(total=len(sources), desc=desc, mininterval=5)
    workers = max(1, min(int(workers), len(jobs) or 1))
    if workers == 1:
        _init_worker(path)
        results = map(_read_chunk, jobs)
        pool = None
    else:
        pool = multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker, initargs=(path,))
        results = pool.imap(_read_chunk, jobs)
    try:
        for t, f in results:
            features[len(texts) : len(texts) + len(t)] = f
            texts.extend(t)
            bar.update(len(t))
    finally:
        bar.close()
        if pool is not None:
            pool.close()
            pool.join()
    return texts, features
