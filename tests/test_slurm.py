"""The SLURM profile, and the tiny workflow run through it on a real single-node SLURM cluster (tests/slurm_cluster.py).

The cluster test needs root (apt-get, the daemons) and skips, saying why, only without root or when Debian's SLURM
packages cannot be installed. Everything else that goes wrong (a daemon that does not start, a job that fails, an
output that differs from the local run) fails the test.
"""

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from helpers import REPO, SAME_SEED_COMPARED, assert_same_outputs, copy_workflow, run_snakemake
from slurm_cluster import ACCOUNT, PARTITION, LocalSlurmCluster, install_packages

PROFILE = REPO / "profiles" / "slurm" / "config.yaml"
GPU_RULES = {"warmup_vision", "warmup_text", "align_selfsup", "supcon_synthetic", "supcon_labelled", "embed_records"}
GPU_RESOURCES = {"gpu", "gpu_model", "gres", "cpus_per_gpu", "tasks_per_gpu"}  # what the test cluster lacks
RUN_TIMEOUT = 3600  # seconds for the whole tiny workflow on the cluster


def load_profile() -> dict:
    return yaml.safe_load(PROFILE.read_text())


def test_profiles():
    profile = load_profile()
    assert profile["executor"] == "slurm"
    for key in ("slurm_partition", "slurm_account", "runtime", "mem_mb"):
        assert key in profile["default-resources"], key
    assert profile["retries"] >= 1 and profile["rerun-incomplete"] is True
    assert set(profile["set-resources"]) == GPU_RULES
    for rule, resources in profile["set-resources"].items():
        assert resources["gpu"] == 1 and resources["cpus_per_gpu"] >= 1 and resources["mem_mb"] > 0, rule
    # A misspelt rule in set-resources would be ignored silently: each must be a rule of the workflow.
    rules = set(run_snakemake(REPO, "--list-rules").stdout.split())
    assert GPU_RULES <= rules, GPU_RULES - rules
    # The default profile stays portable: no executor, no cluster resources.
    default = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    assert "executor" not in default and not any("slurm" in key for key in default)
    assert "slurm" not in str(default.get("default-resources", "")) + str(default.get("set-resources", ""))


def cluster_resources(profile: dict, max_mem_mb: int) -> list[str]:
    """The profile's resources retargeted at the test cluster: its partition and account, no GPU, memory capped.

    A command-line --default-resources or --set-resources replaces the profile's whole mapping, so every entry is
    carried over here rather than only the ones that change.
    """
    default = {**profile["default-resources"], "slurm_partition": PARTITION, "slurm_account": ACCOUNT}
    per_rule = []
    for rule, resources in profile["set-resources"].items():
        for key, value in resources.items():
            if key in GPU_RESOURCES:
                continue
            if key == "slurm_partition":
                value = PARTITION
            elif key == "mem_mb":
                value = min(value, max_mem_mb)
            per_rule.append(f"{rule}:{key}={value}")
    return ["--default-resources", *(f"{k}={v}" for k, v in default.items()), "--set-resources", *per_rule]


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("a SLURM cluster needs root (apt-get, munged, slurmctld, slurmd); not root here")
    reason = install_packages()
    if reason:
        pytest.skip(f"cannot install Debian's SLURM packages: {reason}")
    cluster = LocalSlurmCluster(tmp_path_factory.mktemp("slurm_cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def rule_logs(workdir: Path) -> dict[str, str]:
    """Every rule's log of a run (each job writes one), keyed by its path; SLURM's own logs left out."""
    return {
        str(path.relative_to(workdir)): path.read_text(errors="replace")
        for path in (workdir / "logs").rglob("*.log")
        if not path.relative_to(workdir / "logs").parts[0] == "slurm"
    }


@pytest.mark.slurm
def test_tiny_workflow_on_slurm(slurm_cluster, request, tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    started = time.monotonic()
    try:
        run_snakemake(
            workdir,
            "--workflow-profile", "profiles/slurm",
            "--configfile", "config_tiny.yaml",
            "--max-threads", str(slurm_cluster.cpus),  # rules ask for 8 threads; the node has its real CPUs
            "--slurm-init-seconds-before-status-checks", "5",
            *cluster_resources(load_profile(), max_mem_mb=slurm_cluster.real_memory_mb // 2),
            cores=None,
            env=slurm_cluster.env,
            timeout=RUN_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the tiny workflow did not finish on the test cluster within {RUN_TIMEOUT} s")
    print(f"tiny workflow on SLURM: {time.monotonic() - started:.0f} s")  # shown with pytest -s

    # Every job the local run ran, the SLURM run ran too: the same rule logs. (The session's local run is asked for
    # only now, so that a machine that cannot start the cluster skips before running the workflow at all.)
    tiny_run = request.getfixturevalue("tiny_run")
    local_logs = rule_logs(tiny_run.parents[1])
    slurm_logs = rule_logs(workdir)
    assert set(slurm_logs) == set(local_logs)

    # Each ran as its own SLURM job: the accounting database lists one completed job per rule log, of this run
    # (the plugin names every job after its run id) ...
    accounting = slurm_cluster.run(
        "sacct", "--allocations", "--parsable2", "--noheader", "--starttime=2000-01-01",
        "--format=JobIdRaw,JobName,Comment,State",
    ).stdout.split("\n")
    jobs = {job_id: (name, comment, state) for job_id, name, comment, state in (r.split("|") for r in accounting if r)}
    assert {state for _, _, state in jobs.values()} == {"COMPLETED"}, jobs
    assert len({name for name, _, _ in jobs.values()}) == 1, jobs
    assert len(jobs) == len(slurm_logs)
    # ... each rule log names its job, a different one each ...
    job_of_log = {}
    for path, text in slurm_logs.items():
        match = re.search(r"SLURM job (\d+)", text)
        assert match, f"{path} does not name a SLURM job"
        job_of_log[path] = match.group(1)
        if re.match(r"(warmup|align|supcon|embed)_", Path(path).name):  # GPU steps say which device they used
            assert re.search(r" on (cpu|cuda:\d+) \(", text), f"{path} does not name its device"
    assert set(job_of_log.values()) == set(jobs)
    # ... and the plugin's log folder holds the job's sbatch output, under the rule that the job ran.
    for job_id, (_, comment, _) in jobs.items():
        rule = re.fullmatch(r"rule_(.+?)(_wildcards_.*)?", comment).group(1)
        sbatch_logs = list((workdir / "logs" / "slurm" / f"rule_{rule}").rglob(f"{job_id}.log"))
        assert len(sbatch_logs) == 1 and sbatch_logs[0].stat().st_size > 0, (job_id, comment)

    # The same seed gives the same bytes as the local run, trained models included.
    results = workdir / "results" / "jp_firms"
    assert (results / "tables" / "main_results.csv").exists()
    assert_same_outputs(results, tiny_run)
    SAME_SEED_COMPARED.append(results)
