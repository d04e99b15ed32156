"""Snakemake step: top-1 similarity of every val/test query against the references minus the held-out entities,
for every method of one group (model rows: FAISS on the pooled embedding; string baselines: their own
similarity) and OCR condition."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import logging

import numpy as np
import pandas as pd

from clippings_wf.evaluation import methods, nomatch
from clippings_wf.models import embedding_files
from clippings_wf.records import read_manifest

log = logging.getLogger("nomatch_scores")
manifest = read_manifest(snakemake.input.manifest)
holdout = pd.read_csv(snakemake.input.holdout, dtype=str, keep_default_na=False)
params = snakemake.params
if params.group == "model":
    embeddings = embedding_files.load_by_model(snakemake.input.embeddings)
    scorers = methods.model_scorers(manifest.set_index("record_id"), embeddings, params.rows, params.linking)
else:
    # TF-IDF n-grams chosen on validation queries that have a reference, as in linking
    entities = manifest["entity_id"].to_numpy(dtype=object)
    val_queries, val_references = nomatch.evaluation_sets(manifest, holdout, "val")
    val_matched = val_queries[np.isin(entities[val_queries], entities[val_references])]
    scorers = methods.baseline_scorers(manifest, params.methods, val_matched, val_references,
                                       params.tfidf_ngram_ranges, snakemake.threads)  # fmt: skip

frames = []
for scorer in scorers:
    scores = nomatch.query_scores(scorer.records, holdout, scorer.top1)
    frames.append(scores.assign(method=scorer.method, ocr=scorer.ocr, group=scorer.group))
    log.info("%s %s: scored %d queries %s", scorer.method, scorer.ocr, len(scores), scorer.options or "")
pd.concat(frames).to_csv(snakemake.output.scores, index=False, float_format="%.6f", lineterminator="\n")
