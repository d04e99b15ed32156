"""Snakemake step: the clustering table (ARI, pairwise precision / recall / F1 per method) and its figure."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

from pathlib import Path

import pandas as pd

from clippings_wf.baselines import image_hash
from clippings_wf.reporting import plots
from clippings_wf.reporting import table_format
from clippings_wf.reporting import tables

summary = pd.concat([pd.read_csv(snakemake.input.baselines), pd.read_csv(snakemake.input.models)])
curves = pd.concat([pd.read_csv(snakemake.input.baseline_curves), pd.read_csv(snakemake.input.model_curves)])
# The paper's ARI by method key (it reports ARI x 100), for a dataset that reproduces one of its tables.
paper = getattr(snakemake.params, "paper", None) or {}
# cluster_records adds the sibling top-1 for a dataset evaluated by clustering alone (no queries, no references).
clustering_only = "sibling_top1" in summary
columns = ["threshold", "val_ari", "ari", "ari_low", "ari_high", "pair_precision", "pair_recall", "pair_f1",
           "n_records", "n_entities", "n_clusters"]  # fmt: skip
if paper:
    summary["paper_ari"] = summary["method"].map(paper).astype(float) / 100.0
    columns.insert(columns.index("ari_high") + 1, "paper_ari")
if clustering_only:
    columns += ["sibling_top1", "sibling_top1_low", "sibling_top1_high", "n_with_sibling"]
table = tables.method_rows_table(summary, columns)

records = "records" if clustering_only else "records (queries and references)"
footer = [
    f"Single linkage on each method's similarity over the {int(summary['n_records'].iloc[0])} test {records},"
    f" cut at the threshold with the best validation ARI; kNN graph with k = {snakemake.params.neighbours}. ARI"
    " in brackets: 95% bootstrap interval over test entities (each drawn with all its records; one drawn twice"
    " counts as two)."
]
if clustering_only:
    footer.append(
        "Sibling top-1: of the test records whose entity has another test record, the share whose most similar"
        " other test record is of the same entity (95% interval over entities)."
    )
if image_hash.METHOD in set(summary["method"]):
    footer.append("pHash reads the photo alone, so its row is the same under every OCR condition.")
if paper:
    footer.append("Paper ARI: the paper's number (its own OCR; reported there x 100), on each OCR condition's row.")
table.attrs["footer"] = " ".join(footer)
table_format.write_table(table, Path(snakemake.output.csv).with_suffix(""))
shown = [m for m in snakemake.params.figure_methods if m in set(summary["method"])]
plots.plot_clustering(table, curves, shown, Path(snakemake.output.figure).with_suffix(""))
