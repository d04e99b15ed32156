"""Prints, as JSON, what Snakemake itself would give each job at the first and second attempt (mem_mb, runtime,
gpu) and its log files, by rule, with the workflow's rules and its `localrules`.

Run in a copy of the workflow (tests/test_slurm.py): `python job_resources.py <configfile>`. Snakemake has no
command-line way to evaluate a job at attempt 2 short of failing it, so this builds the DAG through its Python
API, as `snakemake --generate-unit-tests` does, and sets each job's attempt as a retry would.
"""

import json
import sys
from pathlib import Path

from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

ATTEMPTS = (1, 2)
RESOURCES = ("mem_mb", "runtime", "gpu")


def job_resources(configfile: Path) -> dict:
    with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[configfile]),
            snakefile=Path("Snakefile"),
            workdir=Path.cwd(),
        )
        workflow_api.dag(dag_settings=DAGSettings())  # sets the workflow's DAG settings
        workflow = workflow_api._workflow
        workflow._prepare_dag(forceall=False, ignore_incomplete=True, lock_warn_only=True, nolock=True)
        workflow._build_dag()
        jobs = {}
        for job in workflow.dag.jobs:
            attempts = []
            for attempt in ATTEMPTS:
                job.attempt = attempt  # what a retry sets; it clears the job's evaluated resources
                attempts.append({name: job.resources.get(name) for name in RESOURCES})
            jobs.setdefault(job.rule.name, []).append({"log": list(job.log), "attempts": attempts})
        return {
            "rules": sorted(rule.name for rule in workflow.rules),
            "localrules": sorted(workflow._localrules),
            "jobs": jobs,
        }


if __name__ == "__main__":
    print(json.dumps(job_resources(Path(sys.argv[1]))))
