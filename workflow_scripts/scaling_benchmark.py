"""Snakemake step: the scaling benchmark (bench/scaling.py) into the rule's outputs, with this env's Python.

The benchmark runs as its own process: it spawns a fresh process per measurement, which needs a real script
file (Snakemake's copy of a step script is not one)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)  # noqa: F821

import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

script = Path(snakemake.scriptdir).parent / "bench" / "scaling.py"  # noqa: F821
command = [sys.executable, str(script), "--out", str(Path(snakemake.output.csv).parent),  # noqa: F821
           "--threads", str(snakemake.threads), "--settings", snakemake.input.settings,  # noqa: F821
           "--results", str(Path(snakemake.output.csv).parents[1])]  # noqa: F821  (results/, a default run's)
subprocess.run(command, stdout=sys.stderr, stderr=sys.stderr, check=True)
