"""The scaling benchmark's measurements. Each runs in a fresh spawned process (bench/scaling.py ``isolated``), so
its peak memory is its own; times are wall-clock seconds of the measured phase, CPU seconds are the process's user
and system time over the same phase (data generation excluded)."""
from __future__ import annotations

import logging
import math
import resource
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import scaling_data

log = logging.getLogger("scaling")


def cpu_seconds() -> float:
    """User and system seconds of this process and of its finished worker processes (a recognizer's or OCR's
    pool is joined before its step returns)."""
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


class Clock:
    """Wall and CPU seconds since start."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()

    def seconds(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, cpu_seconds() - self.cpu


def query_samples(n: int, tune: int, recall: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint random query samples: one tunes an index's search breadth, the other measures its recall@1."""
    picked = np.random.default_rng(seed + 1).permutation(n)[: min(n, tune + recall)]
    cut = len(picked) * tune // (tune + recall)
    return np.sort(picked[:cut]), np.sort(picked[cut:])


def measure_exact(n: int, embeddings: dict, tune: int, recall: int, truth_path: str, threads: int) -> dict:
    """IndexFlatIP over every reference, searched with the tuning and recall samples (every query where n is
    smaller than both); the time is scaled to all n queries (exact search is linear in the queries). Saves the
    samples' exact top-1 for the approximate indexes."""
    import faiss

    faiss.omp_set_num_threads(threads)
    refs, queries, source = scaling_data.synthetic_embeddings(n, embeddings)
    tune_ids, recall_ids = query_samples(n, tune, recall, embeddings["seed"])
    sample = np.concatenate([tune_ids, recall_ids])
    clock = Clock()
    index = faiss.IndexFlatIP(refs.shape[1])
    index.add(refs)
    build_s, _ = clock.seconds()
    scores, ids = np.empty(len(sample), np.float32), np.empty(len(sample), np.int64)
    for lo, hi in tqdm(scaling_data.chunks(len(sample), 2000), desc=f"exact {n:,}", mininterval=5):
        s, i = index.search(queries[sample[lo:hi]], 1)
        scores[lo:hi], ids[lo:hi] = s[:, 0], i[:, 0]
    wall, cpu = clock.seconds()
    np.savez(truth_path, tune=tune_ids, recall=recall_ids, ids=ids, scores=scores)
    scale = n / len(sample)
    return dict(build_s=build_s, search_s=(wall - build_s) * scale, total_s=build_s + (wall - build_s) * scale,
                cpu_s=cpu * scale, measured_queries=len(sample), recall_at_1=1.0,
                status="measured" if len(sample) == n else "extrapolated (query sample)",
                top1_is_source=float((ids == source[sample]).mean()),
                params="IndexFlatIP", note="" if len(sample) == n else
                f"{len(sample):,} random queries searched in {wall - build_s:.1f} s, scaled by n / sample")


def _recall(ids, scores, truth_ids, truth_scores) -> float:
    """Top-1 equals exact search's, or ties its score (two references at the same similarity are both right)."""
    return float(((ids == truth_ids) | (scores >= truth_scores - 1e-6)).mean())


def build_index(spec: dict, refs: np.ndarray, nlist: int, train_points: int, seed: int):
    import faiss

    index = faiss.index_factory(refs.shape[1], spec["factory"].format(nlist=nlist), faiss.METRIC_INNER_PRODUCT)
    params = dict(spec.get("params") or {})
    if "efConstruction" in params:
        faiss.downcast_index(index).hnsw.efConstruction = int(params.pop("efConstruction"))
    if not index.is_trained:
        rows = np.random.default_rng(seed).choice(len(refs), min(len(refs), train_points), replace=False)
        index.train(refs[np.sort(rows)])
    index.add(refs)
    space = faiss.ParameterSpace()
    for name, value in params.items():
        space.set_index_parameter(index, name, value)
    return index, space


def measure_index(name: str, spec: dict, n: int, embeddings: dict, truth_path: str, target: float, margin: float,
                  nlist: int, train_points: int, skip_seconds: float, threads: int) -> dict:
    """Build the index (training included), tune its search parameter on the tuning sample (the smallest grid
    value whose recall@1 against exact search reaches target + margin), then search every query, unless the
    search projected from the tuning run would take the total beyond ``skip_seconds``; recall@1 on the recall
    sample."""
    import faiss

    faiss.omp_set_num_threads(threads)
    refs, queries, source = scaling_data.synthetic_embeddings(n, embeddings)
    truth = dict(np.load(truth_path))
    n_tune = len(truth["tune"])
    truth_tune = (truth["ids"][:n_tune], truth["scores"][:n_tune])
    truth_recall = (truth["ids"][n_tune:], truth["scores"][n_tune:])
    log.info("%s: building %s over %d references", name, spec["factory"].format(nlist=nlist), n)
    clock = Clock()
    index, space = build_index(spec, refs, nlist, train_points, embeddings["seed"])
    build_s, build_cpu = clock.seconds()
    del refs
    clock, knob, tune_recall, per_query = Clock(), None, 0.0, float("nan")
    for value in spec["grid"]:
        space.set_index_parameter(index, spec["knob"], value)
        start = time.perf_counter()
        s, i = index.search(queries[truth["tune"]], 1)
        per_query = (time.perf_counter() - start) / max(1, n_tune)
        tune_recall = _recall(i[:, 0], s[:, 0], *truth_tune)
        log.info("%s n=%d %s=%d: tuning recall@1 %.4f, %.1f us per query", name, n, spec["knob"], value,
                 tune_recall, per_query * 1e6)
        knob = value
        if tune_recall >= target + margin:
            break
    tune_s, tune_cpu = clock.seconds()
    params = ", ".join([spec["factory"].format(nlist=nlist), *(f"{k}={v}" for k, v in (spec.get("params") or
                                                                                     {}).items()),
                        f"{spec['knob']}={knob}"])
    common = dict(build_s=build_s, tune_s=tune_s, params=params)
    projected = per_query * n
    reached = tune_recall >= target + margin
    if not reached or build_s + tune_s + projected > skip_seconds:
        why = (f"{spec['knob']} up to {knob} reached recall@1 {tune_recall:.4f} on the tuning queries, short of "
               f"{target + margin:.3f}" if not reached else
               f"tuned search projected at {projected:.0f} s, beyond {skip_seconds:.0f} s in total")
        return dict(**common, search_s=projected, total_s=build_s + tune_s + projected, measured_queries=n_tune,
                    cpu_s=build_cpu + tune_cpu, recall_at_1=tune_recall, status="projected (tuning run)",
                    note=f"not searched in full: {why}; search time projected from the tuning queries")
    space.set_index_parameter(index, spec["knob"], knob)
    clock = Clock()
    scores, ids = np.empty(n, np.float32), np.empty(n, np.int64)
    for lo, hi in tqdm(scaling_data.chunks(n, 20_000), desc=f"{name} {n:,}", mininterval=5):
        s, i = index.search(queries[lo:hi], 1)
        scores[lo:hi], ids[lo:hi] = s[:, 0], i[:, 0]
    search_s, search_cpu = clock.seconds()
    recall = truth["recall"]
    return dict(**common, search_s=search_s, total_s=build_s + tune_s + search_s, measured_queries=n,
                cpu_s=build_cpu + tune_cpu + search_cpu, status="measured",
                recall_at_1=_recall(ids[recall], scores[recall], *truth_recall),
                top1_is_source=float((ids == source).mean()),
                note=f"recall@1 on {len(recall):,} queries against exact search; tuned on {n_tune:,} others")


def measure_tfidf_topn(n: int, ngram: int, threads: int, seed: int = 0) -> dict:
    """string_grouper's approach: character n-gram TF-IDF fitted on the references, each query's top-1 reference
    by a sparse product that keeps only the top n per row (sparse_dot_topn). Build = vectorizing both sides."""
    refs, queries, source = scaling_data.ocr_like_strings(n, seed)
    clock = Clock()
    best, build_s = tfidf_topn_top1(refs, queries, ngram, threads)
    wall, cpu = clock.seconds()
    return dict(build_s=build_s, search_s=wall - build_s, total_s=wall, cpu_s=cpu, measured_queries=n,
                status="measured", top1_is_source=float((best == source).mean()),
                params=f"char {ngram}-grams, TfidfVectorizer + sp_matmul_topn(top_n=1, n_threads={threads})")


def tfidf_topn_top1(refs: list[str], queries: list[str], ngram: int, threads: int) -> tuple[np.ndarray, float]:
    """Each query's best reference (-1 where it shares no n-gram with any) and the vectorizing seconds."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sparse_dot_topn import sp_matmul_topn

    start = time.perf_counter()
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(ngram, ngram), lowercase=False, norm="l2",
                                 dtype=np.float32)
    ref_matrix = vectorizer.fit_transform(refs).T.tocsr()
    query_matrix = vectorizer.transform(queries).tocsr()
    build_s = time.perf_counter() - start
    best = np.full(len(queries), -1, np.int64)
    for lo, hi in tqdm(scaling_data.chunks(len(queries), 50_000), desc="tfidf top-n", mininterval=5):
        top = sp_matmul_topn(query_matrix[lo:hi], ref_matrix, top_n=1, n_threads=threads).tocsr()
        rows = np.flatnonzero(np.diff(top.indptr))
        best[lo + rows] = top.indices[top.indptr[rows]]
    return best, build_s


def measure_rapidfuzz(n: int, score_cutoff: float, threads: int, seed: int = 0) -> dict:
    """rapidfuzz process.cdist, normalized Levenshtein similarity with score_cutoff (pairs below it score 0 and
    are cut short), in blocks of queries so the score matrix never has to fit in memory; top-1 = argmax."""
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    refs, queries, source = scaling_data.ocr_like_strings(n, seed)
    block = max(1, 20_000_000 // n)  # about 80 MB of float32 scores per block
    best = np.empty(n, np.int64)
    clock = Clock()
    for lo, hi in tqdm(scaling_data.chunks(n, block), desc=f"rapidfuzz {n:,}", mininterval=5):
        scores = process.cdist(queries[lo:hi], refs, scorer=Levenshtein.normalized_similarity, dtype=np.float32,
                               score_cutoff=score_cutoff, workers=threads)
        best[lo:hi] = np.where(scores.max(axis=1) > 0, scores.argmax(axis=1), -1)
    wall, cpu = clock.seconds()
    return dict(build_s=0.0, search_s=wall, total_s=wall, cpu_s=cpu, measured_queries=n, status="measured",
                top1_is_source=float((best == source).mean()),
                params=f"Levenshtein.normalized_similarity, score_cutoff={score_cutoff}, workers={threads}")


def measure_embedding(architecture: str, model_path: str | None, records_csv: str, n_records: int,
                      batch_size: int, threads: int, device: str) -> dict:
    """A model's cost per record, everything counted: reading the crops and the model's own preprocessing (for a
    text-line tower, the frozen recognizer's pass), then the image and text towers, batched as the embed step
    runs them. Without a trained model the architecture is built with
    random weights: throughput does not depend on the weights. One small warm-up batch first, untimed."""
    import pandas as pd
    import torch

    from clippings_wf.models import artifacts, embedding
    from clippings_wf.models.modeling import build_model
    from clippings_wf.models.tokenizer import CharTokenizer

    torch.set_num_threads(threads)
    device = torch.device(device)
    records = pd.read_csv(records_csv, dtype=str, keep_default_na=False).head(n_records)
    text_column = next(c for c in ("ocr_noisy", "text") if c in records)
    if model_path:
        bundle = artifacts.load_artifact(model_path, device=device)
    else:
        tokenizer = CharTokenizer(sorted(set("".join(records[text_column]))))
        path = Path(records_csv).parent / f".bench_{architecture}.pt"
        artifacts.save_artifact(path, build_model(architecture, None, tokenizer.vocab_size), architecture, tokenizer)
        bundle = artifacts.load_artifact(path, device=device)
        path.unlink()
    if embedding.use_channels_last(bundle):
        bundle.model.visual.to(memory_format=torch.channels_last)
    root = Path(records_csv).parent
    clock = Clock()
    crops = bundle.load_crops([root / p for p in records["image_path"]], workers=threads, progress=False)
    tokens = bundle.tokenize(records[text_column].tolist())
    load_s, load_cpu = clock.seconds()
    embedding.embed_arrays(bundle, crops[:8], tokens[:8], 8, device, desc="warm-up")
    clock = Clock()
    embedding.embed_arrays(bundle, crops, None, batch_size, device, desc="image")
    image_s, image_cpu = clock.seconds()
    clock = Clock()
    embedding.embed_arrays(bundle, None, tokens, batch_size, device, desc="text")
    text_s, text_cpu = clock.seconds()
    n, total = len(records), load_s + image_s + text_s
    return dict(n=n, search_s=total, total_s=total, cpu_s=load_cpu + image_cpu + text_cpu, status="measured",
                throughput=n / total, throughput_unit="records/s",
                params=f"{architecture}, {'trained' if model_path else 'random weights'}, batch_size={batch_size}, "
                       f"threads={threads}, {device.type}",
                note=f"reading the crops and the model's preprocessing (the frozen recognizer's pass, where the "
                     f"tower has one) {n / load_s:.0f} records/s, image tower {n / image_s:.0f}, text tower "
                     f"{n / text_s:.0f}: all counted")


def measure_ocr(crops_dir: str, n_crops: int, workers: int, lang: str, lang_vertical: str) -> dict:
    """The OCR step's tesseract.ocr_images with its process pool, on noisy crops; engine start-up counted."""
    import pandas as pd

    from clippings_wf.evaluation import metrics
    from clippings_wf.ocr import tesseract

    records = pd.read_csv(Path(crops_dir) / "records.csv", dtype=str, keep_default_na=False).head(n_crops)
    items = [(Path(crops_dir) / p, v == "1") for p, v in zip(records["image_path"], records["vertical"])]
    clock = Clock()
    texts = tesseract.ocr_images(items, lang, lang_vertical, workers=workers, desc="ocr")
    seconds, cpu = clock.seconds()
    cer = metrics.character_error_rate(texts, records["text"].tolist())
    return dict(n=len(items), search_s=seconds, total_s=seconds, cpu_s=cpu, status="measured",
                throughput=len(items) / seconds, throughput_unit="crops/s",
                params=f"tesserocr {lang}/{lang_vertical}, workers={workers}",
                note=f"{int(records['vertical'].eq('1').sum())} vertical crops; CER {cer:.3f}")


def nlist_for(n: int, per_sqrt_n: float) -> int:
    """IVF lists: per_sqrt_n x sqrt(n) rounded to a power of two, at most n / 39 (FAISS wants 39 per list)."""
    wanted = max(1.0, min(per_sqrt_n * math.sqrt(n), n / 39))
    return 2 ** max(0, int(round(math.log2(wanted))))
