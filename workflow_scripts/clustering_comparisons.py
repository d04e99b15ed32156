"""Snakemake step: the pooled multimodal model's test ARI minus every other method's, under each OCR condition,
with paired 95% intervals over test entities (the paper's claim on clustering, tested as the findings are)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

from pathlib import Path

import pandas as pd

from clippings_wf.evaluation import clustering
from clippings_wf.records import read_manifest
from clippings_wf.reporting import table_format
from clippings_wf.reporting.tables import display_name

truth = read_manifest(snakemake.input.manifest).set_index("record_id")["entity_id"]
assignments = pd.concat(
    [pd.read_csv(path, dtype={"record_id": str}, keep_default_na=False)
     for path in (snakemake.input.baselines, snakemake.input.models)]
)  # fmt: skip
table = clustering.paired_differences(assignments, truth, snakemake.params.pooled)
if table.empty:
    raise ValueError(f"no test clusters of {snakemake.params.pooled!r} in {snakemake.input.models}")
table = table.assign(method=table["method"].map(display_name), compared_with=table["compared_with"].map(display_name))
table.attrs["footer"] = (
    f"Test ARI of {display_name(snakemake.params.pooled)} minus each other method's, in points (ARI x 100), on the"
    f" {int(table['n_records'].iloc[0])} test records; in brackets a 95% bootstrap interval over test entities,"
    " the same entities drawn for both methods (paired). Holds: the interval lies above zero."
)
table_format.write_table(table, Path(snakemake.output.csv).with_suffix(""))
