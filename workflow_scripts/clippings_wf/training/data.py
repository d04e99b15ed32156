"""What a training stage trains and selects on: its pool of records, and the validation queries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from clippings_wf.evaluation.metrics import as_text
from clippings_wf.models import embedding
from clippings_wf.models import feature_cache
from clippings_wf.records import resolve_image_paths


@dataclass
class TrainingData:
    crops: np.ndarray  # uint8 [N, H, W]
    texts: list[list[str]]  # per record, its OCR alternatives (one is drawn per step)
    labels: np.ndarray | None  # int class per record; None for the self-supervised objective


@dataclass
class EvalData:
    crops: np.ndarray
    tokens: torch.Tensor
    query_idx: np.ndarray
    ref_idx: np.ndarray
    entities: np.ndarray


def load_training_data(
    bundle, source: str, manifest: pd.DataFrame, manifest_dir: Path, views: pd.DataFrame, workers: int = 1
) -> TrainingData:
    """The pool of a stage: ``synthetic``, ``pool+synthetic``, ``pool`` (records of a kind without synthetic
    renders) or ``labelled`` (the training split)."""
    parts = []
    if source in ("synthetic", "pool+synthetic"):
        crops = bundle.load_crops(list(views["png"]), workers=workers, keys=feature_cache.view_keys(len(views)))
        parts.append((crops, [[as_text(t)] for t in views["ocr"]], views["name_id"].to_numpy()))
    if source in ("pool", "pool+synthetic"):
        # Image-OCR pairs without labels: the unlabelled pool, and where no renders stand beside it (``pool``),
        # the training split's records as well (their labels unused; never a validation or test record).
        splits = ["pool"] if source == "pool+synthetic" else ["pool", "train"]
        pool = manifest[manifest["split"].isin(splits)]
        if len(pool):
            crops = bundle.load_crops(resolve_image_paths(pool, manifest_dir), workers=workers,
                                      keys=pool["record_id"])
            parts.append((crops, [[as_text(t)] for t in pool["ocr_noisy"]], None))
    if source == "labelled":
        train = manifest[(manifest["split"] == "train") & manifest["entity_id"].notna()]
        train = train[train["entity_id"].astype(str) != ""]
        crops = bundle.load_crops(resolve_image_paths(train, manifest_dir), workers=workers,
                                  keys=train["record_id"])
        # Either OCR condition may be met at linking time: draw one per step.
        texts = [[as_text(a), as_text(b)] for a, b in zip(train["ocr_noisy"], train["ocr_clean"])]
        labels = pd.factorize(train["entity_id"].astype(str), sort=True)[0]
        parts.append((crops, texts, labels))
    if not parts:
        raise ValueError(f"unknown training data source {source!r}")
    crops = np.concatenate([p[0] for p in parts])
    texts = [t for p in parts for t in p[1]]
    labels = None if source in ("pool", "pool+synthetic") else np.concatenate([p[2] for p in parts])
    if len(crops) == 0:
        raise ValueError(f"the {source} training pool is empty")
    return TrainingData(crops, texts, labels)


def load_eval_data(bundle, manifest: pd.DataFrame, manifest_dir: Path, split: str = "val", workers: int = 1):
    """Validation queries against the full reference set, with noisy OCR (model selection)."""
    q, r = embedding.evaluation_indices(manifest, split)
    if len(q) == 0:
        return None
    rows = manifest.iloc[np.concatenate([q, r])]
    crops = bundle.load_crops(resolve_image_paths(rows, manifest_dir), workers=workers,
                              keys=rows["record_id"])
    tokens = bundle.tokenize([as_text(t) for t in rows["ocr_noisy"]])
    n = len(q)
    return EvalData(crops, tokens, np.arange(n), np.arange(n, len(rows)), rows["entity_id"].astype(str).to_numpy())
