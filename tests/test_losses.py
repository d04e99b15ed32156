import numpy as np
import pytest
import torch

from clippings_wf.models.losses import clip_loss, supcon_loss

torch.set_num_threads(1)


def _log_softmax(z, axis):
    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def test_clip_loss_matches_hand_computed_2x2():
    img = np.array([[1.0, 0.0], [0.6, 0.8]])
    txt = np.array([[0.8, 0.6], [0.0, 1.0]])
    scale = 10.0
    logits = scale * img @ txt.T
    by_hand = -(np.diag(_log_softmax(logits, 1)).mean() + np.diag(_log_softmax(logits, 0)).mean()) / 2
    got = clip_loss(torch.tensor(img, dtype=torch.float32), torch.tensor(txt, dtype=torch.float32),
                    torch.tensor(scale))
    assert got.item() == pytest.approx(by_hand, rel=1e-5)


def test_supcon_matches_numpy_formula():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3))
    labels = np.array([0, 0, 1, 1, 2])  # class 2 has no positive: that anchor is left out
    t = 0.5
    z = x / np.linalg.norm(x, axis=1, keepdims=True)
    sim = z @ z.T / t
    per_anchor = []
    for i in range(len(z)):
        others = [a for a in range(len(z)) if a != i]
        pos = [p for p in others if labels[p] == labels[i]]
        if not pos:
            continue
        log_den = np.log(np.exp(sim[i, others]).sum())
        per_anchor.append(np.mean([-(sim[i, p] - log_den) for p in pos]))
    got = supcon_loss(torch.tensor(x, dtype=torch.float32), torch.tensor(labels), temperature=t)
    assert got.item() == pytest.approx(np.mean(per_anchor), rel=1e-4)
