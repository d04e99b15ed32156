"""A user's manifest -> the workflow's records.csv: checked (every pixel decoded), split by entity where it gives
no split, OCR columns capped, the summary of what was imported."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from clippings_wf.data.benchmark import assign_splits
from clippings_wf.data.names import normalize_base_name
from clippings_wf.data.user_manifest import ManifestError, check_manifest
from clippings_wf.image_files import ImagePolicy, write_policy
from clippings_wf.records import RECORD_COLUMNS, SPLITS, cap_ocr_texts

log = logging.getLogger(__name__)


def seeded_entity_split(frame: pd.DataFrame, fractions: dict, seed: int) -> pd.Series:
    """Split labels by entity (the generator's assign_splits), seeded; unlabeled rows go to the pool.

    Entities sharing a ``name`` are split together, so one name never sits on both sides of the leakage check.
    """
    labelled = frame["role"] != "unlabeled"
    entities = frame.loc[labelled, "entity_id"]
    if "name" in frame:
        names = frame.loc[labelled, "name"]
        group = [f"name:{normalize_base_name(n)}" if n else f"id:{e}" for e, n in zip(entities, names)]
        group = pd.Series(group, index=entities.index)
        # every row of an entity takes its entity's first non-empty group (the name is given once or on all rows)
        group = entities.map(group.groupby(entities).agg(lambda g: sorted(g)[0]))
    else:
        group = "id:" + entities
    keys = sorted(set(group))
    fractions = {k: float(fractions[k]) for k in SPLITS}
    split_of = dict(zip(keys, assign_splits(len(keys), fractions, np.random.default_rng(seed))))
    out = pd.Series("pool", index=frame.index, dtype=object)
    out[labelled] = group.map(split_of)
    return out


def import_manifest(path, out_dir, ocr_columns: dict | None, split: dict, max_ocr_chars: int,
                    labelled: bool = True, references: bool = True,
                    line_crops: bool = True, image_roots=(),
                    max_pixels: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """A user's manifest -> the workflow's records (records.RECORD_COLUMNS + given OCR) and a data summary.

    Decodes every image (the parse-time check only read headers) and fails naming the record. Image paths
    become absolute; ``vertical`` is 1 for a crop taller than wide (read turned, like the generator's).
    ``references``: False for a dataset evaluated by clustering alone (roles record and unlabeled). An
    ``ocr_image_path`` column (the image the OCR reads, e.g. a photo's caption; default the record's image) and
    its ``clean_ocr_image_path`` are kept, made absolute. ``line_crops``: False for photos, which are never
    vertical lines.
    """
    ocr_columns = dict(ocr_columns or {})
    checked = check_manifest(path, ocr_columns, labelled=labelled, images="decode", max_ocr_chars=max_ocr_chars,
                             references=references, image_roots=image_roots, max_pixels=max_pixels)  # fmt: skip
    frame = checked.frame
    summary = dict(checked.summary)
    if labelled and "split" not in frame:
        frame["split"] = seeded_entity_split(frame, split, int(split.get("seed", 0)))
        summary["split"] = f"seeded (seed {int(split.get('seed', 0))})"
    else:
        summary["split"] = "given"
    unlabeled = frame["role"] == "unlabeled"
    records = _records_table(frame, checked, line_crops)
    for condition, column in ocr_columns.items():
        records[f"ocr_{condition}"], cut = cap_ocr_texts(frame[column], max_ocr_chars)
        summary[f"ocr_truncated_{condition}"] = cut
        if cut:
            log.warning("%s: %d %s OCR texts longer than %d characters were cut to %d (ocr.max_chars)",
                        checked.path, cut, condition, max_ocr_chars, max_ocr_chars)
    if labelled:
        evaluated = "query" if references else "record"  # what validation and test need
        for name in SPLITS:
            in_split = records[(records["split"] == name) & ~unlabeled]
            summary[f"entities_{name}"] = int(in_split["entity_id"].nunique())
            summary[f"{evaluated}s_{name}"] = int((in_split["role"] == evaluated).sum())
        _require_every_split(checked.path, summary, evaluated)
    if labelled and references:
        refs = set(records.loc[records["role"] == "reference", "entity_id"])
        for name in ("val", "test"):
            q = records[(records["role"] == "query") & (records["split"] == name)]
            summary[f"no_match_queries_{name}"] = int((~q["entity_id"].isin(refs)).sum())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records.to_csv(out_dir / "records.csv", index=False, lineterminator="\n")
    policy = checked.policy
    write_policy(out_dir, ImagePolicy.make((checked.path.parent, *policy.roots), policy.max_pixels))
    table = pd.DataFrame({"metric": list(summary), "value": [str(v) for v in summary.values()]})
    return records, table


def _records_table(frame: pd.DataFrame, checked, line_crops: bool = True) -> pd.DataFrame:
    """The checked manifest's rows as the workflow's records (records.RECORD_COLUMNS, then the OCR images where
    given): image paths absolute, unlabelled rows without entity and in the pool, every entity's name on all its
    rows."""
    unlabeled = frame["role"] == "unlabeled"
    records = pd.DataFrame(
        {
            "record_id": frame["record_id"],
            "image_path": frame["image_file"],
            "entity_id": frame["entity_id"].where(~unlabeled, "") if "entity_id" in frame else "",
            "role": frame["role"],
            "split": frame["split"].where(~unlabeled, "pool") if "split" in frame else "",
            "text": frame["text"] if "text" in frame else "",
            "base_name": frame["name"] if "name" in frame else "",
            "vertical": [int(line_crops and h > w) for w, h in checked.sizes],
            "font": "",
            "clean_image_path": frame["clean_image_path_file"] if "clean_image_path" in frame else "",
        },
        columns=RECORD_COLUMNS,
    )
    for column in ("ocr_image_path", "clean_ocr_image_path"):  # only where given: the firm records have none
        if column in frame:
            records[column] = frame[f"{column}_file"]
    if "name" in frame:  # the entity's name on every row of it, wherever it was given
        named = frame[frame["name"] != ""].groupby("entity_id")["name"].first()
        records["base_name"] = records["entity_id"].map(named).fillna("").where(~unlabeled, frame["name"])
    return records


def _require_every_split(path, summary: dict, evaluated: str = "query") -> None:
    """Training needs a training split; model selection and the tables need validation and test queries (records,
    for a dataset evaluated by clustering)."""
    lacking = [f"{name} {what}" for name, what in (("train", "entities"), ("val", f"{evaluated}s"),
                                                   ("test", f"{evaluated}s")) if not summary[f"{what}_{name}"]]  # fmt: skip
    if lacking:
        raise ManifestError(f"{path}: no {', no '.join(lacking)}: a labelled dataset needs a training split and "
                            f"validation and test {evaluated}s (counts: {summary})")

