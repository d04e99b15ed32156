"""Snakemake step: the string-baseline table (paper layout) as CSV/Markdown/LaTeX, with its bar chart.

Inputs: ``top1`` (run_baselines.py output) and, optionally, ``manifest`` for the OCR CER footer.
Outputs: ``csv`` (md and tex are written beside it with the same stem), optionally ``cer`` and ``figure`` (png; a
pdf is written beside it).
"""

from clippings_wf.logs import start_step_log

start_step_log(snakemake)  # noqa: F821

from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from clippings_wf.metrics import ocr_cer_table  # noqa: E402
from clippings_wf.tables import main_results_table, write_table  # noqa: E402

inputs, outputs = snakemake.input, snakemake.output  # noqa: F821
rows = pd.read_csv(inputs.top1)
cer = None
if "manifest" in inputs.keys():
    manifest = pd.read_csv(inputs.manifest, dtype=str, keep_default_na=False)
    cer = ocr_cer_table(manifest)
    if "cer" in outputs.keys():
        cer.to_csv(outputs.cer, index=False, lineterminator="\n")
table = main_results_table(rows, cer)
write_table(table, Path(outputs.csv).with_suffix(""))
if "figure" in outputs.keys():
    from clippings_wf.plots import plot_main_results

    plot_main_results(table, Path(outputs.figure).with_suffix(""))
