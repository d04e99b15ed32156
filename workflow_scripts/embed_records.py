"""Snakemake step: embed the evaluation records (validation and test queries, all references) with one model."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import logging
from pathlib import Path

import torch

from clippings_wf.runtime import determinism
from clippings_wf.models import artifacts
from clippings_wf.models import embedding
from clippings_wf.models import embedding_files
from clippings_wf.models import feature_cache
from clippings_wf.models import modeling
from clippings_wf.linking import query_shards
from clippings_wf.records import read_manifest
from clippings_wf.evaluation.metrics import ocr_condition_name
from clippings_wf.kinds import KINDS

log = logging.getLogger("embed_records")
device = modeling.pick_device(snakemake.params.device)
determinism.make_deterministic(0, device)  # no randomness here; deterministic kernels only
manifest_path = Path(snakemake.input.manifest)
manifest = read_manifest(manifest_path)
# Linking: every reference and the val/test queries; clustering alone: the val/test records.
evaluated = manifest["role"].isin(["query", "record"]) & manifest["split"].isin(["val", "test"])
keep = (manifest["role"] == "reference") | evaluated
records = manifest[keep].reset_index(drop=True)
batch = int(snakemake.params.batch_size)
if "shards" in snakemake.params.keys():
    # One shard (config linking.shards): a slice cut at batch boundaries, so every batch is one the unsharded job
    # embeds, with the same records, and gives the same bits.
    part = query_shards.shard_slice(len(records), snakemake.params.shards, snakemake.params.shard, align=batch)
    records = records.iloc[part].reset_index(drop=True)
    log.info("shard %d of %d: records %d to %d", snakemake.params.shard + 1, snakemake.params.shards,
             part.start, part.stop)  # fmt: skip
    if records.empty:  # more shards than batches
        log.info("no records to embed on %s", modeling.describe_device(device))
        embedding_files.save_empty_shard(snakemake.output.embeddings)
        raise SystemExit(0)

bundle = artifacts.load_artifact(snakemake.input.model, device=device)
if snakemake.input.features:
    feature_cache.attach(bundle, [snakemake.input.features])
if KINDS[snakemake.params.records["kind"]].image == "photo":
    bundle.fit = "photo"
if embedding.use_channels_last(bundle):
    bundle.model.visual.to(memory_format=torch.channels_last)
log.info(
    "embedding %d records with %s on %s", len(records), snakemake.input.model, modeling.describe_device(device)
)
encoded = embedding.encode_records(bundle, records, manifest_path.parent, workers=snakemake.threads)
image, _ = embedding.embed_arrays(bundle, encoded.crops, None, batch, device, desc="image")
text = {
    column: embedding.embed_arrays(bundle, None, tokens, batch, device, desc=column)[1]
    for column, tokens in encoded.tokens.items()
}
embedding_files.save_embeddings(snakemake.output.embeddings, encoded.record_ids, image,
                                {ocr_condition_name(column): values for column, values in text.items()})
