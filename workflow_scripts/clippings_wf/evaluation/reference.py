"""Compare a run's main table with the committed reference copy of the default run (results/reference/).

A value agrees with the reference when this run's 95% interval and the reference's overlap. Overlap, not "the
reference value lies inside this run's interval": both runs estimate top-1 on test sets of the same size with the
same sampling noise, so treating the reference as exact would flag about one value in six between two equally
good runs (their difference has sqrt(2) times the spread of either), a dozen false alarms over a table; overlap
flags a difference beyond about 2.8 of its standard deviations, and reads the same whichever run is the reference.
Where the reference has no interval columns (committed before they existed) the old fixed tolerance is used, and
the report says so. A method on one side only is counted and named: the comparison never reads "all agree" over a
missing row. Rows renamed since a reference was committed are read under their current name (RENAMED).
"""

import pandas as pd

from clippings_wf.records import OCR_CONDITIONS

COMPARED = tuple(f"top1_{c}" for c in OCR_CONDITIONS)
# Old reference row names -> the names the main table prints now.
RENAMED = {"Unimodally pretrained ViT": "Sup vision, no image-OCR alignment"}


def _bounds(row: dict, column: str, suffix: str = "") -> tuple[float, float] | None:
    low, high = row.get(f"{column}_low{suffix}"), row.get(f"{column}_high{suffix}")
    return None if low is None or high is None or pd.isna(low) or pd.isna(high) else (low, high)


def compare_with_reference(current: pd.DataFrame, reference: pd.DataFrame, tolerance: float) -> str:
    """A Markdown report: each method's top-1 now and in the reference, flagged where their 95% intervals do not
    overlap, or, where either side has no interval, where they differ by more than ``tolerance``. Methods
    present on one side only are listed, counted in the result and named under it. Every OCR condition of this
    run is compared; one the reference lacks (made before the modern recognizer) reads n/a."""
    compared = [c for c in COMPARED if c in current]
    # Suffix every reference column, so that a column only one side has is never taken for the other's.
    reference = reference.rename(columns=lambda c: c if c == "method" else f"{c}_reference")
    reference = reference.assign(method=reference["method"].replace(RENAMED))
    merged = current.merge(reference, on="method", how="outer", indicator=True)
    lines = [
        "Comparison with the reference run: a value agrees when this run's 95% interval overlaps the reference's"
        f" (where either has none: when they differ by at most {tolerance:.3f} top-1).",
        "",
        "| Method | " + " | ".join(f"{c} now | reference | status" for c in compared) + " |",
        "|---|" + "---|---|---|" * len(compared),
    ]
    n_off, n_tolerance = 0, 0
    for row in merged.to_dict("records"):  # not itertuples: it renames ``_merge`` to a position
        cells = []
        for column in compared:
            now, ref = row.get(column), row.get(f"{column}_reference")
            mine, theirs = _bounds(row, column), _bounds(row, column, "_reference")
            if pd.isna(now) or pd.isna(ref):
                status = "missing" if row["_merge"] != "both" else "n/a"
            elif mine and theirs:
                status = "ok" if mine[0] <= theirs[1] and theirs[0] <= mine[1] else "DIFFERS"
            else:
                status = "ok (tolerance)" if abs(now - ref) <= tolerance else "DIFFERS (tolerance)"
                n_tolerance += 1
            n_off += status.startswith("DIFFERS")
            cells.append(f"{_fmt(now, mine)} | {_fmt(ref, theirs)} | {status}")
        lines.append(f"| {row['method']} | " + " | ".join(cells) + " |")
    only_now = merged.loc[merged["_merge"] == "left_only", "method"].tolist()
    only_reference = merged.loc[merged["_merge"] == "right_only", "method"].tolist()
    problems = [f"{n_off} value(s) disagree"] if n_off else []
    if only_now or only_reference:
        problems.append(f"{len(only_now) + len(only_reference)} method(s) missing on one side")
    notes = ["", f"Result: {'; '.join(problems) if problems else 'all agree'}."]
    if only_reference:
        notes += ["", f"Missing from this run: {', '.join(only_reference)}."]
    if only_now:
        notes += ["", f"Missing from the reference: {', '.join(only_now)}."]
    if n_tolerance:
        notes += ["", f"Note: {n_tolerance} value(s) judged by the fixed tolerance {tolerance:.3f}, not by interval:"
                  " the reference table (or this run's) has no interval columns; refresh results/reference/ from"
                  " a run that writes them."]  # fmt: skip
    return "\n".join(lines + notes + [""])


def _fmt(value, bounds=None) -> str:
    if pd.isna(value):
        return ""
    return f"{value:.3f}" + (f" [{bounds[0]:.3f}, {bounds[1]:.3f}]" if bounds else "")
