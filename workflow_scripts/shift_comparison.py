"""Snakemake step: an evaluation-only dataset's top-1 beside its models' own dataset's (CSV, Markdown, LaTeX)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

from pathlib import Path

import pandas as pd

from clippings_wf.reporting import table_format
from clippings_wf.evaluation.shift_comparison import shift_comparison_table

table = shift_comparison_table(
    pd.read_csv(snakemake.input.in_distribution),
    pd.read_csv(snakemake.input.shifted),
    in_name=snakemake.params.in_distribution,
    shifted_name=snakemake.wildcards.dataset,
)
table_format.write_table(table, Path(snakemake.output.csv).with_suffix(""))
