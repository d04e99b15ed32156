"""Snakemake step (linking.shards > 1): one slice of the val and test queries searched in the saved reference
indexes, for every model row and the tuned-w grid; each query's best reference and score."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import logging
from pathlib import Path

import numpy as np

from clippings_wf.linking import query_shards
from clippings_wf.models import embedding_files
from clippings_wf.runtime.atomic import atomic_path
from clippings_wf.records import read_manifest

log = logging.getLogger("link_records")
manifest = read_manifest(snakemake.input.manifest).set_index("record_id")
embeddings = embedding_files.load_by_model(snakemake.input.embeddings)
indexes = {}
for path in snakemake.input.indexes:
    with np.load(path, allow_pickle=False) as archive:
        indexes[Path(path).stem] = {name: archive[name] for name in archive.files}
found = query_shards.searches(snakemake.params.rows, snakemake.params.tuned_w_model, embeddings)
shards, shard = snakemake.params.shards, snakemake.params.shard
hits = query_shards.search_shard(manifest, embeddings, indexes, found, snakemake.params.linking, shards, shard)
log.info("shard %d of %d: %d searches, %d query results", shard + 1, shards, len(found), len(hits))
with atomic_path(snakemake.output.hits) as tmp:
    hits.to_parquet(tmp, index=False)
