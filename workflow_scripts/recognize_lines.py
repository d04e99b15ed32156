"""Snakemake step: the PP-OCR recognizer over every record crop (or every synthetic view), one pass each ->
its text (the modern OCR condition) and its frozen sequence features, in one .npz (clippings_wf.models.feature_cache)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)  # noqa: F821

import json  # noqa: E402
import logging  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from clippings_wf.models import feature_cache
from clippings_wf.ocr import recognizer  # noqa: E402
from clippings_wf.records import read_records, resolve_image_paths  # noqa: E402

width = int(snakemake.params.width)  # noqa: F821
if "views" in snakemake.input.keys():  # noqa: F821
    views = pd.read_parquet(snakemake.input.views)  # noqa: F821
    keys, sources = feature_cache.view_keys(len(views)), list(views["png"])
else:
    records_path = Path(snakemake.input.records)  # noqa: F821
    records = read_records(records_path)
    keys, sources = records["record_id"].tolist(), resolve_image_paths(records, records_path.parent)
# The file actually read, hashed now: the log then names the weights behind every text and feature of this step.
logging.info("recognizer provenance: %s; lines scaled to %d x %d", json.dumps(recognizer.provenance()),
             recognizer.HEIGHT, width)
texts, features = recognizer.read_lines(sources, width, workers=snakemake.threads)  # noqa: F821
feature_cache.save(snakemake.output.features, keys, features, texts)  # noqa: F821
size = Path(snakemake.output.features).stat().st_size  # noqa: F821
logging.info("%d crops: features %s (float16), %.1f MB on disk; %d empty texts", len(keys), features.shape,
             size / 1e6, sum(not t for t in texts))
