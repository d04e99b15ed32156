"""Kinds of record: what a record's image is, how it is read, which towers can see it, and how a dataset of them
is evaluated. A dataset names its kind (``datasets.<name>.record_kind``) and its evaluation
(``datasets.<name>.evaluation``); every stage that depends on them asks here.

- ``text_line``: a crop of one printed line (a firm name): grayscale ink, a vertical line turned on its side,
  scaled to the tower's height; Tesseract reads it as one line, the PP-OCR line recognizer reads it too (the
  ``modern`` condition and the default vision tower); the synthetic stages render names as such lines.
- ``photo_caption``: a photograph with its caption (the paper's newspaper application): the photo, grayscale,
  fitted whole into the tower's square input; Tesseract reads the caption (``ocr_image_path``) as a block of
  several lines. No line tower reads a photo, and the line recognizer reads single lines only, so such a dataset
  has no ``modern`` condition; it needs a square image tower (an open_clip architecture) and skips the synthetic
  stages (name renders are text lines), training on its pool and labelled split alone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecordKind:
    name: str
    image: str  # "line" | "photo": models.images.load_crops' preprocessing
    ocr_mode: str  # "line" (Tesseract RAW_LINE) | "block" (several lines: SINGLE_BLOCK)
    line_towers: bool  # the text-line towers (the recognizer's, the line CNN) can read its images
    modern_ocr: bool  # the PP-OCR line recognizer reads its OCR images (the `modern` condition)
    synthetic_stages: bool  # the name renders (warm-ups, synthetic SupCon) are records of this kind


KINDS = {
    "text_line": RecordKind("text_line", "line", "line", True, True, True),
    "photo_caption": RecordKind("photo_caption", "photo", "block", False, False, False),
}
DEFAULT_KIND = "text_line"
# linking: references and queries, every table; clustering: records grouped by entity only (no reference role),
# the clustering table and figures only.
EVALUATIONS = ("linking", "clustering")


def kind_of(dataset: dict) -> RecordKind:
    """The kind of a dataset's records (its config block), text lines unless it says otherwise."""
    return KINDS[dataset.get("record_kind", DEFAULT_KIND)]


def links(dataset: dict) -> bool:
    """Whether the dataset is evaluated by linking queries to references (else by clustering alone)."""
    return dataset.get("evaluation", "linking") == "linking"
