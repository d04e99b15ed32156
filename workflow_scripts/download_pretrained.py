"""Fetch once, where there is internet, the pretrained open_clip models a config names (model.pretrained).

    pip install -r requirements-gpu.txt
    python workflow_scripts/download_pretrained.py --configfile config.yaml config/paper_gpu.yaml

Run it on a login node with the HF_HOME the compute nodes will use: it builds each model as the workflow's steps
do (with its pretrained tag and tokenizer, and without the tag as when a trained model is read back), which fills
the Hugging Face cache; the workflow then runs with HF_HUB_OFFLINE=1 and reads it. Not a Snakemake rule: the
compute nodes that run rules are the ones without internet. Config files merge in order, as Snakemake's
--configfile does.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def merged_config(paths: list[str]) -> dict:
    """The config files merged in order, nested keys updated (Snakemake's rule for several --configfile)."""
    from snakemake.utils import update_config

    config = {}
    for path in paths:
        update_config(config, yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
    return config


def pretrained_models(config: dict) -> list[tuple[str, str]]:
    """(architecture, tag) of every enabled dataset that trains its own models from an open_clip pretrained tag."""
    model = config.get("model", {})
    tag = str(model.get("pretrained", "none"))
    if tag.strip().lower() in ("", "none", "null") or Path(tag).is_file() or "/" in tag:
        return []  # random init or a local checkpoint: nothing to fetch
    pairs = []
    for dataset in config.get("datasets", {}).values():
        if dataset.get("enabled", True) and "models_from" not in dataset:
            pair = ((model | dataset.get("model", {})).get("architecture", "clippings-textline-char"), tag)
            if pair not in pairs:
                pairs.append(pair)
    return pairs


def fetch(architecture: str, tag: str) -> None:
    """Build the model as train.py does (tag and tokenizer) and as a trained model is read back (no tag: open_clip
    then loads a Hugging Face text tower's own base weights), so that every file either needs is cached."""
    from clippings_wf.models import architectures, modeling

    modeling.load_bundle(architecture, tag)
    architectures.create(architecture, architectures.model_cfg(architecture, None), "cpu")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", nargs="+", default=[str(REPO / "config.yaml")],
                        help="config files, merged in order (default: config.yaml)")  # fmt: skip
    args = parser.parse_args(argv)
    pairs = pretrained_models(merged_config(args.configfile))
    if not pairs:
        print("model.pretrained is none or a local checkpoint: nothing to download")
        return 0
    if os.environ.get("HF_HUB_OFFLINE", "0").strip().lower() not in ("", "0", "false", "no", "off"):
        print("HF_HUB_OFFLINE is set: nothing can be downloaded. Run this where there is internet, without "
              "HF_HUB_OFFLINE (it is for the compute nodes that read the cache afterwards).", file=sys.stderr)
        return 2
    from huggingface_hub import constants

    from clippings_wf.models.hub import PretrainedUnavailable

    for architecture, tag in pairs:
        print(f"fetching {architecture} ({tag}) into {constants.HF_HUB_CACHE} ...", flush=True)
        try:
            fetch(architecture, tag)
        except (PretrainedUnavailable, RuntimeError, OSError, ImportError, ValueError) as error:
            # PretrainedUnavailable's hint names this very script: its cause is what to show here
            cause = (error.__cause__ if isinstance(error, PretrainedUnavailable) else None) or error
            print(f"could not fetch {architecture} ({tag}): {type(cause).__name__}: {cause}\n"
                  "Is there internet here (https://huggingface.co), and are requirements-gpu.txt's packages "
                  "installed (pip install -r requirements-gpu.txt)?", file=sys.stderr)  # fmt: skip
            return 1
    print(f"done: {len(pairs)} model(s) cached in {constants.HF_HUB_CACHE}; run the workflow with HF_HUB_OFFLINE=1 "
          "and this HF_HOME")
    return 0


if __name__ == "__main__":
    sys.exit(main())
