import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow_scripts"))
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
from clippings_wf.runtime.cpu import pin_cpu_kernels  # noqa: E402

pin_cpu_kernels()  # in-process tests use the kernels the workflow's steps use

BIN = Path(sys.executable).parent
# Byte-identical between two runs of the tiny configuration with the same seed, locally or on SLURM (CPU).
DETERMINISTIC_OUTPUTS = ["data/records.csv", "data/manifest.csv", "synthetic/views.parquet", "baselines/top1.csv"]
# Byte-identical too whenever training was (every models/*/metrics.csv equal). Training must be bit-identical unless
# a step was skipped for a non-finite gradient (README, known limits: an inherited OMP_THREAD_LIMIT did that).
TRAINED_OUTPUTS = ["linking/top1.csv", "tables/main_results.csv", "tables/nomatch.csv", "tables/clustering.csv"]


def skipped_steps(results: Path) -> int:
    """Training steps skipped for a non-finite gradient norm in a run, from its logs (<workdir>/logs/<dataset>/)."""
    logs = results.parents[1] / "logs" / results.name
    return sum(p.read_text(errors="replace").count("non-finite gradient norm") for p in logs.glob("*.log"))


# Tiny runs already compared byte for byte with the session's local run (test_slurm's SLURM run adds itself), so
# the same-seed test need not pay for a second local run of its own.
SAME_SEED_COMPARED: list[Path] = []


def assert_same_outputs(first: Path, second: Path) -> bool:
    """Two same-seed runs' results folders: data, OCR and baselines equal; trained outputs equal if training was.

    Training that differs although neither run skipped a step fails the test (a determinism regression); with
    skipped steps it returns False and the caller warns. Returns whether training was bit-identical."""
    for relative in DETERMINISTIC_OUTPUTS:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative
    models = sorted(p.relative_to(first) for p in first.glob("models/*/metrics.csv"))
    assert models and models == sorted(p.relative_to(second) for p in second.glob("models/*/metrics.csv"))
    differing = [str(m) for m in models if (first / m).read_bytes() != (second / m).read_bytes()]
    if not differing:
        for relative in TRAINED_OUTPUTS:
            assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative
        return True
    assert skipped_steps(first) + skipped_steps(second) > 0, f"same-seed training differed: {differing}"
    return False


WORKFLOW_FILES = ["Snakefile", "config.yaml", "rules", "schemas", "workflow_scripts", "report", "profiles", "envs"]


def copy_workflow(dest: Path) -> Path:
    """The workflow and the tiny config in a fresh folder, so a test run never touches the repository's results."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest / name)
    shutil.copy(REPO / "tests" / "config_tiny.yaml", dest / "config_tiny.yaml")
    return dest


def run_snakemake(workdir: Path, *args, check=True, cores="2", env=None, timeout=None):
    cores_args = ["--cores", cores] if cores else []
    result = subprocess.run(
        [str(BIN / "snakemake"), *cores_args, *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def run_tiny(workdir: Path) -> Path:
    copy_workflow(workdir)
    run_snakemake(workdir, "--configfile", "config_tiny.yaml")
    return workdir / "results" / "jp_firms"


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The tiny configuration run once locally from scratch (its results folder), shared by every test that needs
    a finished local run: the whole workflow takes minutes, so the suite runs it once."""
    return run_tiny(tmp_path_factory.mktemp("tiny") / "local")
