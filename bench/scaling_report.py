"""The scaling benchmark's report: which index links at each size, the two ratio columns against the string
tools, the machine and libraries, the markdown table and the figure."""
from __future__ import annotations

import math
import os
import platform
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

FAISS_PREFIX = "faiss_"
STRING_TOOLS = ("tfidf_sparse_topn", "rapidfuzz_cdist")
DEFAULT_ARCHITECTURE = "clippings-textline-char"  # config.yaml's model.architecture: the default model's encoder
LIBRARIES = {"faiss": ["faiss-cpu", "faiss-gpu", "faiss"], "torch": ["torch"], "numpy": ["numpy"],
             "scikit-learn": ["scikit-learn"], "sparse_dot_topn": ["sparse_dot_topn", "sparse-dot-topn"],
             "rapidfuzz": ["rapidfuzz"], "onnxruntime": ["onnxruntime"], "open_clip": ["open_clip_torch"],
             "tesserocr": ["tesserocr"]}


def embedding_seconds_per_record(table: pd.DataFrame) -> float:
    rows = table[(table.task == "embedding") & (table.method == f"embed {DEFAULT_ARCHITECTURE}")
                 & (table.status == "measured")]
    return 1.0 / float(rows.throughput.iloc[0]) if len(rows) else float("nan")


def side_by_side(table: pd.DataFrame, settings: dict) -> pd.DataFrame:
    """Mark at each size the FAISS index that links fastest at recall@1 >= the goal's (``chosen``), and give each
    string tool's row two ratios: its time over that index's (linking alone), and over that index's plus the
    default encoder embedding all 2n records (end to end: our embedding against the tool's own vectorizing)."""
    table = table.copy()
    target = settings["goal"]["recall_at_1"]
    link = table.task == "linking"
    faiss_rows = link & table.method.str.startswith(FAISS_PREFIX) & (table.status != "projected (tuning run)")
    table["chosen"] = False
    per_record = embedding_seconds_per_record(table)
    for n in table.loc[link, "n"].unique():
        candidates = table[faiss_rows & (table.n == n) & (table.recall_at_1 >= target)]
        if candidates.empty:
            continue
        best = candidates.total_s.idxmin()
        table.loc[best, "chosen"] = True
        ours = table.loc[best, "total_s"]
        tools = link & (table.n == n) & table.method.isin(STRING_TOOLS)
        table.loc[tools, "ratio_linking"] = table.loc[tools, "total_s"] / ours
        table.loc[tools, "ratio_end_to_end"] = table.loc[tools, "total_s"] / (ours + 2 * n * per_record)
    return table


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return dict(cpu=cpu, cores=os.cpu_count(), usable_cores=len(os.sched_getaffinity(0)), ram_gib=mem_kb / 2**20,
                python=platform.python_version(), os=platform.platform())


def versions() -> dict:
    out = {}
    for label, dists in LIBRARIES.items():
        for dist in dists:
            try:
                out[label] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
        out.setdefault(label, "not installed")
    return out


def _fmt(x, digits=1):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:,.{digits}f}"


def goal_verdict(table: pd.DataFrame, settings: dict, load_start: float) -> str:
    goal = settings["goal"]
    head = (f"Goal: link {goal['n']:,} queries against {goal['n']:,} references within {goal['seconds'] / 60:g} "
            f"minutes, index build included, at recall@1 >= {goal['recall_at_1']} against exact search, on a quiet "
            f"machine (1-minute load average below 1.5 at the start: {load_start:.2f} here")
    chosen = table[table.chosen & (table.n == goal["n"])]
    if chosen.empty:
        rows = table[(table.n == goal["n"]) & table.method.str.startswith(FAISS_PREFIX)]
        return f"{head}): " + ("NOT MEASURED." if rows.empty else "**FAIL**: no index reached the recall target.")
    row = chosen.iloc[0]
    ok = row.total_s <= goal["seconds"] and load_start < 1.5
    return (f"{head}): {row.method} ({row.params}) took {row.total_s / 60:.1f} min (build {row.build_s:.0f} s, "
            f"tuning {row.tune_s:.0f} s, search {row.search_s:.0f} s) at recall@1 {row.recall_at_1:.4f}: "
            f"**{'PASS' if ok else 'FAIL'}**" + ("" if load_start < 1.5 else " (the machine was not quiet)") + ".")


def _linking_lines(table: pd.DataFrame) -> list[str]:
    lines = ["| method | n | build s | tune s | search s | total s | CPU s | status | recall@1 vs exact | top-1 = "
             "source | peak RSS MB | parameters |", "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|"]
    link = table[table.task == "linking"]
    for row in link.itertuples():
        name = f"**{row.method}**" if row.chosen is True else row.method
        lines.append(f"| {name} | {row.n:,} | {_fmt(row.build_s)} | {_fmt(row.tune_s)} | {_fmt(row.search_s)} | "
                     f"{_fmt(row.total_s)} | {_fmt(row.cpu_s)} | {row.status} | {_fmt(row.recall_at_1, 4)} | "
                     f"{_fmt(row.top1_is_source, 3)} | {_fmt(row.peak_rss_mb, 0)} | {row.params} |")
    return lines


def _side_by_side_lines(table: pd.DataFrame) -> list[str]:
    per_record = embedding_seconds_per_record(table)
    lines = ["| n | ours: index | ours: linking s | ours: embedding 2n records s | tool | tool s (status) | ratio "
             "linking alone | ratio end to end |", "|---:|---|---:|---:|---|---:|---:|---:|"]
    for row in table[table.ratio_linking.notna()].itertuples():
        ours = table[table.chosen & (table.n == row.n)].iloc[0]
        lines.append(f"| {row.n:,} | {ours.method} | {_fmt(ours.total_s)} | {_fmt(2 * row.n * per_record, 0)} | "
                     f"{row.method} | {_fmt(row.total_s)} ({row.status}) | {_fmt(row.ratio_linking, 1)} | "
                     f"{_fmt(row.ratio_end_to_end, 2)} |")
    return lines


def write_markdown(path: Path, table: pd.DataFrame, settings: dict, info: dict) -> None:
    m, emb = info["machine"], settings["embeddings"]
    load_start = ", ".join(f"{x:.2f}" for x in info["load_start"])
    load_end = ", ".join(f"{x:.2f}" for x in info["load_end"])
    lines = [
        "# Scaling benchmark", "",
        f"Generated by `{info['command']}` on {info['date']} in {info['wall_min']:.1f} min; settings "
        "`bench/scaling.yaml`. A documented target, not a test.", "",
        "## Machine", "",
        f"- CPU: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), RAM {m['ram_gib']:.1f} GiB, "
        f"{'a CUDA GPU (embedding only)' if info['cuda'] else 'no GPU'}; {m['os']}, Python {m['python']}",
        "- Libraries: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()),
        f"- Load average (1, 5, 15 min) at the start {load_start}, at the end {load_end}.",
        f"- Threads per measurement: {info['threads']}; every measurement ran in a fresh spawned process; peak RSS is "
        "that process's VmHWM, its data included (10^6 references and 10^6 queries of 128 float32 are 1 GB).", "",
        "## Goal", "", goal_verdict(table, settings, info["load_start"][0]), "",
        "## Linking", "",
        "Each FAISS index is built (training included), its search parameter tuned on "
        f"{settings['exact']['tune_queries']:,} queries (the smallest grid value reaching recall@1 "
        f"{settings['goal']['recall_at_1']} + {settings['recall_margin']}), then every query is searched; recall@1 "
        f"against exact search on {settings['exact']['recall_queries']:,} other queries. **Bold**: the index chosen "
        "at that size (fastest at the recall target).", "", *_linking_lines(table), "",
        "## Side by side with the string tools", "",
        "Ratio linking alone: the tool's time (its vectorizing included) over our chosen index's. Ratio end to end: "
        f"the tool's time over our index's plus embedding all 2n records with the default encoder "
        f"({DEFAULT_ARCHITECTURE}, at its measured CPU throughput below, extrapolated linearly). OCR is not "
        "counted on either side: both read the same OCR text (its throughput is below).", "",
        *_side_by_side_lines(table), "",
        "## Embedding and OCR throughput", "",
        "| step | records | throughput | CPU s | peak RSS MB | workers' peak RSS MB | parameters | note |",
        "|---|---:|---|---:|---:|---:|---|---|"]
    for row in table[table.task != "linking"].itertuples():
        rate = f"{row.throughput:,.1f} {row.throughput_unit}" if row.status == "measured" else row.status
        lines.append(f"| {row.method} | {_fmt(row.n, 0)} | {rate} | {_fmt(row.cpu_s)} | {_fmt(row.peak_rss_mb, 0)} | "
                     f"{_fmt(row.peak_rss_workers_mb, 0)} | {row.params} | {row.note} |")
    lines += [
        "", "## How the data were made", "",
        f"- Embeddings: {emb['dim']} dimensions, L2-normalised float32, regenerated from seed {emb['seed']} in each "
        f"process: families of {emb['cluster_size']} references around a centre (spread {emb['reference_spread']}), "
        f"each query a noisy copy of one reference (noise {emb['query_noise']} x exp({emb['query_noise_sigma']} z)), "
        f"variance spectrum decaying over {emb['spectrum_decay']:g} dimensions. Calibrated once against the default "
        "model's real test embeddings (best and second-best similarity, and their gap): "
        "[scaling_calibration.md](scaling_calibration.md).",
        "- Strings: generator firm names with legal forms, queries with legal-form variants and old character "
        "forms, then character substitutions, drops and insertions at the default run's Tesseract error rates "
        f"(CER {', '.join(f'{k} {v}' for k, v in __import__('scaling_data').OCR_CER.items())}).",
        "- Embedding throughput: each shipped architecture on real records of the default run where one trained it "
        "(its dataset's manifest, OCR text from the manifest), else built with random weights on generator crops "
        "(the cost does not depend on the weights).", "",
        "## Notes", "",
        "- Exact search beyond the sample sizes is timed on the tuning and recall samples and scaled linearly.",
        f"- An index whose build, tuning and tuned search (projected) would take more than {settings['skip_factor']:g}"
        " x the goal's rate (scaled to n), or which did not reach the recall target on the tuning queries, was not "
        "searched in full: its row is projected from the tuning run and labelled so.",
        f"- String tools are measured while a quadratic fit predicts at most {settings['strings']['budget_s']:g} s "
        "and extrapolated beyond (rows labelled so); rapidfuzz works in blocks of queries, sparse_dot_topn in "
        "blocks of 50,000, so memory stays bounded.", ""]
    path.write_text("\n".join(lines))


def write_figure(path: Path, table: pd.DataFrame, settings: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    link = table[table.task == "linking"]
    per_record = embedding_seconds_per_record(table)
    fig, (ax_time, ax_mem) = plt.subplots(1, 2, figsize=(12, 4.6))
    for (method, rows), colour in zip(link.groupby("method", sort=False), plt.rcParams["axes.prop_cycle"]):
        colour = colour["color"]
        measured = rows[rows.status == "measured"]
        other = rows[rows.status != "measured"]
        ax_time.plot(rows.n, rows.total_s, color=colour, alpha=0.35, linestyle=":")
        ax_time.plot(measured.n, measured.total_s, "o-", color=colour, label=method)
        if len(other):
            ax_time.plot(other.n, other.total_s, "o", color=colour, markerfacecolor="none")
        ax_mem.plot(measured.n, measured.peak_rss_mb, "o-", color=colour, label=method)
    if not math.isnan(per_record):
        sizes = np.array(sorted(link.n.unique()), float)
        ax_time.plot(sizes, 2 * sizes * per_record, "k--", linewidth=1, label="embedding 2n records (CPU)")
    ax_time.axhline(settings["goal"]["seconds"], color="grey", linestyle="--", linewidth=1)
    ax_time.text(link.n.min(), settings["goal"]["seconds"] * 1.2, "goal: 10 min", color="grey", fontsize=8)
    ax_time.set(xscale="log", yscale="log", xlabel="references n (= queries)", ylabel="seconds",
                title="Linking n queries against n references\n(filled: measured; hollow: extrapolated / projected)")
    ax_mem.set(xscale="log", yscale="log", xlabel="references n (= queries)", ylabel="peak RSS (MB)",
               title="Peak memory of the measured runs")
    for ax in (ax_time, ax_mem):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
