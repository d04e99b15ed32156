"""Tesseract through tesserocr on clean renders: close to the text, in order, horizontal and vertical."""

import pytest

from clippings_wf.ocr import tesseract
from clippings_wf.data import render
from clippings_wf.evaluation.metrics import character_error_rate

NAMES = ["東京電気株式会社", "大阪紡績株式会社", "株式会社横浜製紙"]


@pytest.mark.parametrize("vertical", [False, True])
def test_clean_render_is_read(vertical):
    items = [(render.to_png(render.render_text(n, "ipaexm", 36, vertical, 8)), vertical) for n in NAMES]
    texts = tesseract.ocr_images(items, "jpn", "jpn_vert", workers=1)
    assert character_error_rate(texts, NAMES) < 0.5
    assert all(" " not in t and "\n" not in t for t in texts)


def test_pool_keeps_order_and_reads_paths(tmp_path):
    items = []
    for i, name in enumerate(NAMES * 2):
        path = tmp_path / f"{i}.png"
        path.write_bytes(render.to_png(render.render_text(name, "ipag", 34, False, 8)))
        items.append((path, False))
    assert tesseract.ocr_images(items, workers=2) == tesseract.ocr_images(items, workers=1)


def test_ocr_in_this_process_leaves_the_openmp_thread_limit_alone(monkeypatch):
    # The variable would reach every later child of this process: snakemake's torch jobs then ran with fewer
    # OpenMP threads than torch planned for (non-finite gradient norms, see clippings_wf.runtime.logs).
    import os

    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    item = (render.to_png(render.render_text(NAMES[0], "ipaexm", 36, False, 8)), False)
    tesseract.ocr_images([item], "jpn", "jpn_vert", workers=1)
    assert "OMP_THREAD_LIMIT" not in os.environ


def test_english_keeps_single_spaces():
    assert tesseract.clean_output(" Tokyo  Electric\nCo \n", "eng") == "Tokyo Electric Co"
    assert tesseract.clean_output("東京 電気\n", "jpn") == "東京電気"


def test_missing_model_names_package():
    with pytest.raises(FileNotFoundError, match="tesseract-ocr-klingon-vert"):
        tesseract.check_language("klingon_vert")


def test_provenance_names_the_library_and_hashes_each_model_file_used():
    import hashlib
    import re
    from pathlib import Path

    import tesserocr

    found = tesseract.provenance(["jpn+eng", "jpn_vert"])
    assert re.fullmatch(r"tesseract \d+\.\d+\.\d+\S*", found["version"])
    assert found["version"] in tesserocr.tesseract_version()
    assert found["tessdata"] == tesseract.tessdata_dir()
    assert sorted(found["sha256"]) == ["eng.traineddata", "jpn.traineddata", "jpn_vert.traineddata"]
    for name, digest in found["sha256"].items():
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert digest == hashlib.sha256((Path(found["tessdata"]) / name).read_bytes()).hexdigest()
    with pytest.raises(FileNotFoundError, match="tesseract-ocr-klingon"):
        tesseract.provenance(["jpn", "klingon"])
