"""Snakemake step: one training stage (warm-up, self-supervised alignment or SupCon fine-tuning)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import logging
import shutil
from pathlib import Path

import pandas as pd
import torch

from clippings_wf.runtime import determinism
from clippings_wf.models import embedding
from clippings_wf.models import feature_cache
from clippings_wf.data import leakage
from clippings_wf.models import artifacts
from clippings_wf.models import modeling
from clippings_wf.training import stage
from clippings_wf.training.data import load_eval_data, load_training_data
from clippings_wf.training.objectives import stage_weight
from clippings_wf.runtime.atomic import atomic_path
from clippings_wf.kinds import KINDS
from clippings_wf.records import read_manifest

log = logging.getLogger("train")
recipe = dict(snakemake.params.stage)
settings = snakemake.params.training
model_cfg = snakemake.params.model
device = modeling.pick_device(model_cfg["device"])
log.info("stage %s on %s: %s", recipe["stage"], modeling.describe_device(device), recipe)

manifest_path = Path(snakemake.input.manifest)
manifest = read_manifest(manifest_path)
kind = KINDS[snakemake.params.records["kind"]]
# The synthetic renders, where the records' kind has them (text lines): none otherwise.
views = pd.read_parquet(snakemake.input.views) if "views" in snakemake.input.keys() else None
leakage.check_no_leakage(manifest, views)  # no validation or test firm may reach a training pool

# Seeds the first stage's random init too; deterministic kernels make same-seed runs bit-identical on CPU.
determinism.make_deterministic(int(settings["seed"]), device)
init = snakemake.input.get("init")
if init:
    # The previous stage must be of the configured architecture (refused with both names otherwise).
    bundle = artifacts.load_artifact(init, device=device, architecture=model_cfg["architecture"])
else:
    bundle = modeling.load_bundle(
        model_cfg["architecture"], model_cfg["pretrained"], vocab=snakemake.input.vocab, device=device
    )
if model_cfg.get("finetune_encoder"):
    modeling.finetune_encoder(bundle)  # the recognizer's encoder trains too, from pixels (a GPU's job)
# A frozen recognizer or photo tower reads its cached features (of the records, and of the renders where any).
caches = [snakemake.input[k] for k in ("features_records", "features_views") if k in snakemake.input.keys()]
if caches:
    feature_cache.attach(bundle, caches)
if kind.image == "photo":
    bundle.fit = "photo"  # the whole picture in the tower's square input (models.images.preprocess_photo)
if embedding.use_channels_last(bundle):
    bundle.model.visual.to(memory_format=torch.channels_last)

data = load_training_data(
    bundle, recipe["data"], manifest, manifest_path.parent, views, workers=snakemake.threads
)
# Epoch selection by validation top-1 needs references; a dataset evaluated by clustering alone keeps the last.
eval_data = None
if snakemake.params.records["links"]:
    eval_data = load_eval_data(bundle, manifest, manifest_path.parent, "val", workers=snakemake.threads)
log.info("%d training records, %s classes", len(data.crops), "no" if data.labels is None else len(set(data.labels)))

# Per-epoch checkpoints live outside the rule's declared outputs, so Snakemake keeps them when an interrupted
# job is rerun: results/<dataset>/checkpoints/<stage>/ (removed once the stage has finished).
stage_dir = Path(snakemake.output.model).parent
checkpoint_dir = stage_dir.parents[1] / "checkpoints" / stage_dir.name
best_state, rows = stage.train_stage(
    bundle,
    recipe,
    data,
    eval_data,
    checkpoint_dir=checkpoint_dir,
    seed=int(settings["seed"]),
    batch_size=int(settings["batch_size"]),
    eval_batch_size=int(settings["eval_batch_size"]),
    device=device,
)
bundle.model.load_state_dict(best_state)
metrics = stage.metrics_frame(rows)
val = metrics["val_top1"].dropna()
artifacts.save_artifact(
    snakemake.output.model,
    bundle.model,
    bundle.architecture,
    vocab=bundle.tokenizer,
    extra={
        "stage": recipe["stage"],
        "w": stage_weight(recipe),
        "val_top1": float(val.max()) if len(val) else -1.0,
        "encoder_finetuned": bundle.input_kind == "recognizer_pixels",
        # how its images are read, for whoever loads it (link_new_records.py); text lines, the default, unsaid
        **({"record_kind": kind.name} if kind.image != "line" else {}),
    },
)
with atomic_path(snakemake.output.metrics) as tmp:
    metrics.to_csv(tmp, index=False)
# Finished: a later rerun (new code, say) must train again rather than resume from the last epoch.
shutil.rmtree(checkpoint_dir)
