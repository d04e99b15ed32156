"""The generated newspaper benchmark ``news_wire``: wire photos with captions, each printed by 1 to 4 papers.

The paper's second application clusters image-caption pairs of US newspapers by the wire-service photo they
reproduce. Here a *source* (an entity) is a crop of a real photograph (``photos.py``: Debian wallpapers) with a
wire caption about an event (``captions.py``); a *printing* (a record) is one paper's version of it: the photo
cropped, rescaled, screened and scanned, the caption edited, set in newspaper type and scanned, and Tesseract
reads the caption block (rules/ocr.smk). Two crops of one picture are two sources, like two wire photos of one
event, and some share their event's people and place: the hard negatives.

Splits are by parent picture, so no picture reaches two splits; the unlabeled pool holds further crops of the
training pictures only. Edit and degradation strengths were set once, so that clustering by caption word
Jaccard lands near the paper's ARI on validation, and then frozen (README "news_wire").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from clippings_wf.data import captions, photos, render
from clippings_wf.data.benchmark import assign_splits
from clippings_wf.records import RECORD_COLUMNS

# Extra columns of a news_wire records.csv: the caption images Tesseract reads, the parent picture (the split's
# unit), and the edits and degradations each printing got.
NEWS_COLUMNS = ["ocr_image_path", "clean_ocr_image_path", "picture", "edits", "degradations"]
# How many papers print a source (1 to 4): most wire photos were printed once or twice.
PRINTING_WEIGHTS = np.array([0.6**k for k in range(4)])


def sample_printings(rng, low: int, high: int) -> int:
    weights = PRINTING_WEIGHTS[: high - low + 1]
    return low + int(rng.choice(len(weights), p=weights / weights.sum()))


def _events(rng, sources, shared_event_prob: float) -> list[captions.Event]:
    """One event per source; a source shares the event of an earlier source of its picture with
    ``shared_event_prob`` (two wire photos of one event: same people and place, other photo and wording)."""
    events, by_picture = [], {}
    for picture, _box in sources:
        earlier = by_picture.setdefault(picture, [])
        if earlier and rng.random() < shared_event_prob:
            event = earlier[int(rng.integers(len(earlier)))]
        else:
            event = captions.make_event(rng)
        earlier.append(event)
        events.append(event)
    return events


def generate_news_wire(out_dir, n_entities: int, printings_per_source=(1, 4), split_fractions=None, n_pool: int = 0,
                       print_strength: float = 1.0, edit_strength: float = 1.0, shared_event_prob: float = 0.3,
                       seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """Render the benchmark into ``out_dir`` (images/: printed photos and caption scans, clean_images/: the
    captions' undegraded renders, records.csv, pictures.csv: each photograph's package, licence, split and
    sources) and return the records: ``n_entities`` labelled sources and ``n_pool`` unlabeled
    printings of further sources of the training pictures."""
    split_fractions = split_fractions or {"train": 0.7, "val": 0.15, "test": 0.15}
    out_dir = Path(out_dir)
    for sub in ("images", "clean_images"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pictures = [photos.load_picture(p) for p in photos.PICTURES]
    picture_split = assign_splits(len(pictures), split_fractions, rng)
    # Labelled sources spread over every picture, then the pool's from the training pictures, cut together
    # so that no two sources of a picture overlap more than photos.cut_sources allows.
    per_picture = np.full(len(pictures), n_entities // len(pictures))
    per_picture[rng.permutation(len(pictures))[: n_entities % len(pictures)]] += 1
    train = [i for i, s in enumerate(picture_split) if s == "train"]
    pool_per_picture = np.zeros(len(pictures), dtype=int)
    if n_pool:
        pool_per_picture[train] = n_pool // len(train)
        pool_per_picture[rng.permutation(train)[: n_pool % len(train)]] += 1
    sources, is_pool = [], []
    for i, picture in enumerate(pictures):
        n_labelled = int(per_picture[i])
        for k, (_, box) in enumerate(photos.cut_sources([picture.size], n_labelled + int(pool_per_picture[i]), rng)):
            sources.append((i, box))
            is_pool.append(k >= n_labelled)
    events = _events(rng, sources, shared_event_prob)
    rows = []
    entity = 0
    for (picture, box), pool, event in zip(sources, is_pool, events):
        wire = captions.wire_caption(event, rng)
        source = photos.source_image(pictures[picture], box)
        if pool:
            entity_id, role, split, n_printings = "", "unlabeled", "pool", 1
        else:
            entity += 1
            entity_id, role, split = f"e{entity:05d}", "record", picture_split[picture]
            n_printings = sample_printings(rng, *printings_per_source)
        for _ in range(n_printings):
            rows.append(_print(out_dir, len(rows) + 1, source, wire, event, rng, print_strength, edit_strength)
                        | dict(entity_id=entity_id, role=role, split=split, base_name=" ".join(wire),
                               picture=photos.PICTURES[picture].name))  # fmt: skip
    records = pd.DataFrame(rows, columns=RECORD_COLUMNS + NEWS_COLUMNS)
    records.to_csv(out_dir / "records.csv", index=False)
    _picture_summary(records, picture_split).to_csv(out_dir / "pictures.csv", index=False)
    return records


def _picture_summary(records: pd.DataFrame, picture_split: list[str]) -> pd.DataFrame:
    """Each photograph: where it comes from (package, file, licence, author), its split, and what was cut from it."""
    labelled = records[records["role"] == "record"]
    sources = labelled.groupby("picture")["entity_id"].nunique()
    printings = labelled.groupby("picture").size()
    pool = records[records["role"] == "unlabeled"].groupby("picture").size()
    return pd.DataFrame([
        dict(picture=p.name, package=p.package, path=p.path, licence=p.licence, author=p.author, split=split,
             sources=int(sources.get(p.name, 0)), printings=int(printings.get(p.name, 0)),
             pool_printings=int(pool.get(p.name, 0)))
        for p, split in zip(photos.PICTURES, picture_split)
    ])  # fmt: skip


def _print(out_dir: Path, number: int, source, wire: list[str], event, rng, print_strength: float,
           edit_strength: float) -> dict:  # fmt: skip
    """One paper's printing of a source: its photo, its caption's clean and scanned renders, and their paths."""
    record_id = f"r{number:06d}"
    photo, degradations = photos.print_photo(source, rng, print_strength)
    text, edits = captions.print_caption(wire, rng, edit_strength, event=event)
    clean, noisy, _lines = captions.render_caption(text, rng)
    paths = dict(image_path=f"images/{record_id}.png", ocr_image_path=f"images/{record_id}_caption.png",
                 clean_ocr_image_path=f"clean_images/{record_id}_caption.png")  # fmt: skip
    for key, image in (("image_path", photo), ("ocr_image_path", noisy), ("clean_ocr_image_path", clean)):
        (out_dir / paths[key]).write_bytes(render.to_png(image))
    return dict(record_id=record_id, text=text, vertical=0, font="", clean_image_path="", edits=" ".join(edits),
                degradations=" ".join(degradations), **paths)
