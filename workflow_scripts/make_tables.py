"""Snakemake step: the paper's main table (CSV, Markdown, LaTeX) and its bar chart."""

from clippings_wf.logs import start_step_log

start_step_log(snakemake)

from pathlib import Path

import pandas as pd

from clippings_wf import plots, tables

baselines = pd.read_csv(snakemake.input.baselines).assign(group="classical")
models = pd.read_csv(snakemake.input.models).assign(group="model")
rows = pd.concat([baselines[["method", "ocr", "top1", "group"]], models[["method", "ocr", "top1", "group"]]])
# The paper's numbers are for its Japanese firms; beside another dataset they would mislead, so none are shown.
paper_numbers = None if snakemake.params.paper_comparable else {}
table = tables.main_results_table(rows, pd.read_csv(snakemake.input.quality), paper_numbers)
tables.write_table(table, Path(snakemake.output.csv).with_suffix(""))
plots.plot_main_results(table, Path(snakemake.output.figure).with_suffix(""))
