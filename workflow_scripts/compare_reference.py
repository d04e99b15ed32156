"""Snakemake step: this run's main table against the committed reference copy of the default run."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

from pathlib import Path

import pandas as pd

from clippings_wf.evaluation.reference import compare_with_reference

reference = Path(snakemake.params.reference)
current = pd.read_csv(snakemake.input.table)
if reference.exists():
    report = compare_with_reference(current, pd.read_csv(reference), float(snakemake.params.tolerance))
else:
    report = f"No reference table at `{reference}`: nothing to compare (only the default datasets have one).\n"
Path(snakemake.output.comparison).write_text(report, encoding="utf-8")
