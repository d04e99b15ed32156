"""Nearest-neighbour linking of query embeddings to reference embeddings with FAISS (inner product = cosine
on L2-normalized embeddings). GPU FAISS is used when present (flat and IVF), CPU otherwise."""
from __future__ import annotations

import contextlib
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
    """(scores float32 [Q, k], indices int64 [Q, k]); index -1 only where the index holds fewer than k references
    (an IVF index's queries whose probed lists hold fewer are searched again over every list).

    Queries go to FAISS ``chunk_size`` at a time, so memory beyond the inputs and the [Q, k] results stays
    bounded however many queries there are; the query x reference matrix is never built (FAISS itself blocks it).
    """
    queries = _f32(query_emb)
    if len(queries) <= chunk_size:
        scores, ids = index.search(queries, k)
    else:
        parts = [index.search(queries[start : start + chunk_size], k) for start in range(0, len(queries), chunk_size)]
        scores, ids = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return _complete(index, queries, scores, ids)


def _complete(index, queries: np.ndarray, scores: np.ndarray, ids: np.ndarray):
    """An IVF index returns -1 where the ``nprobe`` lists it probed hold fewer than k references (an index -1
    would then pick the last reference): those queries are searched again over every list, which is exact."""
    missing = np.flatnonzero((ids < 0).any(axis=1))
    nprobe, nlist = getattr(index, "nprobe", None), getattr(index, "nlist", None)
    if len(missing) == 0 or nprobe is None or nlist is None or nprobe >= nlist:
        return scores, ids
    index.nprobe = nlist
    try:
        scores[missing], ids[missing] = index.search(queries[missing], ids.shape[1])
    finally:
        index.nprobe = nprobe
    return scores, ids



def serialize(index) -> np.ndarray:
    """A CPU index (``build_index(..., use_gpu=False)``) as uint8 bytes, to store in an .npz."""
    return faiss.serialize_index(index)


def deserialize(data: np.ndarray, kind: str = "flat", nprobe: int = 8, efSearch: int = 64, use_gpu: bool | None = None,
                **_unused):  # fmt: skip
    """An index saved by ``serialize``, with its search settings set again and moved to the GPU as
    ``build_index`` would have (flat and IVF, where FAISS has a GPU)."""
    index = faiss.deserialize_index(np.asarray(data, dtype=np.uint8))
    if kind == "ivf":
        faiss.extract_index_ivf(index).nprobe = min(nprobe, faiss.extract_index_ivf(index).nlist)
    elif kind == "hnsw":
        index.hnsw.efSearch = efSearch
    if (use_gpu if use_gpu is not None else _num_gpus() > 0) and kind in ("flat", "ivf"):
        index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
    return index


@contextlib.contextmanager
def kernel(blas: bool):
    """Make FAISS's flat search use one BLAS product per block of queries (``blas``) or score each query on its
    own (FAISS's sequential kernel), whatever the number of queries searched.

    FAISS picks by size: BLAS where queries x dimension reaches ``distance_compute_blas_threshold`` (128,000 in
    faiss 1.15.1, i.e. 1,000 queries at d=128), the sequential kernel below. The sequential kernel gives a query
    the same bits whatever else is searched beside it; a BLAS product's bits depend on which queries share its
    block of ``distance_compute_blas_query_bs`` (4,096) rows (measured: a query searched with 1,000 others or with
    500 may differ in the last bit), and are the same for the same block searched alone or within more blocks.
    """
    before = faiss.cvar.distance_compute_blas_threshold
    faiss.cvar.distance_compute_blas_threshold = 0 if blas else 2**31 - 1
    try:
        yield
    finally:
        faiss.cvar.distance_compute_blas_threshold = before


def per_query_kernel():
    """``kernel(blas=False)``: each query's scores independent of the others searched with it."""
    return kernel(blas=False)


def _uses_blas(n_queries: int, d: int) -> bool:
    return n_queries * d >= faiss.cvar.distance_compute_blas_threshold


def slice_alignment(n_queries: int, d: int, chunk_size: int = 65536) -> int:
    """Where a slice of ``n_queries`` queries may be cut so that ``search_slice`` gives each of its queries the bits
    one ``search`` of all of them gives: anywhere (1) where every chunk ``search`` sends to FAISS takes the
    sequential kernel, else at FAISS's BLAS query blocks."""
    if _uses_blas(min(n_queries, chunk_size), d):
        return faiss.cvar.distance_compute_blas_query_bs
    return 1


def search_slice(index, query_emb, part: slice, k: int = 1, chunk_size: int = 65536):
    """Rows ``part`` of ``search(index, query_emb, k, chunk_size)``, searching only those rows, with the same bits
    on a CPU flat or HNSW index (IVF's coarse search splits queries by thread, so there only to float rounding):
    each piece goes to FAISS with the kernel FAISS chose for the chunk that ``search`` sent it in. ``part`` must
    start and stop at a multiple of ``slice_alignment`` (or at the end)."""
    queries = _f32(query_emb)
    n, d = queries.shape
    align = slice_alignment(n, d, chunk_size)
    for edge in (part.start, part.stop):
        if edge % align and edge != n:
            raise ValueError(f"a query slice must be cut at multiples of {align} (FAISS's BLAS block), not {edge}")
    scores, ids = [], []
    start = part.start
    while start < part.stop:
        chunk_start = start - start % chunk_size
        chunk_stop = min(chunk_start + chunk_size, n)
        stop = min(part.stop, chunk_stop)
        with kernel(blas=_uses_blas(chunk_stop - chunk_start, d)):
            found = _complete(index, queries[start:stop], *index.search(queries[start:stop], k))
        scores.append(found[0])
        ids.append(found[1])
        start = stop
    if not scores:
        return np.zeros((0, k), dtype=np.float32), np.zeros((0, k), dtype=np.int64)
    return np.concatenate(scores), np.concatenate(ids)
