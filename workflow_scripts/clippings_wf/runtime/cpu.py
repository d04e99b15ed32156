"""Pin torch's CPU kernels to one instruction set, so a seed gives the same bits on every x86-64 machine.

torch (ATen), oneDNN (convolutions) and MKL (matmuls) pick their CPU kernels by the instruction sets the machine
has: AVX2 here, AVX-512 on many servers. Different kernels sum in a different order, so the same seed trains to
other weights on another CPU. Each library reads an environment variable once, at its first use;
``pin_cpu_kernels`` sets them to AVX2 (every x86-64 CPU of the last decade has it) before torch is imported. A
value already in the environment wins, so ``ATEN_CPU_CAPABILITY=avx512 ONEDNN_MAX_CPU_ISA=ALL MKL_CBWR=AUTO
snakemake ...`` trades this for speed.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def pin_cpu_kernels(flags: set[str] | None = None) -> dict[str, str]:
    """Set ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2 and MKL_CBWR=AVX2 unless already set; returns what
    was set.

    Only on x86-64 CPUs with AVX2 (elsewhere nothing is set). Call before ``import torch``.
    """
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return {}
    if "avx2" not in (_cpu_flags() if flags is None else flags):
        return {}
    wanted = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"}
    done = {}
    for key, value in wanted.items():
        if key not in os.environ:
            os.environ[key] = done[key] = value
    return done


def cpu_kernels() -> str:
    """The CPU and the kernel set torch uses, for step logs (e.g. 'AMD EPYC, torch kernels AVX2')."""
    import torch

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, torch kernels {torch.backends.cpu.get_cpu_capability()}"
