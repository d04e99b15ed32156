"""The optimizer of a training stage: the schedule, the parameter groups, frozen towers and the recipe keys."""

import math

import pytest
import torch
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from clippings_wf.training import schedule
from clippings_wf.training import stage

from helpers import REPO, TRAINING_RECIPE, rendered_views, train_on_rendered_views, untrained_bundle


def test_lr_factor_warms_up_then_decays_to_zero_only_at_the_end():
    steps = 200
    factors = [schedule.lr_factor(i / steps, 1 / steps) for i in range(steps)]
    warmup = round(schedule.WARMUP_FRACTION * steps)
    assert factors[:warmup] == pytest.approx([(i + 1) / warmup for i in range(warmup)])
    assert factors[warmup] == 1.0
    assert all(a > b for a, b in zip(factors[warmup:], factors[warmup + 1 :]))
    assert 0 < factors[-1] < 1e-3


def test_parameter_groups_per_tower_without_decay_on_gains_biases_and_temperature():
    model = untrained_bundle().model
    optimizer = schedule.make_optimizer(model, dict(TRAINING_RECIPE, lr_vision=0.01, lr_text=0.002))
    group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    assert len(group_of) == len(list(model.parameters()))  # every parameter, once
    for name, p in model.named_parameters():
        group = group_of[id(p)]
        assert group["lr"] == (0.01 if name.startswith("visual.") else 0.002), name
        no_decay = p.ndim < 2 or "bias" in name or name == "logit_scale"
        assert group["weight_decay"] == (0.0 if no_decay else schedule.WEIGHT_DECAY), name
    assert group_of[id(model.visual.trunk.features[0].weight)]["weight_decay"] == 0.05


def test_learning_rate_zero_freezes_the_tower(tmp_path):
    bundle, best, _ = train_on_rendered_views(tmp_path, dict(TRAINING_RECIPE, epochs=1, lr_vision=0.0))
    start = untrained_bundle().model.state_dict()  # same seed, same initial weights
    changed = {name for name, value in best.items() if not torch.equal(value, start[name])}
    # The vision tower does not move, its BatchNorm statistics included; the text tower learns.
    assert changed and not any(name.startswith("visual.") for name in changed), sorted(changed)
    assert "transformer.resblocks.0.attn.in_proj_weight" in changed
    assert all(p.requires_grad for p in bundle.model.parameters())  # restored after the stage


def test_logit_scale_is_clamped_after_each_step(tmp_path):
    bundle = untrained_bundle()
    with torch.no_grad():
        bundle.model.logit_scale.fill_(10.0)
    views = rendered_views()
    data = stage.TrainingData(views.crops, views.texts, None)
    recipe = dict(TRAINING_RECIPE, objective="clip", epochs=1)
    stage.train_stage(bundle, recipe, data, None, tmp_path, seed=0, batch_size=8, eval_batch_size=16, device="cpu")
    assert float(bundle.model.logit_scale.detach()) <= math.log(100) + 1e-6


def _config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_schema_accepts_per_tower_learning_rates():
    config = _config()
    config["training"]["selfsup"].update(lr_vision=0.0, lr_text=1e-4, weight_decay=0.1, warmup_fraction=0.1)
    config["training"]["supervised"]["labelled"].update(lr_vision=1e-5, grad_clip=1.0)
    validate(config, schema=str(REPO / "schemas" / "config.schema.yaml"))


@pytest.mark.parametrize("key, value", [("lr_text", -1.0), ("warmup_fraction", 1.0), ("grad_clip", 0)])
def test_schema_refuses_bad_optimizer_keys(key, value):
    config = _config()
    config["training"]["selfsup"][key] = value
    with pytest.raises(WorkflowError, match=key):
        validate(config, schema=str(REPO / "schemas" / "config.schema.yaml"))


# The authors' recipe (config/paper_gpu.yaml): AdamW's betas and eps, cosine annealing with warm restarts, a stage's
# own batch; and the default schedule unchanged by them.


def test_restarts_factor_follows_torchs_warm_restarts_stepped_every_batch():
    """The authors step CosineAnnealingWarmRestarts(optimizer, 10, 2) after every batch: the lr of the batch after
    s steps is torch's after s scheduler steps."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([param], lr=1.0)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, 10, 2)
    expected = []
    for _ in range(160):
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    ours = [schedule.restarts_factor(s, 10, 2) for s in range(160)]
    assert ours == pytest.approx(expected, abs=1e-12)
    # Restarts after T0 steps, then T0 * T_mult more: back to the full rate, just after a near-zero one.
    for restart in (10, 10 + 10 * 2, 10 + 10 * 2 + 10 * 4):
        assert ours[restart] == 1.0 and ours[restart - 1] < 0.03
    assert schedule.restarts_factor(25, 10, 1) == schedule.restarts_factor(5, 10, 1)  # T_mult 1: equal cycles


def test_default_schedule_is_unchanged():
    """Without a schedule key a stage keeps its warm-up then half cosine: the values of the implementation before
    the schedule became a recipe key (3 epochs of 7 batches, warm-up 0.05), computed then."""
    before = [0.9523809523809523, 1.0, 0.9944154131125642, 0.9766112029998846, 0.9470124655230626,
              0.906351670076265, 0.8556350348547975, 0.7961176263324901, 0.729272300579533, 0.6567532550188906,
              0.5803550925929672, 0.5019684113649875, 0.423533018563377, 0.34698992686449126, 0.27423332084455543,
              0.2070636822698877, 0.1471432342171216, 0.09595480663188544, 0.05476514126527782,
              0.024593544067785467, 0.006186660788660314]  # fmt: skip
    recipe = dict(TRAINING_RECIPE, epochs=3)
    factors = [schedule.step_lr_factor(recipe, e, s, 7, e * 7 + s) for e in range(3) for s in range(7)]
    assert factors == before  # exactly: a default that moves one float moves the pinned outputs
    explicit = dict(recipe, schedule="warmup_cosine", warmup_fraction=schedule.WARMUP_FRACTION)
    assert [schedule.step_lr_factor(explicit, e, s, 7, e * 7 + s) for e in range(3) for s in range(7)] == before


def test_adamw_gets_the_recipes_betas_and_eps_and_torchs_defaults_without_them():
    model = untrained_bundle().model
    default = schedule.make_optimizer(model, TRAINING_RECIPE)
    reference = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))]).defaults
    for group in default.param_groups:
        assert group["betas"] == reference["betas"] and group["eps"] == reference["eps"]
    paper = schedule.make_optimizer(model, dict(TRAINING_RECIPE, betas=[0.9, 0.98], eps=1e-6))
    assert all(g["betas"] == (0.9, 0.98) and g["eps"] == 1e-6 for g in paper.param_groups)


def test_cosine_restarts_counts_the_stages_steps_across_epochs_and_a_stage_batch_size(tmp_path, monkeypatch):
    """A stage under cosine_restarts sets each step's lr from the stage's running step count (not the epoch's), and
    its own batch_size (here 4 records: 2 classes of 2) replaces the run's (8), doubling the steps of an epoch."""
    seen = []
    factor = schedule.restarts_factor
    monkeypatch.setattr(schedule, "restarts_factor", lambda s, t0, t_mult: seen.append((s, t0, t_mult)) or factor(
        s, t0, t_mult))  # fmt: skip
    recipe = dict(TRAINING_RECIPE, epochs=2, schedule="cosine_restarts", T0=3, T_mult=2, betas=[0.9, 0.98], eps=1e-6,
                  hard_negatives_k=0)  # without neighbours coming round twice, an epoch is classes / (batch / m)
    _, _, rows = train_on_rendered_views(tmp_path / "b8", recipe)
    steps_8 = sum(r["loss"] is not None for r in rows)
    assert steps_8 == 2 * 2 and seen == [(s, 3, 2) for s in range(steps_8)]
    _, _, rows = train_on_rendered_views(tmp_path / "b4", dict(recipe, batch_size=4))
    assert sum(r["loss"] is not None for r in rows) == 2 * steps_8


def test_schema_accepts_the_recipe_keys_and_refuses_bad_ones():
    config = _config()
    config["training"]["selfsup"].update(betas=[0.9, 0.98], eps=1e-6, schedule="cosine_restarts", T0=10, T_mult=2)
    config["training"]["supervised"]["labelled"].update(temperature=0.05, batch_size=126, schedule="cosine_restarts")
    validate(config, schema=str(REPO / "schemas" / "config.schema.yaml"))
    for key, value in [("betas", [0.9]), ("betas", [0.9, 1.0]), ("eps", 0), ("schedule", "step"), ("T0", 0),
                       ("batch_size", 2)]:  # fmt: skip
        bad = _config()
        bad["training"]["supervised"]["labelled"][key] = value
        with pytest.raises(WorkflowError, match=key):
            validate(bad, schema=str(REPO / "schemas" / "config.schema.yaml"))
