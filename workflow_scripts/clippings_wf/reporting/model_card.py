"""The exported model bundle (results/<dataset>/export/<model>/): bundle.json's fields and the model card.

Pure functions over the workflow's tables and config, so that the export step only reads and writes and the card
can be tested without Snakemake. bundle.json is a contract with the API and CLI that read bundles: change both
sides together and raise BUNDLE_FORMAT.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from clippings_wf.reporting.tables import display_name, ocr_label

BUNDLE_FORMAT = 1
# The OCR conditions a bundle carries thresholds for: OCR as new records get it (noisy) and a clean transcription.
# `modern` is the workflow's own PP-OCR pass; its numbers stay in the card's metrics.
BUNDLE_OCR_CONDITIONS = ("noisy", "clean")
# Our architectures are open_clip configs in this folder (read as JSON: the card needs no torch).
CONFIG_DIR = Path(__file__).resolve().parents[1] / "models" / "model_configs"
VISION_TOWERS = {
    "clippings_textline_s": "the PP-OCR text-line recognizer's encoder with a trained head",
    "clippings_textline_l": "the PP-OCR text-line recognizer's encoder with a trained head",
    "clippings_linecnn_s": "a line CNN trained from random initialisation",
    "clippings_linecnn_m": "a line CNN trained from random initialisation",
    "clippings_photo_s": "a fixed DCT front end with a trained head",
}
# What a kind of record's weights were trained on, for the licences (THIRD_PARTY.md lists each).
SOURCES = {
    "text_line": "line crops rendered with third-party fonts, read by Tesseract and (default tower) starting from "
    "the PP-OCR recognizer's weights",
    "photo_caption": "printings of crops of Debian wallpapers (each picture under its own licence) with captions",
}
RECORD_KINDS = {"text_line": "a crop of one printed line and its OCR text",
                "photo_caption": "a newspaper photo and its OCR'd caption"}  # fmt: skip
# A column shows only where some stage sets it (the recipe keys of schemas/config.schema.yaml).
RECIPE_COLUMNS = ["objective", "data", "epochs", "lr", "lr_vision", "lr_text", "temperature", "w", "batch_size",
                  "m_per_class", "hard_negatives_k", "remine_every", "weight_decay", "betas", "eps", "schedule", "T0",
                  "T_mult", "warmup_fraction", "grad_clip"]  # fmt: skip
INTERVAL_NOTE = ("Test numbers with their 95% percentile bootstrap interval over test entities (each drawn with all"
                 " its records); validation numbers are the points the thresholds and epochs were chosen on.")  # fmt: skip


def tuned_thresholds(table: pd.DataFrame | None, method: str) -> dict[str, float]:
    """{ocr: threshold} of ``method``'s rows (columns method, ocr, threshold; method keys, not display names) under
    the bundle's OCR conditions; {} where the dataset has no such evaluation (None) or the table no such row."""
    if table is None:
        return {}
    rows = table[table["method"] == method].set_index("ocr")["threshold"]
    return {ocr: float(rows[ocr]) for ocr in BUNDLE_OCR_CONDITIONS if ocr in rows.index}


def bundle_manifest(export: dict, nomatch: pd.DataFrame | None, clustering: pd.DataFrame | None, sha256: str) -> dict:
    """bundle.json: ``export`` is the rule's params (dataset, model, method, w, record_kind, ocr,
    cluster_neighbours); ``nomatch`` the no-match thresholds.csv, ``clustering`` the clustering models.csv."""
    method = export["method"]
    return {
        "format": BUNDLE_FORMAT,
        "dataset": export["dataset"],
        "model": export["model"],
        "method": method,
        "w": float(export["w"]),
        "record_kind": export["record_kind"],
        "ocr": {"lang": export["ocr"].get("lang"), "lang_vertical": export["ocr"].get("lang_vertical")},
        "thresholds": {"nomatch": tuned_thresholds(nomatch, method), "cluster": tuned_thresholds(clustering, method)},
        "cluster_neighbours": int(export["cluster_neighbours"]),
        "model_sha256": sha256,
    }


def linking_metrics(main_results: pd.DataFrame, models_top1: pd.DataFrame, method: str) -> list[dict]:
    """Top-1 per OCR condition: validation (linking/top1.csv) and test with its interval (the main table)."""
    row = main_results[main_results["method"] == display_name(method)]
    if row.empty:
        return []
    row = row.iloc[0]
    val = models_top1[models_top1["method"] == method].set_index("ocr")["val_top1"]
    conditions = [c.removeprefix("top1_") for c in main_results if c.startswith("top1_") and c.count("_") == 1]
    return [{"ocr": c, "val": val.get(c, math.nan), "test": row[f"top1_{c}"], "low": row[f"top1_{c}_low"],
             "high": row[f"top1_{c}_high"]} for c in conditions]  # fmt: skip


def method_rows_metrics(table: pd.DataFrame | None, method: str, metric: str, val_column: str) -> list[dict]:
    """One metric of a long table (tables/nomatch.csv, tables/clustering.csv: a row per method and OCR condition,
    display names) per OCR condition, validation and test with its interval; [] where there is no table."""
    if table is None:
        return []
    rows = table[table["method"] == display_name(method)]
    return [{"ocr": r["ocr"], "val": r[val_column], "test": r[metric], "low": r[f"{metric}_low"],
             "high": r[f"{metric}_high"]} for _, r in rows.iterrows()]  # fmt: skip


def _number(x, digits=3) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{float(x):.{digits}f}"


def _metric_table(title: str, rows: list[dict]) -> list[str]:
    lines = [f"### {title}", "", "| OCR | validation | test [95% interval] |", "|---|---|---|"]
    for r in rows:
        lines.append(f"| {ocr_label(r['ocr'])} | {_number(r['val'])} | {_number(r['test'])} "
                     f"[{_number(r['low'])}, {_number(r['high'])}] |")  # fmt: skip
    return lines + [""]


def describe_towers(architecture: str) -> str:
    path = CONFIG_DIR / f"{architecture}.json"
    if not path.exists():
        return f"open_clip's built-in `{architecture}` (image tower and text tower)"
    cfg = json.loads(path.read_text())
    vision, text = cfg["vision_cfg"], cfg["text_cfg"]
    name = vision.get("timm_model_name", "ViT")
    height, width = vision["image_size"] if isinstance(vision["image_size"], list) else [vision["image_size"]] * 2
    return (f"`{architecture}`: image tower `{name}` ({VISION_TOWERS.get(name, 'open_clip image tower')}, "
            f"{height}×{width} input); text tower a character transformer ({text['layers']} layers, width "
            f"{text['width']}, up to {text['context_length']} characters); {cfg['embed_dim']}-dimensional embeddings")  # fmt: skip


def describe_data(dataset: str, settings: dict, ocr: dict) -> list[str]:
    """The dataset's generator settings (or its manifest), from config."""
    tesseract = f"Tesseract `{ocr.get('lang')}`" + (f" (vertical `{ocr['lang_vertical']}`)"
                                                    if ocr.get("lang_vertical") else "")  # fmt: skip
    if "generate" in settings:
        g = settings["generate"]
        split = ", ".join(f"{k} {v}" for k, v in g.get("split", {}).items())
        lines = [f"The generated benchmark `{dataset}` (generator `{g.get('generator')}`, seed {g.get('seed')}): "
                 f"{g['n_entities']} entities split by entity ({split}), {g.get('n_pool', 0)} unlabeled image-OCR "
                 f"pairs for the self-supervised stage. OCR: {tesseract}."]  # fmt: skip
        synthetic = settings.get("synthetic")
        if synthetic:
            lines.append(f"Synthetic renders: {synthetic['n_extra_names']} extra names plus the training split's, "
                         f"{synthetic['views_per_name']} views each; no validation or test name.")  # fmt: skip
    else:
        lines = [f"The records of the manifest `{settings.get('manifest')}` (its training split; OCR: {tesseract})."]
    lines.append("How the data are made and checked: `docs/data.md` and `docs/method.md` in the clippings-workflow "
                 "repository.")  # fmt: skip
    return lines


def describe_recipe(recipe: list[dict], training: dict) -> list[str]:
    """The training stages the model went through, first to last, with their settings from config."""
    columns = [c for c in RECIPE_COLUMNS if any(c in stage for stage in recipe)]
    lines = ["| stage | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for stage in recipe:
        lines.append(f"| `{stage['stage']}` | " + " | ".join(str(stage.get(c, "–")) for c in columns) + " |")
    return lines + ["", f"Seed {training['seed']}, batch size {training['batch_size']} where a stage sets none; every stage keeps its best "
                        "epoch by validation top-1 (the last where the dataset has no references)."]  # fmt: skip


def describe_thresholds(bundle: dict) -> list[str]:
    thresholds = bundle["thresholds"]
    return [
        "Cosine similarities chosen on validation: a query links only above the no-match threshold; clustering "
        f"joins records at or above the cluster threshold (single linkage, k = {bundle['cluster_neighbours']} "
        "neighbours). – : not evaluated on this dataset.",
        "",
        "| OCR | no-match | cluster |",
        "|---|---|---|",
        *[f"| {ocr_label(ocr)} | {_number(thresholds['nomatch'].get(ocr), 4)} | "
          f"{_number(thresholds['cluster'].get(ocr), 4)} |" for ocr in BUNDLE_OCR_CONDITIONS],
    ]  # fmt: skip


def describe_use(folder: str, record_kind: str = "text_line") -> list[str]:
    """The API and the CLI (clippings_wf.api, clippings_wf.cli), both reading this bundle folder. A photo model reads
    its captions from a text column (Tesseract would read the photo)."""
    photo = record_kind == "photo_caption"
    py_text, cli_text = (', ocr_column="caption"', " --ocr-column caption") if photo else ("", "")
    lines = [
        "The Python API (`pip install -e .` in the clippings-workflow repository) and the `clippings` command take "
        "this folder as the model and apply its w and tuned thresholds:",
        "",
        "```python",
        "from clippings_wf import api",
        f'model = api.load_model("{folder}")',
        f'matches = model.link("queries.csv", model.index("references.csv"{py_text}){py_text})',
        f'clusters = model.cluster("records.csv"{py_text})',
        "```",
        "",
        "```bash",
        f"clippings link --model {folder} --queries queries.csv --references references.csv --out matches.csv"
        f"{cli_text}",
        f"clippings cluster --model {folder} --records records.csv --out clusters.csv{cli_text}",
        "```",
    ]
    if photo:
        lines += ["", "`caption`: the manifests' column with each photo's caption text (its OCR)."]
    return lines


def model_card(bundle: dict, export: dict, metrics: dict[str, list[dict]]) -> str:
    """README.md of the bundle. ``export``: the rule's params (architecture, data, recipe, training besides the
    bundle's fields); ``metrics``: {section title: rows of linking_metrics or method_rows_metrics}, empty
    sections left out."""
    method, dataset, kind = bundle["method"], bundle["dataset"], bundle["record_kind"]
    lines = [
        f"# {display_name(method)} (`{bundle['model']}`), trained on `{dataset}`",
        "",
        "A CLIPPINGS record-linkage model (Arora, Yang, Jheng, Dell; arXiv 2304.03464), exported by the "
        "clippings-workflow: records (an image and its OCR text) are embedded as "
        f"normalize(w·image + (1 − w)·text) with w = {bundle['w']:g} and linked by cosine similarity.",
        "",
        "## What it is",
        "",
        f"- Architecture {describe_towers(export['architecture'])}.",
        f"- The `{method}` row of `{dataset}`'s tables: its metrics and tuned thresholds are this bundle's.",
        f"- Records: `{kind}` ({RECORD_KINDS.get(kind, 'see docs/data.md')}).",
        "- Files: `model.pt` (the trained weights, unchanged), `bundle.json` (w, OCR languages, thresholds), "
        "this card.",
        "",
        "## Data",
        "",
        *describe_data(dataset, export["data"], bundle["ocr"]),
        "",
        "## Recipe",
        "",
        *describe_recipe(export["recipe"], export["training"]),
        "",
        "## Metrics",
        "",
        INTERVAL_NOTE,
        "",
    ]
    for title, rows in metrics.items():
        if rows:
            lines += _metric_table(title, rows)
    lines += ["## Tuned thresholds", "", *describe_thresholds(bundle), "", "## Use", "",
              *describe_use(f"results/{dataset}/export/{bundle['model']}", kind), "", "## Licences", "",
              f"The workflow's code is MIT-licensed. The weights were trained on {SOURCES.get(kind, 'records')}: "
              "their licences and authors are listed in `THIRD_PARTY.md` in the clippings-workflow repository.", "",
              "## Integrity", "", f"`model.pt` sha256: `{bundle['model_sha256']}`", ""]  # fmt: skip
    return "\n".join(lines)
