"""Bit-identical reruns: seed every generator and ask torch (and oneDNN / cuDNN) for deterministic kernels.

On CPU this makes a training stage bit-identical between runs with the same seed and thread count (tested in
tests/test_determinism.py). On CUDA some kernels have no deterministic version (atomics in scatter/index_add,
adaptive max-pool backward); there torch only warns, and results may differ in the last bits (docs/guarantees.md).
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def make_deterministic(seed: int, device="cpu") -> None:
    """Seed python, numpy and torch; select deterministic algorithms for the rest of the process."""
    # cuBLAS needs a fixed workspace to be deterministic; must be set before the first CUDA matmul.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # oneDNN's convolution backward may reduce across threads with atomics unless told not to.
    torch.backends.mkldnn.deterministic = True
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False  # benchmark mode picks kernels by timing, i.e. by chance
    # CPU: every op we use has a deterministic kernel, so raise if one ever does not. CUDA: warn only.
    torch.use_deterministic_algorithms(True, warn_only=torch.device(device).type == "cuda")
