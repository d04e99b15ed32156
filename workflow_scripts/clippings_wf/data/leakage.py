"""Guard against validation/test firms leaking into anything the model trains on.

Generated names come from small vocabularies and collide, so firms are compared by normalised base name
(NFKC, modern character forms, English abbreviations expanded, legal forms removed), not only by entity id.
"""

import pandas as pd

from clippings_wf.data import vocab_en
from clippings_wf.data import vocab_ja
from clippings_wf.data.names import normalize_base_name

_LEGAL_TOKENS = sorted({"株式会社", "(株)", "合資会社", "合名会社", "有限会社"}, key=len, reverse=True)


def firm_key(base_name, text=""):
    """Normalised base name; falls back to the record text without its legal form when there is no base name."""
    key = normalize_base_name(base_name) if str(base_name) else normalize_base_name(text)
    if not str(base_name):
        for token in _LEGAL_TOKENS:  # NFKC already turned ㈱ and （株） into (株)
            key = key.replace(vocab_ja.to_modern(token), "")
        for word in vocab_en.LEGAL_WORDS:  # English keys are expanded and lowercased: "Co." is "company"
            if key.endswith(word) and len(key) > len(word):
                key = key[: -len(word)]
    return key


def _keys(frame):
    base = frame["base_name"] if "base_name" in frame else pd.Series([""] * len(frame), index=frame.index)
    text = frame["text"] if "text" in frame else pd.Series([""] * len(frame), index=frame.index)
    return [firm_key(b, t) for b, t in zip(base.fillna("").astype(str), text.fillna("").astype(str))]


def _show(values, limit=10):
    values = sorted(values)
    more = f" ... and {len(values) - limit} more" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


def check_no_leakage(manifest_df, synthetic_df=None):
    """Raise ValueError if a val/test entity id or name (a firm's, a wire caption's), or where records have one,
    a val/test parent picture, appears in train, the pool or the synthetic views."""
    split = manifest_df["split"].astype(str)
    held = manifest_df[split.isin(["val", "test"])]
    held_ids = set(held["entity_id"].astype(str)) - {""}
    held_keys = set(_keys(held)) - {""}
    problems = []
    for where, frame in (("train split", manifest_df[split == "train"]), ("unlabeled pool", manifest_df[split == "pool"])):
        ids = set(frame["entity_id"].astype(str)) & held_ids
        if ids:
            problems.append(f"val/test entity ids in the {where}: {_show(ids)}")
        keys = set(_keys(frame)) & held_keys
        if keys:
            problems.append(f"val/test firm names in the {where}: {_show(keys)}")
        pictures = set(frame.get("picture", [])) & set(held.get("picture", [])) - {""}
        if pictures:  # news_wire: two crops of one picture are two sources, but one picture is one split
            problems.append(f"val/test parent pictures in the {where}: {_show(pictures)}")
    if synthetic_df is not None:
        keys = set(_keys(synthetic_df)) & held_keys
        if keys:
            problems.append(f"val/test firm names in the synthetic views: {_show(keys)}")
    if problems:
        raise ValueError("data leakage: " + "; ".join(problems))
