"""Snakemake step: the paper's main table (CSV, Markdown, LaTeX) and its bar chart."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

from pathlib import Path

import pandas as pd

from clippings_wf.evaluation import findings
from clippings_wf.reporting import plots
from clippings_wf.reporting import table_format
from clippings_wf.reporting import tables
from clippings_wf.evaluation import top1_intervals
from clippings_wf.records import read_manifest

baselines = pd.read_csv(snakemake.input.baselines).assign(group="classical")
models = pd.read_csv(snakemake.input.models).assign(group="model")
rows = pd.concat([baselines[["method", "ocr", "top1", "group"]], models[["method", "ocr", "top1", "group"]]])
# The paper's numbers are for its Japanese firms; beside another dataset they would mislead, so none are shown.
paper_numbers = None if snakemake.params.paper_comparable else {}
table = tables.main_results_table(rows, pd.read_csv(snakemake.input.quality), paper_numbers)
# Every claimed number with its 95% interval, from the per-query hits of the same runs.
# Intervals resample test entities: the manifest gives each query's.
manifest = read_manifest(snakemake.input.manifest)
hits = top1_intervals.read_hits(snakemake.input.baseline_predictions, snakemake.input.model_predictions, manifest)
table = top1_intervals.add_top1_intervals(table, hits)
table_format.write_table(table, Path(snakemake.output.csv).with_suffix(""))
orientation = top1_intervals.orientation_table(
    hits, manifest, order=list(table["method"]), ocrs=top1_intervals.ocr_columns(table)
)
table_format.write_table(orientation, Path(snakemake.output.orientation).with_suffix(""))
table_format.write_table(findings.findings_table(hits), Path(snakemake.output.findings).with_suffix(""))
table_format.write_table(findings.complementarity_table(hits), Path(snakemake.output.complementarity).with_suffix(""))
plots.plot_main_results(table, Path(snakemake.output.figure).with_suffix(""))
