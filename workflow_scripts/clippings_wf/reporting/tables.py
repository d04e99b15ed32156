"""The paper's main results table (top-1 per OCR condition), the per-method rows of the no-match and clustering
tables, and the names both print: method display names, OCR condition labels, the paper's numbers.

``clippings_wf.reporting.table_format`` writes any of these tables as CSV, Markdown and LaTeX.
"""

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from clippings_wf.records import OCR_CONDITIONS

# Method keys used by the workflow -> the names printed in tables and figures.
CLASSICAL_DISPLAY_NAMES = {
    "levenshtein": "Levenshtein",
    "stroke_ngram": "Stroke n-gram",
    "jaro_winkler": "Jaro-Winkler",
    "indel": "Indel ratio",
    "partial_ratio": "Partial ratio",
    "token_set_ratio": "Token-set ratio",
    "tfidf_char": "Char TF-IDF (n-grams tuned)",
    "jaccard_words": "Caption word Jaccard",
    "phash": "pHash (photo only)",
}
MODEL_DISPLAY_NAMES = {
    "selfsup_vision": "SelfSup vision",
    "selfsup_language": "SelfSup language",
    "selfsup_multimodal": "SelfSup multimodal",
    "sup_unimodal_vision": "Sup vision, no image-OCR alignment",
    "sup_vision": "Sup vision",
    "sup_language": "Sup language",
    "sup_multimodal": "Sup multimodal",
    "sup_multimodal_tuned_w": "Sup multimodal (w tuned on val)",
}
DISPLAY_NAMES = {**CLASSICAL_DISPLAY_NAMES, **MODEL_DISPLAY_NAMES}

# Paper (arXiv 2304.03464), Japanese firms, top-1 accuracy as (noisy OCR, clean OCR). Image-only models do not
# read OCR, so their single number stands in both columns. Methods the paper did not run are absent (NaN).
PAPER_NUMBERS: dict[str, tuple[float, float]] = {
    "Levenshtein": (0.630, 0.731),
    "Stroke n-gram": (0.689, 0.731),
    "SelfSup multimodal": (0.845, 0.849),
    "Sup vision, no image-OCR alignment": (0.878, 0.878),  # the paper: an ImageNet-pretrained ViT
    "Sup vision": (0.924, 0.924),
    "Sup language": (0.790, 0.882),
    "Sup multimodal": (0.937, 0.945),
}
# Paper, US newspaper photos clustered by wire source: ARI x 100 (keyed by method, as clustering_table takes them).
PAPER_NEWS_ARI: dict[str, float] = {"jaccard_words": 40.3, "sup_multimodal": 61.5}

# The OCR conditions of the paper's numbers, in the order of PAPER_NUMBERS' pairs (no paper number for the others).
PAPER_OCR_CONDITIONS = ("noisy", "clean")
# An OCR condition as headers and figures name it.
OCR_LABELS = {"noisy": "noisy OCR", "clean": "clean OCR", "modern": "modern OCR (PP-OCR)"}


def ocr_label(condition: str) -> str:
    return OCR_LABELS.get(condition, f"{condition} OCR")


def display_name(method: str) -> str:
    return DISPLAY_NAMES.get(method, method)


def main_results_table(
    rows: pd.DataFrame, cer: pd.DataFrame | None = None, paper_numbers: Mapping | None = None
) -> pd.DataFrame:
    """One row per method, the paper's layout.

    ``rows`` has columns method, ocr (an OCR_CONDITIONS name), top1 and optionally group ("classical" for string
    matching; missing group is inferred from the method key). ``cer``: ``metrics.ocr_cer_table`` output or ocr_quality.csv.
    Per OCR condition in ``rows`` (OCR_CONDITIONS order: noisy, clean, modern where present), returns columns
    top1_X, paper_X (noisy and clean only; absent when ``paper_numbers`` is empty: another dataset than the
    paper's), gain_X (points over the best classical baseline of that column) and best_X (that best baseline),
    after method and group.
    Classical rows come first in the paper's order, then the other rows in input order. The CER summary is
    kept as a one-line footer in ``attrs["footer"]``, which ``table_format.write_table`` prints under the Markdown
    and LaTeX.
    """
    paper_numbers = PAPER_NUMBERS if paper_numbers is None else paper_numbers
    rows = rows.copy()
    if "group" not in rows:
        rows["group"] = np.where(rows["method"].isin(list(CLASSICAL_DISPLAY_NAMES)), "classical", "model")
    rows["group"] = rows["group"].fillna("model")
    rows["method"] = rows["method"].map(display_name)
    wide = rows.pivot_table(index="method", columns="ocr", values="top1", aggfunc="first", sort=False)
    groups = rows.drop_duplicates("method").set_index("method")["group"]
    classical_order = [m for m in CLASSICAL_DISPLAY_NAMES.values() if m in wide.index]
    order = classical_order + [m for m in wide.index if m not in classical_order]
    table = pd.DataFrame({"method": order, "group": [groups[m] for m in order]})
    conditions = [c for c in OCR_CONDITIONS if c in wide.columns]
    for ocr in conditions:
        table[f"top1_{ocr}"] = [wide.at[m, ocr] for m in order]
    for ocr in [c for c in PAPER_OCR_CONDITIONS if c in conditions] if paper_numbers else ():  # none without numbers
        i = PAPER_OCR_CONDITIONS.index(ocr)
        table[f"paper_{ocr}"] = [
            float(paper_numbers[m][i]) if m in paper_numbers and paper_numbers[m][i] is not None else math.nan
            for m in order
        ]
    from clippings_wf.evaluation.findings import best_classical  # here: findings imports this module

    classical = table[table["group"] == "classical"]
    for ocr in conditions:
        # Exactly one baseline is marked per column, ties broken as the findings break them.
        best = best_classical(dict(zip(classical["method"], classical[f"top1_{ocr}"])))
        table[f"best_{ocr}"] = table["method"] == best
        best_top1 = table.loc[table[f"best_{ocr}"], f"top1_{ocr}"].max()  # NaN where no baseline ran
        table[f"gain_{ocr}"] = (table[f"top1_{ocr}"] - best_top1) * 100.0
    flags = [f"best_{ocr}" for ocr in conditions]
    table = table[[c for c in table.columns if c not in flags] + flags]
    if cer is not None and len(cer):
        table.attrs["footer"] = cer_footer(cer)
    return table


def normalize_cer(cer: pd.DataFrame) -> pd.DataFrame:
    """Accept both CER layouts: ``metrics.ocr_cer_table`` (role, ocr, cer, n_records, n_empty) and the OCR
    step's ocr_quality.csv (condition, role, n, cer, empty)."""
    return cer.rename(columns={"condition": "ocr", "n": "n_records", "empty": "n_empty"})


def cer_footer(cer: pd.DataFrame) -> str:
    cer = normalize_cer(cer)
    if cer["cer"].isna().all():  # a manifest dataset without a text column
        return "OCR character error rate: not measured (no ground-truth text)."
    parts = [
        f"{r.role} {r.ocr} {r.cer:.3f}" + (f" ({int(r.n_empty)} empty)" if "n_empty" in cer and r.n_empty else "")
        for r in cer.itertuples()
    ]
    return "OCR character error rate: " + "; ".join(parts) + "."


def method_rows_table(summary: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per (OCR condition, method) for the no-match and clustering tables: OCR_CONDITIONS order, classical
    baselines in the main table's order, then the models in input order; method keys become display names."""
    classical = list(CLASSICAL_DISPLAY_NAMES)
    models = [m for m in dict.fromkeys(summary["method"]) if m not in classical]
    order = {m: i for i, m in enumerate(classical + models)}
    table = summary.assign(
        _ocr=summary["ocr"].map({o: i for i, o in enumerate(OCR_CONDITIONS)}), _method=summary["method"].map(order)
    ).sort_values(["_ocr", "_method"], kind="stable")
    table = table.assign(method=table["method"].map(display_name))
    return table[["method", "group", "ocr", *columns]].reset_index(drop=True)
