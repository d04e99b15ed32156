"""Snakemake step: a figure of example records (crops beside their ground truth and every OCR text)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

from pathlib import Path

from clippings_wf.reporting import gallery
from clippings_wf.records import read_manifest

manifest_path = Path(snakemake.input.manifest)
gallery.plot_example_records(
    read_manifest(manifest_path),
    manifest_path.parent,
    Path(snakemake.output.png).with_suffix(""),
    seed=snakemake.params.seed,
)
