"""Non-finite gradient norms at their root: an all-zero embedding under L2 normalization.

F.normalize divides by max(|x|, 1e-12), so the gradient reaching an all-zero row is multiplied by 1e12, and by 1e24
when SupCon's cosine similarity (pytorch-metric-learning) normalizes again; the squares in the gradient norm then
overflow float32 and the optimizer step is skipped. ``modeling.l2_normalize`` gives such a row no gradient and is
F.normalize to the bit everywhere else, so no trained weight of a run without zero embeddings changes.
"""

import logging

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from clippings_wf.models import embedding
from clippings_wf.models import losses
from clippings_wf.models import modeling
from clippings_wf.training import stage
from clippings_wf.training.objectives import embedding_loss
from clippings_wf.training.schedule import GRAD_CLIP

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
# (objective, w): single-tower SupCon (the views warm-ups), pooled SupCon and CLIP.
LOSS_PATHS = [("views", 1.0), ("views", 0.0), ("supcon", 0.5), ("supcon", 0.2), ("clip", 0.5)]


def _towers(objective, w, batch, dim, device, seed=0, zero_row=None):
    generator = torch.Generator().manual_seed(seed)
    img = torch.randn(batch, dim, generator=generator) if objective == "clip" or w > 0 else None
    txt = torch.randn(batch, dim, generator=generator) if objective == "clip" or w < 1 else None
    if zero_row is not None:
        (img if img is not None else txt)[zero_row] = 0.0
    return [None if t is None else t.to(device).requires_grad_(True) for t in (img, txt)]


def _labels(batch, device):
    return (torch.arange(batch) // 2).to(device)  # two records per class


def _old_pooled(img, txt, w):
    """modeling.pooled_embedding before the fix."""
    if w >= 1.0 or txt is None:
        return F.normalize(img.float(), dim=-1)
    if w <= 0.0 or img is None:
        return F.normalize(txt.float(), dim=-1)
    x = w * F.normalize(img.float(), dim=-1) + (1 - w) * F.normalize(txt.float(), dim=-1)
    return F.normalize(x, dim=-1)


def _old_loss(objective, img, txt, labels, w, temperature, logit_scale):
    """The training loss path before the fix (the end of stage._batch_loss)."""
    if objective == "clip":
        return losses.clip_loss(F.normalize(img, dim=-1), F.normalize(txt, dim=-1), logit_scale.exp())
    if img is None:
        emb = F.normalize(txt, dim=-1)
    elif txt is None:
        emb = F.normalize(img, dim=-1)
    else:
        emb = _old_pooled(img, txt, w)
    return losses.supcon_loss(emb, labels, temperature)


def _gradient_norm(loss_fn, objective, w, device, zero_row):
    img, txt = _towers(objective, w, 8, 32, device, zero_row=zero_row)
    logit_scale = torch.tensor(np.log(1 / 0.07), device=device, requires_grad=True)
    loss_fn(objective, img, txt, _labels(8, device), w, 0.1, logit_scale).backward()
    leaves = [t for t in (img, txt, logit_scale) if t is not None]
    grads = [None if t is None else t.grad.clone() for t in (img, txt)]  # clip_grad_norm_ scales them in place
    return torch.nn.utils.clip_grad_norm_(leaves, GRAD_CLIP), *grads  # the norm _optimizer_step checks


def test_plain_normalize_makes_the_gradient_norm_of_a_zero_embedding_infinite():
    """The root cause, as it was: one crop embedded to exactly zero in a single-tower SupCon batch."""
    norm, img_grad, _ = _gradient_norm(_old_loss, "views", 1.0, "cpu", zero_row=3)
    assert not torch.isfinite(norm)
    assert img_grad[3].abs().max() > 1e20 and img_grad.isfinite().all()  # finite entries, their squares not


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("objective, w", LOSS_PATHS)
def test_a_zero_embedding_leaves_the_gradient_norm_finite(objective, w, device):
    norm, img_grad, txt_grad = _gradient_norm(embedding_loss, objective, w, device, zero_row=3)
    assert torch.isfinite(norm)
    zeroed = img_grad if img_grad is not None else txt_grad
    assert torch.equal(zeroed[3], torch.zeros_like(zeroed[3]))  # no direction, no gradient
    assert all(g.isfinite().all() and g.abs().max() < 1e3 for g in (img_grad, txt_grad) if g is not None)


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.detach().cpu().contiguous().view(torch.int32)  # -0.0 and 0.0 differ too


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("batch, dim", [(1, 16), (7, 128), (64, 128), (33, 512)])
def test_l2_normalize_equals_f_normalize_to_the_bit(batch, dim, device):
    generator = torch.Generator().manual_seed(batch * dim)
    x = torch.randn(batch, dim, generator=generator)
    x *= torch.logspace(-13, 3, batch).unsqueeze(1)  # rows below F.normalize's eps too
    x[0, ::2] = -0.0  # signed zeros inside a row
    upstream = torch.randn(batch, dim, generator=generator).to(device)
    x = x.to(device)
    old, new = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out_old, out_new = F.normalize(old, dim=-1), modeling.l2_normalize(new, dim=-1)
    assert torch.equal(_bits(out_old), _bits(out_new))
    (out_old * upstream).sum().backward()
    (out_new * upstream).sum().backward()
    assert torch.equal(_bits(old.grad), _bits(new.grad))


@pytest.mark.parametrize("device", DEVICES)
def test_l2_normalize_of_a_zero_row_keeps_its_value(device):
    x = torch.tensor([[0.0, -0.0, 0.0], [3.0, 0.0, -4.0], [-0.0, -0.0, -0.0]], device=device)
    assert torch.equal(_bits(modeling.l2_normalize(x)), _bits(F.normalize(x, dim=-1)))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("objective, w", LOSS_PATHS)
@pytest.mark.parametrize("seed", range(3))
def test_training_loss_and_gradients_unchanged_to_the_bit(objective, w, seed, device):
    """On random float32 batches (no zero rows), the loss and every gradient are the old path's, bit for bit."""
    results = []
    for loss_fn in (_old_loss, embedding_loss):
        img, txt = _towers(objective, w, 16, 128, device, seed=seed)
        logit_scale = torch.tensor(np.log(1 / 0.07), dtype=torch.float32, device=device, requires_grad=True)
        loss = loss_fn(objective, img, txt, _labels(16, device), w, 0.1, logit_scale)
        loss.backward()
        results.append([loss] + [t.grad for t in (img, txt, logit_scale) if t is not None and t.grad is not None])
    assert len(results[0]) == len(results[1])
    for old, new in zip(*results):
        assert torch.equal(_bits(old), _bits(new))


@pytest.mark.parametrize("w", [0.0, 0.3, 0.5, 0.7, 1.0])
def test_inference_pooling_unchanged_to_the_bit(w):
    """embedding.pooled (linking, validation, hard-negative mining): the same bytes, zero rows included."""
    rng = np.random.default_rng(0)
    img, txt = (rng.normal(size=(40, 128)).astype(np.float32) for _ in range(2))
    img /= np.linalg.norm(img, axis=1, keepdims=True)
    txt /= np.linalg.norm(txt, axis=1, keepdims=True)
    img[3], txt[4], img[5], txt[5] = 0.0, 0.0, -0.0, -0.0
    old = img if w >= 1 else txt if w <= 0 else _old_pooled(torch.from_numpy(img), torch.from_numpy(txt), w).numpy()
    assert embedding.pooled(img, txt, w).tobytes() == old.tobytes()


def test_a_non_finite_gradient_norm_still_skips_the_step_loudly(caplog):
    """The last resort stays: no step, an error in the log (the workflow's tests count its text)."""
    model = torch.nn.Linear(2, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.AdamW(model.parameters())
    loss = (model(torch.ones(1, 2)) * float("inf")).sum()
    with caplog.at_level(logging.ERROR, logger="clippings_wf.training.stage"):
        stepped = stage._optimizer_step(model, optimizer, loss, {"stage": "test"}, step=7)
    assert not stepped
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    [record] = [r for r in caplog.records if "non-finite gradient norm" in r.getMessage()]
    assert record.levelname == "ERROR" and "test step 7" in record.getMessage()
