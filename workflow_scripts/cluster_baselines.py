"""Snakemake step: single-linkage clustering of the test records on each string baseline's similarity (row
chunks, so memory stays chunk x records), the threshold tuned on validation records."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import logging

import numpy as np
import pandas as pd

from clippings_wf.baselines import matchers
from clippings_wf.evaluation import clustering
from clippings_wf.records import ocr_conditions, read_manifest

log = logging.getLogger("cluster_baselines")
manifest = read_manifest(snakemake.input.manifest)
k, grid_size = snakemake.params.neighbours, snakemake.params.grid_size
labels = manifest["entity_id"].to_numpy(dtype=object)
parts = {split: clustering.clustering_records(manifest, split) for split in ("val", "test")}


def graph(method, texts, options):
    """kNN graph of the records under the baseline's similarity, fitted on these records' own texts."""
    matcher = matchers.make_matcher(method, texts, workers=snakemake.threads, **options)
    return clustering.knn_graph_from_similarity(lambda i, j: matcher(texts[i:j]), len(texts), k)


summary, curves = [], []
for ocr in ocr_conditions(manifest):
    texts = manifest[f"ocr_{ocr}"].to_numpy(dtype=object)
    role = manifest["role"].to_numpy()
    val_queries = np.flatnonzero((role == "query") & (manifest["split"] == "val").to_numpy())
    references = np.flatnonzero(role == "reference")
    for method in snakemake.params.methods:
        # TF-IDF n-grams chosen on the linking task's validation queries, as in the baselines
        options = matchers.tuned_options(
            method, texts, labels, val_queries, references, snakemake.params.tfidf_ngram_ranges, snakemake.threads
        )
        result, curve = clustering.tune_and_evaluate(
            graph(method, texts[parts["val"]], options), labels[parts["val"]],
            graph(method, texts[parts["test"]], options), labels[parts["test"]], grid_size,
        )  # fmt: skip
        summary.append({"method": method, "ocr": ocr, "group": "classical", **result})
        curves.append(curve.assign(method=method, ocr=ocr))
        log.info("%s %s: threshold %.4f, val ARI %.4f, test ARI %.4f", method, ocr, result["threshold"],
                 result["val_ari"], result["ari"])  # fmt: skip
pd.DataFrame(summary).to_csv(snakemake.output.summary, index=False, float_format="%.6f", lineterminator="\n")
pd.concat(curves).to_csv(snakemake.output.curves, index=False, float_format="%.6f", lineterminator="\n")
