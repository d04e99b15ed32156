"""The generated benchmark: a reference directory of firms and noisy query mentions of them (records.csv + crops)."""

from pathlib import Path

import numpy as np
import pandas as pd

from clippings_wf.data import names
from clippings_wf.data import render
from clippings_wf.records import RECORD_COLUMNS



def assign_splits(n, split_fractions, rng):
    """Split labels for ``n`` entities, shuffled with ``rng``, sized by the fractions (largest remainder)."""
    keys = [k for k in ("train", "val", "test") if split_fractions.get(k, 0) > 0]
    fractions = np.array([float(split_fractions[k]) for k in keys])
    exact = fractions / fractions.sum() * n
    counts = np.floor(exact).astype(int)
    counts[np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]] += 1
    labels = np.repeat(keys, counts)
    return list(labels[rng.permutation(n)])


def generate_benchmark(out_dir, n_entities, distractor_fraction=0.25, queries_per_entity=(1, 3),
                       split_fractions=None, n_pool=0, vertical_fraction=0.3, old_form_prob=0.3, seed=0, language="ja",
                       shift=False):
    """Render the benchmark into ``out_dir`` (images/, clean_images/, records.csv) and return the records.

    ``language``: "ja" (Japanese firms) or "en" (US firms: horizontal only, ``old_form_prob`` abbreviates words).
    ``shift``: off the default's distribution (Japanese only): fonts, names and damage no default pool uses
    (clippings_wf.data.shifted); with False the output is byte for byte the default benchmark.
    """
    split_fractions = split_fractions or {"train": 0.7, "val": 0.15, "test": 0.15}
    out_dir = Path(out_dir)
    for sub in ("images", "clean_images"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    # Entities and the pool drawn together, so the pool never repeats a firm of any split.
    all_names = names.generate_base_names(n_entities + n_pool, rng, language=language, shift=shift)
    entity_names, pool_names = all_names[:n_entities], all_names[n_entities:]
    splits = assign_splits(n_entities, split_fractions, rng)
    is_distractor = rng.random(n_entities) < distractor_fraction
    q_min, q_max = (int(q) for q in queries_per_entity)
    rows = []

    def add(view_rng, base_name, style, entity_id, role, split):
        text, clean, noisy = render.render_view(base_name, style, view_rng)
        record_id = f"r{len(rows) + 1:06d}"
        image_path, clean_path = f"images/{record_id}.png", f"clean_images/{record_id}.png"
        (out_dir / image_path).write_bytes(render.to_png(noisy))
        (out_dir / clean_path).write_bytes(render.to_png(clean))
        rows.append(dict(record_id=record_id, image_path=image_path, entity_id=entity_id, role=role, split=split,
                         text=text, base_name=base_name, vertical=int(style["vertical"]), font=style["font"],
                         clean_image_path=clean_path))

    ref_vertical, ref_old = vertical_fraction / 6, old_form_prob / 6  # a directory is mostly modern and horizontal
    for i, base_name in enumerate(entity_names):
        entity_id = f"e{i + 1:05d}"
        legal_form = render.sample_entity_legal_form(rng, language)
        ref_style = render.sample_reference_style(rng, legal_form, ref_vertical, ref_old, language, shift)
        add(rng, base_name, ref_style, entity_id, "reference", splits[i])
        if is_distractor[i]:
            continue
        for _ in range(int(rng.integers(q_min, q_max + 1))):
            style = render.sample_query_style(rng, legal_form, ref_style["font"], vertical_fraction, old_form_prob,
                                              language, shift)
            add(rng, base_name, style, entity_id, "query", splits[i])
    for base_name in pool_names:
        style = render.sample_query_style(rng, render.sample_entity_legal_form(rng, language), None,
                                          vertical_fraction, old_form_prob, language, shift)
        add(rng, base_name, style, "", "unlabeled", "pool")
    records = pd.DataFrame(rows, columns=RECORD_COLUMNS)
    records.to_csv(out_dir / "records.csv", index=False)
    return records
