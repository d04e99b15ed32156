"""Send a workflow step's stderr and logging to its rule's log file."""

import logging
import os
import sys


def start_step_log(snakemake, threads=None):
    """Redirect stderr (tqdm bars, warnings, tracebacks) and logging to ``snakemake.log[0]``.

    Also caps torch/BLAS threads at the rule's ``threads`` so concurrent jobs do not oversubscribe cores, and
    pins torch's CPU kernels to AVX2 (``clippings_wf.runtime.cpu``) so same-seed runs agree across machines.
    """
    from clippings_wf.runtime.cpu import pin_cpu_kernels

    pin_cpu_kernels()  # before torch is imported: torch reads the variables once
    if snakemake.log:
        stream = open(snakemake.log[0], "w", buffering=1, encoding="utf-8")
        sys.stderr = stream
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    n = int(threads or getattr(snakemake, "threads", 1) or 1)
    limit = os.environ.get("OMP_THREAD_LIMIT", "")
    if limit.isdigit() and 0 < int(limit) < n:
        # OpenMP would run fewer threads than torch plans its work for. Seen with OMP_THREAD_LIMIT=1 and 2 torch
        # threads: non-finite gradient norms over finite gradients, and training that differs run to run.
        n = int(limit)
    os.environ.setdefault("OMP_NUM_THREADS", str(n))
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:
        pass
    # Under SLURM the log names the job, so a step's log leads to its sbatch log and accounting record.
    where = f", SLURM job {os.environ['SLURM_JOB_ID']}" if "SLURM_JOB_ID" in os.environ else ""
    capped = f" (OMP_THREAD_LIMIT={limit})" if limit.isdigit() and int(limit) == n else ""
    logging.getLogger("clippings_wf").info("step %s, threads=%d%s%s", snakemake.rule, n, capped, where)
