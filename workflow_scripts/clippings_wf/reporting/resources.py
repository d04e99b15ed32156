"""Measured peak memory per rule (Snakemake's benchmark: files) against the mem_mb each rule declares."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def rule_of(benchmark_stem: str, rules) -> str | None:
    """The rule a benchmark file belongs to: the longest rule name its stem starts with (rule_wildcard.tsv)."""
    matches = [r for r in rules if benchmark_stem == r or benchmark_stem.startswith(r + "_")]
    return max(matches, key=len) if matches else None


def memory_table(benchmark_dir, declared_mem_mb: dict[str, int], margin: float = 1.5) -> pd.DataFrame:
    """One row per benchmarked job: its wall time, peak RSS (max_rss, MB, the whole process tree), the rule's
    declared mem_mb, headroom = declared / peak, and whether the declaration covers the peak with ``margin``."""
    rows = []
    for path in sorted(Path(benchmark_dir).glob("*.tsv")):
        bench = pd.read_csv(path, sep="\t")
        rule = rule_of(path.stem, declared_mem_mb)
        declared = declared_mem_mb.get(rule) if rule else None
        peak = float(bench["max_rss"].max())
        rows.append({
            "job": path.stem, "rule": rule or "", "wall_s": round(float(bench["s"].max()), 1),
            "max_rss_mb": round(peak, 1), "mem_mb_declared": declared,
            "headroom": round(declared / peak, 2) if declared and peak > 0 else float("nan"),
            "within": bool(declared and peak <= declared), "margin_ok": bool(declared and peak * margin <= declared),
        })  # fmt: skip
    columns = ["job", "rule", "wall_s", "max_rss_mb", "mem_mb_declared", "headroom", "within", "margin_ok"]
    return pd.DataFrame(rows, columns=columns)


def to_markdown(table: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"
