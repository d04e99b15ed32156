"""Snakemake step: tune each method's no-match threshold on val, report on test; thresholds, table, figure."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

from pathlib import Path

import pandas as pd

from clippings_wf.evaluation import intervals
from clippings_wf.evaluation import nomatch
from clippings_wf.reporting import plots
from clippings_wf.reporting import table_format
from clippings_wf.reporting import tables

scores = pd.concat([pd.read_csv(path, dtype={"entity_id": str})
                    for path in (snakemake.input.baselines, snakemake.input.models)])  # fmt: skip
summary, curves = nomatch.evaluate(scores)
summary[["method", "ocr", "threshold"]].to_csv(snakemake.output.thresholds, index=False, float_format="%.6f")
curves.to_csv(snakemake.output.curves, index=False, float_format="%.6f")

holdout = pd.read_csv(snakemake.input.holdout, dtype=str, keep_default_na=False)
test = holdout[holdout["split"] == "test"]
table = tables.method_rows_table(
    summary, ["threshold", "val_accuracy", "accuracy", "accuracy_low", "accuracy_high", "match_accuracy",
              "nomatch_precision", "nomatch_recall", "n_queries", "n_nomatch"],
)  # fmt: skip
table.attrs["footer"] = (
    f"Test: {int(summary['n_queries'].iloc[0])} queries, of them {int(summary['n_nomatch'].iloc[0])} no-match"
    f" ({(test['reason'] == 'held_out').sum()} entities with the reference held out,"
    f" {(test['reason'] == 'no_reference').sum()} without any reference)."
    f" Accuracy in brackets: 95% percentile bootstrap interval over the test entities ({intervals.N_BOOT}"
    " resamples, each entity with all its queries)."
)
table_format.write_table(table, Path(snakemake.output.csv).with_suffix(""))
shown = [m for m in snakemake.params.figure_methods if m in set(summary["method"])]
plots.plot_nomatch_thresholds(curves, summary, shown, Path(snakemake.output.figure).with_suffix(""))
