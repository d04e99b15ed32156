"""A user's manifest of their own documents: read it and check it before any job starts.

A user's manifest (README "Bring your own data") is a UTF-8 CSV or a Parquet file, one row per record:
record_id, image_path (relative to the manifest's folder, or absolute), role (query | reference | unlabeled),
and optionally entity_id, split (train | val | test), name (the entity's name), text (the record's
transcription), clean_image_path (a better scan of the same record) and OCR text columns.

``check_manifest`` validates it and names the file, the line and the record of every problem, one function per
check; ``data.import_manifest`` turns it into the workflow's records.csv.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from clippings_wf.data.manifest_files import ManifestError, image_problem, read_user_manifest, resolve_path
from clippings_wf.image_files import ImagePolicy, UntrustedPathError
from clippings_wf.records import CLUSTERING_ROLES, LINKING_ROLES, ROLES, SPLITS

log = logging.getLogger(__name__)

USER_REQUIRED_COLUMNS = ("record_id", "image_path", "role")
# Every column holding an image path, each checked against the manifest's folder and the allowed roots.
IMAGE_COLUMNS = ("image_path", "clean_image_path", "ocr_image_path", "clean_ocr_image_path")
MAX_SHOWN_PROBLEMS = 20
# A parse-time progress bar only where the image check takes long enough to wonder about.
PROGRESS_FROM = 5000


@dataclass
class CheckedManifest:
    """A validated user manifest: its rows (with ``where`` and resolved ``image_file``) and what was counted."""

    path: Path
    frame: pd.DataFrame
    labelled: bool
    summary: dict = field(default_factory=dict)
    sizes: list = field(default_factory=list)  # (width, height) per row, where images were opened
    policy: ImagePolicy = field(default_factory=ImagePolicy)  # the image roots and pixel limit checked with


class Problems(list):
    """The problems found so far, each message naming the row (``where``) and record it is about."""

    def __init__(self, frame: pd.DataFrame):
        super().__init__()
        self.where, self.record_ids = frame["where"].tolist(), frame["record_id"].tolist()

    def at(self, i: int, message: str) -> None:
        self.append(f"{self.where[i]} (record_id {self.record_ids[i]!r}): {message}")


def check_manifest(
    path,
    ocr_columns: dict | None = None,
    labelled: bool = True,
    images: str = "header",
    require_role: bool = True,
    max_ocr_chars: int | None = None,
    references: bool = True,
    image_roots=(),
    max_pixels: int | None = None,
) -> CheckedManifest:
    """Validate a user's manifest; raise ManifestError listing every problem with its file, line and record.

    ocr_columns: OCR condition (records.OCR_CONDITIONS; the schema refuses others) -> manifest column holding that
    OCR text (those columns must exist); a condition without one is left to the OCR step.
    labelled: the dataset trains and is evaluated, so it needs entity_id, references and every split.
    images: "header" (exists, not empty, PIL identifies it: cheap enough for parse time), "decode" (every
    pixel, the import step) or "none". Allowed and only counted: queries whose entity has no reference
    (no-match queries), empty OCR cells, OCR cells longer than ``max_ocr_chars`` (cut on import).
    references: the dataset links queries to references (roles query, reference, unlabeled); False for one
    evaluated by clustering alone (roles record, unlabeled; a missing role column means every row is a record).
    image_roots: folders an image path may lead into besides the manifest's own (``image_files``; a path leaving
    them is a problem naming record, column and path); max_pixels: the largest image (width x height) accepted,
    default PIL's 89,478,485. The resolved paths are in ``frame["image_file"]`` and ``frame[column + "_file"]``.
    """
    path = Path(path)
    ocr_columns = dict(ocr_columns or {})
    frame = read_user_manifest(path)
    _check_columns(path, frame, ocr_columns, labelled, require_role and references)
    if "role" not in frame:
        frame["role"] = "" if references else "record"
    # Plain lists in every check: iterrows over a big manifest costs more than the image checks themselves.
    problems = Problems(frame)
    _check_ids_and_roles(frame, problems, LINKING_ROLES if references else CLUSTERING_ROLES, require_role)
    if labelled:
        _check_entities(frame, problems)
    _check_clean_paths(frame, problems)
    policy = ImagePolicy.make(image_roots, max_pixels)
    _resolve_image_columns(path, frame, problems, policy)
    sizes = _check_images(path, frame, problems, images, policy.max_pixels) if images != "none" else []
    summary = {"records": len(frame)}
    if labelled and references:
        summary.update(_check_references(path, frame, problems))
    elif labelled:
        summary.update(labelled_records=int((frame["role"] == "record").sum()),
                       unlabeled=int((frame["role"] == "unlabeled").sum()),
                       entities=int(frame.loc[frame["role"] == "record", "entity_id"].nunique()))  # fmt: skip
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
    return CheckedManifest(path, frame, labelled, summary, sizes, policy)


def _check_columns(path: Path, frame: pd.DataFrame, ocr_columns: dict, labelled: bool, require_role: bool) -> None:
    """The columns the dataset needs are there and it has rows (else nothing else can be checked: raise now)."""
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
    if len(frame) == 0:
        raise ManifestError(f"{path}: the manifest has no records")


def _check_ids_and_roles(frame: pd.DataFrame, problems: Problems, roles: tuple, require_role: bool) -> None:
    """Every record_id present and unique; every role one of ``roles``; every image_path given."""
    first_line = {}
    for i, record_id in enumerate(frame["record_id"].tolist()):
        if not record_id.strip():
            problems.at(i, "empty record_id")
        elif record_id in first_line:
            problems.at(i, f"duplicate record_id, first used on {first_line[record_id]}")
        else:
            first_line[record_id] = problems.where[i]
    for i, (role, image_path) in enumerate(zip(frame["role"].tolist(), frame["image_path"].tolist())):
        if require_role and role not in roles:
            hint = ""
            if role in ROLES:
                hint = (" (record is the role of a dataset evaluated by clustering alone, evaluation: clustering)"
                        if role == "record" else " (a dataset evaluated by clustering alone has no queries or "
                        "references: its labelled rows are records)")  # fmt: skip
            problems.at(i, f"role {role!r} is not one of {list(roles)}{hint}")
        if not image_path.strip():
            problems.at(i, "empty image_path")


def _check_entities(frame: pd.DataFrame, problems: Problems) -> None:
    """Queries and references have an entity; each entity sits in one known split and has one name."""
    entities, roles = frame["entity_id"].tolist(), frame["role"].tolist()
    splits = frame["split"].tolist() if "split" in frame else None
    entity_splits = {}
    for i, (entity, role) in enumerate(zip(entities, roles)):
        if role in ("query", "reference", "record") and not entity.strip():
            problems.at(i, f"a {role} needs an entity_id (records without one must have role 'unlabeled')")
        if splits is not None and role != "unlabeled":
            if splits[i] not in SPLITS:
                problems.at(i, f"split {splits[i]!r} is not one of {list(SPLITS)}")
            else:
                entity_splits.setdefault(entity, {}).setdefault(splits[i], []).append(problems.where[i])
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


def _check_clean_paths(frame: pd.DataFrame, problems: Problems) -> None:
    """clean_image_path is given for every record or for none."""
    clean_paths = frame["clean_image_path"].tolist() if "clean_image_path" in frame else None
    if clean_paths is not None and "" in clean_paths and any(clean_paths):
        problems.at(clean_paths.index(""), "clean_image_path is empty here but given elsewhere: give it for every "
                                           "record or for none")  # fmt: skip


def _resolve_image_columns(path: Path, frame: pd.DataFrame, problems: Problems, policy: ImagePolicy) -> None:
    """Every image path column resolved into ``<column>_file`` (``image_path`` into ``image_file``), "" where
    empty or refused: a path leading outside the manifest's folder and the allowed roots is a problem."""
    for column in IMAGE_COLUMNS:
        if column not in frame:
            continue
        resolved = []
        for i, value in enumerate(frame[column].tolist()):
            try:  # no record_id here: problems.at names the row and its record
                resolved.append(str(resolve_path(value, path.parent, policy, None, column)) if value.strip() else "")
            except UntrustedPathError as e:
                problems.at(i, str(e))
                resolved.append("")
        frame["image_file" if column == "image_path" else f"{column}_file"] = resolved


def _check_images(path: Path, frame: pd.DataFrame, problems: Problems, images: str, max_pixels: int) -> list:
    """Every image (clean and OCR images too) opens: its header, or with ``images="decode"`` every pixel, and is
    within ``max_pixels``. Returns the (width, height) of each row's image, None where it has none."""
    decode = images == "decode"
    other_images = {c: frame[f"{c}_file"].tolist() for c in IMAGE_COLUMNS[1:] if c in frame}
    sizes = []
    bar = tqdm(enumerate(frame["image_file"].tolist()), total=len(frame), desc=f"checking images of {path.name}",
               mininterval=5, disable=not decode and len(frame) < PROGRESS_FROM)  # fmt: skip
    for i, image_file in bar:
        if not image_file:  # empty, or refused above
            sizes.append(None)
            continue
        message, size = image_problem(Path(image_file), decode=decode, max_pixels=max_pixels)
        sizes.append(size)
        if message:
            problems.at(i, message)
        for column, values in other_images.items():  # the clean scan, the OCR images
            if values[i]:
                message, _ = image_problem(Path(values[i]), decode=decode, max_pixels=max_pixels)
                if message:
                    problems.at(i, f"{column}: " + message)
    return sizes


def _check_references(path: Path, frame: pd.DataFrame, problems: Problems) -> dict:
    """A labelled dataset has a reference set; counts its roles, entities and no-match queries (warned)."""
    references = frame[frame["role"] == "reference"]
    queries = frame[frame["role"] == "query"]
    if len(references) == 0:
        problems.append("the reference set is empty: no row has role 'reference', so nothing can be linked")
    no_match = queries[~queries["entity_id"].isin(set(references["entity_id"]))]
    if len(no_match):
        first = no_match.iloc[0]
        log.warning("%s: %d queries have no reference of their entity (no-match queries), e.g. %s (record_id %r)",
                    path, len(no_match), first["where"], first["record_id"])  # fmt: skip
    return dict(queries=len(queries), references=len(references), unlabeled=int((frame["role"] == "unlabeled").sum()),
                entities=int(frame.loc[frame["role"] != "unlabeled", "entity_id"].nunique()),
                no_match_queries=len(no_match))  # fmt: skip
