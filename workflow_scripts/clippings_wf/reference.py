"""Compare a run's main table with the committed reference copy of the default run (results/reference/)."""

import pandas as pd

COMPARED = ("top1_noisy", "top1_clean")


def compare_with_reference(current: pd.DataFrame, reference: pd.DataFrame, tolerance: float) -> str:
    """A Markdown report: each method's top-1 now and in the reference, flagged where they differ by more than
    ``tolerance``. Methods present on one side only are listed too."""
    merged = current.merge(reference, on="method", how="outer", suffixes=("", "_reference"), indicator=True)
    lines = [
        f"Comparison with the reference run (tolerance {tolerance:.3f} top-1)",
        "",
        "| Method | " + " | ".join(f"{c} now | reference | status" for c in COMPARED) + " |",
        "|---|" + "---|---|---|" * len(COMPARED),
    ]
    n_off = 0
    for row in merged.itertuples(index=False):
        row = row._asdict()
        cells = []
        for column in COMPARED:
            now, ref = row.get(column), row.get(f"{column}_reference")
            if pd.isna(now) or pd.isna(ref):
                status = "missing" if row["_merge"] != "both" else "n/a"
            elif abs(now - ref) > tolerance:
                status = "DIFFERS"
                n_off += 1
            else:
                status = "ok"
            cells.append(f"{_fmt(now)} | {_fmt(ref)} | {status}")
        lines.append(f"| {row['method']} | " + " | ".join(cells) + " |")
    verdict = "all within tolerance" if n_off == 0 else f"{n_off} value(s) outside tolerance"
    return "\n".join(lines + ["", f"Result: {verdict}.", ""])


def _fmt(value) -> str:
    return "" if pd.isna(value) else f"{value:.3f}"
