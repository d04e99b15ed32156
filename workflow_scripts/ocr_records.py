"""Snakemake step: Tesseract on every degraded and clean crop -> manifest.csv and the OCR quality table."""

from clippings_wf.logs import start_step_log

start_step_log(snakemake)  # noqa: F821

import logging  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from clippings_wf.benchmark import read_records  # noqa: E402
from clippings_wf.metrics import character_error_rate  # noqa: E402
from clippings_wf.ocr import ocr_images  # noqa: E402

settings = dict(snakemake.params.ocr)  # noqa: F821
records_path = Path(snakemake.input.records)  # noqa: F821
records = read_records(records_path)
root = records_path.parent
for condition, column in (("noisy", "image_path"), ("clean", "clean_image_path")):
    items = [(root / p, v) for p, v in zip(records[column], records["vertical"])]
    records[f"ocr_{condition}"] = ocr_images(items, settings["lang"], settings["lang_vertical"],
                                             workers=snakemake.threads, desc=f"ocr {condition}")  # noqa: F821
records.to_csv(snakemake.output.manifest, index=False)  # noqa: F821

rows = []
for condition in ("noisy", "clean"):
    for role, frame in records.groupby("role", sort=True):
        hyps = frame[f"ocr_{condition}"].tolist()
        rows.append(dict(condition=condition, role=role, n=len(frame),
                         cer=character_error_rate(hyps, frame["text"].tolist()),
                         empty=int(sum(not h for h in hyps))))
quality = pd.DataFrame(rows, columns=["condition", "role", "n", "cer", "empty"])
quality.to_csv(snakemake.output.quality, index=False)  # noqa: F821
logging.info("OCR quality:\n%s", quality.to_string(index=False))
