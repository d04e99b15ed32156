"""The paper's five findings, each tested as a paired top-1 difference on Tesseract's noisy OCR.

A finding ``holds`` only where the 95% paired bootstrap interval of (method - compared) lies above zero; it is
``reversed`` where the interval lies below zero, and ``not shown`` otherwise. A finding whose methods did not run
(config may drop a variant) is skipped and named in the footer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import intervals
from .tables import CLASSICAL_DISPLAY_NAMES, display_name

BEST_CLASSICAL = "best classical baseline"
# (id, claim, method, compared): compared is a method key, BEST_CLASSICAL, or a tuple whose better member (top-1
# on the same OCR) is compared (every member must have run).
FINDINGS = [
    ("F1", "Supervised multimodal beats the best string-matching baseline", "sup_multimodal", BEST_CLASSICAL),
    ("F2", "Self-supervised multimodal beats the best string-matching baseline", "selfsup_multimodal", BEST_CLASSICAL),
    ("F3", "Supervised vision-only beats supervised language-only", "sup_vision", "sup_language"),
    ("F4", "Image-OCR alignment makes the vision-only model better than the same encoder without it", "sup_vision",
     "sup_unimodal_vision"),
    ("F5", "Supervised multimodal beats the better supervised unimodal model", "sup_multimodal",
     ("sup_vision", "sup_language")),
]  # fmt: skip


def verdict(low: float, high: float) -> str:
    """holds: the interval is above zero; reversed: below zero; not shown: it contains zero (or is missing)."""
    if low > 0:
        return "holds"
    if high < 0:
        return "reversed"
    return "not shown"


def _best(hits: dict[str, pd.Series], candidates: list[str]) -> str | None:
    """The candidate with the highest top-1 (the first of tied ones), or None if none ran."""
    present = [m for m in candidates if m in hits]
    if not present:
        return None
    return present[int(np.argmax([hits[m].mean() for m in present]))]


def findings_table(hits: pd.DataFrame, ocr: str = "noisy", n_boot: int = intervals.N_BOOT,
                   seed: int = intervals.SEED) -> pd.DataFrame:  # fmt: skip
    """One row per finding whose methods ran: finding, claim, method, compared_with (display names), their top-1,
    gain_pts (method - compared, points) with its paired bootstrap interval over the shared test queries,
    n_queries and verdict. ``hits``: ``top1_intervals.read_hits`` (method keys, ocr, query_id, hit, group)."""
    on_ocr = hits[hits["ocr"] == ocr]
    by_method = {m: part.set_index("query_id")["hit"].astype(float) for m, part in on_ocr.groupby("method", sort=False)}
    classical = [m for m in CLASSICAL_DISPLAY_NAMES if m in set(on_ocr.loc[on_ocr["group"] == "classical", "method"])]
    classical += [m for m in dict.fromkeys(on_ocr.loc[on_ocr["group"] == "classical", "method"]) if m not in classical]
    rows, skipped = [], []
    for finding, claim, method, compared in FINDINGS:
        if compared == BEST_CLASSICAL:
            other = _best(by_method, classical)
        elif isinstance(compared, tuple):
            other = _best(by_method, list(compared)) if all(m in by_method for m in compared) else None
        else:
            other = compared if compared in by_method else None
        if method not in by_method or other is None:
            skipped.append(finding)
            continue
        a, b = by_method[method].align(by_method[other], join="inner")
        diff, low, high = intervals.paired_bootstrap_diff(a.to_numpy(), b.to_numpy(), n_boot, seed)
        rows.append({
            "finding": finding, "claim": claim, "method": display_name(method), "compared_with": display_name(other),
            "top1_method": float(a.mean()), "top1_compared": float(b.mean()), "gain_pts": 100.0 * diff,
            "gain_pts_low": 100.0 * low, "gain_pts_high": 100.0 * high, "n_queries": len(a),
            "verdict": verdict(low, high),
        })  # fmt: skip
    columns = ["finding", "claim", "method", "compared_with", "top1_method", "top1_compared", "gain_pts",
               "gain_pts_low", "gain_pts_high", "n_queries", "verdict"]  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    footer = (
        f"Paired differences in top-1 on {ocr} OCR (Tesseract) over the same test queries, with 95% percentile"
        f" bootstrap intervals ({n_boot} resamples of the queries); holds: the interval lies above zero,"
        " reversed: below zero, not shown: it contains zero."
    )
    if skipped:
        footer += f" Skipped (a method did not run): {', '.join(skipped)}."
    table.attrs["footer"] = footer
    return table
