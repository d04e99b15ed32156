"""One interface for every method the tables compare, learned or classical: records in, neighbours out.

A ``Scorer`` is one table row (a method) under one OCR condition over one table of records. Linking a query set,
no-match detection and clustering ask it the same two questions: each query's best reference among given
positions (``top1``), and each record's k nearest other records among given positions (``knn``). A model row
answers with FAISS on its pooled embedding, a string baseline with its own similarity; the evaluation steps loop
over scorers once and never ask which kind they hold. A new method is one more factory here.

Model scorers need torch and FAISS, baseline scorers rapidfuzz and scikit-learn, the pHash scorer imagehash: each
factory imports its own, so the baselines' environment never loads torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clippings_wf.records import ocr_conditions, resolve_image_paths

# (query positions, reference positions) -> (best position within the reference positions, its similarity)
Top1 = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
# (record positions, k) -> (neighbours [n, k] within those positions, similarities [n, k]), best first
Knn = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]


@dataclass
class Scorer:
    method: str
    ocr: str
    group: str  # "model" or "classical", as the tables label the rows
    records: pd.DataFrame  # the records positions refer to (record_id, entity_id, role, split, ...)
    top1: Top1
    knn: Knn
    options: dict | None = None  # settings tuned on validation (a baseline's TF-IDF n-grams), for the log
    w: float | None = None  # a model row's pooling weight of the image embedding


def model_scorers(manifest: pd.DataFrame, embeddings: dict, rows: Sequence[dict], linking: dict) -> Iterator[Scorer]:
    """Every model row (``{"method", "model", "w"}``) under every OCR condition of ``manifest`` (indexed by
    record_id), rows first: the pooled embedding ``normalize(w * img + (1 - w) * txt)`` of the row's model
    (``embeddings[model]``, an embed_records archive), searched with FAISS (``linking``: index kind and its
    settings) by inner product."""
    from clippings_wf.evaluation import clustering
    from clippings_wf.linking import faiss_index
    from clippings_wf.models import embedding

    index_params = linking.get(linking["index"], {}) if linking["index"] != "flat" else {}
    for row in rows:
        data = embeddings[row["model"]]
        records = manifest.loc[data["record_id"]].reset_index()
        for ocr in ocr_conditions(manifest):
            emb = embedding.pooled(data["image"], data[f"text_{ocr}"], row["w"])

            def top1(queries, references, emb=emb):
                index = faiss_index.build_index(emb[references], kind=linking["index"], **index_params)
                scores, best = faiss_index.search(index, emb[queries], 1)
                return best[:, 0], scores[:, 0]

            def knn(positions, k, emb=emb):
                return clustering.knn_graph_from_embeddings(emb[positions], k)

            yield Scorer(row["method"], ocr, "model", records, top1, knn, w=row["w"])


def baseline_scorers(manifest: pd.DataFrame, methods: Sequence[str], tune_queries: np.ndarray,
                     tune_references: np.ndarray, ngram_ranges, workers: int = 1, val_clustering=None,
                     image_root=None) -> Iterator[Scorer]:  # fmt: skip
    """Every string baseline under every OCR condition of ``manifest`` (positional rows), OCR conditions first:
    the method's similarity of the OCR texts, its settings (the TF-IDF n-gram range) tuned by top-1 of the
    ``tune_queries`` against the ``tune_references`` (positions), or where there are none by the validation ARI
    of clustering ``val_clustering`` (``clustering.ValidationClustering``). A clustering graph fits the matcher
    on the clustered records' own texts. Then, where ``methods`` has it, pHash of the photos, read from
    ``image_root`` (the manifest's folder): ``image_hash_scorers``."""
    from clippings_wf.baselines import image_hash, matchers
    from clippings_wf.evaluation import clustering

    entities = manifest["entity_id"].to_numpy(dtype=object)
    strings = [m for m in methods if m != image_hash.METHOD]
    for ocr in ocr_conditions(manifest):
        texts = manifest[f"ocr_{ocr}"].to_numpy(dtype=object)
        for method in strings:
            options = matchers.tuned_options(method, texts, entities, tune_queries, tune_references, ngram_ranges,
                                             workers, val_clustering)  # fmt: skip

            def top1(queries, references, method=method, texts=texts, options=options):
                return matchers.baseline_top1(method, texts[queries], texts[references], workers=workers, **options)

            def knn(positions, k, method=method, texts=texts, options=options):
                own = texts[positions]
                matcher = matchers.make_matcher(method, own, workers=workers, **options)
                return clustering.knn_graph_from_blocks(matcher.rows_block(own), len(own), k)

            yield Scorer(method, ocr, "classical", manifest, top1, knn, options)
    if image_hash.METHOD in methods:  # the photo alone: no OCR, no settings to tune
        if image_root is None:
            raise ValueError(f"{image_hash.METHOD} hashes the records' photos: give image_root, the manifest's folder")
        yield from image_hash_scorers(manifest, image_root, workers)


def image_hash_scorers(manifest: pd.DataFrame, image_root, workers: int = 1) -> Iterator[Scorer]:
    """The pHash baseline (``baselines.image_hash``) under every OCR condition of ``manifest`` (positional rows;
    image paths relative to ``image_root``, the manifest's folder): the photo does not depend on the OCR, so
    every condition gets the same numbers, and each photo is hashed once, when first asked for."""
    from clippings_wf.baselines import image_hash
    from clippings_wf.evaluation import clustering
    from clippings_wf.baselines.matchers import REFERENCE_CHUNK
    from clippings_wf.evaluation.metrics import top1_over_chunks

    query_chunk = 2048  # as baseline_top1: a block is 2,048 queries x 4,096 references

    paths = resolve_image_paths(manifest, image_root)
    bits = np.zeros((len(paths), image_hash.BITS), dtype=bool)
    hashed = np.zeros(len(paths), dtype=bool)

    def hashes(positions):
        positions = np.asarray(positions, dtype=np.int64)
        todo = np.unique(positions[~hashed[positions]])
        bits[todo] = image_hash.phash_bits([paths[i] for i in todo], workers)
        hashed[todo] = True
        return bits[positions]

    def top1(queries, references):  # query blocks x reference chunks: memory grows with neither
        query_bits, reference_bits = hashes(queries), hashes(references)
        best, score = np.zeros(len(query_bits), np.int64), np.zeros(len(query_bits), np.float32)
        for lo in range(0, len(query_bits), query_chunk):
            part = query_bits[lo : lo + query_chunk]
            best[lo : lo + len(part)], score[lo : lo + len(part)] = top1_over_chunks(
                lambda i, j, part=part: image_hash.hamming_similarity(part, reference_bits[i:j]),
                len(part), len(reference_bits), REFERENCE_CHUNK)  # fmt: skip
        return best, score

    def knn(positions, k):
        own = hashes(positions)
        return clustering.knn_graph_from_blocks(
            lambda i, j, c0, c1: image_hash.hamming_similarity(own[i:j], own[c0:c1]), len(own), k
        )

    for ocr in ocr_conditions(manifest):
        yield Scorer(image_hash.METHOD, ocr, "classical", manifest, top1, knn)
