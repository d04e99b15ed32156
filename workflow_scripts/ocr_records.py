"""Snakemake step: Tesseract on every degraded and clean crop -> manifest.csv and the OCR quality table.

A manifest dataset may give its OCR texts (then Tesseract is not run for that condition) and may lack clean
images (then the clean condition repeats the noisy OCR); its ground-truth ``text`` may be empty (CER is then NaN).
"""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)  # noqa: F821

import json  # noqa: E402
import logging  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from clippings_wf.records import read_records  # noqa: E402
from clippings_wf.records import cap_ocr_texts, fill_entity_names, ocr_conditions, resolve_image_path  # noqa: E402
from clippings_wf.image_files import policy_of  # noqa: E402
from clippings_wf.evaluation.metrics import character_error_rate  # noqa: E402
from clippings_wf.ocr import tesseract  # noqa: E402

settings = dict(snakemake.params.ocr)  # noqa: F821
records_path = Path(snakemake.input.records)  # noqa: F821
records = read_records(records_path)
root = records_path.parent
policy = policy_of(root)  # where image paths may lead, the pixel limit (written by the import step)
# The image the OCR reads: the record's own (a text line), or the one its manifest names (a photo's caption),
# row by row where that is given. With captions, a clean image of the record is no clean caption.
OCR_IMAGES = {"noisy": ("ocr_image_path", "image_path"), "clean": ("clean_ocr_image_path", "clean_image_path")}
captions = "ocr_image_path" in records
provenance_logged = False
for condition, (own, default) in OCR_IMAGES.items():
    none = pd.Series("", index=records.index)
    given, fallback = records.get(own, none), records.get(default, none)
    paths = given.where(given != "", none if captions and condition == "clean" else fallback)
    if f"ocr_{condition}" in records:  # given by the dataset's manifest
        logging.info("%s OCR given by the manifest", condition)
        continue
    if condition == "clean" and not (paths != "").all():  # no clean images given
        logging.warning("no clean images: the clean OCR condition repeats the noisy OCR (README)")
        records["ocr_clean"] = records["ocr_noisy"]
        continue
    # A line crop taller than wide is a vertical line; a block of lines is read as it stands.
    vertical = records["vertical"] if settings["mode"] == "line" else [0] * len(records)
    columns = [own if g else default for g in given]  # the column each path came from, for a refusal's message
    items = [(resolve_image_path(p, root, r, c, policy) if p else root / p, v)
             for p, v, r, c in zip(paths, vertical, records["record_id"], columns)]  # fmt: skip
    if not provenance_logged:  # once, and only where Tesseract runs: the library and model files its texts come from
        langs = [settings["lang"]] + ([settings["lang_vertical"]] if any(v for _, v in items) else [])
        logging.info("Tesseract provenance: %s", json.dumps(tesseract.provenance(langs)))
        provenance_logged = True
    texts = tesseract.ocr_images(items, settings["lang"], settings["lang_vertical"], desc=f"ocr {condition}",
                                 workers=snakemake.threads, mode=settings["mode"])  # noqa: F821  # fmt: skip
    records[f"ocr_{condition}"], cut = cap_ocr_texts(pd.Series(texts, index=records.index), settings["max_chars"])
    if cut:
        logging.warning("%d %s OCR texts longer than %d characters were cut (ocr.max_chars)", cut, condition,
                        settings["max_chars"])
if "ocr_modern" not in records and snakemake.input.modern:  # noqa: F821  (the recognizer's text, where it reads lines)
    with np.load(snakemake.input.modern, allow_pickle=False) as cache:  # noqa: F821
        modern = pd.Series(cache["texts"], index=cache["keys"])
    records["ocr_modern"], _ = cap_ocr_texts(modern.reindex(records["record_id"]).fillna("").set_axis(records.index),
                                             settings["max_chars"])
records, named = fill_entity_names(records)
if named:
    logging.info("%d entities without a name are named by their reference's OCR (synthetic renders, leakage check)",
                 named)
records.to_csv(snakemake.output.manifest, index=False)  # noqa: F821

rows = []
for condition in ocr_conditions(records):  # CER rows for every OCR condition the manifest has
    for role, frame in records.groupby("role", sort=True):
        hyps = frame[f"ocr_{condition}"].tolist()
        rows.append(dict(condition=condition, role=role, n=len(frame),
                         cer=character_error_rate(hyps, frame["text"].tolist()),
                         empty=int(sum(not h for h in hyps))))
quality = pd.DataFrame(rows, columns=["condition", "role", "n", "cer", "empty"])
quality.to_csv(snakemake.output.quality, index=False)  # noqa: F821
logging.info("OCR quality:\n%s", quality.to_string(index=False))
