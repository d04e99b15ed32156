"""Snakemake step: a gallery of the pooled model's test clusters (photos with their OCR'd captions)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)  # noqa: F821

from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from clippings_wf.records import read_manifest  # noqa: E402
from clippings_wf.reporting import photo_gallery  # noqa: E402
from clippings_wf.reporting.tables import display_name  # noqa: E402

params = snakemake.params  # noqa: F821
manifest_path = Path(snakemake.input.manifest)  # noqa: F821
assignments = pd.read_csv(snakemake.input.assignments, dtype={"record_id": str})  # noqa: F821
shown = assignments[(assignments["method"] == params.method) & (assignments["ocr"] == "noisy")]
photo_gallery.plot_cluster_gallery(read_manifest(manifest_path), manifest_path.parent, shown,
                                     display_name(params.method), Path(snakemake.output.png).with_suffix(""),
                                     seed=params.seed)  # fmt: skip
