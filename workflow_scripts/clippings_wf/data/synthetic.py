"""Synthetic training views: several renders of one firm name (a reference-style one, then query-style ones), each OCR'd.

Each name gets its own random stream (seed, name_id), so the views do not depend on how many workers render them.
"""

import multiprocessing

import numpy as np
import pandas as pd
from tqdm import tqdm

from clippings_wf.data import names
from clippings_wf.ocr import tesseract
from clippings_wf.data import render

VIEW_COLUMNS = ["view_id", "name_id", "base_name", "text", "style", "vertical", "font", "png", "ocr"]


def _render_name(task):
    name_id, base_name, seed, views_per_name, vertical_fraction, old_form_prob, literal, language = task
    rng = np.random.default_rng([seed, name_id])
    legal_form = render.sample_entity_legal_form(rng, language)
    if literal:  # a manifest's names are rendered as written: no legal form added, no old forms
        legal_form, old_form_prob = (None, "after"), 0.0
    reference = render.sample_reference_style(rng, legal_form, vertical_fraction / 6, old_form_prob / 6, language)
    styles = [reference] + [
        render.sample_query_style(rng, legal_form, reference["font"], vertical_fraction, old_form_prob, language)
        for _ in range(views_per_name - 1)
    ]
    views = []
    for style in styles:
        text, _, noisy = render.render_view(base_name, style, rng)
        views.append(dict(name_id=name_id, base_name=base_name, text=text, style=style["style"],
                          vertical=int(style["vertical"]), font=style["font"], png=render.to_png(noisy),
                          ocr=tesseract.recognize(noisy, style["vertical"])))
    return views


def generate_synthetic_views(train_base_names, n_extra_names, views_per_name, forbidden_base_names, seed,
                             ocr_lang="jpn", ocr_lang_vertical="jpn_vert", workers=1, vertical_fraction=0.3,
                             old_form_prob=0.3, literal_names=False, language="ja"):
    """Views of the training names plus ``n_extra_names`` new ones; no name in ``forbidden_base_names``, ever.

    ``literal_names``: render names exactly as given (a manifest's names, which may carry their legal form).
    """
    forbidden = {names.normalize_base_name(n) for n in forbidden_base_names}
    train = sorted({n for n in train_base_names if n.strip() and names.normalize_base_name(n) not in forbidden})
    extra = names.generate_base_names(n_extra_names, np.random.default_rng(seed), exclude=forbidden | set(train),
                                      language=language)
    all_names = train + extra
    tesseract.check_language(ocr_lang)
    tesseract.check_language(ocr_lang_vertical)
    tasks = [(i, name, seed, int(views_per_name), vertical_fraction, old_form_prob, bool(literal_names), language)
             for i, name in enumerate(all_names)]
    workers = max(1, min(int(workers), len(tasks) or 1))
    if workers == 1:
        tesseract.init_worker(ocr_lang, ocr_lang_vertical)
        results = [_render_name(t) for t in tqdm(tasks, desc="synthetic views", mininterval=5)]
    else:
        chunksize = max(1, min(16, len(tasks) // (workers * 8)))
        with multiprocessing.get_context("fork").Pool(workers, initializer=tesseract.init_worker,
                                                      initargs=(ocr_lang, ocr_lang_vertical)) as pool:
            results = list(tqdm(pool.imap(_render_name, tasks, chunksize=chunksize), total=len(tasks),
                                desc="synthetic views", mininterval=5))
    views = pd.DataFrame([v for name_views in results for v in name_views])
    views.insert(0, "view_id", np.arange(len(views), dtype=np.int64))
    return views[VIEW_COLUMNS] if len(views) else pd.DataFrame(columns=VIEW_COLUMNS)
