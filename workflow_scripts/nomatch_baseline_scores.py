"""Snakemake step: top-1 similarity of every val/test query against the references minus the held-out entities,
for every string baseline and OCR condition (each baseline's own similarity)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import logging

import numpy as np
import pandas as pd

from clippings_wf.baselines import matchers
from clippings_wf.evaluation import nomatch
from clippings_wf.records import ocr_conditions, read_manifest

log = logging.getLogger("nomatch_baseline_scores")
manifest = read_manifest(snakemake.input.manifest)
holdout = pd.read_csv(snakemake.input.holdout, dtype=str, keep_default_na=False)
entities = manifest["entity_id"].to_numpy(dtype=object)

val_queries, val_references = nomatch.evaluation_sets(manifest, holdout, "val")
val_matched = val_queries[np.isin(entities[val_queries], entities[val_references])]
frames = []
for ocr in ocr_conditions(manifest):
    texts = manifest[f"ocr_{ocr}"].to_numpy(dtype=object)
    for method in snakemake.params.methods:
        # TF-IDF n-grams chosen on validation queries that have a reference, as in linking
        options = matchers.tuned_options(
            method, texts, entities, val_matched, val_references, snakemake.params.tfidf_ngram_ranges, snakemake.threads
        )

        def top1(queries, references):
            return matchers.baseline_top1(method, texts[queries], texts[references], workers=snakemake.threads,
                                           **options)  # fmt: skip

        frames.append(nomatch.query_scores(manifest, holdout, top1).assign(method=method, ocr=ocr, group="classical"))
        log.info("%s %s: scored %d queries %s", method, ocr, len(frames[-1]), options)
pd.concat(frames).to_csv(snakemake.output.scores, index=False, float_format="%.6f", lineterminator="\n")
