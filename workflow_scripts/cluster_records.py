"""Snakemake step: single-linkage clustering of the test records under every method of one group (model rows:
their pooled embedding; classical baselines: their similarity, a block of rows at a time) and OCR condition, the
threshold tuned on the validation records; ARI and pairwise scores, each method's test clusters, and for a
dataset evaluated by clustering alone the retrieval top-1 of records with a sibling."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from clippings_wf.evaluation import clustering, methods
from clippings_wf.models import embedding_files
from clippings_wf.records import read_manifest

log = logging.getLogger("cluster_records")
manifest = read_manifest(snakemake.input.manifest)
params = snakemake.params
k, grid_size = params.neighbours, params.grid_size
if params.group == "model":
    embeddings = embedding_files.load_by_model(snakemake.input.embeddings)
    scorers = methods.model_scorers(manifest.set_index("record_id"), embeddings, params.rows, params.linking)
else:
    # TF-IDF n-grams chosen on the linking task's validation queries, as in the baselines; where there are none
    # (clustering alone), by the validation ARI of clustering the validation records.
    role = manifest["role"].to_numpy()
    val_queries = np.flatnonzero((role == "query") & (manifest["split"] == "val").to_numpy())
    val_clustering = clustering.ValidationClustering(clustering.clustering_records(manifest, "val"), k, grid_size)
    scorers = methods.baseline_scorers(manifest, params.methods, val_queries, np.flatnonzero(role == "reference"),
                                       params.tfidf_ngram_ranges, snakemake.threads, val_clustering,
                                       image_root=Path(snakemake.input.manifest).parent)  # fmt: skip

summary, curves, assignments = [], [], []
for scorer in scorers:
    labels = scorer.records["entity_id"].to_numpy(dtype=object)
    val, test = (clustering.clustering_records(scorer.records, split) for split in ("val", "test"))
    val_graph, test_graph = scorer.knn(val, k), scorer.knn(test, k)
    result, curve = clustering.tune_and_evaluate(val_graph, labels[val], test_graph, labels[test], grid_size)
    if not params.records["links"]:  # clustering alone: retrieval of each record's sibling too
        result |= clustering.sibling_top1(test_graph[0], labels[test])
    summary.append({"method": scorer.method, "ocr": scorer.ocr, "group": scorer.group, **result})
    curves.append(curve.assign(method=scorer.method, ocr=scorer.ocr))
    assignments.append(pd.DataFrame({
        "record_id": scorer.records["record_id"].to_numpy()[test], "method": scorer.method, "ocr": scorer.ocr,
        "cluster": clustering.cluster_labels(*test_graph, result["threshold"]),
    }))  # fmt: skip
    log.info("%s %s: threshold %.4f, val ARI %.4f, test ARI %.4f", scorer.method, scorer.ocr, result["threshold"],
             result["val_ari"], result["ari"])  # fmt: skip
pd.DataFrame(summary).to_csv(snakemake.output.summary, index=False, float_format="%.6f", lineterminator="\n")
pd.concat(curves).to_csv(snakemake.output.curves, index=False, float_format="%.6f", lineterminator="\n")
pd.concat(assignments).to_csv(snakemake.output.assignments, index=False, lineterminator="\n")
