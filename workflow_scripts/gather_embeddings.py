"""Snakemake step (linking.shards > 1): one model's embedding shards gathered into the embeddings file that
embed_records writes unsharded."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

from clippings_wf.models import embedding_files

embedding_files.gather_shards(snakemake.input.shards, snakemake.output.embeddings)
