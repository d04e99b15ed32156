"""Snakemake step: one trained model's bundle (a byte copy of model.pt, bundle.json, the model card README.md)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import json
import logging
import shutil

import pandas as pd

from clippings_wf.reporting import model_card
from clippings_wf.runtime import checksums
from clippings_wf.runtime.atomic import atomic_path, write_text

log = logging.getLogger("export_model")
export = snakemake.params.export
inputs = snakemake.input


def optional_table(key):
    """A table the dataset's evaluations wrote: no-match and linking tables exist only for a dataset that links."""
    return pd.read_csv(inputs[key]) if key in inputs.keys() else None


# A copy, never a link or a rewrite: the trained file keeps its bytes and time stamp, so nothing upstream reruns.
with atomic_path(snakemake.output.model) as tmp:
    shutil.copyfile(inputs.model, tmp)
sha256 = checksums.file_sha256(snakemake.output.model)
if sha256 != checksums.file_sha256(inputs.model):
    raise RuntimeError(f"{snakemake.output.model} differs from {inputs.model} after copying")

bundle = model_card.bundle_manifest(
    export, optional_table("nomatch_thresholds"), optional_table("cluster_thresholds"), sha256
)
write_text(snakemake.output.bundle, json.dumps(bundle, indent=2, ensure_ascii=False) + "\n")

method = export["method"]
main_results, models_top1 = optional_table("main_results"), optional_table("models_top1")
metrics = {
    "Linking top-1": [] if main_results is None else model_card.linking_metrics(main_results, models_top1, method),
    "No-match accuracy": model_card.method_rows_metrics(
        optional_table("nomatch_table"), method, "accuracy", "val_accuracy"
    ),
    "Clustering ARI": model_card.method_rows_metrics(optional_table("clustering_table"), method, "ari", "val_ari"),
}
write_text(snakemake.output.card, model_card.model_card(bundle, export, metrics))
log.info("exported %s (%s) with thresholds %s", export["model"], method, bundle["thresholds"])
