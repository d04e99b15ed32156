"""Any report table as CSV, Markdown and LaTeX (booktabs), with the same rounding and column names everywhere."""

import math
from pathlib import Path

import numpy as np
import pandas as pd

from clippings_wf.records import OCR_CONDITIONS
from clippings_wf.reporting.tables import PAPER_OCR_CONDITIONS, ocr_label
from clippings_wf.runtime import atomic
from clippings_wf.runtime.atomic import atomic_path

# A column's printed name; other columns get one made from their prefix (``_header``).
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
    "paper_ari": "Paper ARI",
    "sibling_top1": "Sibling top-1",
    "n_with_sibling": "Records with a sibling",
    "ari_method": "ARI method",
    "ari_compared": "ARI compared",
    "compared_with": "Compared with",
    # Findings table (clippings_wf.evaluation.findings).
    "gain_pts": "Difference (pts)",
    # Shift comparison (clippings_wf.evaluation.shift_comparison).
    "top1_noisy_in_distribution": "Top-1 noisy OCR, in distribution",
    "top1_noisy_shifted": "Top-1 noisy OCR, shifted",
    "gain_shift": "Change (pts)",
}


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
