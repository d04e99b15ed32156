"""Snakemake step: single-linkage clustering of the test records on each model row's pooled embedding, the
threshold tuned on validation records; ARI and pairwise scores per model row and OCR condition."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from clippings_wf.evaluation import clustering
from clippings_wf.models import embedding
from clippings_wf.records import ocr_conditions, read_manifest

log = logging.getLogger("cluster_models")
manifest = read_manifest(snakemake.input.manifest).set_index("record_id")
embeddings = {Path(p).stem: np.load(p) for p in snakemake.input.embeddings}
k, grid_size = snakemake.params.neighbours, snakemake.params.grid_size

summary, curves = [], []
for row in snakemake.params.rows:
    data = embeddings[row["model"]]
    records = manifest.loc[data["record_id"]].reset_index()
    val, test = clustering.clustering_records(records, "val"), clustering.clustering_records(records, "test")
    labels = records["entity_id"].to_numpy()
    for ocr in ocr_conditions(manifest):
        emb = embedding.pooled(data["image"], data[f"text_{ocr}"], row["w"])
        result, curve = clustering.tune_and_evaluate(
            clustering.knn_graph_from_embeddings(emb[val], k), labels[val],
            clustering.knn_graph_from_embeddings(emb[test], k), labels[test], grid_size,
        )  # fmt: skip
        summary.append({"method": row["method"], "ocr": ocr, "group": "model", **result})
        curves.append(curve.assign(method=row["method"], ocr=ocr))
        log.info("%s %s: threshold %.4f, val ARI %.4f, test ARI %.4f", row["method"], ocr, result["threshold"],
                 result["val_ari"], result["ari"])  # fmt: skip
pd.DataFrame(summary).to_csv(snakemake.output.summary, index=False, float_format="%.6f", lineterminator="\n")
pd.concat(curves).to_csv(snakemake.output.curves, index=False, float_format="%.6f", lineterminator="\n")
