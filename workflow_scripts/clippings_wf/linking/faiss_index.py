"""Nearest-neighbour linking of query embeddings to reference embeddings with FAISS (inner product = cosine
on L2-normalized embeddings). GPU FAISS is used when present (flat and IVF), CPU otherwise."""
from __future__ import annotations

import math

import faiss
import numpy as np


def _f32(x) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().float().cpu().numpy()
    return np.ascontiguousarray(x, dtype=np.float32)


def _num_gpus() -> int:
    return faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0


def build_index(ref_emb, kind: str = "flat", nlist: int | None = None, nprobe: int = 8, M: int = 32,
                efSearch: int = 64, efConstruction: int = 40, use_gpu: bool | None = None):
    """Inner-product index over ref_emb [N, d]. kind: "flat" (exact), "ivf" (IndexIVFFlat; nlist defaults to
    about sqrt(N), nprobe lists searched), "hnsw" (IndexHNSWFlat; M links, efSearch / efConstruction)."""
    x = _f32(ref_emb)
    n, d = x.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(d)
    elif kind == "ivf":
        nlist = nlist or max(1, min(int(math.sqrt(n)), n // 39 or 1))  # FAISS wants ~39 points per list
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(x)
        index.nprobe = min(nprobe, nlist)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = efConstruction
        index.hnsw.efSearch = efSearch
    else:
        raise ValueError(f"index kind must be flat, ivf or hnsw, not {kind!r}")
    if (use_gpu if use_gpu is not None else _num_gpus() > 0) and kind in ("flat", "ivf"):
        index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
    if kind == "hnsw":
        # Parallel HNSW insertion builds a different graph on every run: insert with one thread.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            index.add(x)
        finally:
            faiss.omp_set_num_threads(threads)
    else:
        index.add(x)
    return index


def search(index, query_emb, k: int = 1, chunk_size: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """(scores float32 [Q, k], indices int64 [Q, k]); index -1 where fewer than k were found.

    Queries go to FAISS ``chunk_size`` at a time, so memory beyond the inputs and the [Q, k] results stays
    bounded however many queries there are; the query x reference matrix is never built (FAISS itself blocks it).
    """
    queries = _f32(query_emb)
    if len(queries) <= chunk_size:
        return index.search(queries, k)
    parts = [index.search(queries[start : start + chunk_size], k) for start in range(0, len(queries), chunk_size)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

