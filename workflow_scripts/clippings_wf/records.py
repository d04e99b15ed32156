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
# The OCR conditions, each a manifest column ``ocr_<condition>``: Tesseract on the degraded crop (noisy) and on an
# undegraded render (clean), as in the paper, and a modern pretrained recognizer (PP-OCR) on the degraded crop.
# The only place they are spelled: every step loops over ``ocr_conditions(frame)``.
OCR_CONDITIONS = ("noisy", "clean", "modern")
MAX_SHOWN_PROBLEMS = 20
# A parse-time progress bar only where the image check takes long enough to wonder about.
PROGRESS_FROM = 5000


class ManifestError(ValueError):
    pass


def ocr_conditions(frame) -> list[str]:
    """The OCR conditions whose ``ocr_<condition>`` column ``frame`` has (a DataFrame, or any container of column
    names), in OCR_CONDITIONS order: a manifest made before the modern recognizer, or a user's without its
    column, has two."""
    columns = set(frame.columns if hasattr(frame, "columns") else frame)
    return [c for c in OCR_CONDITIONS if f"ocr_{c}" in columns]


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


def check_manifest(
    path,
    ocr_columns: dict | None = None,
    labelled: bool = True,
    images: str = "header",
    require_role: bool = True,
    max_ocr_chars: int | None = None,
) -> CheckedManifest:
    """Validate a user's manifest; raise ManifestError listing every problem with its file, line and record.

    ocr_columns: OCR condition (OCR_CONDITIONS; the schema refuses others) -> manifest column holding that OCR
    text (those columns must exist); a condition without one is left to the OCR step.
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
    # Plain lists: iterrows over a big manifest costs more than the image checks themselves.
    where, record_ids = frame["where"].tolist(), frame["record_id"].tolist()
    roles, image_paths = frame["role"].tolist(), frame["image_path"].tolist()

    def problem(i, message):
        problems.append(f"{where[i]} (record_id {record_ids[i]!r}): {message}")

    first_line = {}
    for i, record_id in enumerate(record_ids):
        if not record_id.strip():
            problem(i, "empty record_id")
        elif record_id in first_line:
            problem(i, f"duplicate record_id, first used on {first_line[record_id]}")
        else:
            first_line[record_id] = where[i]
    for i, (role, image_path) in enumerate(zip(roles, image_paths)):
        if require_role and role not in ROLES:
            problem(i, f"role {role!r} is not one of {list(ROLES)}")
        if not image_path.strip():
            problem(i, "empty image_path")

    if labelled:
        entities = frame["entity_id"].tolist()
        splits = frame["split"].tolist() if "split" in frame else None
        entity_splits = {}
        for i, (entity, role) in enumerate(zip(entities, roles)):
            if role in ("query", "reference") and not entity.strip():
                problem(i, f"a {role} needs an entity_id (records without one must have role 'unlabeled')")
            if splits is not None and role != "unlabeled":
                if splits[i] not in SPLITS:
                    problem(i, f"split {splits[i]!r} is not one of {list(SPLITS)}")
                else:
                    entity_splits.setdefault(entity, {}).setdefault(splits[i], []).append(where[i])
        for entity, places in sorted(entity_splits.items()):
            if len(places) > 1:
                text = "; ".join(f"{s} on {', '.join(lines)}" for s, lines in sorted(places.items()))
                problems.append(f"entity_id {entity!r} is in more than one split: {text}")
        if "name" in frame:
            names_of = {}
            for entity, name in zip(entities, frame["name"].tolist()):
                if entity and name:
                    names_of.setdefault(entity, set()).add(name)
            for entity, names in sorted(names_of.items()):
                if len(names) > 1:
                    problems.append(f"entity_id {entity!r} has more than one name: {sorted(names)}")

    clean_paths = frame["clean_image_path"].tolist() if "clean_image_path" in frame else None
    if clean_paths is not None and "" in clean_paths and any(clean_paths):
        problem(clean_paths.index(""), "clean_image_path is empty here but given elsewhere: give it for every record "
                                       "or for none")

    manifest_dir = path.parent
    frame["image_file"] = [str(resolve_path(v, manifest_dir)) for v in image_paths]
    sizes = []
    if images != "none":
        decode = images == "decode"
        bar = tqdm(enumerate(frame["image_file"].tolist()), total=len(frame), desc=f"checking images of {path.name}",
                   mininterval=5, disable=not decode and len(frame) < PROGRESS_FROM)
        for i, image_file in bar:
            if not image_paths[i].strip():
                sizes.append(None)
                continue
            message, size = image_problem(Path(image_file), decode=decode)
            sizes.append(size)
            if message:
                problem(i, message)
            if clean_paths is not None and clean_paths[i]:
                message, _ = image_problem(resolve_path(clean_paths[i], manifest_dir), decode=decode)
                if message:
                    problem(i, "clean_image_path: " + message)

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
            first = no_match.iloc[0]
            log.warning("%s: %d queries have no reference of their entity (no-match queries), e.g. %s (record_id %r)",
                        path, len(no_match), first["where"], first["record_id"])
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
    from clippings_wf.data.benchmark import assign_splits
    from clippings_wf.data.names import normalize_base_name

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
    from clippings_wf.data.benchmark import RECORD_COLUMNS

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
