"""Snakemake step: a figure of example records (line crops beside their ground truth and every OCR text; photos
with captions: test sources, each printing's photo over its scanned caption and OCR)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

from pathlib import Path

from clippings_wf.reporting import gallery, photo_gallery
from clippings_wf.records import read_manifest

manifest_path = Path(snakemake.input.manifest)
manifest = read_manifest(manifest_path)
if "ocr_image_path" in manifest:  # photos with captions: sources and their printings
    photo_gallery.plot_photo_sources(manifest, manifest_path.parent, Path(snakemake.output.png).with_suffix(""),
                                     seed=snakemake.params.seed)  # fmt: skip
else:
    gallery.plot_example_records(
        manifest, manifest_path.parent, Path(snakemake.output.png).with_suffix(""), seed=snakemake.params.seed
    )
