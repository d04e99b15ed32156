"""Snakemake step: a retrieval gallery and a 2-D map of test embeddings (supervised multimodal model)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

from pathlib import Path

import numpy as np

from clippings_wf.models import embedding
from clippings_wf.models import embedding_files
from clippings_wf.linking import faiss_index
from clippings_wf.reporting import gallery
from clippings_wf.records import read_manifest

manifest_path = Path(snakemake.input.manifest)
manifest = read_manifest(manifest_path)
data = embedding_files.load_embeddings(snakemake.input.embeddings)
ids = data["record_id"]
rows = manifest.set_index("record_id").loc[ids].reset_index()
emb = embedding.pooled(data["image"], data["text_noisy"], float(snakemake.params.w))
queries, references = embedding.evaluation_indices(rows, "test")

# A fixed sample of test queries, with their top-3 references.
rng = np.random.default_rng(0)
shown = np.sort(rng.permutation(queries)[: int(snakemake.params.gallery_queries)])
scores, found = faiss_index.search(faiss_index.build_index(emb[references]), emb[shown], 3)
gallery.plot_retrieval_gallery(
    rows,
    manifest_path.parent,
    ids[shown],
    [ids[references][f] for f in found],
    scores,
    Path(snakemake.output.gallery).with_suffix(""),
)
test_rows = np.concatenate(
    [queries, references[np.isin(rows["entity_id"].to_numpy()[references], rows["entity_id"].to_numpy()[queries])]]
)
gallery.plot_embedding_map(
    emb[test_rows],
    rows["entity_id"].to_numpy()[test_rows],
    Path(snakemake.output.embedding_map).with_suffix(""),
    max_entities=int(snakemake.params.map_entities),
)
