"""Snakemake step: the clustering table (ARI, pairwise precision / recall / F1 per method) and its figure."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

from pathlib import Path

import pandas as pd

from clippings_wf.reporting import plots
from clippings_wf.reporting import table_format
from clippings_wf.reporting import tables

summary = pd.concat([pd.read_csv(snakemake.input.baselines), pd.read_csv(snakemake.input.models)])
curves = pd.concat([pd.read_csv(snakemake.input.baseline_curves), pd.read_csv(snakemake.input.model_curves)])
table = tables.method_rows_table(
    summary, ["threshold", "val_ari", "ari", "ari_low", "ari_high", "pair_precision", "pair_recall", "pair_f1",
              "n_records", "n_entities", "n_clusters"],
)  # fmt: skip
table.attrs["footer"] = (
    f"Single linkage on each method's similarity over the {int(summary['n_records'].iloc[0])} test records"
    f" (queries and references), cut at the threshold with the best validation ARI;"
    f" kNN graph with k = {snakemake.params.neighbours}. ARI in brackets: 95% bootstrap interval over test"
    " entities (each drawn with all its records; one drawn twice counts as two)."
)
table_format.write_table(table, Path(snakemake.output.csv).with_suffix(""))
shown = [m for m in snakemake.params.figure_methods if m in set(summary["method"])]
plots.plot_clustering(table, curves, shown, Path(snakemake.output.figure).with_suffix(""))
