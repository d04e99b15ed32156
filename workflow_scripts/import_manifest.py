"""Snakemake step: your own manifest -> records.csv (every image decoded) and the data summary."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)  # noqa: F821

import logging  # noqa: E402
from pathlib import Path  # noqa: E402

from clippings_wf.data.import_manifest import import_manifest  # noqa: E402

settings = dict(snakemake.params.settings)  # noqa: F821
records, summary = import_manifest(
    snakemake.input.manifest,  # noqa: F821
    Path(snakemake.output.records).parent,  # noqa: F821
    ocr_columns=settings["ocr_columns"],
    split=dict(settings["split"]),
    max_ocr_chars=int(settings["max_ocr_chars"]),
    references=bool(settings["references"]),
    line_crops=bool(settings["line_crops"]),
    image_roots=settings.get("image_roots") or (),
    max_pixels=settings.get("max_image_pixels"),
)
summary.to_csv(snakemake.output.summary, index=False, lineterminator="\n")  # noqa: F821
logging.info("%d records imported:\n%s", len(records), summary.to_string(index=False))
