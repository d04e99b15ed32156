"""Scaling benchmark (issue 5, section 3): how linking, embedding and OCR costs grow with the data, on this machine.

Writes <out>/scaling.csv, scaling.md and scaling.png:
- linking time of FAISS exact inner-product search (IndexFlatIP), of an approximate index (HNSW by default, its
  search breadth tuned at each size so that recall@1 against exact search is at least the target) and of rapidfuzz
  ``process.cdist`` Levenshtein on all cores, for reference sets of --sizes records and as many queries;
- embedding throughput of the trained default model (CPU) and OCR throughput of the OCR step;
- peak memory (ru_maxrss) of every measurement, each run in a fresh spawned process so that numbers do not bleed.

Usage:  python bench/scaling.py                      # 10^3 .. 10^6 (about half an hour on 2 free cores)
        python bench/scaling.py --quick --out /tmp/b # seconds: a smoke test
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import os
import platform
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path

import numpy as np
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow_scripts"))

log = logging.getLogger("scaling")

DEFAULT_MODEL = "results/jp_firms/models/sup_multimodal/model.pt"
DEFAULT_ARCHITECTURE = "clippings-linecnn-char"
GOAL_SIZE, GOAL_SECONDS = 10**6, 600.0
# Measured on the default run's sup_multimodal reference embeddings (results/jp_firms/embeddings): 90 % of the
# variance lies in about 30 of the 128 dimensions (participation ratio 30). An exponential spectrum with this
# decay length gives 27: random isotropic vectors would be a far harder (and unrealistic) case for an index.
SPECTRUM_DECAY = 13.0
CLUSTER_SIZE = 20  # references per cluster: families of near-identical firm names (東京電気 / 東京電機 / 東洋電気)
REFERENCE_SPREAD = 0.4  # within-cluster spread around a cluster centre
QUERY_NOISE = 0.5  # query = its reference + noise: exact top-1 is the source reference for about 93 % of queries
OCR_CER = {"reference": 0.12, "query": 0.22}  # the default run's Tesseract CER on noisy references / queries
COLUMNS = ["task", "method", "n", "n_queries", "measured_queries", "build_s", "tune_s", "search_s", "total_s",
           "status", "recall_at_1", "top1_is_source", "params", "throughput", "throughput_unit", "peak_rss_mb",
           "peak_rss_workers_mb", "note"]


# ----------------------------------------------------------------------------------------------- data
def embed_dim(architecture: str = DEFAULT_ARCHITECTURE) -> int:
    config = REPO / "workflow_scripts" / "clippings_wf" / "models" / "model_configs" / f"{architecture}.json"
    return int(json.loads(config.read_text())["embed_dim"])


def synthetic_embeddings(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(references [n, d], queries [n, d], source reference of each query): L2-normalised float32.

    Cluster centres and every deviation are Gaussian with an exponentially decaying spectrum (see SPECTRUM_DECAY);
    references scatter around their cluster's centre, each query is a noisy copy of one reference (a permutation,
    so every reference is asked for once). Deterministic in (n, d, seed), so each process rebuilds the same data.
    """
    rng = np.random.default_rng(seed)
    scale = np.exp(-np.arange(d) / SPECTRUM_DECAY)
    scale = np.sqrt(scale / scale.sum()).astype(np.float32)  # unit expected squared norm

    def gaussian(rows):
        return rng.standard_normal((rows, d), dtype=np.float32) * scale

    centres = _normalise(gaussian(max(1, n // CLUSTER_SIZE)))
    cluster = rng.integers(len(centres), size=n)
    source = rng.permutation(n)
    refs, queries = np.empty((n, d), np.float32), np.empty((n, d), np.float32)
    # in blocks, so that the peak memory of a measurement is its data and index, not generation temporaries
    for lo, hi in _chunks(n, 100_000):
        refs[lo:hi] = _normalise(centres[cluster[lo:hi]] + REFERENCE_SPREAD * gaussian(hi - lo))
    for lo, hi in _chunks(n, 100_000):
        queries[lo:hi] = _normalise(refs[source[lo:hi]] + QUERY_NOISE * gaussian(hi - lo))
    return refs, queries, source


def _normalise(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def _ocr_noise(text: str, cer: float, charset: list[str], rng) -> str:
    """Substitute, drop or insert characters at rate ``cer`` (equal odds), as OCR errors do."""
    out = []
    for ch in text:
        if rng.random() >= cer:
            out.append(ch)
            continue
        kind = rng.integers(3)
        if kind == 0:
            out.append(charset[rng.integers(len(charset))])
        elif kind == 2:
            out += [ch, charset[rng.integers(len(charset))]]
    return "".join(out)


def ocr_like_strings(n: int, seed: int = 0) -> tuple[list[str], list[str], np.ndarray]:
    """(references, queries, source reference of each query): generator firm names written as the benchmark
    writes them (legal forms, old character forms in queries) with character noise at the OCR error rates of the
    default run. The name vocabulary holds about 250,000 names: beyond that names repeat, which does not change
    the cost of matching."""
    from clippings_wf.data import names
    from clippings_wf.data import render
    from clippings_wf.data import vocab_ja

    rng = np.random.default_rng(seed)
    base = names.generate_base_names(min(n, 50_000), rng)
    base = [base[i] for i in rng.integers(len(base), size=n)] if n > len(base) else base
    charset = sorted(vocab_ja.common_charset())
    refs, forms = [], []
    for name in tqdm(base, desc="reference strings", mininterval=5):
        form = render.sample_entity_legal_form(rng)
        forms.append(form)
        refs.append(_ocr_noise(render.apply_legal_form(name, *form), OCR_CER["reference"], charset, rng))
    source = rng.permutation(n)
    queries = []
    for i in tqdm(source, desc="query strings", mininterval=5):
        style = render.sample_query_style(rng, forms[i])
        text = render.apply_old_forms(render.apply_legal_form(base[i], style["legal_form"], style["position"]),
                                      rng, style["old_form_prob"])
        queries.append(_ocr_noise(text, OCR_CER["query"], charset, rng))
    return refs, queries, source


def make_crops(out_dir: Path, n_records: int, seed: int = 0):
    """Crops from the benchmark generator (references and queries, both orientations): records.csv + images/."""
    from clippings_wf.data import benchmark

    # a firm has 2.5 records on average (a reference, 1-3 queries for three in four firms)
    records = benchmark.generate_benchmark(out_dir, n_entities=n_records // 2 + 4, seed=seed)
    return {"records": len(records)}


# ----------------------------------------------------------------------------------------------- measurements
def _chunks(n: int, size: int):
    return [(start, min(n, start + size)) for start in range(0, n, size)]


def measure_exact(n: int, d: int, seed: int, max_queries: int, truth_path: str, threads: int) -> dict:
    """IndexFlatIP over all references; all queries up to max_queries, else a random query sample whose time is
    scaled by n / sample (search time is linear in the number of queries). Saves the sample's exact top-1."""
    import faiss

    from clippings_wf.linking import faiss_index

    faiss.omp_set_num_threads(threads)
    refs, queries, source = synthetic_embeddings(n, d, seed)
    sample = np.arange(n) if n <= max_queries else np.sort(
        np.random.default_rng(seed + 1).choice(n, max_queries, replace=False))
    start = time.perf_counter()
    index = faiss_index.build_index(refs, "flat", use_gpu=False)
    build_s = time.perf_counter() - start
    scores, ids = np.empty(len(sample), np.float32), np.empty(len(sample), np.int64)
    start = time.perf_counter()
    for lo, hi in tqdm(_chunks(len(sample), 2000), desc=f"exact search {n}", mininterval=5):
        s, i = faiss_index.search(index, queries[sample[lo:hi]], 1)
        scores[lo:hi], ids[lo:hi] = s[:, 0], i[:, 0]
    measured_s = time.perf_counter() - start
    np.savez(truth_path, sample=sample, ids=ids, scores=scores)
    search_s = measured_s * n / len(sample)
    subsample = len(sample) < n
    return dict(build_s=build_s, search_s=search_s, total_s=build_s + search_s, measured_queries=len(sample),
                status="extrapolated (query sample)" if subsample else "measured", recall_at_1=1.0,
                top1_is_source=float((ids == source[sample]).mean()),
                note=f"search of {len(sample):,} random queries took {measured_s:.1f} s, scaled by n/sample"
                if subsample else "")


APPROX_KNOB = {"hnsw": "efSearch", "ivf": "nprobe"}
APPROX_GRID = {"hnsw": [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512], "ivf": [1, 2, 4, 8, 16, 32, 64, 128, 256]}


def _set_knob(index, kind: str, value: int) -> None:
    if kind == "hnsw":
        index.hnsw.efSearch = value
    else:
        index.nprobe = value


def _recall(ids, scores, truth) -> float:
    """Top-1 equals exact search's, or ties its score (two references at the same distance are both right)."""
    return float(((ids == truth["ids"]) | (scores >= truth["scores"] - 1e-6)).mean())


def measure_approx(kind: str, n: int, d: int, seed: int, truth_path: str, target: float, tune_queries: int,
                   index_params: dict, threads: int) -> dict:
    """Build the approximate index, tune its search breadth on a query sample (the smallest grid value whose
    recall@1 against exact search reaches target + 0.005), then search every query; recall@1 is then measured on
    the exact-search sample from that full search."""
    import faiss

    from clippings_wf.linking import faiss_index

    faiss.omp_set_num_threads(threads)
    refs, queries, source = synthetic_embeddings(n, d, seed)
    truth = dict(np.load(truth_path))
    log.info("building %s over %d references (one FAISS call)", kind, n)
    start = time.perf_counter()
    index = faiss_index.build_index(refs, kind, use_gpu=False, **index_params)
    build_s = time.perf_counter() - start
    del refs

    tune = {k: v[:tune_queries] for k, v in truth.items()}
    start = time.perf_counter()
    knob = APPROX_GRID[kind][-1]
    for value in APPROX_GRID[kind]:
        _set_knob(index, kind, value)
        s, i = faiss_index.search(index, queries[tune["sample"]], 1)
        recall = _recall(i[:, 0], s[:, 0], tune)
        log.info("%s n=%d %s=%d: tuning recall@1 %.4f", kind, n, APPROX_KNOB[kind], value, recall)
        if recall >= target + 0.005:
            knob = value
            break
    _set_knob(index, kind, knob)
    tune_s = time.perf_counter() - start

    scores, ids = np.empty(n, np.float32), np.empty(n, np.int64)
    start = time.perf_counter()
    for lo, hi in tqdm(_chunks(n, 20_000), desc=f"{kind} search {n}", mininterval=5):
        s, i = faiss_index.search(index, queries[lo:hi], 1)
        scores[lo:hi], ids[lo:hi] = s[:, 0], i[:, 0]
    search_s = time.perf_counter() - start
    sample = truth["sample"]
    params = ", ".join(f"{k}={v}" for k, v in index_params.items() if k != APPROX_KNOB[kind])
    return dict(build_s=build_s, tune_s=tune_s, search_s=search_s, total_s=build_s + tune_s + search_s,
                measured_queries=n, status="measured", recall_at_1=_recall(ids[sample], scores[sample], truth),
                top1_is_source=float((ids == source).mean()), params=f"{params}, {APPROX_KNOB[kind]}={knob}",
                note=f"recall@1 on {len(sample):,} queries against exact search; tuned on {len(tune['sample']):,}")


def measure_levenshtein(n: int, seed: int) -> dict:
    """rapidfuzz process.cdist (Levenshtein distance, workers=-1: all cores) of every query against every
    reference, in blocks of queries so that the distance matrix never has to fit in memory; top-1 = argmin."""
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    refs, queries, source = ocr_like_strings(n, seed)
    block = max(1, 20_000_000 // n)  # about 80 MB of int32 distances per block
    best = np.empty(n, np.int64)
    start = time.perf_counter()
    for lo, hi in tqdm(_chunks(n, block), desc=f"levenshtein {n}", mininterval=5):
        dist = process.cdist(queries[lo:hi], refs, scorer=Levenshtein.distance, dtype=np.int32, workers=-1)
        best[lo:hi] = dist.argmin(axis=1)
    search_s = time.perf_counter() - start
    return dict(build_s=0.0, search_s=search_s, total_s=search_s, measured_queries=n, status="measured",
                top1_is_source=float((best == source).mean()), params="scorer=Levenshtein.distance, workers=-1")


def measure_embedding(model_path: str, crops_dir: str, n_records: int, batch_size: int, threads: int) -> dict:
    """Image tower on the crops and text tower on their texts, as embed_records.py runs them (channels_last on
    CPU, batches of the config's eval_batch_size); one small warm-up batch first, untimed."""
    import pandas as pd
    import torch

    from clippings_wf.models import artifacts
    from clippings_wf.models import embedding

    torch.set_num_threads(threads)
    device = torch.device("cpu")
    bundle = artifacts.load_artifact(model_path, device=device)
    if embedding.use_channels_last(bundle):
        bundle.model.visual.to(memory_format=torch.channels_last)
    records = pd.read_csv(Path(crops_dir) / "records.csv", dtype=str, keep_default_na=False).head(n_records)
    start = time.perf_counter()
    crops = bundle.load_crops([Path(crops_dir) / p for p in records["image_path"]], progress=False)
    tokens = bundle.tokenize(records["text"].tolist())
    load_s = time.perf_counter() - start
    embedding.embed_arrays(bundle, crops[:8], tokens[:8], 8, device, desc="warm-up")
    start = time.perf_counter()
    embedding.embed_arrays(bundle, crops, None, batch_size, device, desc="image")
    image_s = time.perf_counter() - start
    start = time.perf_counter()
    embedding.embed_arrays(bundle, None, tokens, batch_size, device, desc="text")
    text_s = time.perf_counter() - start
    n = len(records)
    return dict(n=n, search_s=image_s + text_s, total_s=image_s + text_s, status="measured",
                throughput=n / (image_s + text_s), throughput_unit="records/s (image + text)",
                params=f"{bundle.architecture}, batch_size={batch_size}, threads={threads}, cpu",
                note=f"image tower {n / image_s:.0f} records/s, text tower {n / text_s:.0f} records/s; "
                     f"reading + preprocessing the crops {n / load_s:.0f} records/s (not counted)")


def measure_ocr(crops_dir: str, n_crops: int, workers: int, lang: str, lang_vertical: str) -> dict:
    """The OCR step's clippings_wf.ocr.tesseract.ocr_images with its process pool, on noisy crops; engine start-up counted."""
    import pandas as pd

    from clippings_wf.evaluation import metrics
    from clippings_wf.ocr import tesseract

    records = pd.read_csv(Path(crops_dir) / "records.csv", dtype=str, keep_default_na=False).head(n_crops)
    items = [(Path(crops_dir) / p, v == "1") for p, v in zip(records["image_path"], records["vertical"])]
    start = time.perf_counter()
    texts = tesseract.ocr_images(items, lang, lang_vertical, workers=workers, desc="ocr")
    seconds = time.perf_counter() - start
    cer = metrics.character_error_rate(texts, records["text"].tolist())
    return dict(n=len(items), search_s=seconds, total_s=seconds, status="measured",
                throughput=len(items) / seconds, throughput_unit="crops/s",
                params=f"tesserocr {lang}/{lang_vertical}, workers={workers}",
                note=f"{int(records['vertical'].eq('1').sum())} vertical crops; CER {cer:.3f}")


def own_peak_rss_mb() -> float:
    """This process's peak resident memory. Linux carries ru_maxrss over an exec, so a spawned process would
    report its launcher's peak if that were larger: VmHWM (the same peak, of this process's own address space
    only) does not; ru_maxrss where /proc is missing."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _measured(fn, kwargs: dict, has_pool: bool) -> dict:
    """Runs in the spawned process: the measurement, then this process's peak RSS (and its pool workers', the
    largest one, for a step that has a process pool; a forked worker counts the pages it shares too)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    result = fn(**kwargs)
    result["peak_rss_mb"] = own_peak_rss_mb()
    if has_pool:
        result["peak_rss_workers_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result


def isolated(fn, has_pool: bool = False, **kwargs) -> dict:
    """Run a measurement in a fresh spawned process (not forked: nothing of this process's memory comes along)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_measured, fn, kwargs, has_pool).result()


def quadratic_fit(points: list[tuple[int, float]]):
    """t(n) = a + c n^2 by least squares over the measured sizes (t = c n^2 through a single point)."""
    n = np.array([p[0] for p in points], float)
    t = np.array([p[1] for p in points], float)
    if len(points) >= 2:
        (a, c), *_ = np.linalg.lstsq(np.stack([np.ones_like(n), n**2], 1), t, rcond=None)
        if c > 0 and a >= 0:
            return lambda m: a + c * m**2
    c = t[-1] / n[-1] ** 2
    return lambda m: c * m**2


# ----------------------------------------------------------------------------------------------- report
def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return dict(cpu=cpu, cores=os.cpu_count(), usable_cores=len(os.sched_getaffinity(0)),
                ram_gib=mem_kb / 2**20, python=platform.python_version(), os=platform.platform())


def versions() -> dict:
    out = {}
    for label, dists in (("faiss", ["faiss-cpu", "faiss-gpu", "faiss"]), ("torch", ["torch"]),
                         ("rapidfuzz", ["rapidfuzz"]), ("numpy", ["numpy"]), ("open_clip", ["open_clip_torch"]),
                         ("tesserocr", ["tesserocr"])):
        for dist in dists:
            try:
                out[label] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
        out.setdefault(label, "not installed")
    return out


def goal_verdict(table, approx: str, target: float) -> str:
    rows = table[(table.task == "linking") & (table.method == f"faiss_{approx}") & (table.n == GOAL_SIZE)]
    head = (f"Goal: linking 10^6 queries against 10^6 references in at most 10 minutes on this 2-core machine at "
            f"recall@1 >= {target:.2f}")
    if rows.empty:
        return f"{head}: NOT MEASURED (run with 1000000 in --sizes)."
    row = rows.iloc[0]
    ok = row.total_s <= GOAL_SECONDS and row.recall_at_1 >= target
    return (f"{head}: measured {row.total_s / 60:.1f} min ({approx.upper()}: build {row.build_s:.0f} s, tuning "
            f"{row.tune_s:.0f} s, search {row.search_s:.0f} s) at recall@1 {row.recall_at_1:.4f}: "
            f"**{'PASS' if ok else 'FAIL'}**.")


def _fmt(x, digits=1):
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def write_markdown(path: Path, table, info: dict) -> None:
    link = table[table.task == "linking"].sort_values(["method", "n"], kind="stable")
    lines = [
        "# Scaling benchmark", "",
        f"Generated by `{info['command']}` on {info['date']} in {info['wall_min']:.1f} min.", "",
        "## Machine", "",
        f"- CPU: {info['machine']['cpu']}, {info['machine']['cores']} cores ({info['machine']['usable_cores']} "
        f"usable), RAM {info['machine']['ram_gib']:.1f} GiB, no GPU used; {info['machine']['os']}, "
        f"Python {info['machine']['python']}",
        "- Libraries: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()),
        f"- Load average (1, 5, 15 min) at start {info['load_start']}, at end {info['load_end']}: above "
        f"{info['machine']['cores']} means other work shared the cores and the times are inflated.",
        f"- Threads per measurement: {info['threads']}; each measurement ran in a fresh spawned process; peak "
        "memory is that process's VmHWM (its ru_maxrss without what Linux carries over from the launcher), "
        "data included.", "",
        "## Goal", "", info["goal"], "",
        "## Linking", "",
        "Total seconds to link n queries against n references (build + tuning + search); peak RSS of the process.",
        "",
        "| method | n | build s | tune s | search s | total s | status | recall@1 vs exact | top-1 = source "
        "| peak RSS MB | parameters |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for row in link.itertuples():
        lines.append(f"| {row.method} | {row.n:,} | {_fmt(row.build_s)} | {_fmt(row.tune_s)} | {_fmt(row.search_s)}"
                     f" | {_fmt(row.total_s)} | {row.status} | {_fmt(row.recall_at_1, 4)} | "
                     f"{_fmt(row.top1_is_source, 3)} | {_fmt(row.peak_rss_mb, 0)} | {row.params or ''} |")
    lines += ["", "## Throughput", "", "| step | records | throughput | peak RSS MB | workers' peak RSS MB | "
              "parameters | note |", "|---|---:|---|---:|---:|---|---|"]
    for row in table[table.task != "linking"].itertuples():
        rate = f"{row.throughput:,.1f} {row.throughput_unit}" if row.status == "measured" else row.status
        lines.append(f"| {row.method} | {_fmt(row.n, 0)} | {rate} | {_fmt(row.peak_rss_mb, 0)} | "
                     f"{_fmt(row.peak_rss_workers_mb, 0)} | {row.params or ''} | {row.note or ''} |")
    lines += ["", "## How the data were made", "", *info["data_notes"], "", "## Notes", "", *info["notes"], ""]
    path.write_text("\n".join(lines))


def write_figure(path: Path, table, goal_seconds: float = GOAL_SECONDS) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    link = table[table.task == "linking"]
    fig, (ax_time, ax_mem) = plt.subplots(1, 2, figsize=(11, 4.2))
    for (method, rows), colour in zip(link.groupby("method", sort=False), plt.rcParams["axes.prop_cycle"]):
        colour = colour["color"]
        ax_time.plot(rows.n, rows.total_s, color=colour, alpha=0.4, linestyle=":")
        measured = rows[rows.status == "measured"]
        extrapolated = rows[rows.status != "measured"]
        ax_time.plot(measured.n, measured.total_s, "o-", color=colour, label=f"{method} (measured)")
        if len(extrapolated):
            ax_time.plot(extrapolated.n, extrapolated.total_s, "o", color=colour, markerfacecolor="none",
                         label=f"{method} (extrapolated)")
        ax_mem.plot(rows.n, rows.peak_rss_mb, "o-", color=colour, label=method)
    ax_time.axhline(goal_seconds, color="grey", linestyle="--", linewidth=1)
    ax_time.text(link.n.min(), goal_seconds * 1.15, "goal: 10 min", color="grey", fontsize=8)
    ax_time.set(xscale="log", yscale="log", xlabel="references n (= queries)", ylabel="linking time (s)",
                title="Linking n queries against n references")
    ax_mem.set(xscale="log", yscale="log", xlabel="references n (= queries)", ylabel="peak RSS (MB)",
               title="Peak memory (measured runs)")
    ax_time.legend(fontsize=7)
    ax_mem.legend(fontsize=7)
    for ax in (ax_time, ax_mem):
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ----------------------------------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", help="reference set sizes (queries: as many); default "
                   "1000 10000 100000 1000000, with --quick 1000 3000")
    p.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks", help="output folder")
    p.add_argument("--quick", action="store_true", help="tiny sizes and samples: a smoke test in seconds")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="trained model artifact for the embedding throughput (relative to the repository)")
    p.add_argument("--approx", choices=sorted(APPROX_KNOB), default="hnsw", help="approximate index")
    p.add_argument("--hnsw-m", type=int, default=16, help="HNSW links per node")
    p.add_argument("--hnsw-ef-construction", type=int, default=40, help="HNSW build breadth")
    p.add_argument("--ivf-nlist", type=int, default=None, help="IVF lists (default: about sqrt(n))")
    p.add_argument("--recall-target", type=float, default=0.98, help="recall@1 the approximate index must reach")
    p.add_argument("--exact-max-queries", type=int, default=10_000,
                   help="exact search on a random query sample of this size beyond it (also the recall sample)")
    p.add_argument("--tune-queries", type=int, default=2000, help="queries used to tune the approximate index")
    p.add_argument("--string-budget-s", type=float, default=180.0,
                   help="measure Levenshtein only where the quadratic fit predicts at most this many seconds")
    p.add_argument("--embed-records", type=int, default=2000, help="generated crops to embed")
    p.add_argument("--batch-size", type=int, default=None, help="default: training.eval_batch_size of config.yaml")
    p.add_argument("--ocr-crops", type=int, default=300, help="generated crops to OCR")
    p.add_argument("--ocr-workers", type=int, default=2, help="OCR processes")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for FAISS and torch")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.sizes is None:
        args.sizes = [1000, 3000] if args.quick else [10**3, 10**4, 10**5, 10**6]
    if args.quick:
        args.exact_max_queries = min(args.exact_max_queries, 1000)
        args.tune_queries = min(args.tune_queries, 500)
        args.embed_records = min(args.embed_records, 64)
        args.ocr_crops = min(args.ocr_crops, 12)
    return args


def config_batch_size() -> int:
    import yaml

    return int(yaml.safe_load((REPO / "config.yaml").read_text())["training"]["eval_batch_size"])


def run(args) -> None:
    started, load_start = time.time(), os.getloadavg()
    out: Path = args.out
    work = out / "scaling_work"
    work.mkdir(parents=True, exist_ok=True)
    d = embed_dim()
    sizes = sorted(set(args.sizes))
    rows = []

    def row(**fields):
        rows.append({c: fields.get(c, float("nan") if c not in ("params", "note", "status") else "")
                     for c in COLUMNS})
        log.info("%s", {k: v for k, v in rows[-1].items() if v == v and v != ""})

    index_params = ({"M": args.hnsw_m, "efConstruction": args.hnsw_ef_construction} if args.approx == "hnsw"
                    else {"nlist": args.ivf_nlist} if args.ivf_nlist else {})
    for n in sizes:
        truth = str(work / f"exact_{n}.npz")
        log.info("linking n=%d: exact search", n)
        exact = isolated(measure_exact, n=n, d=d, seed=args.seed, max_queries=args.exact_max_queries,
                         truth_path=truth, threads=args.threads)
        row(task="linking", method="faiss_flat_exact", n=n, n_queries=n, params="IndexFlatIP", **exact)
        log.info("linking n=%d: %s", n, args.approx)
        approx = isolated(measure_approx, kind=args.approx, n=n, d=d, seed=args.seed, truth_path=truth,
                          target=args.recall_target, tune_queries=args.tune_queries, index_params=index_params,
                          threads=args.threads)
        row(task="linking", method=f"faiss_{args.approx}", n=n, n_queries=n, **approx)
        Path(truth).unlink()

    measured = []
    for n in sizes:
        predicted = quadratic_fit(measured)(n) if measured else 0.0
        if measured and predicted > args.string_budget_s:
            row(task="linking", method="rapidfuzz_levenshtein", n=n, n_queries=n, build_s=0.0, search_s=predicted,
                total_s=predicted, status="extrapolated (quadratic fit)",
                params="scorer=Levenshtein.distance, workers=-1",
                note=f"t = a + c n^2 fitted to the measured sizes {[m for m, _ in measured]}")
            continue
        log.info("linking n=%d: rapidfuzz Levenshtein", n)
        result = isolated(measure_levenshtein, n=n, seed=args.seed)
        measured.append((n, result["total_s"]))
        row(task="linking", method="rapidfuzz_levenshtein", n=n, n_queries=n, **result)

    crops_dir = work / "crops"
    log.info("rendering %d crops with the benchmark generator", max(args.embed_records, args.ocr_crops))
    isolated(make_crops, out_dir=crops_dir, n_records=max(args.embed_records, args.ocr_crops), seed=args.seed)
    model = Path(args.model) if Path(args.model).is_absolute() else REPO / args.model
    if model.is_file():
        batch = args.batch_size or config_batch_size()
        result = isolated(measure_embedding, model_path=str(model), crops_dir=str(crops_dir),
                          n_records=args.embed_records, batch_size=batch, threads=args.threads)
        row(task="embedding", method=f"embed ({model.parent.name})", **result)
    else:
        row(task="embedding", method="embed (no trained model)", status="skipped",
            note=f"no trained model at {model}: run the workflow first or pass --model")
    ocr_settings = {"lang": "jpn", "lang_vertical": "jpn_vert"}
    result = isolated(measure_ocr, has_pool=True, crops_dir=str(crops_dir), n_crops=args.ocr_crops,
                      workers=args.ocr_workers, **ocr_settings)
    row(task="ocr", method="ocr (tesseract)", **result)

    import pandas as pd  # only now: the launcher stays small while it spawns the measurements

    table = pd.DataFrame(rows, columns=COLUMNS)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "scaling.csv", index=False)
    write_figure(out / "scaling.png", table)
    info = dict(
        command="python bench/scaling.py " + " ".join(sys.argv[1:]),
        date=time.strftime("%Y-%m-%d %H:%M %Z"), wall_min=(time.time() - started) / 60,
        machine=machine(), versions=versions(), threads=args.threads,
        load_start=", ".join(f"{x:.2f}" for x in load_start),
        load_end=", ".join(f"{x:.2f}" for x in os.getloadavg()),
        goal=goal_verdict(table, args.approx, args.recall_target),
        data_notes=[
            f"- Embeddings: {d} dimensions (the default model's embed_dim), L2-normalised float32, regenerated "
            f"from seed {args.seed} in each process. References: {CLUSTER_SIZE} per cluster, cluster centre + "
            f"{REFERENCE_SPREAD} x Gaussian deviation; queries: a noisy copy of one reference each (reference + "
            f"{QUERY_NOISE} x Gaussian noise, renormalised), every reference asked for once. All Gaussians have an "
            f"exponentially decaying variance spectrum (decay length {SPECTRUM_DECAY:g} dimensions, participation "
            "ratio about 27), like the default model's pooled embeddings (90 % of the variance in about 30 of 128 "
            "dimensions); isotropic random vectors would be harder for an index and unlike real embeddings. "
            "'top-1 = source' is how often a method's top-1 is the reference the query was made from.",
            "- Strings: generator firm names (clippings_wf.data.names) with legal forms, and for queries the query "
            "styles' legal-form variants and old character forms (clippings_wf.data.render), then character "
            f"substitutions, drops and insertions at the default run's Tesseract error rates (CER "
            f"{OCR_CER['reference']} for references, {OCR_CER['query']} for queries).",
            f"- Crops: the benchmark generator (clippings_wf.data.benchmark), {max(args.embed_records, args.ocr_crops)}"
            " records (references and queries, horizontal and vertical); OCR reads the degraded crops; the text "
            "tower reads the records' texts.",
        ],
        notes=[
            f"- Exact search beyond {args.exact_max_queries:,} queries is timed on a random query sample and "
            "scaled linearly (its cost is linear in the number of queries); that sample is also the recall sample.",
            f"- The approximate index ({args.approx.upper()}) searches every query at every size; its breadth "
            f"({APPROX_KNOB[args.approx]}) is tuned at each size on {args.tune_queries:,} queries as the smallest "
            f"value of {APPROX_GRID[args.approx]} reaching recall@1 {args.recall_target} + 0.005; tuning time is "
            "part of the total.",
            f"- Levenshtein is measured while the quadratic fit predicts at most {args.string_budget_s:.0f} s, "
            "and extrapolated beyond (rows labelled so); the queries are matched in blocks, so memory stays "
            "bounded.",
            "- Embedding throughput is measured on CPU only: this machine has no GPU.",
            "- Linking data are generated, not embedded by the model: embedding 10^6 records would take hours "
            "on this CPU (see the embedding throughput).",
        ],
    )
    write_markdown(out / "scaling.md", table, info)
    for leftover in sorted(crops_dir.rglob("*"), reverse=True):
        leftover.rmdir() if leftover.is_dir() else leftover.unlink()
    crops_dir.rmdir()
    work.rmdir()
    log.info("wrote %s, %s, %s in %.1f min", out / "scaling.csv", out / "scaling.md", out / "scaling.png",
             (time.time() - started) / 60)


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run(parse_args(argv))


if __name__ == "__main__":
    main()
