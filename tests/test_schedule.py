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
