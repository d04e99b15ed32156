"""Embed records with a trained model: image tower on the crops, text tower on the OCR, batched and no_grad."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from clippings_wf.linking import faiss_index
from clippings_wf.models import modeling
from clippings_wf.records import ocr_conditions, resolve_image_paths

log = logging.getLogger(__name__)


@dataclass
class EncodedRecords:
    """Crops at the model's input size and tokenized OCR texts (one token tensor per OCR column)."""

    record_ids: np.ndarray
    crops: np.ndarray  # uint8 [N, H, W]
    tokens: dict[str, torch.Tensor]


def encode_records(
    bundle, manifest: pd.DataFrame, manifest_dir: Path, ocr_columns=None, workers: int = 1
) -> EncodedRecords:
    """``ocr_columns``: default, the ``ocr_<condition>`` column of every OCR condition the manifest has."""
    if ocr_columns is None:
        ocr_columns = [f"ocr_{c}" for c in ocr_conditions(manifest)]
    crops = bundle.load_crops(resolve_image_paths(manifest, manifest_dir), workers=workers, keys=manifest["record_id"])
    tokens = {c: bundle.tokenize(manifest[c].fillna("").astype(str).tolist()) for c in ocr_columns}
    return EncodedRecords(manifest["record_id"].to_numpy(), crops, tokens)


@torch.no_grad()
def embed_arrays(
    bundle, crops: np.ndarray | None, tokens: torch.Tensor | None, batch_size: int, device, desc: str = "embed"
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """L2-normalized image and text embeddings (float32 numpy); pass None to skip a tower."""
    model = bundle.model.eval()
    n = len(crops) if crops is not None else len(tokens)
    img_out, txt_out = [], []
    for start in tqdm(range(0, n, batch_size), desc=desc, leave=False, mininterval=5):
        with modeling.autocast(device):
            if crops is not None:
                batch = torch.from_numpy(crops[start : start + batch_size]).to(device)
                x = bundle.to_input(batch, channels_last=use_channels_last(bundle))
                img_out.append(torch.nn.functional.normalize(model.encode_image(x).float(), dim=-1).cpu())
            if tokens is not None:
                t = tokens[start : start + batch_size].to(device)
                txt_out.append(torch.nn.functional.normalize(model.encode_text(t).float(), dim=-1).cpu())
    img = torch.cat(img_out).numpy() if img_out else None
    txt = torch.cat(txt_out).numpy() if txt_out else None
    return img, txt


def use_channels_last(bundle) -> bool:
    """channels_last speeds our grayscale CNN up on CPU (../shared/MEASURED.md: 0.93 -> 0.65 s/step)."""
    return bundle.channels == 1 and bundle.device.type == "cpu"


def pooled(img: np.ndarray | None, txt: np.ndarray | None, w: float) -> np.ndarray:
    """normalize(w * img + (1 - w) * txt) on already normalized numpy embeddings."""
    if w >= 1.0:
        return img
    if w <= 0.0:
        return txt
    return modeling.pooled_embedding(torch.from_numpy(img), torch.from_numpy(txt), w).numpy()


def evaluation_indices(manifest: pd.DataFrame, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the split's queries, and of the full reference set (every split, distractors included)."""
    queries = np.flatnonzero(((manifest["role"] == "query") & (manifest["split"] == split)).to_numpy())
    references = np.flatnonzero((manifest["role"] == "reference").to_numpy())
    return queries, references


def top1_from_embeddings(
    query_emb: np.ndarray, ref_emb: np.ndarray, query_entities, ref_entities, index: str = "flat", **index_params
) -> tuple[float, np.ndarray, np.ndarray]:
    """Top-1 accuracy of FAISS nearest-reference linking; also the best reference positions and scores."""
    scores, idx = faiss_index.search(faiss_index.build_index(ref_emb, kind=index, **index_params), query_emb, 1)
    best = idx[:, 0]
    hits = np.asarray(ref_entities)[best] == np.asarray(query_entities)
    return float(hits.mean()) if len(hits) else float("nan"), best, scores[:, 0]
