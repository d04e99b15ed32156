"""The SLURM profile, and the workflow run through it on a real single-node SLURM cluster (tests/slurm_cluster.py).

test_profiles checks the profiles and the rules' resources without a cluster, asking Snakemake itself what each
job gets at the first and second attempt (tests/job_resources.py). The cluster tests need root (apt-get, the
daemons) and skip, saying why, only without root or when Debian's SLURM packages cannot be installed. Everything
else that goes wrong (a daemon that does not start, a job that fails, an output that differs from the local run)
fails the test.
"""

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from snakemake_executor_plugin_slurm import ExecutorSettings

from helpers import REPO, SAME_SEED_COMPARED, assert_same_outputs, copy_workflow, run_snakemake
from output_digests import cpu_signature, output_digests
from slurm_cluster import ACCOUNT, LocalSlurmCluster, install_packages

PROFILE = REPO / "profiles" / "slurm" / "config.yaml"
DEFAULT_PROFILE = REPO / "profiles" / "default" / "config.yaml"
JOB_RESOURCES = Path(__file__).with_name("job_resources.py")
PINNED = Path(__file__).parent / "data" / "tiny_run_digests.json"
GPU_RULES = {"warmup_vision", "warmup_text", "align_selfsup", "supcon_synthetic", "supcon_labelled", "embed_records"}
RUN_TIMEOUT = 3600  # seconds for the whole tiny workflow on the cluster
# The cluster run is sharded (config linking.shards): every model's records embedded by SHARDS jobs and the
# queries linked by SHARDS jobs, each its own SLURM job, gathered into the files the unsharded local run writes.
# (Empty and uneven shards are tested without a cluster in tests/test_sharding.py.)
SHARDS = 2
# The cluster runs the tiny jp_firms benchmark; the local run's other datasets (jp_firms_shifted: evaluation only,
# with jp_firms' models) add jobs, not kinds of job. On the test's 2-core node one job runs at a time, each starting
# Python and torch, so every job counts (CI's time limit).
CLUSTER_DATASETS = {"jp_firms"}
SHARDED_RULES = {"gather_embeddings", "link_index", "gather_links"}  # defined only where linking.shards > 1


def load_profile() -> dict:
    return yaml.safe_load(PROFILE.read_text())


def job_resources(workdir: Path, configfile: str) -> dict:
    """tests/job_resources.py run in ``workdir``: each job's resources at attempts 1 and 2 and its logs, by rule."""
    result = subprocess.run(
        [sys.executable, str(JOB_RESOURCES), configfile], cwd=workdir, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout)


def declared_resources() -> dict[str, dict[str, str]]:
    """Each rule's resources as written in rules/*.smk (the expressions, unevaluated), by rule."""
    declared = {}
    for path in sorted((REPO / "rules").glob("*.smk")):
        # a rule at the top level, or indented under `if SHARDS == 1:` / `else:` (rules/embed.smk, rules/link.smk)
        for indent, rule, body in re.findall(r"^( *)rule (\w+):\n((?:\1[ \t]+.*\n|\n)*)", path.read_text(), re.M):
            block = re.search(rf"^{indent}    resources:\n((?:{indent}        .*\n)*)", body, re.M)
            lines = block.group(1).splitlines() if block else []
            declared[rule] = dict(re.match(r"\s+(\w+)=(.*?),?(\s+#.*)?$", line).group(1, 2) for line in lines)
    return declared


def sharded_config(workdir: Path, base: str = "config_tiny.yaml", shards: int = SHARDS,
                   only: set[str] | None = None) -> str:
    """A config file in ``workdir``: ``base`` with linking.shards set and, given ``only``, every other dataset of
    ``base`` switched off (merged over config.yaml as --configfile)."""
    config = yaml.safe_load((workdir / base).read_text())
    config.setdefault("linking", {})["shards"] = shards
    for name, dataset in config["datasets"].items():
        if only is not None and name not in only:
            dataset["enabled"] = False
    name = f"{Path(base).stem}_shards{shards}.yaml"
    # key order is meaning (training.supervised.variants orders the table's rows): not sorted
    (workdir / name).write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return name


def test_profiles(tmp_path):
    profile, text = load_profile(), PROFILE.read_text()
    assert profile["executor"] == "slurm"
    assert profile["retries"] >= 1 and profile["rerun-incomplete"] is True
    # Works as shipped: no placeholder to replace, no account or partition (the cluster's defaults apply) ...
    assert not re.search(r"<[^>]*>", yaml.safe_dump(profile)), "a <placeholder> in profiles/slurm"
    for resources in [profile.get("default-resources") or {}, *profile["set-resources"].values()]:
        assert not {"slurm_account", "slurm_partition"} & set(resources), resources
    # ... the GPU partition one commented line (a YAML anchor shared by every GPU rule), and the plugin's option for
    # clusters that need more named, an option the pinned plugin has.
    assert len(re.findall(r"^\s*# slurm_partition: \S+", text, re.M)) == 1
    assert "--slurm-partition-config" in text
    assert "partition_config" in {f.name for f in dataclasses.fields(ExecutorSettings)}
    # GPU rules get their CPUs per GPU here; the GPU itself and memory and time are the rules' own.
    assert set(profile["set-resources"]) == GPU_RULES
    for rule, resources in profile["set-resources"].items():
        assert set(resources) == {"cpus_per_gpu"} and resources["cpus_per_gpu"] >= 1, rule

    # The default profile stays portable (no executor, no cluster resources) and runs one GPU job at a time.
    default = yaml.safe_load(DEFAULT_PROFILE.read_text())
    assert "executor" not in default and not any("slurm" in key for key in default)
    assert "slurm" not in str(default.get("default-resources", "")) + str(default.get("set-resources", ""))
    assert default["resources"] == {"gpu": 1}

    # What Snakemake gives each job of the default configuration, at the first attempt and at a retry, unsharded and
    # with linking.shards (whose gather and index rules only then exist).
    workdir = copy_workflow(tmp_path / "wf")
    found = job_resources(workdir, "config.yaml")
    sharded = job_resources(workdir, sharded_config(workdir, "config.yaml"))
    assert set(sharded["rules"]) - set(found["rules"]) == SHARDED_RULES
    assert {"embed_records", "link_records"} <= set(sharded["jobs"])
    found["jobs"] = {rule: jobs + sharded["jobs"].get(rule, []) for rule, jobs in found["jobs"].items()} | {
        rule: sharded["jobs"][rule] for rule in SHARDED_RULES
    }
    found["rules"] = sorted(set(found["rules"]) | SHARDED_RULES)
    rules, local = set(found["rules"]), set(found["localrules"])
    # A misspelt rule in set-resources or localrules would be ignored silently: each must be a rule.
    assert GPU_RULES <= rules, GPU_RULES - rules
    assert local and local <= rules, local - rules
    assert {r for r in rules if r.startswith("plot_") or r.endswith("_table")} <= local
    assert not local & GPU_RULES
    for rule, jobs in found["jobs"].items():
        for job in jobs:
            first, second = job["attempts"]
            assert first["gpu"] == (1 if rule in GPU_RULES else None), (rule, first)
            if rule in local or rule == "all":
                continue
            # A job killed for memory or time is resubmitted with twice as much, not failed the same way again.
            assert first["mem_mb"] > 0 and first["runtime"] > 0, (rule, first)
            assert (second["mem_mb"], second["runtime"]) == (2 * first["mem_mb"], 2 * first["runtime"]), rule
    # Rules that no job of the default configuration runs (scaling benchmark, manifest import) declare the same.
    declared = declared_resources()
    assert set(declared) == rules - {"all"}
    for rule in rules - local - {"all"}:
        for name in ("mem_mb", "runtime"):
            assert declared[rule][name].startswith("grows_with_attempt("), (rule, name, declared[rule])


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


def accounting(cluster: LocalSlurmCluster) -> dict[str, dict[str, str]]:
    """Every job in the cluster's accounting database, by job id."""
    fields = ["JobIdRaw", "JobName", "Comment", "State", "ReqMem", "Timelimit"]
    rows = cluster.run(
        "sacct", "--allocations", "--parsable2", "--noheader", "--starttime=2000-01-01",
        f"--format={','.join(fields)}",
    ).stdout.splitlines()
    return {row.split("|")[0]: dict(zip(fields, row.split("|"))) for row in rows if row}


def rule_of(job: dict[str, str]) -> str:
    """The rule a job ran: the plugin writes rule_<rule>_wildcards_<...> in sbatch --comment."""
    return re.fullmatch(r"rule_(.+?)(_wildcards_.*)?", job["Comment"]).group(1)


def minutes(timelimit: str) -> int:
    """sacct's Timelimit ([days-]hours:minutes:seconds) in minutes."""
    days, _, clock = timelimit.rpartition("-")
    hours, mins, _ = (int(part) for part in clock.split(":"))
    return (int(days or 0) * 24 + hours) * 60 + mins


def rule_logs(workdir: Path) -> dict[str, str]:
    """Every rule's log of a run (each job writes one), keyed by its path; SLURM's own logs left out."""
    return {
        str(path.relative_to(workdir)): path.read_text(errors="replace")
        for path in (workdir / "logs").rglob("*.log")
        if not path.relative_to(workdir / "logs").parts[0] == "slurm"
    }


def cluster_overrides(found: dict, max_mem_mb: int) -> list[str]:
    """What the GPU-less test cluster needs beyond the unedited profile: no GPU for the GPU rules, and memory
    within the node's for any rule that asks for more (none on a machine of 16 GB or more). A command-line
    --set-resources replaces the profile's whole mapping, so cpus_per_gpu goes with it."""
    overrides = [f"{rule}:gpu=0" for rule in sorted(GPU_RULES)]
    for rule, jobs in sorted(found["jobs"].items()):
        if any((job["attempts"][0]["mem_mb"] or 0) > max_mem_mb for job in jobs):
            overrides.append(f"{rule}:mem_mb={max_mem_mb}")
    return ["--set-resources", *overrides]


# A job that needs twice its first attempt's memory: at attempt 1 it fails (as one killed for memory would), and
# the profile's `retries: 1` resubmits it with grows_with_attempt's doubled mem_mb and runtime. The helper is the
# workflow's own, copied from rules/common.smk.
RETRY_SNAKEFILE = """
{helper}

rule needs_twice_the_memory:
    output:
        "allocated_mb.txt",
    resources:
        mem_mb=grows_with_attempt(100),
        runtime=grows_with_attempt(5),
    shell:
        "scontrol show job $SLURM_JOB_ID | grep -o 'MinMemoryNode=[0-9]*' | cut -d= -f2 > allocated.tmp && "
        "test $(cat allocated.tmp) -ge 200 && mv allocated.tmp {{output}}"
"""


def grows_with_attempt_source() -> str:
    common = (REPO / "rules" / "common.smk").read_text()
    return re.search(r"^def grows_with_attempt\(.*?(?=^\S)", common, re.M | re.S).group(0)


@pytest.mark.slurm
def test_retry_gets_more_memory_and_time(slurm_cluster, tmp_path):
    (tmp_path / "Snakefile").write_text(RETRY_SNAKEFILE.format(helper=grows_with_attempt_source()))
    before = set(accounting(slurm_cluster))
    profile = {key: value for key, value in load_profile().items() if key != "set-resources"}
    run_snakemake(
        tmp_path,
        "--executor", "slurm", "--jobs", "1", "--retries", str(profile["retries"]), "--latency-wait", "5",
        "--slurm-init-seconds-before-status-checks", "5",
        cores=None, env=slurm_cluster.env, timeout=900,
    )
    assert (tmp_path / "allocated_mb.txt").read_text().strip() == "200"
    jobs = sorted((job for job_id, job in accounting(slurm_cluster).items() if job_id not in before),
                  key=lambda job: int(job["JobIdRaw"]))  # fmt: skip
    assert [(rule_of(j), j["State"].split()[0]) for j in jobs] == [
        ("needs_twice_the_memory", "FAILED"), ("needs_twice_the_memory", "COMPLETED")
    ], jobs
    assert [int(re.match(r"\d+", j["ReqMem"]).group()) for j in jobs] == [100, 200], jobs
    assert [minutes(j["Timelimit"]) for j in jobs] == [5, 10], jobs


@pytest.mark.slurm
def test_tiny_workflow_on_slurm(slurm_cluster, request, tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    configfile = sharded_config(workdir, only=CLUSTER_DATASETS)
    found = job_resources(workdir, configfile)
    local = set(found["localrules"])
    rule_of_log = {log: rule for rule, jobs in found["jobs"].items() for job in jobs for log in job["log"]}
    first_attempt = {log: job["attempts"][0] for jobs in found["jobs"].values() for job in jobs for log in job["log"]}
    before = set(accounting(slurm_cluster))
    started = time.monotonic()
    try:
        # The profile unedited: no account, no partition (the test cluster has a default partition and gives root a
        # default account); only the GPU taken away.
        run_snakemake(
            workdir,
            "--workflow-profile", "profiles/slurm",
            "--configfile", configfile,
            "--max-threads", str(slurm_cluster.cpus),  # rules ask for 8 threads; the node has its real CPUs
            "--slurm-init-seconds-before-status-checks", "5",
            *cluster_overrides(found, max_mem_mb=slurm_cluster.real_memory_mb // 2),
            cores=None,
            env=slurm_cluster.env,
            timeout=RUN_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the tiny workflow did not finish on the test cluster within {RUN_TIMEOUT} s")
    print(f"tiny workflow on SLURM: {time.monotonic() - started:.0f} s")  # shown with pytest -s

    # Every job the local run ran, the SLURM run ran too: the same rule logs, but for the embed and link jobs, which
    # ran as SHARDS shard jobs each (and gather and index jobs). (The session's local run is asked for only now, so
    # that a machine that cannot start the cluster skips before running the workflow at all.)
    tiny_run = request.getfixturevalue("tiny_run")
    local_logs = {path: text for path, text in rule_logs(tiny_run.parents[1]).items()
                  if Path(path).parts[1] in CLUSTER_DATASETS}  # fmt: skip
    slurm_logs = rule_logs(workdir)
    assert set(slurm_logs) == set(rule_of_log), set(slurm_logs) ^ set(rule_of_log)
    unsharded = {path for path in local_logs if re.fullmatch(r"logs/[^/]+/(embed_records_\w+|link_records)\.log", path)}
    assert unsharded and set(local_logs) - unsharded <= set(slurm_logs), set(local_logs) - unsharded - set(slurm_logs)
    assert not unsharded & set(slurm_logs)
    for path in unsharded:  # logs/<dataset>/embed_records_<model>.log -> its SHARDS shards' logs, each a SLURM job
        shards = {path.removesuffix(".log") + f"_shard{shard}.log" for shard in range(SHARDS)}
        assert shards <= set(slurm_logs), shards - set(slurm_logs)
    ran_local = {path for path in slurm_logs if rule_of_log[path] in local}
    assert ran_local, "no localrule ran"

    # Each other job ran as its own SLURM job: the accounting database lists one completed job per rule log, of
    # this run (the plugin names every job after its run id), and none for the localrules ...
    jobs = {job_id: job for job_id, job in accounting(slurm_cluster).items() if job_id not in before}
    assert {job["State"] for job in jobs.values()} == {"COMPLETED"}, jobs
    assert len({job["JobName"] for job in jobs.values()}) == 1, jobs
    assert len(jobs) == len(slurm_logs) - len(ran_local)
    assert not {rule_of(job) for job in jobs.values()} & local
    # ... each such rule log names its job, a different one each, while a localrule's log names none ...
    job_of_log = {}
    for path, text in slurm_logs.items():
        match = re.search(r"SLURM job (\d+)", text)
        if path in ran_local:
            assert not match, f"{path}: a localrule ran as a SLURM job"
            continue
        assert match, f"{path} does not name a SLURM job"
        job_of_log[path] = match.group(1)
        assert rule_of(jobs[match.group(1)]) == rule_of_log[path], path
        if rule_of_log[path] in GPU_RULES:  # GPU steps say which device they used
            assert re.search(r" on (cpu|cuda:\d+) \(", text), f"{path} does not name its device"
    assert set(job_of_log.values()) == set(jobs)
    # ... submitted with the rules' own memory and time (attempt 1: nothing failed) under the default account ...
    for path, job_id in job_of_log.items():
        assert minutes(jobs[job_id]["Timelimit"]) == first_attempt[path]["runtime"], path
    accounts = slurm_cluster.run("sacct", "--allocations", "--noheader", "--parsable2", "--starttime=2000-01-01",
                                 "--format=JobIdRaw,Account").stdout.splitlines()  # fmt: skip
    assert {account for job_id, account in (row.split("|") for row in accounts) if job_id in jobs} == {ACCOUNT}
    # ... and the plugin's log folder holds the job's sbatch output, under the rule that the job ran.
    for job_id, job in jobs.items():
        sbatch_logs = list((workdir / "logs" / "slurm" / f"rule_{rule_of(job)}").rglob(f"{job_id}.log"))
        assert len(sbatch_logs) == 1 and sbatch_logs[0].stat().st_size > 0, (job_id, job["Comment"])

    # The same seed gives the same bytes as the local run, trained models included; and sharded embedding and
    # linking give the unsharded run's embeddings, predictions and top-1 tables, every dataset, the same arrays and
    # bytes as the local run and as the pinned digests (tests/data/tiny_run_digests.json, on the CPU they were
    # pinned on).
    results = workdir / "results" / "jp_firms"
    assert (results / "tables" / "main_results.csv").exists()
    assert_same_outputs(results, tiny_run)
    SAME_SEED_COMPARED.append(results)
    assert sorted(path.name for path in results.parent.iterdir()) == sorted(CLUSTER_DATASETS)
    assert_sharded_outputs_unsharded(results.parent, tiny_run.parent, CLUSTER_DATASETS)


def assert_sharded_outputs_unsharded(sharded: Path, unsharded: Path, datasets: set[str]) -> None:
    """A sharded run's embeddings (every array), predictions.csv and top1.csv of ``datasets`` equal an unsharded
    run's and, on the CPU they were pinned on, the pinned digests."""
    pin = json.loads(PINNED.read_text())
    same_cpu = pin["cpu"] == cpu_signature()
    current, local = output_digests(sharded), output_digests(unsharded)
    sharded_steps = r"[^/]+/(embeddings/[^/]+\.npz|linking/(predictions|top1)\.csv)"
    compared = [path for path in pin["digests"] if re.fullmatch(sharded_steps, path)]
    compared = [path for path in compared if path.split("/")[0] in datasets]
    assert {path.split("/")[0] for path in compared} == datasets, compared
    assert [path for path in compared if current.get(path) != local.get(path)] == []
    if same_cpu:
        assert [path for path in compared if current.get(path) != pin["digests"][path]] == []
