"""Result charts for the report: main results bars, training curves, no-match thresholds, clustering.

Every function writes ``path_stem.png`` and ``path_stem.pdf`` and returns the two paths.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from clippings_wf.records import OCR_CONDITIONS
from clippings_wf.reporting.figures import plt, save_figure
from clippings_wf.reporting.tables import display_name, ocr_label

# One colour per OCR condition, the same in every figure.
OCR_COLORS = {"noisy": "#d62728", "clean": "#1f77b4", "modern": "#2ca02c"}


def _bar_offsets(n: int, group_width: float = 0.76) -> tuple[np.ndarray, float]:
    """x offsets and width of ``n`` bars side by side in a group (two conditions: -0.19, +0.19, width 0.38)."""
    width = group_width / max(n, 1)
    return (np.arange(n) - (n - 1) / 2) * width, width


def plot_main_results(table: pd.DataFrame, path_stem) -> list[Path]:
    """Grouped bars of top-1 per method, one bar per OCR condition, paper numbers as black ticks where known.

    ``table`` is ``tables.main_results_table`` output (method, top1_X and, for noisy and clean, paper_X).
    """
    methods = list(table["method"])
    conditions = [c for c in OCR_CONDITIONS if f"top1_{c}" in table]
    x = np.arange(len(methods))
    offsets, width = _bar_offsets(len(conditions))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(conditions) * len(methods) + 2), 4))
    paper_labelled = False
    for offset, ocr in zip(offsets, conditions):
        values = table[f"top1_{ocr}"].to_numpy(dtype=float)
        ax.bar(x + offset, np.nan_to_num(values), width, label=ocr_label(ocr), color=OCR_COLORS.get(ocr))
        paper = table.get(f"paper_{ocr}")
        if paper is not None and paper.notna().any():
            ax.scatter(
                x + offset,
                paper.to_numpy(dtype=float),
                marker="_",
                s=300 * (width / 0.38) ** 2,
                color="black",
                zorder=3,
                label=None if paper_labelled else "paper",
            )  # ticks as wide as the bars
            paper_labelled = True
    ax.set_xticks(x, methods, rotation=30, ha="right")
    ax.set_ylabel("top-1 accuracy")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return save_figure(fig, path_stem)


def plot_training_curves(metrics_csvs: Mapping[str, str | Path], path_stem) -> list[Path]:
    """Loss (and validation top-1 where logged) against step, or epoch if there is no step column.

    ``metrics_csvs`` maps a stage name (e.g. "warmup_vision") to a CSV with columns step|epoch, loss[, val_top1].
    """
    frames = {name: pd.read_csv(path) for name, path in metrics_csvs.items()}
    has_val = any("val_top1" in f and f["val_top1"].notna().any() for f in frames.values())
    fig, axes = plt.subplots(1, 2 if has_val else 1, figsize=(10 if has_val else 5.5, 3.5), squeeze=False)
    for name, frame in frames.items():
        x = "step" if "step" in frame else "epoch"
        if "loss" in frame:
            axes[0, 0].plot(frame[x], frame["loss"], label=name)
        if has_val and "val_top1" in frame:
            val = frame.dropna(subset=["val_top1"])
            axes[0, 1].plot(val[x], val["val_top1"], marker="o", label=name)
    axes[0, 0].set_xlabel("step / epoch")
    axes[0, 0].set_ylabel("training loss")
    axes[0, 0].legend(fontsize=7)
    if has_val:
        axes[0, 1].set_xlabel("step / epoch")
        axes[0, 1].set_ylabel("validation top-1")
        axes[0, 1].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path_stem)


def plot_nomatch_thresholds(curves: pd.DataFrame, thresholds: pd.DataFrame, methods: Sequence[str],
                            path_stem) -> list[Path]:  # fmt: skip
    """Overall no-match accuracy against the threshold, val dashed and test solid, one panel per OCR condition;
    a dot marks each method's threshold tuned on val. ``curves``: method, ocr, split, threshold, accuracy."""
    conditions = [o for o in OCR_CONDITIONS if o in set(curves["ocr"])]
    fig, axes = plt.subplots(1, len(conditions), figsize=(5.5 * len(conditions), 4), sharey=True, squeeze=False)
    for ax, ocr in zip(axes[0], conditions):
        for i, method in enumerate(methods):
            color = f"C{i}"
            for split, style in (("val", "--"), ("test", "-")):
                part = curves[(curves["method"] == method) & (curves["ocr"] == ocr) & (curves["split"] == split)]
                ax.plot(part["threshold"], part["accuracy"], style, color=color,
                        label=display_name(method) if split == "test" else None)  # fmt: skip
            tuned = thresholds[(thresholds["method"] == method) & (thresholds["ocr"] == ocr)]
            if len(tuned):
                test = curves[(curves["method"] == method) & (curves["ocr"] == ocr) & (curves["split"] == "test")]
                t = float(tuned["threshold"].iloc[0])
                ax.plot([t], [np.interp(t, test["threshold"], test["accuracy"])], "o", color=color)
        ax.set_title(f"{ocr_label(ocr)} (dashed: val, solid: test)", fontsize=9)
        ax.set_xlabel("similarity threshold (match when above)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("overall accuracy (abstaining on a no-match query is correct)")
    axes[0][0].set_ylim(0, 1)
    axes[0][-1].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return save_figure(fig, path_stem)


def plot_clustering(table: pd.DataFrame, curves: pd.DataFrame, methods: Sequence[str], path_stem) -> list[Path]:
    """Left: test ARI per method, one bar per OCR condition. Right: validation ARI against the single-linkage
    threshold for a few methods on the first OCR condition (noisy). ``table``: method (display name), ocr, ari;
    ``curves``: method key, ocr, threshold, ari."""
    fig, (bars, lines) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [1.4, 1]})
    names = list(dict.fromkeys(table["method"]))
    x = np.arange(len(names))
    conditions = [o for o in OCR_CONDITIONS if o in set(table["ocr"])]
    offsets, width = _bar_offsets(len(conditions))
    for offset, ocr in zip(offsets, conditions):
        values = table[table["ocr"] == ocr].set_index("method")["ari"].reindex(names).to_numpy(dtype=float)
        bars.bar(x + offset, np.nan_to_num(values), width, label=ocr_label(ocr), color=OCR_COLORS.get(ocr))
    bars.set_xticks(x, names, rotation=30, ha="right")
    bars.set_ylabel("adjusted Rand index (test)")
    bars.set_ylim(min(0.0, float(np.nanmin(table["ari"])) - 0.05), 1)
    bars.grid(axis="y", alpha=0.3)
    bars.legend(fontsize=8, loc="upper left")
    first = OCR_CONDITIONS[0]  # noisy, the paper's headline condition
    for i, method in enumerate(methods):
        part = curves[(curves["method"] == method) & (curves["ocr"] == first)]
        lines.plot(part["threshold"], part["ari"], color=f"C{i}", label=display_name(method))
    lines.set_xlabel("similarity threshold (single linkage cut)")
    lines.set_ylabel(f"adjusted Rand index (val, {ocr_label(first)})")
    lines.grid(alpha=0.3)
    lines.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return save_figure(fig, path_stem)
