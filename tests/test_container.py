"""The container, checked statically (no Docker engine or Apptainer runs here): the Dockerfile sets the image up with
install.sh and the venv on PATH, .dockerignore keeps what that needs, and config key `container` becomes the
workflow's global container (a dry run with a stand-in `apptainer` that only reports its version)."""

import os
import re

import pytest
import yaml
from snakemake.utils import validate

from helpers import REPO, copy_workflow, run_snakemake


def dockerfile_instructions():
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [tuple(line.split(None, 1)) for line in lines]


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides; `!` re-includes."""
    excluded = False
    for raw in (REPO / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        parts = path.split("/")
        if any(re.fullmatch(regex, "/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            excluded = not negate
    return excluded


def test_dockerfile_runs_install_sh_on_bookworm_python_311_with_the_venv_on_path():
    instructions = dockerfile_instructions()
    args = {}
    for name, arg in instructions:
        args.setdefault(name, []).append(arg)
    assert args["FROM"] == ["python:3.11-slim-bookworm"]
    workdir = args["WORKDIR"][-1]
    assert any(arg.split()[0] == "." and arg.split()[1] in (".", "./", workdir) for arg in args["COPY"])
    assert any(re.search(r"(^|&&\s*)bash install\.sh(\s|$)", arg) for arg in args["RUN"])
    # PATH is set after install.sh created .venv, with the venv's bin folder first.
    names = [name for name, _ in instructions]
    path_env = [i for i, (name, arg) in enumerate(instructions) if name == "ENV" and "PATH=" in arg]
    assert path_env and path_env[-1] > names.index("RUN")
    path = re.search(r"PATH=(\S+)", instructions[path_env[-1]][1]).group(1)
    assert path.split(":")[0] == f"{workdir.rstrip('/')}/.venv/bin"


def test_dockerignore_keeps_what_install_and_the_workflow_need_and_drops_local_state():
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'readme = "README.md"' in pyproject  # the editable install reads it
    needed = ["install.sh", "requirements.txt", "pyproject.toml", "README.md", "Snakefile", "config.yaml",
              "workflow_scripts/clippings_wf/__init__.py", "workflow_scripts/ocr_records.py", "rules/common.smk",
              "schemas/config.schema.yaml", "profiles/default/config.yaml", "report/workflow.rst",
              "results/reference/jp_firms/main_results.csv"]  # fmt: skip
    for path in needed:
        assert (REPO / path).exists(), path
        assert not dockerignore_excludes(path), f".dockerignore drops {path}"
    for path in [".venv/bin/python", ".snakemake/log/x.log", "logs/jp_firms/ocr.log", ".git/HEAD",
                 "results/jp_firms/data/records.csv", "workflow_scripts/clippings_wf/__pycache__/x.pyc"]:  # fmt: skip
        assert dockerignore_excludes(path), f".dockerignore keeps {path}"


def test_container_key_defaults_to_none_and_must_be_a_string():
    schema = REPO / "schemas" / "config.schema.yaml"
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    validate(config, schema=str(schema))
    assert config["container"] == ""
    with pytest.raises(Exception, match="container"):
        validate(dict(config, container=5), schema=str(schema))


@pytest.fixture(scope="module")
def workflow_with_fake_apptainer(tmp_path_factory):
    """The workflow in a temporary folder, and a PATH whose `apptainer` only answers --version: Snakemake checks
    for it before a dry run with --sdm apptainer, and a dry run pulls nothing."""
    root = tmp_path_factory.mktemp("container")
    workdir = copy_workflow(root / "workflow")
    fake = root / "bin" / "apptainer"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "apptainer version 1.3.4"\n')
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{fake.parent}:{os.environ['PATH']}")
    return workdir, env


@pytest.mark.parametrize("image", ["docker://example/clippings:1", None])
def test_config_container_is_the_global_container_of_every_job(workflow_with_fake_apptainer, image):
    workdir, env = workflow_with_fake_apptainer
    overlay = workdir / "container.yaml"
    overlay.write_text(yaml.safe_dump({"container": image} if image else {}))
    result = run_snakemake(workdir, "-n", "--configfile", "config_tiny.yaml", str(overlay), "--sdm", "apptainer",
                           cores="1", env=env)  # fmt: skip
    output = result.stdout + result.stderr
    assert "ocr_records" in output  # the dry run planned the workflow's jobs
    pulled = re.findall(r"Singularity image (\S+) will be pulled", output)
    assert pulled == ([image] if image else [])
