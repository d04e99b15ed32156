"""Snakemake step (linking.shards > 1): the query shards' results gathered into the top-1 table and predictions
that link_records writes unsharded, w tuned on validation the same way."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from clippings_wf.linking import query_shards
from clippings_wf.records import read_manifest

log = logging.getLogger("gather_links")
manifest = read_manifest(snakemake.input.manifest).set_index("record_id")
ids = {}
for path in snakemake.input.embeddings:  # only the record order of each model's embeddings
    with np.load(path, allow_pickle=False) as archive:
        ids[Path(path).stem] = archive["record_id"]
hits = pd.concat([pd.read_parquet(p) for p in snakemake.input.hits], ignore_index=True)
results, predictions = query_shards.gather(manifest, ids, hits, snakemake.params.rows, snakemake.params.tuned_w_model)
query_shards.write_tables(results, predictions, snakemake.output.top1, snakemake.output.predictions, log)
