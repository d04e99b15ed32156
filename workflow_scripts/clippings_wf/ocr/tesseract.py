"""Tesseract OCR of line crops through tesserocr, one engine per language kept alive in each worker process.

Starting Tesseract per crop (pytesseract) is tens of times slower; reusing a loaded PyTessBaseAPI gives
tens of crops/s per process here.
"""

import functools
import multiprocessing
import os
import re
import shutil
import subprocess
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from clippings_wf.image_files import open_image
from clippings_wf.runtime import checksums

DEFAULT_TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"

_engines = {}  # per process: (lang, vertical, mode) -> PyTessBaseAPI
_langs = {}  # per process: {"horizontal": lang, "vertical": lang, "mode": "line" | "block"}
# One text line (a firm-name crop): RAW_LINE. Several lines (a caption): SINGLE_BLOCK, one uniform block of text.
MODES = ("line", "block")
_owner_pid = [os.getpid()]  # engines copied into a forked child are not reused there


@functools.lru_cache(maxsize=None)
def tessdata_dir():
    """Debian's model folder: the first line of `tesseract --list-langs` names it (the tesserocr wheel looks in ./)."""
    if shutil.which("tesseract"):
        try:
            first = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True,
                                   timeout=30).stdout.splitlines()[0]
            match = re.search(r'"([^"]+)"', first)
            if match and Path(match.group(1)).is_dir():
                return str(Path(match.group(1)))
        except (OSError, IndexError, subprocess.SubprocessError):
            pass
    return DEFAULT_TESSDATA


def check_language(lang):
    """Raise a FileNotFoundError naming the apt package if a Tesseract model is missing."""
    for part in lang.split("+"):
        if not (Path(tessdata_dir()) / f"{part}.traineddata").is_file():
            package = "tesseract-ocr-" + part.replace("_", "-").lower()
            raise FileNotFoundError(f"Tesseract model {part!r} not found in {tessdata_dir()}: "
                                    f"install it with `apt-get install {package}`")


def provenance(langs) -> dict:
    """What a Tesseract run's text depends on, for its log: the library's version (the tesserocr wheel's own
    libtesseract, not the system's tesseract), the model folder and the sha256 of each model file of ``langs``
    (e.g. ["jpn", "jpn_vert"]; "jpn+eng" counts as both). A missing model raises check_language's error."""
    import tesserocr

    library = [line.strip() for line in tesserocr.tesseract_version().splitlines()]
    models = {}
    for lang in langs:
        check_language(lang)
        for part in lang.split("+"):
            models[f"{part}.traineddata"] = checksums.file_sha256(Path(tessdata_dir()) / f"{part}.traineddata")
    return {"version": library[0], "leptonica": library[1] if len(library) > 1 else None,
            "tessdata": tessdata_dir(), "sha256": models}


def _engine(lang, vertical, mode="line"):
    # Tesseract's OpenMP threads only fight the worker processes for the cores; limited in pool workers only, since
    # the variable would reach every child of the main process, torch's jobs included (clippings_wf.runtime.logs).
    if multiprocessing.parent_process() is not None:
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    import tesserocr

    if _owner_pid[0] != os.getpid():
        _engines.clear()
        _owner_pid[0] = os.getpid()
    key = (lang, vertical, mode)
    if key not in _engines:
        # RAW_LINE skips layout analysis, which drops whole clean lines at some font sizes (empty output);
        # vertical crops are turned on their side first, which jpn_vert reads better than SINGLE_BLOCK_VERT_TEXT.
        psm = tesserocr.PSM.RAW_LINE if mode == "line" else tesserocr.PSM.SINGLE_BLOCK
        _engines[key] = tesserocr.PyTessBaseAPI(path=tessdata_dir() + "/", lang=lang, psm=psm)
    return _engines[key]


def init_worker(lang="jpn", lang_vertical="jpn_vert", mode="line"):
    """Pool initializer (also fine to call in the main process): remembers the languages and the mode (MODES),
    loads the engines lazily."""
    if mode not in MODES:
        raise ValueError(f"OCR mode {mode!r} is not one of {MODES}")
    _langs["horizontal"], _langs["vertical"], _langs["mode"] = lang, lang_vertical, mode


def clean_output(text, lang):
    """Japanese has no spaces: drop all whitespace; for English keep single spaces."""
    if lang.startswith("eng"):
        return " ".join(text.split())
    return "".join(text.split())


def recognize(image, vertical=False):
    """OCR one crop (PIL image, PNG bytes or path) with this process's engine."""
    if not isinstance(image, Image.Image):
        image = open_image(image)  # refused over the pixel limit, naming the file
    lang = _langs.get("vertical" if vertical else "horizontal") or ("jpn_vert" if vertical else "jpn")
    api = _engine(lang, bool(vertical), _langs.get("mode", "line"))
    image = image.convert("L")
    if vertical:  # top of the column to the left: the text then runs left to right
        image = image.rotate(90, expand=True, fillcolor=255)
    api.SetImage(image)
    return clean_output(api.GetUTF8Text(), lang)


def _recognize_item(item):
    image, vertical = item
    return recognize(image, vertical)


def ocr_images(items, lang="jpn", lang_vertical="jpn_vert", workers=1, desc="ocr", mode="line"):
    """OCR ``items`` = [(PNG path or bytes, vertical), ...], each one line or a block of lines (``mode``);
    returns texts in input order (a block's lines joined as clean_output joins words)."""
    items = [(str(img) if isinstance(img, Path) else img, bool(vertical)) for img, vertical in items]
    check_language(lang)
    if any(v for _, v in items):
        check_language(lang_vertical)
    workers = max(1, min(int(workers), len(items) or 1))
    if workers == 1:
        init_worker(lang, lang_vertical, mode)
        return [_recognize_item(it) for it in tqdm(items, desc=desc, mininterval=5)]
    chunksize = max(1, min(32, len(items) // (workers * 8)))
    with multiprocessing.get_context("fork").Pool(workers, initializer=init_worker,
                                                  initargs=(lang, lang_vertical, mode)) as pool:
        return list(tqdm(pool.imap(_recognize_item, items, chunksize=chunksize), total=len(items),
                         desc=desc, mininterval=5))
