"""A tiny training run on rendered text: the loss falls, and an interrupted stage resumes to the same weights."""

import numpy as np
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

from clippings_wf.models import modeling
from clippings_wf.training import samplers
from clippings_wf.training import stage
from clippings_wf.models.tokenizer import CharTokenizer

from helpers import TRAINING_NAMES, TRAINING_RECIPE, rendered_views, train_on_rendered_views, untrained_bundle


def test_training_lowers_the_loss(tmp_path):
    recipe = dict(TRAINING_RECIPE, epochs=20)
    _, _, rows = train_on_rendered_views(tmp_path, recipe)
    losses = [r["loss"] for r in rows if r["loss"] is not None]
    first, last = np.mean(losses[:4]), np.mean(losses[-4:])
    assert last < 0.8 * first, (first, last)


def test_interrupted_stage_resumes_to_the_same_weights(tmp_path, monkeypatch):
    _, uninterrupted, _ = train_on_rendered_views(tmp_path / "a")

    saves = []
    real_save = stage._atomic_save

    def save_then_die(obj, path):
        real_save(obj, path)
        saves.append(obj["epoch"])
        if obj["epoch"] == 1:
            raise KeyboardInterrupt  # as if killed right after the first epoch's checkpoint

    monkeypatch.setattr(stage, "_atomic_save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_on_rendered_views(tmp_path / "b")
    monkeypatch.setattr(stage, "_atomic_save", real_save)
    checkpoint = torch.load(tmp_path / "b" / "last.pt", weights_only=True)
    assert checkpoint["epoch"] == 1

    _, resumed, rows = train_on_rendered_views(tmp_path / "b")
    assert saves == [1]
    assert sorted({r["epoch"] for r in rows}) == [1, 2, 3]
    for key, value in uninterrupted.items():
        assert torch.equal(value, resumed[key]), key


def test_checkpoint_of_another_recipe_is_not_resumed(tmp_path):
    train_on_rendered_views(tmp_path, dict(TRAINING_RECIPE, epochs=1))
    _, _, rows = train_on_rendered_views(tmp_path, dict(TRAINING_RECIPE, epochs=2, lr=0.001))
    assert sorted({r["epoch"] for r in rows}) == [1, 2]
    assert len([r for r in rows if r["loss"] is not None and r["epoch"] == 1]) > 0


def test_schedule_spans_the_batches_drawn_with_hard_negatives(tmp_path):
    """Mined hard negatives make an epoch longer than the unmined plan: the cosine must still end with the stage,
    not halfway through it, and the metrics' step numbers must not collide across epochs."""
    recipe = dict(TRAINING_RECIPE, epochs=4, hard_negatives_k=3)
    lrs = []
    hook = register_optimizer_step_pre_hook(
        lambda optimizer, args, kwargs: lrs.append(optimizer.param_groups[0]["lr"])
    )
    try:
        _, _, rows = train_on_rendered_views(tmp_path, recipe)
    finally:
        hook.remove()
    steps = [r for r in rows if r["loss"] is not None]
    unmined = samplers.HardNegativeBatchSampler(rendered_views().labels, 8, 2)
    assert len(steps) > recipe["epochs"] * len(unmined)  # the premise: mining draws more batches
    assert len(lrs) == len(steps)
    before_last = [lr for lr, r in zip(lrs, steps) if r["epoch"] < recipe["epochs"]]
    assert min(before_last) > 0.1 * recipe["lr"]
    assert 0 < lrs[-1] < 0.1 * recipe["lr"]
    assert [r["step"] for r in steps] == list(range(1, len(steps) + 1))
    assert all(a["step"] <= b["step"] for a, b in zip(rows, rows[1:]))


def _eval_data(bundle) -> stage.EvalData:
    """The shifted renders as queries against the unshifted ones."""
    data = rendered_views()
    order = np.argsort([shift for _ in TRAINING_NAMES for shift in (1, 0)], kind="stable")  # queries first
    n = len(TRAINING_NAMES)
    tokens = bundle.tokenize([data.texts[i][0] for i in order])
    return stage.EvalData(data.crops[order], tokens, np.arange(n), np.arange(n, 2 * n), data.labels[order])


@pytest.mark.parametrize(
    "recipe, scores, kept",
    [
        (dict(TRAINING_RECIPE, objective="views", modality="image"), [0.1, 0.5, 0.3, 0.2], 1),
        (dict(TRAINING_RECIPE, objective="clip"), [0.9, 0.5, 0.6, 0.7], 0),  # training only hurt: the start is kept
        (dict(TRAINING_RECIPE, hard_negatives_k=0), [0.1, 0.2, 0.3, 0.4], 3),
    ],
)
def test_every_objective_keeps_its_best_epoch_the_start_included(tmp_path, monkeypatch, caplog, recipe, scores,
                                                                  kept):  # fmt: skip
    torch.set_num_threads(1)
    bundle = untrained_bundle()
    start = {k: v.clone() for k, v in bundle.model.state_dict().items()}
    evaluated = iter(scores)
    monkeypatch.setattr(stage, "evaluate_top1", lambda *args: next(evaluated))
    saved = {0: start}
    real_save = stage._atomic_save
    monkeypatch.setattr(stage, "_atomic_save", lambda obj, path: (saved.__setitem__(
        obj["epoch"], {k: v.clone() for k, v in obj["model"].items()}), real_save(obj, path)))  # fmt: skip
    caplog.set_level("INFO", logger="clippings_wf.training.stage")
    best, rows = stage.train_stage(bundle, recipe, rendered_views(), _eval_data(bundle), tmp_path, seed=0,
                                      batch_size=8, eval_batch_size=16, device="cpu")  # fmt: skip
    assert [(r["epoch"], r["val_top1"]) for r in rows if r["loss"] is None] == list(enumerate(scores))
    assert rows[0]["step"] == 0
    for name, value in best.items():
        assert torch.equal(value, saved[kept][name]), name
    assert any(not torch.equal(v, saved[kept][k]) for k, v in saved[3].items()) == (kept != 3)
    if kept == 0:
        assert "no epoch beat the starting weights" in caplog.text
    else:
        assert f"kept epoch {kept} (val top-1 {scores[kept]:.4f})" in caplog.text


def test_resumed_stage_redraws_the_same_dropout_masks(tmp_path, monkeypatch):
    """The recognizer tower's head has dropout, drawn from torch's global generator: a resumed stage continues
    that generator's stream from the checkpoint, so it ends where an uninterrupted one does."""
    torch.set_num_threads(1)
    features = np.random.default_rng(0).normal(size=(16, 40, 120)).astype(np.float16)
    data = stage.TrainingData(features, [[n] for n in TRAINING_NAMES for _ in range(2)], np.repeat(np.arange(8), 2))
    recipe = {"stage": "test", "objective": "views", "modality": "image", "data": "synthetic", "epochs": 2,
              "lr": 0.003, "temperature": 0.1}  # fmt: skip

    def train(folder):
        torch.manual_seed(0)
        bundle = modeling.load_bundle("clippings-textline-char", vocab=CharTokenizer.build(TRAINING_NAMES))
        return stage.train_stage(bundle, recipe, data, None, folder, seed=0, batch_size=8, eval_batch_size=16,
                                    device="cpu")[0]  # fmt: skip

    uninterrupted = train(tmp_path / "a")
    real_save = stage._atomic_save

    def save_then_die(obj, path):
        real_save(obj, path)
        raise KeyboardInterrupt

    monkeypatch.setattr(stage, "_atomic_save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "b")
    monkeypatch.setattr(stage, "_atomic_save", real_save)
    torch.rand(1000)  # another process's generator state: only the checkpoint's may decide the masks
    resumed = train(tmp_path / "b")
    for key, value in uninterrupted.items():
        assert torch.equal(value, resumed[key]), key
