"""The loss of a batch under each objective of the recipe (``objective``, see training/stage.py).

Embeddings are L2-normalized with ``modeling.l2_normalize``: F.normalize's values, but no gradient into an all-zero
embedding (a crop whose features all vanish), where F.normalize's reaches 1e24 (tests/test_nonfinite.py).
"""

from __future__ import annotations

import torch

from clippings_wf.models import embedding
from clippings_wf.models import images
from clippings_wf.models import losses
from clippings_wf.models import modeling
from clippings_wf.training.data import TrainingData


def stage_weight(recipe: dict) -> float:
    """Which towers a stage trains and evaluates: 1 image only, 0 text only, between both. The views warm-ups
    train one tower; the others carry their w in the recipe (the CLIP stage: the pooled variant's, from config)."""
    if recipe["objective"] == "views":
        return 1.0 if recipe["modality"] == "image" else 0.0
    return float(recipe["w"])


def batch_loss(bundle, objective: str, w: float, data: TrainingData, idx, generator, text_rng, recipe: dict,
               device) -> torch.Tensor:  # fmt: skip
    """The objective's loss on the records ``idx``: crops augmented with ``generator``, one OCR text of each record
    drawn with ``text_rng``."""
    img, txt = _encode_batch(bundle, objective, w, data, idx, generator, text_rng, device)
    labels = None if objective == "clip" else torch.from_numpy(data.labels[idx]).to(device)
    temperature = float(recipe.get("temperature", 0.1))
    return embedding_loss(objective, img, txt, labels, w, temperature, getattr(bundle.model, "logit_scale", None))


def _encode_batch(bundle, objective: str, w: float, data: TrainingData, idx, generator, text_rng, device):
    """(image, text) embeddings of the batch, float32, not normalized; None for a tower the objective leaves out."""
    model = bundle.model
    need_image = objective == "clip" or w > 0
    need_text = objective == "clip" or w < 1
    img = txt = None
    with modeling.autocast(device):
        if need_image:
            crops = torch.from_numpy(data.crops[idx])
            if bundle.input_kind == "pixels":  # cached recognizer features are not augmented
                crops = images.augment_crops(crops, generator)
            x = bundle.to_input(crops.to(device), channels_last=embedding.use_channels_last(bundle))
            img = model.encode_image(x).float()
        if need_text:
            texts = [alts[text_rng.integers(len(alts))] for alts in (data.texts[i] for i in idx)]
            txt = model.encode_text(bundle.tokenize(texts).to(device)).float()
    return img, txt


def embedding_loss(objective: str, img, txt, labels, w: float, temperature: float = 0.1,
                   logit_scale=None) -> torch.Tensor:  # fmt: skip
    """CLIP's InfoNCE between the normalized image and text embeddings (``logit_scale``: the model's learned log
    temperature), or SupCon on the pooled embedding (one tower's where the other is None)."""
    if objective == "clip":
        img = modeling.l2_normalize(img, dim=-1)
        txt = modeling.l2_normalize(txt, dim=-1)
        return losses.clip_loss(img, txt, logit_scale.exp())
    if img is None:
        emb = modeling.l2_normalize(txt, dim=-1)
    elif txt is None:
        emb = modeling.l2_normalize(img, dim=-1)
    else:
        emb = modeling.pooled_embedding(img, txt, w)
    return losses.supcon_loss(emb, labels, temperature)
