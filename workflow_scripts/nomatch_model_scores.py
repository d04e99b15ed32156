"""Snakemake step: top-1 similarity of every val/test query against the references minus the held-out entities,
for every model row and OCR condition (FAISS on the pooled embedding)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

from pathlib import Path

import numpy as np
import pandas as pd

from clippings_wf.models import embedding
from clippings_wf.linking import faiss_index
from clippings_wf.evaluation import nomatch
from clippings_wf.records import ocr_conditions, read_manifest

manifest = read_manifest(snakemake.input.manifest).set_index("record_id")
holdout = pd.read_csv(snakemake.input.holdout, dtype=str, keep_default_na=False)
settings = snakemake.params.linking
index_params = settings.get(settings["index"], {}) if settings["index"] != "flat" else {}
embeddings = {Path(p).stem: np.load(p) for p in snakemake.input.embeddings}

frames = []
for row in snakemake.params.rows:
    data = embeddings[row["model"]]
    records = manifest.loc[data["record_id"]].reset_index()
    for ocr in ocr_conditions(manifest):
        emb = embedding.pooled(data["image"], data[f"text_{ocr}"], row["w"])

        def top1(queries, references):
            index = faiss_index.build_index(emb[references], kind=settings["index"], **index_params)
            scores, best = faiss_index.search(index, emb[queries], 1)
            return best[:, 0], scores[:, 0]

        scores = nomatch.query_scores(records, holdout, top1)
        frames.append(scores.assign(method=row["method"], ocr=ocr, group="model"))
pd.concat(frames).to_csv(snakemake.output.scores, index=False, float_format="%.6f", lineterminator="\n")
