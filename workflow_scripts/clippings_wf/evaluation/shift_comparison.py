"""An evaluation-only dataset's top-1 beside the top-1 of the dataset its models were trained on.

Both come from each dataset's main table (main_results.csv); the two sets of test queries differ, so the change is
a plain difference of two independent estimates, each shown with its own 95% interval where the tables have one.
"""

import pandas as pd


def _top1_columns(table: pd.DataFrame, column: str, suffix: str) -> pd.DataFrame:
    """method, group and ``column`` (with its _low/_high bounds where present), renamed column_suffix[_low|_high]."""
    kept = [c for c in (column, f"{column}_low", f"{column}_high") if c in table]
    renamed = {c: f"{column}_{suffix}" + c[len(column) :] for c in kept}
    return table[["method", "group", *kept]].rename(columns=renamed)


def shift_comparison_table(in_distribution: pd.DataFrame, shifted: pd.DataFrame, in_name: str, shifted_name: str,
                           ocr: str = "noisy") -> pd.DataFrame:
    """One row per method of either main table: top-1 on ``ocr`` OCR in distribution and shifted, and the change
    ``gain_shift`` in points (shifted minus in distribution). Rows keep the in-distribution table's order; a
    method only one table has gets "–" in the other. The footer names both datasets."""
    column = f"top1_{ocr}"
    left = _top1_columns(in_distribution, column, "in_distribution")
    right = _top1_columns(shifted, column, "shifted")
    order = list(left["method"]) + [m for m in right["method"] if m not in set(left["method"])]
    table = left.merge(right.drop(columns="group"), on="method", how="outer").set_index("method")
    table["group"] = table["group"].fillna(right.set_index("method")["group"])
    table = table.loc[order].reset_index()
    table["gain_shift"] = (table[f"{column}_shifted"] - table[f"{column}_in_distribution"]) * 100.0
    table.attrs["footer"] = (
        f"Top-1 on {ocr} OCR over each dataset's own test queries: in distribution `{in_name}` (where the models "
        f"were trained), shifted `{shifted_name}` (evaluated only, with those models). Intervals: "
        "95% bootstrap over each set's test entities (each with all its queries); the change is shifted minus in"
        " distribution, in points."
    )
    return table
