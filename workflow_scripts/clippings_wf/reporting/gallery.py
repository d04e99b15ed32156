"""Record images for the report: example records with their OCR, a retrieval gallery, a 2-D embedding map.

Every function writes ``path_stem.png`` and ``path_stem.pdf`` and returns the two paths.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from clippings_wf.evaluation.metrics import as_flags, as_text
from clippings_wf.image_files import open_image
from clippings_wf.records import ocr_conditions, resolve_image_path
from clippings_wf.reporting.figures import plt, save_figure
from clippings_wf.reporting.tables import ocr_label


def _load_crop(path, manifest_dir) -> np.ndarray:
    """Grayscale crop for display; a vertical (tall) crop is turned like the model sees it."""
    image = open_image(resolve_image_path(path, manifest_dir)).convert("L")
    if image.height > image.width:
        image = image.rotate(90, expand=True, fillcolor=255)
    return np.asarray(image)


def plot_example_records(manifest: pd.DataFrame, manifest_dir, path_stem, n: int = 8, seed: int = 0) -> list[Path]:
    """Example records, each crop beside its ground truth and its text in every OCR condition the manifest has.

    Shows ``n // 2`` test entities that have a query: the entity's reference and one of its queries, so the
    pair the model must link sits side by side. Falls back to any records if there are no test queries.
    """
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
    return save_figure(fig, path_stem)


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
    return save_figure(fig, path_stem)


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
    return save_figure(fig, path_stem)
