"""Process set-up for every test, and the session's tiny workflow run. Shared constants and functions are in
helpers.py; pyproject.toml's pythonpath puts tests/ and workflow_scripts/ on the path."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
from clippings_wf.runtime.cpu import pin_cpu_kernels  # noqa: E402

pin_cpu_kernels()  # before torch is imported: in-process tests use the kernels the workflow's steps use

from helpers import run_tiny  # noqa: E402  (imports torch)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The tiny configuration run once locally from scratch (its results folder), shared by every test that needs
    a finished local run: the whole workflow takes minutes, so the suite runs it once."""
    return run_tiny(tmp_path_factory.mktemp("tiny") / "local")
