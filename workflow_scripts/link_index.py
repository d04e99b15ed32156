"""Snakemake step (linking.shards > 1): one model's reference indexes, saved once for every query shard to search."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import logging

from clippings_wf.linking import query_shards
from clippings_wf.models import embedding_files
from clippings_wf.records import read_manifest

log = logging.getLogger("link_index")
manifest = read_manifest(snakemake.input.manifest).set_index("record_id")
model = snakemake.wildcards.model
ws = [s["w"] for s in query_shards.searches(snakemake.params.rows, snakemake.params.tuned_w_model, [model])
      if s["model"] == model]  # fmt: skip
data = embedding_files.load_embeddings(snakemake.input.embeddings)
query_shards.save_reference_indexes(snakemake.output.index, manifest, data, ws, snakemake.params.linking)
log.info("%s: %s indexes at w in %s", model, snakemake.params.linking["index"], sorted(set(ws)))
