"""Scaling benchmark: linking n queries against n references with FAISS indexes beside the string tools
practitioners use for large fuzzy joins, the embedding and OCR throughput, on this machine.

Settings: bench/scaling.yaml (sizes, the calibrated generated embeddings, the indexes as faiss.index_factory
strings with their tuned search parameter, the string tools). Writes <out>/scaling.csv, scaling.md, scaling.png.
Each measurement runs in a fresh spawned process, so its peak memory (VmHWM) is its own.

Usage:  python bench/scaling.py                        # 10^3 .. 10^6: about half an hour on 2 free cores
        python bench/scaling.py --quick --out /tmp/b   # a smoke test in a minute
"""
from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import resource
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow_scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import scaling_data  # noqa: E402
import scaling_measure as measure  # noqa: E402
import scaling_report as report  # noqa: E402

log = logging.getLogger("scaling")
SETTINGS = Path(__file__).resolve().parent / "scaling.yaml"
COLUMNS = ["task", "method", "n", "n_queries", "measured_queries", "build_s", "tune_s", "search_s", "total_s",
           "cpu_s", "status", "recall_at_1", "top1_is_source", "chosen", "ratio_linking", "ratio_end_to_end",
           "params", "throughput", "throughput_unit", "peak_rss_mb", "peak_rss_workers_mb", "note"]
TEXT_COLUMNS = ("task", "method", "status", "params", "throughput_unit", "note")
STRING_TOOLS = {"tfidf_sparse_topn": measure.measure_tfidf_topn, "rapidfuzz_cdist": measure.measure_rapidfuzz}


def own_peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM (ru_maxrss would carry over its launcher's peak on exec)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measured(fn, kwargs: dict, has_pool: bool) -> dict:
    """In the spawned process: the measurement, then its peak RSS (and its pool workers', the largest one)."""
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
    """t(n) = a + c n^2 by least squares over the measured sizes (t = c n^2 through the largest point where the
    fit is not increasing)."""
    n = np.array([p[0] for p in points], float)
    t = np.array([p[1] for p in points], float)
    if len(points) >= 2:
        (a, c), *_ = np.linalg.lstsq(np.stack([np.ones_like(n), n**2], 1), t, rcond=None)
        if c > 0 and a >= 0:
            return lambda m: a + c * m**2
    c = t[-1] / n[-1] ** 2
    return lambda m: c * m**2


def link_embeddings(settings: dict, threads: int, work: Path, add_row) -> None:
    goal = settings["goal"]
    for n in settings["sizes"]:
        truth = str(work / f"exact_{n}.npz")
        log.info("n=%d: exact search", n)
        exact = isolated(measure.measure_exact, n=n, embeddings=settings["embeddings"], truth_path=truth,
                         threads=threads, tune=settings["exact"]["tune_queries"],
                         recall=settings["exact"]["recall_queries"])
        add_row(task="linking", method="faiss_exact", n=n, n_queries=n, **exact)
        nlist = measure.nlist_for(n, settings["nlist_per_sqrt_n"])
        for name, spec in settings["indexes"].items():
            log.info("n=%d: %s", n, name)
            result = isolated(measure.measure_index, name=name, spec=spec, n=n, embeddings=settings["embeddings"],
                              truth_path=truth, target=goal["recall_at_1"], margin=settings["recall_margin"],
                              nlist=nlist, train_points=settings["train_points_per_list"] * nlist,
                              skip_seconds=max(settings["skip_floor_s"],
                                               settings["skip_factor"] * goal["seconds"] * n / goal["n"]),
                              threads=threads)
            add_row(task="linking", method=f"faiss_{name}", n=n, n_queries=n, **result)
        Path(truth).unlink()


def link_strings(settings: dict, threads: int, add_row) -> None:
    strings = settings["strings"]
    options = {"tfidf_sparse_topn": {"ngram": strings["tfidf_topn"]["ngram"]},
               "rapidfuzz_cdist": {"score_cutoff": strings["rapidfuzz"]["score_cutoff"]}}
    for method, fn in STRING_TOOLS.items():
        measured, params = [], ""
        for n in settings["sizes"]:
            predicted = quadratic_fit(measured)(n) if measured else 0.0
            if measured and predicted > strings["budget_s"]:
                add_row(task="linking", method=method, n=n, n_queries=n, search_s=predicted, total_s=predicted,
                        status="extrapolated (quadratic fit)", params=params,
                        note=f"t = a + c n^2 fitted to the measured sizes {[m for m, _ in measured]}")
                continue
            log.info("n=%d: %s", n, method)
            result = isolated(fn, n=n, threads=threads, **options[method])
            measured.append((n, result["total_s"]))
            params = result["params"]
            add_row(task="linking", method=method, n=n, n_queries=n, **result)


def trained_models(results: Path) -> dict[str, tuple[str, str]]:
    """architecture -> (model.pt, its dataset's manifest) of the default run's supervised models."""
    import json

    from clippings_wf.models.artifacts import read_checkpoint

    found = {}
    bundles = sorted(results.glob("*/export/*/bundle.json"), key=lambda p: (p.parent.name != "sup_multimodal", str(p)))
    for bundle in bundles:
        model = bundle.parent / "model.pt"
        manifest = results / json.loads(bundle.read_text())["dataset"] / "data" / "manifest.csv"
        if model.is_file() and manifest.is_file():
            found.setdefault(read_checkpoint(model)["architecture"], (str(model), str(manifest)))
    return found


def embed_throughput(settings: dict, args, threads: int, crops_dir: Path, add_row) -> None:
    from clippings_wf.models import tower_kinds

    configs = sorted(p.stem for p in (REPO / "workflow_scripts" / "clippings_wf" / "models" /
                                      "model_configs").glob("*.json"))
    trained = trained_models(args.results) if args.results.is_dir() else {}
    device = "cuda" if _cuda() else "cpu"
    wanted = settings["embedding"].get("architectures", "all")
    for arch in configs if wanted == "all" else wanted:
        model, records = trained.get(arch, (None, str(crops_dir / "records.csv")))
        if model is None and tower_kinds.uses_photo_encoder(arch):
            add_row(task="embedding", method=f"embed {arch}", status="skipped",
                    note=f"no news_wire run under {args.results}: a photo encoder needs photos")
            continue
        result = isolated(measure.measure_embedding, architecture=arch, model_path=model, records_csv=records,
                          n_records=settings["embedding"]["records"], batch_size=settings["embedding"]["batch_size"],
                          threads=threads, device=device)
        add_row(task="embedding", method=f"embed {arch}", **result)


def _cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--settings", type=Path, default=SETTINGS, help="benchmark settings (YAML)")
    p.add_argument("--sizes", type=int, nargs="+", help="override the settings' sizes")
    p.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks", help="output folder")
    p.add_argument("--results", type=Path, default=REPO / "results",
                   help="a default run's results: its trained models are timed on its records")
    p.add_argument("--quick", action="store_true", help="tiny sizes and samples: a smoke test")
    p.add_argument("--threads", type=int, help="override the settings' threads")
    p.add_argument("--string-budget-s", type=float, help="override strings.budget_s")
    args = p.parse_args(argv)
    settings = yaml.safe_load(args.settings.read_text())
    if args.quick:
        settings.update(sizes=[1000, 3000], exact={"tune_queries": 300, "recall_queries": 500},
                        ocr={"crops": 8, "workers": 2},
                        embedding={"records": 16, "batch_size": 8, "architectures": [report.DEFAULT_ARCHITECTURE]})
    if args.sizes:
        settings["sizes"] = sorted(set(args.sizes))
    if args.threads:
        settings["threads"] = args.threads
    if args.string_budget_s is not None:
        settings["strings"]["budget_s"] = args.string_budget_s
    return args, settings


def run(args, settings: dict) -> None:
    started, load_start = time.time(), os.getloadavg()
    threads = int(settings["threads"])
    out: Path = args.out
    work = out / "scaling_work"
    work.mkdir(parents=True, exist_ok=True)
    rows = []

    def add_row(**fields):
        rows.append({c: fields.get(c, "" if c in TEXT_COLUMNS else float("nan")) for c in COLUMNS})
        log.info("%s", {k: v for k, v in rows[-1].items() if v == v and v != ""})

    link_embeddings(settings, threads, work, add_row)
    link_strings(settings, threads, add_row)
    crops_dir = work / "crops"
    n_crops = max(settings["embedding"]["records"], settings["ocr"]["crops"])
    log.info("rendering %d crops with the benchmark generator", n_crops)
    isolated(scaling_data.make_crops, out_dir=crops_dir, n_records=n_crops)
    embed_throughput(settings, args, threads, crops_dir, add_row)
    result = isolated(measure.measure_ocr, has_pool=True, crops_dir=str(crops_dir), n_crops=settings["ocr"]["crops"],
                      workers=settings["ocr"]["workers"], lang="jpn", lang_vertical="jpn_vert")
    add_row(task="ocr", method="ocr (tesseract)", **result)

    import pandas as pd  # only now: the launcher stays small while it spawns the measurements

    table = report.side_by_side(pd.DataFrame(rows, columns=COLUMNS), settings)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "scaling.csv", index=False)
    report.write_figure(out / "scaling.png", table, settings)
    info = dict(command="python bench/scaling.py " + " ".join(sys.argv[1:]),
                date=time.strftime("%Y-%m-%d %H:%M %Z"), wall_min=(time.time() - started) / 60,
                machine=report.machine(), versions=report.versions(), threads=threads,
                load_start=load_start, load_end=os.getloadavg(), cuda=_cuda())
    report.write_markdown(out / "scaling.md", table, settings, info)
    shutil.rmtree(work)
    log.info("wrote %s in %.1f min", out / "scaling.md", (time.time() - started) / 60)


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run(*parse_args(argv))


if __name__ == "__main__":
    main()
