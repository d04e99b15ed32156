"""Seed repeats: each learned row's top-1 over several training seeds on the same data (bench/seed_repeats.py).

A single run's differences between rows mix the effect of the method with the noise of one training seed; these
tables give each row's (and each finding's) spread over seeds, so that a difference can be read against it.
Everything is in percentage points: top-1 x 100, and differences of top-1 x 100.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from clippings_wf.evaluation.findings import BEST_CLASSICAL, FINDINGS, resolve_compared
from clippings_wf.reporting.tables import display_name


def stack_seeds(top1_by_seed: Mapping[int, pd.DataFrame]) -> pd.DataFrame:
    """One long frame (seed, method, ocr, top1) from each seed's linking/top1.csv (method, ocr, w, top1, val_top1)."""
    parts = [frame[["method", "ocr", "top1"]].assign(seed=int(seed)) for seed, frame in top1_by_seed.items()]
    if not parts:
        return pd.DataFrame(columns=["seed", "method", "ocr", "top1"])
    return pd.concat(parts, ignore_index=True)[["seed", "method", "ocr", "top1"]]


def spread(long: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """One row per key (in order of first appearance): seed_<s> for every seed, n_seeds (those that have the key),
    mean, sd (sample standard deviation, n - 1; NaN with one seed), min and max of ``value``."""
    seeds = sorted(long["seed"].unique())
    wide = long.pivot_table(index=keys, columns="seed", values=value, aggfunc="first", sort=False)
    wide = wide.reindex(columns=seeds)
    stats = pd.DataFrame({
        "n_seeds": wide.notna().sum(axis=1),
        "mean": wide.mean(axis=1),
        "sd": wide.std(axis=1, ddof=1),
        "min": wide.min(axis=1),
        "max": wide.max(axis=1),
    })  # fmt: skip
    wide.columns = [f"seed_{s}" for s in seeds]
    return pd.concat([stats, wide], axis=1).reset_index()


def finding_differences(long: pd.DataFrame, baselines: pd.DataFrame | None = None, ocr: str = "noisy") -> pd.DataFrame:
    """Per seed, each finding's difference in top-1 (method - compared) on ``ocr``, the compared method resolved as
    findings.resolve_compared does: a tuple compares with its better member in that seed, the best classical
    baseline (``baselines``: baselines/top1.csv) is the same in every seed (the data are fixed). A finding is left
    out of a seed where one of its methods did not run."""
    classical = {}
    if baselines is not None:
        on_ocr = baselines[baselines["ocr"] == ocr]
        on_ocr = on_ocr[on_ocr["group"] == "classical"] if "group" in on_ocr else on_ocr
        classical = dict(zip(on_ocr["method"], on_ocr["top1"]))
    rows = []
    for seed, part in long[long["ocr"] == ocr].groupby("seed", sort=True):
        top1 = classical | dict(zip(part["method"], part["top1"]))
        for finding, _claim, method, compared in FINDINGS:
            other = resolve_compared(compared, top1, classical)
            if method not in top1 or other is None:
                continue
            if compared == BEST_CLASSICAL:
                other_name = f"{BEST_CLASSICAL} ({display_name(other)})"
            elif isinstance(compared, tuple):  # one name whichever member wins a seed, so the seeds line up
                other_name = "better of " + " / ".join(display_name(m) for m in compared)
            else:
                other_name = display_name(other)
            rows.append({"seed": seed, "finding": finding, "method": display_name(method),
                         "compared_with": other_name, "ocr": ocr, "diff": top1[method] - top1[other]})  # fmt: skip
    return pd.DataFrame(rows, columns=["seed", "finding", "method", "compared_with", "ocr", "diff"])


def seeds_table(top1_by_seed: Mapping[int, pd.DataFrame], baselines: pd.DataFrame | None = None,
                findings_ocr: str = "noisy") -> pd.DataFrame:  # fmt: skip
    """The table of bench/seed_repeats.py: one row per learned row and OCR condition (kind ``top1``: top-1 in %),
    then one per finding (kind ``finding``: method - compared_with, in points), each with n_seeds, mean, sd, min, max
    and every seed's value."""
    long = stack_seeds(top1_by_seed).assign(top1=lambda d: 100.0 * d["top1"])
    methods = spread(long, ["method", "ocr"], "top1").rename(columns={"method": "name"})
    methods.insert(0, "kind", "top1")
    methods.insert(2, "compared_with", "")
    if baselines is not None:
        baselines = baselines.assign(top1=100.0 * baselines["top1"])
    diffs = finding_differences(long, baselines, findings_ocr)  # in points: every top-1 was scaled
    if diffs.empty:
        return methods
    findings = spread(diffs, ["finding", "method", "compared_with", "ocr"], "diff")
    findings = findings.assign(name=findings["finding"] + ": " + findings["method"]).drop(columns=["finding", "method"])
    findings.insert(0, "kind", "finding")
    return pd.concat([methods, findings[methods.columns]], ignore_index=True)


def _number(value: float, digits: int = 1) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _rows_markdown(table: pd.DataFrame, first: list[str]) -> list[str]:
    seed_columns = [c for c in table.columns if c.startswith("seed_")]
    headers = [c.replace("_", " ") for c in first + ["n", "mean", "sd", "min – max"] + seed_columns]
    aligns = ["---"] * len(first) + ["---:"] * (len(headers) - len(first))
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(aligns) + "|"]
    for row in table.itertuples(index=False):
        row = row._asdict()
        cells = [str(row[c]) for c in first] + [
            str(int(row["n_seeds"])), _number(row["mean"]), _number(row["sd"]),
            f"{_number(row['min'])} – {_number(row['max'])}",
        ] + [_number(row[c]) for c in seed_columns]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def to_markdown(table: pd.DataFrame, dataset: str, wall_times: pd.DataFrame | None = None, note: str = "") -> str:
    """seeds.md: the top-1 table, the findings' differences and the wall time of each seed's retraining
    (``wall_times``: seed, wall_s, cores, jobs and optionally resumed)."""
    top1 = table[table["kind"] == "top1"].assign(method=lambda d: d["name"].map(display_name))
    seeds = [c.removeprefix("seed_") for c in table.columns if c.startswith("seed_")]
    lines = [
        f"# Seed repeats: {dataset}",
        "",
        f"Top-1 (%) of each learned row retrained with training seeds {', '.join(seeds)} on the same data (benchmark, "
        "OCR, synthetic renders and vocabulary of the default run). sd: sample standard deviation over seeds "
        "(n - 1); n: seeds in which the row ran. Read a one-run difference between two rows against the spread of "
        "that difference over seeds (next section), not against the rows' own sd: rows trained from one seed share "
        "part of its noise.",
        "",
        *_rows_markdown(top1.rename(columns={"ocr": "OCR"}), ["method", "OCR"]),
    ]
    findings = table[table["kind"] == "finding"]
    if not findings.empty:
        lines += [
            "",
            "## The findings as differences (points), per seed",
            "",
            "Method minus compared top-1, as in findings.md (which adds the entity-bootstrap interval of one run); the "
            "string-matching baseline is the same in every seed.",
            "",
            *_rows_markdown(findings.rename(columns={"name": "finding", "ocr": "OCR"}),
                            ["finding", "compared_with", "OCR"]),
        ]  # fmt: skip
    if wall_times is not None and not wall_times.empty:
        lines += ["", "## Wall time per seed", "", "| seed | wall time | cores | jobs |", "|---:|---:|---:|---|"]
        for row in wall_times.itertuples(index=False):
            resumed = " (resumed: the last part only)" if getattr(row, "resumed", False) else ""
            lines.append(f"| {row.seed} | {row.wall_s / 60:.1f} min{resumed} | {row.cores} | {row.jobs} |")
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"
