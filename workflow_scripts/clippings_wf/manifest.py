"""Records manifests: the workflow's own manifest.csv, and a user's manifest of their own documents.

A user's manifest (README "Bring your own data") is a UTF-8 CSV or a Parquet file, one row per record:
record_id, image_path (relative to the manifest's folder, or absolute), role (query | reference | unlabeled),
and optionally entity_id, split (train | val | test), name (the entity's name), text (the record's
transcription), clean_image_path (a better scan of the same record) and OCR text columns.

``check_manifest`` validates it before any job starts and names the file, the line and the record of every
problem; ``import_manifest`` turns it into the workflow's records.csv, decoding every image on the way.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("record_id", "image_path", "entity_id", "role", "split")  # of the workflow's manifest.csv
USER_REQUIRED_COLUMNS = ("record_id", "image_path", "role")
ROLES = ("query", "reference", "unlabeled")
SPLITS = ("train", "val", "test")
OCR_CONDITIONS = ("noisy", "clean")
MAX_SHOWN_PROBLEMS = 20
# A parse-time progress bar only where the image check takes long enough to wonder about.
PROGRESS_FROM = 5000


class ManifestError(ValueError):
    pass


def read_manifest(path) -> pd.DataFrame:
    """The workflow's manifest.csv: all columns as strings; empty cells stay empty strings (empty OCR is data)."""
    path = Path(path)
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing manifest columns {missing} (required: {list(REQUIRED_COLUMNS)})")
    return frame.fillna("").astype(str) if path.suffix == ".parquet" else frame


def read_user_manifest(path) -> pd.DataFrame:
    """A user's CSV (strict UTF-8, a BOM is fine) or Parquet manifest, every cell a string ("" where empty).

    A ``where`` column names each row for messages: ``line N`` of the CSV (header = line 1), ``row N`` of Parquet.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest file not found")
    if path.suffix.lower() == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as e:  # pyarrow raises several types for a damaged file
            raise ManifestError(f"{path}: cannot read Parquet manifest ({type(e).__name__}: {e})") from e
        frame = frame.astype(object).where(frame.notna(), "").astype(str)
        where = [f"row {i + 1}" for i in range(len(frame))]
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = raw[: e.start].count(b"\n") + 1
            raise ManifestError(
                f"{path}: line {line}: not valid UTF-8 (byte {raw[e.start]:#04x} at offset {e.start}); "
                "save the manifest as UTF-8"
            ) from e
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            raise ManifestError(f"{path}: not a readable CSV manifest ({e})") from e
        where = [f"line {i + 2}" for i in range(len(frame))]
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.insert(0, "where", where)
    return frame.reset_index(drop=True)


def resolve_path(value: str, manifest_dir: Path) -> Path:
    path = Path(value)
    return path if path.is_absolute() else manifest_dir / path


def image_problem(path: Path, decode: bool) -> tuple[str | None, tuple[int, int] | None]:
    """(problem or None, (width, height)). The header check reads a few bytes; ``decode`` reads every pixel."""
    if not path.is_file():
        return f"image file not found: {path}", None
    if path.stat().st_size == 0:
        return f"image file is empty (0 bytes): {path}", None
    try:
        with Image.open(path) as image:
            if decode:
                image.load()
            return None, image.size
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError ... for damaged files
        return f"image file cannot be {'decoded' if decode else 'read'} ({type(e).__name__}: {e}): {path}", None


@dataclass
class CheckedManifest:
    """A validated user manifest: its rows (with ``where`` and resolved ``image_file``) and what was counted."""

    path: Path
    frame: pd.DataFrame
    labelled: bool
    summary: dict = field(default_factory=dict)
    sizes: list = field(default_factory=list)  # (width, height) per row, where images were opened


def _row_label(row) -> str:
    return f"{row['where']} (record_id {row['record_id']!r})"


def check_manifest(
    path,
    ocr_columns: dict | None = None,
    labelled: bool = True,
    images: str = "header",
    require_role: bool = True,
    max_ocr_chars: int | None = None,
) -> CheckedManifest:
    """Validate a user's manifest; raise ManifestError listing every problem with its file, line and record.

    ocr_columns: OCR condition -> manifest column holding that OCR text (those columns must exist).
    labelled: the dataset trains and is evaluated, so it needs entity_id, references and every split.
    images: "header" (exists, not empty, PIL identifies it: cheap enough for parse time), "decode" (every
    pixel, the import step) or "none". Allowed and only counted: queries whose entity has no reference
    (no-match queries), empty OCR cells, OCR cells longer than ``max_ocr_chars`` (cut on import).
    """
    path = Path(path)
    ocr_columns = dict(ocr_columns or {})
    frame = read_user_manifest(path)
    required = list(USER_REQUIRED_COLUMNS if require_role else ("record_id", "image_path"))
    if labelled:
        required.append("entity_id")
    required += [c for c in ocr_columns.values() if c not in required]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        hint = ""
        if labelled and missing == ["entity_id"]:
            hint = (" (a manifest without entity_id is unlabeled: it cannot be trained or evaluated, only linked "
                    "with workflow_scripts/link_new_records.py)")
        found = [c for c in frame.columns if c != "where"]
        raise ManifestError(f"{path}: missing column(s) {missing}{hint}; found columns {found}")
    if "role" not in frame:
        frame["role"] = ""
    if len(frame) == 0:
        raise ManifestError(f"{path}: the manifest has no records")

    problems = []

    def problem(row, message):
        problems.append(f"{_row_label(row)}: {message}")

    empty_ids = frame["record_id"].str.strip() == ""
    for _, row in frame[empty_ids].iterrows():
        problem(row, "empty record_id")
    first_line = {}
    for _, row in frame[~empty_ids].iterrows():
        if row["record_id"] in first_line:
            problem(row, f"duplicate record_id, first used on {first_line[row['record_id']]}")
        else:
            first_line[row["record_id"]] = row["where"]
    if require_role:
        for _, row in frame[~frame["role"].isin(ROLES)].iterrows():
            problem(row, f"role {row['role']!r} is not one of {list(ROLES)}")
    for _, row in frame[frame["image_path"].str.strip() == ""].iterrows():
        problem(row, "empty image_path")

    if labelled:
        has_entity = frame["entity_id"].str.strip() != ""
        for _, row in frame[~has_entity & frame["role"].isin(["query", "reference"])].iterrows():
            problem(row, f"a {row['role']} needs an entity_id (records without one must have role 'unlabeled')")
        if "split" in frame:
            linked = frame[frame["role"] != "unlabeled"]
            for _, row in linked[~linked["split"].isin(SPLITS)].iterrows():
                problem(row, f"split {row['split']!r} is not one of {list(SPLITS)}")
            for entity, rows in linked[linked["split"].isin(SPLITS)].groupby("entity_id", sort=True):
                if rows["split"].nunique() > 1:
                    places = "; ".join(f"{s} on {', '.join(r['where'])}" for s, r in rows.groupby("split"))
                    problems.append(f"entity_id {entity!r} is in more than one split: {places}")
        if "name" in frame:
            for entity, rows in frame[has_entity].groupby("entity_id", sort=True):
                names = sorted(set(rows["name"]) - {""})
                if len(names) > 1:
                    problems.append(f"entity_id {entity!r} has more than one name: {names}")

    for column in ("clean_image_path",):
        if column in frame and (frame[column] == "").any() and (frame[column] != "").any():
            row = frame[frame[column] == ""].iloc[0]
            problem(row, f"{column} is empty here but given elsewhere: give it for every record or for none")

    manifest_dir = path.parent
    frame["image_file"] = [str(resolve_path(v, manifest_dir)) for v in frame["image_path"]]
    sizes = []
    if images != "none":
        bar = tqdm(frame.iterrows(), total=len(frame), desc=f"checking images of {path.name}", mininterval=5,
                   disable=images == "header" and len(frame) < PROGRESS_FROM)
        for _, row in bar:
            if not row["image_path"].strip():
                sizes.append(None)
                continue
            message, size = image_problem(Path(row["image_file"]), decode=images == "decode")
            sizes.append(size)
            if message:
                problem(row, message)
            if "clean_image_path" in frame and row["clean_image_path"]:
                message, _ = image_problem(resolve_path(row["clean_image_path"], manifest_dir), images == "decode")
                if message:
                    problem(row, "clean_image_path: " + message)

    summary = {"records": len(frame)}
    if labelled:
        references = frame[frame["role"] == "reference"]
        queries = frame[frame["role"] == "query"]
        if len(references) == 0:
            problems.append("the reference set is empty: no row has role 'reference', so nothing can be linked")
        no_match = queries[~queries["entity_id"].isin(set(references["entity_id"]))]
        summary.update(queries=len(queries), references=len(references),
                       unlabeled=int((frame["role"] == "unlabeled").sum()),
                       entities=int(frame.loc[frame["role"] != "unlabeled", "entity_id"].nunique()),
                       no_match_queries=len(no_match))  # fmt: skip
        if len(no_match):
            log.warning("%s: %d queries have no reference of their entity (no-match queries), e.g. %s", path,
                        len(no_match), _row_label(no_match.iloc[0]))
    for condition, column in ocr_columns.items():
        texts = frame[column]
        summary[f"empty_ocr_{condition}"] = int((texts.str.strip() == "").sum())
        if max_ocr_chars:
            summary[f"long_ocr_{condition}"] = int((texts.str.len() > max_ocr_chars).sum())
    if problems:
        shown = problems[:MAX_SHOWN_PROBLEMS]
        more = len(problems) - len(shown)
        raise ManifestError(
            f"{path}: invalid manifest, {len(problems)} problem(s):\n  " + "\n  ".join(shown)
            + (f"\n  ... and {more} more" if more else "")
        )
    return CheckedManifest(path, frame, labelled, summary, sizes)


def seeded_entity_split(frame: pd.DataFrame, fractions: dict, seed: int) -> pd.Series:
    """Split labels by entity (the generator's assign_splits), seeded; unlabeled rows go to the pool.

    Entities sharing a ``name`` are split together, so one name never sits on both sides of the leakage check.
    """
    from .benchmark import assign_splits
    from .names import normalize_base_name

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


def cap_ocr_texts(texts: pd.Series, max_chars: int) -> tuple[pd.Series, int]:
    """Cut OCR texts to ``max_chars`` characters; returns the texts and how many were cut."""
    texts = texts.fillna("").astype(str)
    long = texts.str.len() > max_chars
    return texts.where(~long, texts.str.slice(0, max_chars)), int(long.sum())


def import_manifest(path, out_dir, ocr_columns: dict | None, split: dict, max_ocr_chars: int,
                    labelled: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A user's manifest -> the workflow's records (benchmark.RECORD_COLUMNS + given OCR) and a data summary.

    Decodes every image (the parse-time check only read headers) and fails naming the record. Image paths
    become absolute; ``vertical`` is 1 for a crop taller than wide (read turned, like the generator's).
    """
    from .benchmark import RECORD_COLUMNS

    ocr_columns = dict(ocr_columns or {})
    checked = check_manifest(path, ocr_columns, labelled=labelled, images="decode", max_ocr_chars=max_ocr_chars)
    frame = checked.frame
    summary = dict(checked.summary)
    if labelled and "split" not in frame:
        frame["split"] = seeded_entity_split(frame, split, int(split.get("seed", 0)))
        summary["split"] = f"seeded (seed {int(split.get('seed', 0))})"
    else:
        summary["split"] = "given"
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
            "vertical": [int(h > w) for w, h in checked.sizes],
            "font": "",
            "clean_image_path": [str(resolve_path(p, checked.path.parent)) if p else "" for p in
                                 frame.get("clean_image_path", pd.Series("", index=frame.index))],
        },
        columns=RECORD_COLUMNS,
    )
    if "name" in frame:  # the entity's name on every row of it, wherever it was given
        named = frame[frame["name"] != ""].groupby("entity_id")["name"].first()
        records["base_name"] = records["entity_id"].map(named).fillna("").where(~unlabeled, frame["name"])
    for condition, column in ocr_columns.items():
        records[f"ocr_{condition}"], cut = cap_ocr_texts(frame[column], max_ocr_chars)
        summary[f"ocr_truncated_{condition}"] = cut
        if cut:
            log.warning("%s: %d %s OCR texts longer than %d characters were cut to %d (ocr.max_chars)",
                        checked.path, cut, condition, max_ocr_chars, max_ocr_chars)
    if labelled:
        for name in SPLITS:
            in_split = records[(records["split"] == name) & ~unlabeled]
            summary[f"entities_{name}"] = int(in_split["entity_id"].nunique())
            summary[f"queries_{name}"] = int((in_split["role"] == "query").sum())
        refs = set(records.loc[records["role"] == "reference", "entity_id"])
        for name in ("val", "test"):
            q = records[(records["role"] == "query") & (records["split"] == name)]
            summary[f"no_match_queries_{name}"] = int((~q["entity_id"].isin(refs)).sum())
        _require_every_split(checked.path, summary)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records.to_csv(out_dir / "records.csv", index=False, lineterminator="\n")
    table = pd.DataFrame({"metric": list(summary), "value": [str(v) for v in summary.values()]})
    return records, table


def _require_every_split(path, summary: dict) -> None:
    """Training needs a training split; model selection and the table need validation and test queries."""
    lacking = [f"{name} {what}" for name, what in (("train", "entities"), ("val", "queries"), ("test", "queries"))
               if not summary[f"{what}_{name}"]]  # fmt: skip
    if lacking:
        raise ManifestError(f"{path}: no {', no '.join(lacking)}: a labelled dataset needs a training split and "
                            f"validation and test queries (counts: {summary})")


def fill_entity_names(records: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Give every labelled entity without a name one: the OCR text of its reference (clean OCR, else noisy),
    or of its first query where it has no reference. The synthetic stage renders these names for training
    and the leakage check compares them across splits. Returns the records and how many entities were named."""
    records = records.copy()
    missing = (records["base_name"] == "") & (records["entity_id"] != "")
    if not missing.any():
        return records, 0
    text = records.get("ocr_clean", pd.Series("", index=records.index)).fillna("")
    text = text.where(text.str.strip() != "", records.get("ocr_noisy", pd.Series("", index=records.index)).fillna(""))
    ranked = records.assign(_text=text.str.strip(), _rank=(records["role"] != "reference").astype(int))
    ranked = ranked[ranked["entity_id"] != ""].sort_values(["_rank"], kind="stable")
    derived = ranked[ranked["_text"] != ""].groupby("entity_id")["_text"].first()
    records.loc[missing, "base_name"] = records.loc[missing, "entity_id"].map(derived).fillna("")
    return records, int(records.loc[missing, "entity_id"].nunique())
