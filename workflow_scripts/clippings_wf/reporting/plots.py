"""Figures for the report: results bars, example records, training curves, retrieval gallery, embedding map.

Every function writes ``path_stem.png`` and ``path_stem.pdf`` and returns the two paths.
"""

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from PIL import Image  # noqa: E402

from clippings_wf.records import OCR_CONDITIONS, ocr_conditions  # noqa: E402
from clippings_wf.evaluation.metrics import as_flags, as_text  # noqa: E402

log = logging.getLogger(__name__)

CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/vlgothic/VL-Gothic-Regular.ttf",
)


def use_cjk_font() -> str | None:
    """Register the first CJK font found so kanji/kana render instead of boxes; None if there is none."""
    for path in CJK_FONT_FILES:
        if Path(path).exists():
            font_manager.fontManager.addfont(path)
            name = font_manager.FontProperties(fname=path).get_name()
            plt.rcParams["font.family"] = [name, "DejaVu Sans"]
            return name
    log.warning("no CJK font found; Japanese text will render as boxes")
    return None


use_cjk_font()

# One colour per OCR condition, the same in every figure.
OCR_COLORS = {"noisy": "#d62728", "clean": "#1f77b4", "modern": "#2ca02c"}


def _bar_offsets(n: int, group_width: float = 0.76) -> tuple[np.ndarray, float]:
    """x offsets and width of ``n`` bars side by side in a group (two conditions: -0.19, +0.19, width 0.38)."""
    width = group_width / max(n, 1)
    return (np.arange(n) - (n - 1) / 2) * width, width


def _save(fig, path_stem) -> list[Path]:
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    # A fixed creation date keeps the PDF byte-identical across reruns.
    fig.savefig(paths[1], bbox_inches="tight", metadata={"CreationDate": None})
    plt.close(fig)
    return paths


def _resolve(path, manifest_dir) -> Path:
    path = Path(str(path))
    return path if path.is_absolute() else Path(manifest_dir) / path


def _load_crop(path, manifest_dir) -> np.ndarray:
    """Grayscale crop for display; a vertical (tall) crop is turned like the model sees it."""
    image = Image.open(_resolve(path, manifest_dir)).convert("L")
    if image.height > image.width:
        image = image.rotate(90, expand=True, fillcolor=255)
    return np.asarray(image)


def plot_main_results(table: pd.DataFrame, path_stem) -> list[Path]:
    """Grouped bars of top-1 per method, one bar per OCR condition, paper numbers as black ticks where known.

    ``table`` is ``tables.main_results_table`` output (method, top1_X and, for noisy and clean, paper_X).
    """
    from clippings_wf.reporting.tables import ocr_label

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
            ax.scatter(x + offset, paper.to_numpy(dtype=float), marker="_", s=300 * (width / 0.38) ** 2, color="black",
                       zorder=3, label=None if paper_labelled else "paper")  # ticks as wide as the bars
            paper_labelled = True
    ax.set_xticks(x, methods, rotation=30, ha="right")
    ax.set_ylabel("top-1 accuracy")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path_stem)


def plot_example_records(manifest: pd.DataFrame, manifest_dir, path_stem, n: int = 8, seed: int = 0) -> list[Path]:
    """Example records, each crop beside its ground truth and its text in every OCR condition the manifest has.

    Shows ``n // 2`` test entities that have a query: the entity's reference and one of its queries, so the
    pair the model must link sits side by side. Falls back to any records if there are no test queries.
    """
    from clippings_wf.reporting.tables import ocr_label

    rng = np.random.default_rng(seed)
    queries = manifest[(manifest["role"] == "query") & (manifest["split"] == "test")]
    if len(queries):
        entities = rng.permutation(queries["entity_id"].unique())[: max(1, n // 2)]
        picked = []
        for entity in entities:
            picked.append(manifest[(manifest["role"] == "reference") & (manifest["entity_id"] == entity)].head(1))
            picked.append(queries[queries["entity_id"] == entity].head(1))
        records = pd.concat(picked)
    else:
        records = manifest.iloc[rng.permutation(len(manifest))[:n]]
    fig, axes = plt.subplots(len(records), 2, figsize=(10, 1.0 * len(records) + 0.5),
                             gridspec_kw={"width_ratios": [1.3, 1]}, squeeze=False)  # fmt: skip
    for (image_ax, text_ax), (_, row) in zip(axes, records.iterrows()):
        image_ax.imshow(_load_crop(row["image_path"], manifest_dir), cmap="gray", vmin=0, vmax=255)
        image_ax.set_axis_off()
        turned = " (vertical, shown turned)" if as_flags([row.get("vertical", "0")])[0] else ""
        image_ax.set_title(f"{row['role']} {row['record_id']}{turned}", fontsize=7, loc="left")
        lines = [f"truth: {as_text(row.get('text'))}"]
        lines += [f"{ocr_label(c)}: {as_text(row.get(f'ocr_{c}'))}" for c in ocr_conditions(manifest)]
        text_ax.text(0, 0.5, "\n".join(lines), va="center", fontsize=8)
        text_ax.set_axis_off()
    fig.tight_layout()
    return _save(fig, path_stem)


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
    return _save(fig, path_stem)


def plot_retrieval_gallery(
    manifest: pd.DataFrame,
    manifest_dir,
    query_ids: Sequence[str],
    topk_ref_ids: Sequence[Sequence[str]],
    topk_scores: Sequence[Sequence[float]],
    path_stem,
    ocr_column: str = "ocr_noisy",
) -> list[Path]:
    """One row per query: its crop and OCR, then its top-k reference crops with scores.

    A reference of the query's own entity is framed green, any other red. ``topk_ref_ids[i]`` lists the
    record_ids retrieved for ``query_ids[i]``, best first.
    """
    by_id = manifest.assign(record_id=manifest["record_id"].astype(str)).set_index("record_id")
    k = max((len(r) for r in topk_ref_ids), default=0)
    fig, axes = plt.subplots(len(query_ids), k + 1, figsize=(3.0 * (k + 1), 1.1 * len(query_ids) + 0.4), squeeze=False)
    for row_axes, query_id, ref_ids, scores in zip(axes, query_ids, topk_ref_ids, topk_scores):
        query = by_id.loc[str(query_id)]
        row_axes[0].imshow(_load_crop(query["image_path"], manifest_dir), cmap="gray", vmin=0, vmax=255)
        row_axes[0].set_title(f"query: {as_text(query.get(ocr_column))}", fontsize=7, loc="left")
        for ax, ref_id, score in zip(row_axes[1:], ref_ids, scores):
            ref = by_id.loc[str(ref_id)]
            ax.imshow(_load_crop(ref["image_path"], manifest_dir), cmap="gray", vmin=0, vmax=255)
            hit = str(ref["entity_id"]) == str(query["entity_id"])
            ax.set_title(f"{score:.3f} {as_text(ref.get(ocr_column))}", fontsize=7, loc="left",
                         color="green" if hit else "red")  # fmt: skip
            for spine in ax.spines.values():
                spine.set_edgecolor("green" if hit else "red")
                spine.set_linewidth(2)
        for ax in row_axes:
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in row_axes[1 + len(ref_ids) :]:
            ax.set_axis_off()
    fig.tight_layout()
    return _save(fig, path_stem)


def plot_embedding_map(
    emb: np.ndarray,
    entity_ids: Sequence,
    path_stem,
    max_entities: int = 40,
    method: str = "pca",
    seed: int = 0,
) -> list[Path]:
    """2-D map (PCA, or t-SNE with ``method="tsne"``) of embeddings for up to ``max_entities`` entities that
    have at least two records; points of one entity share a color and are joined to their centroid."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    entity_ids = np.asarray(entity_ids).astype(str)
    values, counts = np.unique(entity_ids, return_counts=True)
    eligible = values[counts >= 2]
    chosen = np.random.default_rng(seed).permutation(eligible)[:max_entities]
    mask = np.isin(entity_ids, chosen)
    points = np.asarray(emb, dtype=np.float32)[mask]
    labels = entity_ids[mask]
    fig, ax = plt.subplots(figsize=(6, 6))
    if len(points) >= 2:
        if method == "tsne":
            xy = TSNE(
                n_components=2, perplexity=min(30.0, len(points) - 1), random_state=seed, init="pca"
            ).fit_transform(points)
        else:
            xy = PCA(n_components=2, random_state=seed).fit_transform(points)
        cmap = plt.get_cmap("tab20")
        for i, entity in enumerate(sorted(chosen)):
            pts = xy[labels == entity]
            center = pts.mean(axis=0)
            color = cmap(i % 20)
            for p in pts:
                ax.plot([center[0], p[0]], [center[1], p[1]], color=color, lw=0.6, alpha=0.6)
            ax.scatter(pts[:, 0], pts[:, 1], color=color, s=18)
    ax.set_title(f"{method.upper()} of test embeddings, {len(chosen)} entities")
    ax.set_xticks([])
    ax.set_yticks([])
    return _save(fig, path_stem)


def plot_nomatch_thresholds(curves: pd.DataFrame, thresholds: pd.DataFrame, methods: Sequence[str],
                            path_stem) -> list[Path]:  # fmt: skip
    """Overall no-match accuracy against the threshold, val dashed and test solid, one panel per OCR condition;
    a dot marks each method's threshold tuned on val. ``curves``: method, ocr, split, threshold, accuracy."""
    from clippings_wf.reporting.tables import display_name, ocr_label

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
    return _save(fig, path_stem)


def plot_clustering(table: pd.DataFrame, curves: pd.DataFrame, methods: Sequence[str], path_stem) -> list[Path]:
    """Left: test ARI per method, one bar per OCR condition. Right: validation ARI against the single-linkage
    threshold for a few methods on the first OCR condition (noisy). ``table``: method (display name), ocr, ari;
    ``curves``: method key, ocr, threshold, ari."""
    from clippings_wf.reporting.tables import display_name, ocr_label

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
    return _save(fig, path_stem)
