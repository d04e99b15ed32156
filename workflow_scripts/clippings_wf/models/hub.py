"""Pretrained open_clip models from the Hugging Face hub: fetched once where there is internet, read from the cache.

Compute nodes are often offline. ``workflow_scripts/download_pretrained.py`` builds every pretrained model a config
names once, on a login node, which fills the Hugging Face cache (``HF_HOME``); jobs then run with
``HF_HUB_OFFLINE=1`` and read it. Where building fails (no cache, no ``transformers`` for a Hugging Face text
tower), the error names that command instead of ending in a hub traceback.
"""

from __future__ import annotations

import open_clip

DOWNLOAD_COMMAND = "python workflow_scripts/download_pretrained.py --configfile config.yaml config/paper_gpu.yaml"


class PretrainedUnavailable(RuntimeError):
    pass


def unavailable(architecture: str, tag: str, error: Exception) -> PretrainedUnavailable:
    """The error of a pretrained model that could not be built here, with what to run where there is internet."""
    return PretrainedUnavailable(
        f"open_clip model {architecture!r} with pretrained {tag!r} could not be built: "
        f"{type(error).__name__}: {error}\n"
        "Its weights (and a Hugging Face text tower's config and tokenizer) come from the Hugging Face hub; where "
        "they are not in the cache or transformers is missing, on a machine with internet (a login node) sharing "
        f"this HF_HOME run once:\n  pip install -r requirements-gpu.txt\n  {DOWNLOAD_COMMAND}\n"
        "(your own --configfile list); then run the workflow with HF_HUB_OFFLINE=1, which reads that cache."
    )


def create_pretrained(architecture: str, tag: str, device="cpu"):
    """``open_clip.create_model`` with a pretrained tag; a failure names the download command."""
    try:
        return open_clip.create_model(architecture, pretrained=tag, device=device)
    # open_clip reports a failed download and a missing transformers alike as RuntimeError, hub errors as OSError.
    except (RuntimeError, OSError, ImportError) as error:
        raise unavailable(architecture, tag, error) from error
