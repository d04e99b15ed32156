"""Top-1 with its uncertainty, from the per-query hits the baseline and linking steps write (predictions.csv):
95% intervals for the main table's top-1 and gains, and top-1 split by crop orientation. Every interval resamples
test entities, each with all its queries (``intervals``); the manifest gives each query's entity."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from clippings_wf.evaluation import intervals
from clippings_wf.evaluation.metrics import as_flags
from clippings_wf.reporting.tables import CLASSICAL_DISPLAY_NAMES, display_name

log = logging.getLogger(__name__)
ORIENTATIONS = ("horizontal", "vertical")


def read_hits(baseline_predictions, model_predictions, manifest: pd.DataFrame) -> pd.DataFrame:
    """Per-query hits of every method: columns method (key), ocr, query_id, entity_id (the query's, from the
    manifest: record_id, entity_id), hit (bool), group."""
    frames = [pd.DataFrame(columns=["method", "ocr", "query_id", "hit", "group"])]
    for path, group in ((baseline_predictions, "classical"), (model_predictions, "model")):
        try:
            frame = pd.read_csv(path, dtype={"query_id": str, "method": str, "ocr": str}, keep_default_na=False)
        except pd.errors.EmptyDataError:  # a step with no method to run writes an empty file
            continue
        frames.append(frame[["method", "ocr", "query_id"]].assign(hit=as_flags(frame["hit"]), group=group))
    hits = pd.concat(frames, ignore_index=True).astype({"hit": bool})
    entity = dict(zip(manifest["record_id"].astype(str), manifest["entity_id"].astype(str)))
    unknown = sorted(set(hits["query_id"]) - set(entity))
    if unknown:
        raise ValueError(f"{len(unknown)} predicted queries are not in the manifest, e.g. {unknown[:3]}")
    hits.insert(3, "entity_id", hits["query_id"].map(entity))
    return hits


def ocr_columns(table: pd.DataFrame) -> list[str]:
    """The OCR conditions of a main table, in its column order (top1_X columns, intervals aside)."""
    return [c[len("top1_") :] for c in table.columns if c.startswith("top1_") and not c.endswith(("_low", "_high"))]


def _hits_by_row(hits: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """(display name, ocr) -> hit and entity_id indexed by query_id."""
    named = hits.assign(method=hits["method"].map(display_name))
    return {key: part.set_index("query_id")[["hit", "entity_id"]]
            for key, part in named.groupby(["method", "ocr"], sort=False)}  # fmt: skip


def _top1_interval(part: pd.DataFrame | None, n_boot: int, seed: int) -> tuple[float, float, float]:
    """(top-1, low, high) of per-query hits (columns hit, entity_id), test entities resampled."""
    if part is None:
        return float("nan"), float("nan"), float("nan")
    return intervals.bootstrap_ci(part["hit"].to_numpy(float), part["entity_id"].to_numpy(), n_boot, seed)


def _insert_after(table: pd.DataFrame, column: str, new: dict[str, list]) -> pd.DataFrame:
    at = list(table.columns).index(column) + 1
    for offset, (name, values) in enumerate(new.items()):
        table.insert(at + offset, name, values)
    return table


def add_top1_intervals(table: pd.DataFrame, hits: pd.DataFrame, n_boot: int = intervals.N_BOOT,
                       seed: int = intervals.SEED) -> pd.DataFrame:  # fmt: skip
    """The main table with top1_X_low / top1_X_high (95% bootstrap over test entities) after each top1_X and
    gain_X_low / gain_X_high (paired bootstrap of the row minus the column's best classical baseline, the same
    entities drawn for both, points) after each gain_X, for every OCR condition both the table and ``hits``
    have."""
    table = table.copy()
    by_row = _hits_by_row(hits)
    for ocr in [c for c in ocr_columns(table) if c in set(hits["ocr"])]:
        best = table.loc[table[f"best_{ocr}"], "method"].tolist() if f"best_{ocr}" in table else []
        baseline = by_row.get((best[0], ocr)) if best else None
        top1_bounds, gain_bounds = [], []
        for method, shown in zip(table["method"], table[f"top1_{ocr}"]):
            row = by_row.get((method, ocr))
            point, low, high = _top1_interval(row, n_boot, seed)
            if row is not None and not np.isclose(point, shown):
                log.warning("%s %s: top-1 %.4f in the table, %.4f from its predictions", method, ocr, shown, point)
            top1_bounds.append((low, high))
            if row is None or baseline is None:
                gain_bounds.append((np.nan, np.nan))
                continue
            pair = row.join(baseline["hit"].rename("baseline"), how="inner")
            a, b = pair["hit"].to_numpy(float), pair["baseline"].to_numpy(float)
            _, low, high = intervals.paired_bootstrap_diff(a, b, pair["entity_id"].to_numpy(), n_boot, seed)
            gain_bounds.append((100.0 * low, 100.0 * high))
        lows, highs = zip(*top1_bounds) if top1_bounds else ((), ())
        table = _insert_after(table, f"top1_{ocr}", {f"top1_{ocr}_low": list(lows), f"top1_{ocr}_high": list(highs)})
        if f"gain_{ocr}" in table:
            lows, highs = zip(*gain_bounds) if gain_bounds else ((), ())
            bounds = {f"gain_{ocr}_low": list(lows), f"gain_{ocr}_high": list(highs)}
            table = _insert_after(table, f"gain_{ocr}", bounds)
    note = (f"In brackets: 95% percentile bootstrap intervals over the test entities ({n_boot} resamples, each"
            " entity with all its queries); a gain's is paired against the column's best classical baseline, the"
            " same entities drawn for both.")  # fmt: skip
    table.attrs["footer"] = " ".join(filter(None, [table.attrs.get("footer"), note]))
    return table


def vertical_queries(manifest: pd.DataFrame) -> set[str]:
    """record_ids of crops read turned (manifest ``vertical`` is the string "1"; no column: none)."""
    if "vertical" not in manifest:
        return set()
    return set(manifest.loc[as_flags(manifest["vertical"]), "record_id"].astype(str))


def orientation_table(hits: pd.DataFrame, manifest: pd.DataFrame, order: list[str] | None = None,
                      ocrs: list[str] | None = None, n_boot: int = intervals.N_BOOT,
                      seed: int = intervals.SEED) -> pd.DataFrame:  # fmt: skip
    """Top-1 of every method on horizontal and on vertical test queries, per OCR condition, with 95% intervals:
    columns method, group, n_horizontal, n_vertical, then top1_<ocr>_<orientation> (+ _low, _high).

    ``order``: display names in the main table's order (default: classical first, then models as they come);
    ``ocrs``: the conditions in column order (default: as they come in ``hits``). Where no query is vertical
    the table has no rows and its footer says so.
    """
    vertical = vertical_queries(manifest)
    hits = hits.assign(orientation=np.where(hits["query_id"].astype(str).isin(vertical), "vertical", "horizontal"))
    if not (hits["orientation"] == "vertical").any():
        empty = pd.DataFrame(columns=["method"])
        empty.attrs["footer"] = "No test query is a vertical crop in this dataset: no orientation split to report."
        return empty
    ocrs = [o for o in (ocrs or list(dict.fromkeys(hits["ocr"]))) if o in set(hits["ocr"])]
    named = hits.assign(method=hits["method"].map(display_name))
    if order is None:
        classical = [m for m in CLASSICAL_DISPLAY_NAMES.values() if m in set(named["method"])]
        order = classical + [m for m in dict.fromkeys(named["method"]) if m not in classical]
    order = [m for m in order if m in set(named["method"])]
    groups = named.drop_duplicates("method").set_index("method")["group"]
    rows = []
    for method in order:
        mine = named[named["method"] == method]
        queries = mine.drop_duplicates("query_id")
        row = {"method": method, "group": groups[method]}
        row |= {f"n_{o}": int((queries["orientation"] == o).sum()) for o in ORIENTATIONS}
        for ocr in ocrs:
            for o in ORIENTATIONS:
                part = mine.loc[(mine["ocr"] == ocr) & (mine["orientation"] == o)]
                top1, low, high = _top1_interval(part if len(part) else None, n_boot, seed)
                row |= {f"top1_{ocr}_{o}": top1, f"top1_{ocr}_{o}_low": low, f"top1_{ocr}_{o}_high": high}
        rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs["footer"] = (
        "Top-1 on the test queries by crop orientation (vertical: taller than wide, read turned), with 95%"
        f" percentile bootstrap intervals over the test entities ({n_boot} resamples, each entity with all its"
        " queries of that orientation)."
    )
    return table
