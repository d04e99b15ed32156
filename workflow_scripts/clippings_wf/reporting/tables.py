"""The paper's main results table (top-1 per OCR condition) and its CSV / Markdown / LaTeX writers."""

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from clippings_wf.runtime import atomic
from clippings_wf.runtime.atomic import atomic_path
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

# The OCR conditions of the paper's numbers, in the order of PAPER_NUMBERS' pairs (no paper number for the others).
PAPER_OCR_CONDITIONS = ("noisy", "clean")
# An OCR condition as headers and figures name it.
OCR_LABELS = {"noisy": "noisy OCR", "clean": "clean OCR", "modern": "modern OCR (PP-OCR)"}


def ocr_label(condition: str) -> str:
    return OCR_LABELS.get(condition, f"{condition} OCR")


HEADERS = {
    "method": "Method",
    "group": "Group",
    **{f"top1_{c}": f"Top-1 {ocr_label(c)}" for c in OCR_CONDITIONS},  # Top-1 modern OCR (PP-OCR)
    **{f"paper_{c}": f"Paper {c}" for c in PAPER_OCR_CONDITIONS},
    **{f"gain_{c}": f"Gain {c} (pts)" for c in OCR_CONDITIONS},
    "role": "Records",
    **{f"cer_{c}": f"CER {ocr_label(c)}" for c in OCR_CONDITIONS},
    # No-match and clustering tables.
    "ocr": "OCR",
    "threshold": "Threshold",
    "val_accuracy": "Val accuracy",
    "accuracy": "Accuracy",
    "match_accuracy": "Match accuracy",
    "nomatch_precision": "No-match precision",
    "nomatch_recall": "No-match recall",
    "n_queries": "Queries",
    "n_nomatch": "No-match queries",
    "val_ari": "Val ARI",
    "ari": "ARI",
    "pair_precision": "Pair precision",
    "pair_recall": "Pair recall",
    "pair_f1": "Pair F1",
    "n_records": "Records",
    "n_clusters": "Clusters",
    "n_entities": "Entities",
    # Findings table (clippings_wf.evaluation.findings).
    "gain_pts": "Difference (pts)",
    # Shift comparison (clippings_wf.evaluation.shift_comparison).
    "top1_noisy_in_distribution": "Top-1 noisy OCR, in distribution",
    "top1_noisy_shifted": "Top-1 noisy OCR, shifted",
    "gain_shift": "Change (pts)",
}


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
    kept as a one-line footer in ``attrs["footer"]``, which ``write_table`` prints under the Markdown and LaTeX.
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


def cer_summary_table(cer: pd.DataFrame) -> pd.DataFrame:
    """CER rows pivoted to one row per role, columns cer_noisy/cer_clean (+ counts)."""
    cer = normalize_cer(cer)
    out = cer.pivot_table(index="role", columns="ocr", values="cer", aggfunc="first", sort=False)
    out.columns = [f"cer_{c}" for c in out.columns]
    counts = cer.groupby("role", sort=False)["n_records"].first()
    out["n_records"] = counts
    for ocr in cer["ocr"].unique():
        out[f"n_empty_{ocr}"] = cer[cer["ocr"] == ocr].set_index("role")["n_empty"]
    return out.reset_index()


def cer_footer(cer: pd.DataFrame) -> str:
    cer = normalize_cer(cer)
    if cer["cer"].isna().all():  # a manifest dataset without a text column
        return "OCR character error rate: not measured (no ground-truth text)."
    parts = [
        f"{r.role} {r.ocr} {r.cer:.3f}" + (f" ({int(r.n_empty)} empty)" if "n_empty" in cer and r.n_empty else "")
        for r in cer.itertuples()
    ]
    return "OCR character error rate: " + "; ".join(parts) + "."


def _format_cell(column: str, value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else ""
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "–"
        if column.startswith("gain_"):
            return f"{value:+.1f}"
        return f"{value:.3f}"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def _header(column: str) -> str:
    """A column's printed name: HEADERS, else one made from its prefix (top1_noisy_vertical: Top-1 noisy vertical)."""
    if column in HEADERS:
        return HEADERS[column]
    for prefix, label in (("top1_", "Top-1 "), ("gain_", "Gain "), ("n_", "Queries ")):
        if column.startswith(prefix):
            return label + column[len(prefix) :].replace("_", " ")
    return column.replace("_", " ").capitalize()


def _display_frame(df: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Text cells for Markdown/LaTeX: flag columns ``best_X`` become bold on ``top1_X`` and are dropped; interval
    columns ``X_low`` / ``X_high`` join X's cell as ``0.774 [0.742, 0.806]`` (the CSV keeps them apart)."""
    flags = {c[len("best_") :]: c for c in df.columns if c.startswith("best_")}
    bounds = {c: (f"{c}_low", f"{c}_high") for c in df.columns if f"{c}_low" in df and f"{c}_high" in df}
    joined = {b for pair in bounds.values() for b in pair}
    columns = [c for c in df.columns if not c.startswith("best_") and c != "group" and c not in joined]
    body = []
    for _, row in df.iterrows():
        cells = []
        for column in columns:
            text = _format_cell(column, row[column])
            if column in bounds and not pd.isna(row[column]) and not pd.isna(row[bounds[column][0]]):
                low, high = (_format_cell(column, row[b]) for b in bounds[column])
                text = f"{text} [{low}, {high}]"
            target = column[len("top1_") :] if column.startswith("top1_") else None
            cells.append((text, bool(target in flags and row[flags[target]])))
        body.append(cells)
    return [_header(c) for c in columns], body


_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}  # fmt: skip


def tex_escape(text: str) -> str:
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in text).replace("–", "--")


def to_markdown(df: pd.DataFrame) -> str:
    headers, body = _display_frame(df)
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|",
    ]
    for cells in body:
        lines.append("| " + " | ".join(f"**{t}**" if bold else t.replace("|", r"\|") for t, bold in cells) + " |")
    if df.attrs.get("footer"):
        lines += ["", df.attrs["footer"]]
    return "\n".join(lines) + "\n"


def to_latex(df: pd.DataFrame) -> str:
    headers, body = _display_frame(df)
    lines = [r"\begin{tabular}{l" + "r" * (len(headers) - 1) + "}", r"\toprule",
             " & ".join(tex_escape(h) for h in headers) + r" \\", r"\midrule"]  # fmt: skip
    for cells in body:
        lines.append(
            " & ".join(rf"\textbf{{{tex_escape(t)}}}" if bold else tex_escape(t) for t, bold in cells) + r" \\"
        )
    lines.append(r"\bottomrule")
    if df.attrs.get("footer"):
        lines.append(rf"\multicolumn{{{len(headers)}}}{{l}}{{\footnotesize {tex_escape(df.attrs['footer'])}}} \\")
    lines.append(r"\end{tabular}")
    return "\n".join(lines) + "\n"


def write_table(df: pd.DataFrame, stem: str | Path) -> list[Path]:
    """Write ``stem.csv`` (all columns, best_* flags as booleans), ``stem.md`` and ``stem.tex`` (booktabs).

    Numbers are rounded the same way everywhere (top-1/CER 3 decimals, gains 1 decimal) so reruns give
    byte-identical files.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv = df.copy()
    for column in csv.columns:
        if pd.api.types.is_float_dtype(csv[column]):
            csv[column] = csv[column].round(1 if column.startswith("gain_") else 3)
    paths = [stem.with_suffix(".csv"), stem.with_suffix(".md"), stem.with_suffix(".tex")]
    with atomic_path(paths[0]) as tmp:
        csv.to_csv(tmp, index=False, lineterminator="\n")
    atomic.write_text(paths[1], to_markdown(df))
    atomic.write_text(paths[2], to_latex(df))
    return paths


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
