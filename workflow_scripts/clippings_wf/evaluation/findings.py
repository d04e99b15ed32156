"""The paper's five findings, each tested as a paired top-1 difference on Tesseract's noisy OCR.

A finding ``holds`` only where the 95% paired bootstrap interval of (method - compared) lies above zero (test
entities resampled, the same for both methods); it is ``reversed`` where the interval lies below zero, and ``not
shown`` otherwise. A finding whose methods did not run (config may drop a variant) is skipped and named in the
footer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from clippings_wf.evaluation import intervals
from clippings_wf.reporting.tables import CLASSICAL_DISPLAY_NAMES, display_name

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


def best_classical(top1: Mapping[str, float]) -> str | None:
    """The best string-matching baseline: the highest of ``top1`` (baseline -> top-1 on one OCR condition, method
    keys or display names; NaN: did not run), a tie going to the first in the main table's order (that of
    tables.CLASSICAL_DISPLAY_NAMES, then any other baseline in the given order). None if none ran. The main
    table's best_* flags, the findings and the seed repeats all pick it here."""
    rank = {name: i for i, item in enumerate(CLASSICAL_DISPLAY_NAMES.items()) for name in item}
    ran = sorted((m for m in top1 if not pd.isna(top1[m])), key=lambda m: rank.get(m, len(rank)))  # stable
    return max(ran, key=lambda m: top1[m]) if ran else None  # max keeps the first of tied ones


def resolve_compared(compared, top1: Mapping[str, float], classical: Iterable[str] = ()) -> str | None:
    """The method a finding's ``compared`` (FINDINGS) resolves to, or None where it did not run: the best
    classical baseline among ``classical``, the better member of a tuple (every member must have run; a tie
    goes to the first listed), or the named method. ``top1``: method key -> top-1 of every method that ran on the
    finding's OCR condition."""
    if compared == BEST_CLASSICAL:
        return best_classical({m: top1[m] for m in classical if m in top1})
    if isinstance(compared, tuple):
        return max(compared, key=lambda m: top1[m]) if all(m in top1 for m in compared) else None
    return compared if compared in top1 else None


def findings_table(hits: pd.DataFrame, ocr: str = "noisy", n_boot: int = intervals.N_BOOT,
                   seed: int = intervals.SEED) -> pd.DataFrame:  # fmt: skip
    """One row per finding whose methods ran: finding, claim, method, compared_with (display names), their top-1,
    gain_pts (method - compared, points) with its paired bootstrap interval over the test entities of the shared
    queries, n_queries and verdict. ``hits``: ``top1_intervals.read_hits`` (method keys, ocr, query_id,
    entity_id, hit, group)."""
    on_ocr = hits[hits["ocr"] == ocr]
    by_method = {m: part.set_index("query_id")[["hit", "entity_id"]]
                 for m, part in on_ocr.groupby("method", sort=False)}  # fmt: skip
    top1 = {m: float(part["hit"].mean()) for m, part in by_method.items()}
    classical = dict.fromkeys(on_ocr.loc[on_ocr["group"] == "classical", "method"])
    rows, skipped = [], []
    for finding, claim, method, compared in FINDINGS:
        other = resolve_compared(compared, top1, classical)
        if method not in by_method or other is None:
            skipped.append(finding)
            continue
        pair = by_method[method].join(by_method[other]["hit"].rename("other"), how="inner")
        a, b = pair["hit"].to_numpy(float), pair["other"].to_numpy(float)
        diff, low, high = intervals.paired_bootstrap_diff(a, b, pair["entity_id"].to_numpy(), n_boot, seed)
        rows.append({
            "finding": finding, "claim": claim, "method": display_name(method), "compared_with": display_name(other),
            "top1_method": float(a.mean()), "top1_compared": float(b.mean()), "gain_pts": 100.0 * diff,
            "gain_pts_low": 100.0 * low, "gain_pts_high": 100.0 * high, "n_queries": len(pair),
            "verdict": verdict(low, high),
        })  # fmt: skip
    columns = ["finding", "claim", "method", "compared_with", "top1_method", "top1_compared", "gain_pts",
               "gain_pts_low", "gain_pts_high", "n_queries", "verdict"]  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    footer = (
        f"Paired differences in top-1 on {ocr} OCR (Tesseract) over the same test queries, with 95% percentile"
        f" bootstrap intervals ({n_boot} resamples of the test entities, each with all its queries, the same"
        " entities for both methods); holds: the interval lies above zero, reversed: below zero, not shown: it"
        " contains zero."
    )
    if skipped:
        footer += f" Skipped (a method did not run): {', '.join(skipped)}."
    table.attrs["footer"] = footer
    return table


# F5's methods (from FINDINGS): how often each supervised unimodal model is right where the other is wrong.
_, _, COMPLEMENT_POOLED, COMPLEMENT_PAIR = next(f for f in FINDINGS if f[0] == "F5")


def complementarity_table(hits: pd.DataFrame) -> pd.DataFrame:
    """Per OCR condition, the shares of the test queries that Sup vision and Sup language both link correctly,
    only one of them, or neither; ``either`` (right where at least one is: what a per-query oracle choosing one
    tower's answer would reach) beside the pooled model's top-1. Pooling can only gain where the towers' errors
    differ, so ``language_only`` is the room F5 has on that condition. Empty where a model did not run."""
    columns = ["ocr", "n_queries", "both", "vision_only", "language_only", "neither", "top1_vision",
               "top1_language", "either", "top1_multimodal"]  # fmt: skip
    vision, language = COMPLEMENT_PAIR
    rows = []
    for ocr, part in hits[hits["group"] == "model"].groupby("ocr", sort=False):
        wide = part.pivot_table(index="query_id", columns="method", values="hit", aggfunc="first")
        if not {vision, language, COMPLEMENT_POOLED} <= set(wide.columns):
            continue
        v, t = wide[vision].astype(bool), wide[language].astype(bool)
        rows.append({
            "ocr": ocr, "n_queries": len(wide), "both": (v & t).mean(), "vision_only": (v & ~t).mean(),
            "language_only": (~v & t).mean(), "neither": (~v & ~t).mean(), "top1_vision": v.mean(),
            "top1_language": t.mean(), "either": (v | t).mean(),
            "top1_multimodal": wide[COMPLEMENT_POOLED].astype(bool).mean(),
        })  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    table.attrs["footer"] = (
        "Shares of the test queries linked correctly by Sup vision and Sup language (both, only one, neither). "
        "either: right where at least one of the two is, what a per-query choice of one tower's answer could "
        "reach; the pooled embedding gains over Sup vision mainly where only language is right."
    )
    return table
