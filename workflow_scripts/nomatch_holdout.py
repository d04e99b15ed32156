"""Snakemake step: choose the no-match entities of the evaluation (held-out references and natural no-matches)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import logging

from clippings_wf.records import read_manifest
from clippings_wf.evaluation.nomatch import nomatch_holdout

log = logging.getLogger("nomatch_holdout")
holdout = nomatch_holdout(
    read_manifest(snakemake.input.manifest), snakemake.params.fraction, snakemake.params.seed
)
for (split, reason), rows in holdout.groupby(["split", "reason"]):
    log.info("%s: %d %s entities, %d queries", split, len(rows), reason, rows["n_queries"].sum())
holdout.to_csv(snakemake.output.holdout, index=False, lineterminator="\n")
