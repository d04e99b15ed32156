"""Snakemake step: FAISS nearest-reference linking for every model row and OCR condition; top-1 accuracy."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import logging

import faiss

from clippings_wf.linking import query_shards
from clippings_wf.models import embedding_files
from clippings_wf.records import read_manifest

log = logging.getLogger("link_records")
manifest = read_manifest(snakemake.input.manifest).set_index("record_id")
linking = snakemake.params.linking
gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0  # the faiss-cpu wheel has no GPU support
log.info("FAISS %s index on %s", linking["index"], "GPU" if gpus and linking["index"] in ("flat", "ivf") else "CPU")

embeddings = embedding_files.load_by_model(snakemake.input.embeddings)
# Every row, then the paper's row with the pooling weight w tuned on val per OCR condition.
results, predictions = query_shards.link_whole(manifest, embeddings, snakemake.params.rows,
                                               snakemake.params.tuned_w_model, linking)  # fmt: skip
query_shards.write_tables(results, predictions, snakemake.output.top1, snakemake.output.predictions, log)
