"""Cached recognizer features of a record set: one .npz per set (``keys``, ``features``, ``texts``).

The frozen encoder's output does not change while the head trains, so every crop goes through it once
(rules/ocr.smk) and training and embedding read the cache by key: a record's ``record_id``, or ``view:<row>``
for the synthetic views. A key that is not in the cache is an error naming it, never a silent zero.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from clippings_wf.ocr import recognizer

FORMAT = 1


def view_keys(n: int) -> list[str]:
    return [f"view:{i}" for i in range(n)]


def save(path, keys, features: np.ndarray, texts) -> None:
    from clippings_wf.runtime.atomic import atomic_path

    keys = np.asarray([str(k) for k in keys])
    if len(keys) != len(features) or len(keys) != len(texts):
        raise ValueError(f"{path}: {len(keys)} keys, {len(features)} feature rows, {len(texts)} texts")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:  # np.savez on a path would append .npz to the temporary name
            np.savez(f, format=np.array(FORMAT), keys=keys, features=features.astype(np.float16),
                     texts=np.asarray(list(texts), dtype=str))


class FeatureCache:
    def __init__(self, keys, features: np.ndarray, sources: str = "memory"):
        self.features = features
        self.sources = sources
        self.row = {k: i for i, k in enumerate(keys)}
        if len(self.row) != len(keys):
            raise ValueError(f"feature cache {sources}: duplicate keys")

    @classmethod
    def load(cls, paths) -> "FeatureCache":
        keys, arrays = [], []
        for path in map(Path, paths):
            with np.load(path, allow_pickle=False) as data:
                version = int(data["format"]) if "format" in data else None
                if version != FORMAT:
                    raise ValueError(f"feature cache {path} has format {version}, this code reads format "
                                     f"{FORMAT}: delete it and rerun its rule")
                keys.extend(data["keys"].tolist())
                arrays.append(data["features"])
        return cls(keys, np.concatenate(arrays), ", ".join(map(str, paths)))

    def take(self, keys) -> np.ndarray:
        missing = [k for k in keys if k not in self.row]
        if missing:
            raise KeyError(f"{len(missing)} records are not in the feature cache ({self.sources}), "
                           f"e.g. {missing[:3]}")
        return self.features[[self.row[k] for k in keys]]


def attach(bundle, paths) -> None:
    """Give a recognizer- or photo-tower bundle its cached features (other towers read pixels and need none)."""
    if bundle.input_kind == "photo_features":
        from clippings_wf.models import photo_encoder

        cache = FeatureCache.load(paths)
        if cache.features.shape[1:] != (photo_encoder.FEATURE_DIM,):
            raise ValueError(f"feature cache {cache.sources} holds features of shape {cache.features.shape[1:]}, "
                             f"but the photo tower reads ({photo_encoder.FEATURE_DIM},): rerun encode_photos")
        bundle.feature_cache = cache
    elif bundle.input_kind == "features":
        cache = FeatureCache.load(paths)
        expected = bundle.image_size[1] // recognizer.STRIDE
        if cache.features.shape[1] != expected:
            raise ValueError(f"feature cache {cache.sources} holds lines of {cache.features.shape[1]} positions, "
                             f"but {bundle.architecture} reads {expected} ({bundle.image_size[1]} pixels): rerun "
                             f"the recognize rules for this architecture")
        bundle.feature_cache = cache
