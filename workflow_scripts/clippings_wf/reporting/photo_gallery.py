"""Figures of photo-caption records: example sources with their printings (each photo beside its scanned caption
and its OCR), and a gallery of the test clusters one method made, so a reader sees what a cluster holds and where
it goes wrong."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from clippings_wf.evaluation.metrics import as_text
from clippings_wf.image_files import open_image
from clippings_wf.records import resolve_image_path
from clippings_wf.reporting.figures import plt, save_figure


def pick_clusters(assignments: pd.DataFrame, entities: pd.Series, n: int, seed: int = 0) -> list[np.ndarray]:
    """Up to ``n`` predicted clusters of 2 to 4 records (their assignment rows): half pure (one source), half
    mixed where there are any, drawn with ``seed``. ``entities`` maps record_id to the true source."""
    rng = np.random.default_rng(seed)
    frame = assignments.assign(entity=assignments["record_id"].map(entities))
    groups = [g for _, g in frame.groupby("cluster", sort=True) if 2 <= len(g) <= 4]
    pure = [g for g in groups if g["entity"].nunique() == 1]
    mixed = [g for g in groups if g["entity"].nunique() > 1]
    n_mixed = min(len(mixed), n // 2)
    chosen = [mixed[i] for i in rng.permutation(len(mixed))[:n_mixed]]
    chosen += [pure[i] for i in rng.permutation(len(pure))[: n - n_mixed]]
    return chosen


def plot_cluster_gallery(manifest: pd.DataFrame, manifest_dir, assignments: pd.DataFrame, method_label: str,
                         path_stem, n: int = 6, seed: int = 0, ocr_column: str = "ocr_noisy") -> list[Path]:  # fmt: skip
    """One row per predicted cluster: each member's printed photo over its OCR'd caption, titled by its true
    source; a row whose members share one source is titled "one source", else "mixed"."""
    by_id = manifest.set_index("record_id")
    clusters = pick_clusters(assignments, by_id["entity_id"], n, seed)
    width = max((len(c) for c in clusters), default=1)
    fig, axes = plt.subplots(max(1, len(clusters)), width, figsize=(3.2 * width, 3.0 * max(1, len(clusters))),
                             squeeze=False)  # fmt: skip
    for row_axes, cluster in zip(axes, clusters):
        sources = cluster["record_id"].map(by_id["entity_id"])
        verdict = "one source" if sources.nunique() == 1 else f"mixed: {sources.nunique()} sources"
        for ax, record_id, source in zip(row_axes, cluster["record_id"], sources):
            record = by_id.loc[record_id]
            photo = open_image(resolve_image_path(record["image_path"], manifest_dir)).convert("L")
            ax.imshow(np.asarray(photo), cmap="gray", vmin=0, vmax=255)
            caption = textwrap.fill(as_text(record.get(ocr_column))[:160], 42)
            ax.set_title(f"source {source}", fontsize=7, loc="left")
            ax.set_xlabel(caption, fontsize=6, loc="left")
            ax.set_xticks([])
            ax.set_yticks([])
        row_axes[0].set_ylabel(f"cluster {cluster['cluster'].iloc[0]}\n{verdict}", fontsize=8)
        for ax in row_axes[len(cluster) :]:
            ax.set_axis_off()
    if not clusters:
        axes[0][0].text(0.5, 0.5, "no predicted cluster of 2-4 test records", ha="center")
        axes[0][0].set_axis_off()
    fig.suptitle(f"{method_label}: test clusters (photo and OCR'd caption of each printing)", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path_stem)


def plot_photo_sources(manifest: pd.DataFrame, manifest_dir, path_stem, n: int = 4, seed: int = 0) -> list[Path]:
    """``n`` test sources printed at least twice, one row each: every printing's photo, over its scanned caption
    and its noisy OCR."""
    rng = np.random.default_rng(seed)
    labelled = manifest[(manifest["entity_id"] != "") & (manifest["split"] == "test")]
    sizes = labelled.groupby("entity_id").size()
    shown = sorted(rng.permutation(sizes[sizes >= 2].index.to_numpy())[:n])
    width = int(sizes.reindex(shown).max()) if shown else 1
    fig, axes = plt.subplots(2 * max(1, len(shown)), width, figsize=(3.2 * width, 3.4 * max(1, len(shown))),
                             gridspec_kw={"height_ratios": [3, 1] * max(1, len(shown))}, squeeze=False)  # fmt: skip
    for i, entity in enumerate(shown):
        printings = labelled[labelled["entity_id"] == entity]
        for j in range(width):
            photo_ax, caption_ax = axes[2 * i][j], axes[2 * i + 1][j]
            photo_ax.set_axis_off()
            caption_ax.set_axis_off()
            if j >= len(printings):
                continue
            record = printings.iloc[j]
            photo_ax.imshow(np.asarray(open_image(resolve_image_path(record["image_path"], manifest_dir)).convert("L")),
                            cmap="gray", vmin=0, vmax=255)  # fmt: skip
            photo_ax.set_title(f"source {entity}, {record['record_id']}", fontsize=7, loc="left")
            if record.get("ocr_image_path", ""):
                caption = open_image(resolve_image_path(record["ocr_image_path"], manifest_dir)).convert("L")
                caption_ax.imshow(np.asarray(caption), cmap="gray", vmin=0, vmax=255)
            caption_ax.set_title("OCR: " + textwrap.shorten(as_text(record.get("ocr_noisy")), 70), fontsize=6,
                                 loc="left")  # fmt: skip
    fig.tight_layout()
    return save_figure(fig, path_stem)
