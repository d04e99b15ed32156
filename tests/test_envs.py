"""`--sdm conda` can work: the env file each rule names provides every package its step script imports, pinned as
requirements.txt pins the stack that runs here (the .venv).

Static: conda's channels cannot be reached from this machine, so no env is created. The rules come from Snakemake's
own parser (a rule added later is checked without editing this file); a script's imports are read with `ast`,
following `clippings_wf` transitively, imports inside functions included (they run too), and the scripts a step
starts as its own process (bench/scaling.py). Snakemake appends its own sys.path to every step script's, so when
the workflow runs from the .venv a package missing from an env is found there instead and nothing fails: this
test is what notices."""

import ast
import json
import re
import subprocess
import sys
import tempfile
from functools import cache
from importlib import metadata
from pathlib import Path

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from helpers import REPO

PACKAGE = "clippings_wf"
SCRIPTS = REPO / "workflow_scripts"
# Imported by Snakemake's script preamble from Snakemake's own search path, not from the env.
PROVIDED_BY_SNAKEMAKE = {"snakemake"}
# What an env's comment must say when its rules read files only the system provides (fonts, Tesseract's models,
# photographs under /usr/share): conda has no package that puts them where the code looks.
SYSTEM_FILES = "/usr/share/"
# Calls that import a package the code never names: pandas' parquet engine.
IMPLICIT_IMPORTS = {"read_parquet": "pyarrow", "to_parquet": "pyarrow"}

# The workflow's rules as Snakemake parses them: in a child process (the API changes directory and sets up logging),
# in a scratch working directory (it leaves .snakemake/ there), with the repository's config.yaml beside it.
LIST_RULES = """
import json
import sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import OutputSettings, Quietness, ResourceSettings

settings = OutputSettings(quiet={Quietness.ALL}, enable_file_logging=False)
with SnakemakeApi(settings) as api:
    snakefile, workdir = Path(sys.argv[1]), Path.cwd()
    workflow = api.workflow(resource_settings=ResourceSettings(), snakefile=snakefile, workdir=workdir)._workflow
    rules = []
    for rule in workflow.rules:
        base = Path(str(rule.basedir))
        rules.append({"name": rule.name, "script": rule.script and str((base / rule.script).resolve()),
                      "conda": rule.conda_env and str((base / str(rule.conda_env)).resolve())})
    print("RULES=" + json.dumps(rules))
"""


@cache
def workflow_rules():
    """Every rule, those that only linking.shards > 1 defines (gather and index rules) included."""
    rules = {}
    for shards in (1, 2):
        with tempfile.TemporaryDirectory() as workdir:
            config = yaml.safe_load((REPO / "config.yaml").read_text())
            config["linking"]["shards"] = shards
            (Path(workdir) / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
            result = subprocess.run([sys.executable, "-c", LIST_RULES, str(REPO / "Snakefile")], cwd=workdir,
                                    capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"Snakemake could not parse the workflow:\n{result.stderr[-3000:]}"
        line = next(line for line in result.stdout.splitlines() if line.startswith("RULES="))
        for rule in json.loads(line.removeprefix("RULES=")):
            rules.setdefault((rule["name"], rule["script"]), rule)
    return list(rules.values())


def script_rules():
    rules = [rule for rule in workflow_rules() if rule["script"]]
    assert len(rules) > 10, "Snakemake listed fewer rules with a script than the workflow has"
    return rules


def rel(path) -> str:
    return str(Path(path).relative_to(REPO))


# Imports: the modules a file imports, and the files a script reaches through the package.


def _optional_nodes(tree) -> set:
    """The nodes inside `try: ... except ImportError:`: an import there is optional, the code runs without it."""
    nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            caught = [n.id for h in node.handlers if h.type for n in ast.walk(h.type) if isinstance(n, ast.Name)]
            if {"ImportError", "ModuleNotFoundError"} & set(caught):
                nodes.update(n for stmt in node.body for n in ast.walk(stmt))
    return nodes


def _module_name(path: Path) -> str | None:
    """`clippings_wf.models.embedding` for workflow_scripts/clippings_wf/models/embedding.py; None outside it."""
    if PACKAGE not in path.relative_to(REPO).parts:
        return None
    parts = list(path.relative_to(SCRIPTS).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _started_scripts(tree) -> list[Path]:
    """Python files a step runs as a process, spelt as a path ending in string literals: `... / "bench" /
    "scaling.py"` names bench/scaling.py."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            parts = []
            while isinstance(node, ast.BinOp) and isinstance(node.right, ast.Constant):
                parts.insert(0, str(node.right.value))
                node = node.left
            if parts and parts[-1].endswith(".py") and (REPO.joinpath(*parts)).is_file():
                found.append(REPO.joinpath(*parts))
    return found


def _call_name(node) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


@cache
def file_imports(path: Path) -> tuple[list[str], list[Path], bool]:
    """The absolute module names a file imports (optional ones left out; `find_spec("x")` and pandas' parquet calls
    count as imports of x and pyarrow), the scripts it starts, and whether it reads files under /usr/share."""
    tree = ast.parse(path.read_text(), filename=str(path))
    own = _module_name(path)
    package = own if path.name == "__init__.py" else (own.rpartition(".")[0] if own else None)
    optional, names = _optional_nodes(tree), []
    for node in ast.walk(tree):
        if node in optional:
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]  # a submodule, when the name is one
        elif isinstance(node, ast.Call) and _call_name(node) in IMPLICIT_IMPORTS:
            names.append(IMPLICIT_IMPORTS[_call_name(node)])
        elif isinstance(node, ast.Call) and _call_name(node) == "find_spec" and node.args:
            if isinstance(node.args[0], ast.Constant):  # locates an installed module's files: it must be there
                names.append(str(node.args[0].value))
    system = any(isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.startswith(SYSTEM_FILES)
                 for n in ast.walk(tree))
    return names, _started_scripts(tree), system


def package_files(module: str) -> list[Path]:
    """The files `import clippings_wf.a.b` runs: each package's __init__.py and the module itself."""
    parts, files = module.split("."), []
    for depth in range(1, len(parts) + 1):
        stem = SCRIPTS.joinpath(*parts[:depth])
        if (stem / "__init__.py").is_file():
            files.append(stem / "__init__.py")
        elif stem.with_suffix(".py").is_file():
            files.append(stem.with_suffix(".py"))
    return files


def reached(script: Path):
    """What running `script` imports: {top-level module outside the package: the file chain that imports it},
    and the files it reaches that read system files, each with its chain."""
    via = {script: [script]}
    queue, external, system = [script], {}, {}
    while queue:
        path = queue.pop(0)
        names, started, reads_system = file_imports(path)
        if reads_system:
            system.setdefault(path, via[path])
        for name in names:
            top = name.split(".")[0]
            beside = path.parent / f"{top}.py"  # a started script's own modules (bench/scaling_data.py)
            targets = package_files(name) if top == PACKAGE else [beside] if beside.is_file() else []
            if top and top != PACKAGE and not beside.is_file():
                external.setdefault(top, via[path])
            for target in targets + started:
                if target not in via:
                    via[target] = via[path] + [target]
                    queue.append(target)
    return external, system


# Import names to distributions, as the .venv (the stack that is run) maps them.


@cache
def distributions_of(top: str) -> set[str] | None:
    """The PyPI distributions providing an import name (canonical names); None for the standard library."""
    if top in sys.stdlib_module_names or top == "__future__":
        return None
    found = metadata.packages_distributions().get(top)
    assert found, f"no installed distribution provides `import {top}`: install it in .venv (requirements.txt)"
    return {canonicalize_name(name) for name in found}


# The env files.


@cache
def env_file(path: Path):
    """(conda entries, pip entries, comment text) of an env file."""
    text = path.read_text()
    spec = yaml.safe_load(text)
    conda, pip = [], []
    for entry in spec.get("dependencies", []):
        if isinstance(entry, dict):
            pip += entry.get("pip", [])
        else:
            conda.append(str(entry))
    comments = " ".join(line.split("#", 1)[1] for line in text.splitlines() if "#" in line)
    return conda, pip, comments


def pip_requirement(entry: str) -> Requirement | None:
    try:
        return Requirement(entry.split("#")[0].strip())
    except InvalidRequirement:
        return None  # a path or an option (-e ..): checked by test_envs_reach_the_package


def conda_name(entry: str) -> str:
    return canonicalize_name(re.split(r"[=<>!~ ]", entry.split("::")[-1], maxsplit=1)[0])


def provided(path: Path) -> set[str]:
    conda, pip, _ = env_file(path)
    names = {conda_name(entry) for entry in conda}
    return names | {canonicalize_name(req.name) for req in map(pip_requirement, pip) if req}


@cache
def requirements_txt() -> dict[str, Requirement]:
    lines = (line.split("#")[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines())
    return {canonicalize_name(req.name): req for req in map(Requirement, filter(None, lines))}


def env_paths():
    paths = sorted((REPO / "envs").glob("*.yaml"))
    assert paths, "no env files in envs/"
    return paths


# The tests.


def test_every_rule_with_a_script_names_an_existing_env():
    problems = [f"rule {rule['name']}: script {rel(rule['script'])}, conda env {rule['conda']}"
                for rule in script_rules() if not (rule["conda"] and Path(rule["conda"]).is_file())]
    assert not problems, "rules whose script has no env file:\n" + "\n".join(problems)


def test_envs_provide_what_each_script_imports():
    problems = []
    for rule in script_rules():
        env = Path(rule["conda"])
        have = provided(env)
        external, _ = reached(Path(rule["script"]))
        for top, chain in sorted(external.items()):
            needed = distributions_of(top)
            if needed is None or top in PROVIDED_BY_SNAKEMAKE or needed & have:
                continue
            problems.append(f"rule {rule['name']} ({rel(env)}): {' -> '.join(map(rel, chain))} imports {top}, "
                            f"which {' or '.join(sorted(needed))} provides: not in the env")
    assert not problems, "env files lack packages their rules' scripts import:\n" + "\n".join(problems)


def test_env_pins_are_exact_and_match_requirements_txt():
    """Every entry pinned to one version: requirements.txt's `==` pin, or, where requirements.txt gives a range or
    does not list the package, the version installed in the .venv (inside that range)."""
    problems = []
    for path in env_paths():
        conda, pip, _ = env_file(path)
        for entry in pip:
            req = pip_requirement(entry)
            if req is None:
                continue
            specs = list(req.specifier)
            name = canonicalize_name(req.name)
            if len(specs) != 1 or specs[0].operator != "==":
                problems.append(f"{rel(path)}: pip {entry!r} is not pinned with ==")
                continue
            listed = requirements_txt().get(name)
            pins = [s.version for s in listed.specifier if s.operator == "=="] if listed else []
            want = pins[0] if pins else metadata.version(req.name)
            if Version(specs[0].version) != Version(want):
                source = "requirements.txt" if pins else "the .venv"
                problems.append(f"{rel(path)}: pip {entry!r}, but {source} has {req.name}=={want}")
            elif listed and not listed.specifier.contains(want, prereleases=True):
                problems.append(f"{rel(path)}: pip {entry!r} is outside requirements.txt's {listed}")
        for entry in conda:
            name, _, version = entry.replace("==", "=").partition("=")
            if not version:
                problems.append(f"{rel(path)}: conda {entry!r} is not pinned")
                continue
            try:
                have = ".".join(map(str, sys.version_info[:3])) if name == "python" else metadata.version(name)
            except metadata.PackageNotFoundError:
                continue  # a conda-only package (not in the .venv): pinned is all that can be checked
            if not (have == version or have.startswith(version + ".")):
                problems.append(f"{rel(path)}: conda {entry!r}, but the .venv has {name} {have}")
    assert not problems, "env pins differ from the stack that is run:\n" + "\n".join(problems)


def installed_requirements(name: str) -> set[str]:
    """The distributions `name` pulls in, transitively, as installed in the .venv (extras left out)."""
    seen, queue = set(), [name]
    while queue:
        current = queue.pop()
        try:
            requires = metadata.requires(current) or []
        except metadata.PackageNotFoundError:
            continue  # not installed here: nothing to follow
        for line in requires:
            req = Requirement(line)
            if req.marker and not req.marker.evaluate({"extra": ""}):
                continue
            dist = canonicalize_name(req.name)
            if dist not in seen:
                seen.add(dist)
                queue.append(dist)
    return seen


def test_envs_pin_what_their_packages_pull_in():
    """What an env's packages pull in is pinned in the env too where requirements.txt constrains it: pip would
    otherwise take the newest release (open_clip_torch any torchvision, and with it another torch; torch a
    setuptools without the pkg_resources fuzzychinese imports)."""
    constrained = set(requirements_txt())
    problems = []
    for path in env_paths():
        have = provided(path)
        for name in sorted(have):
            for dep in sorted((installed_requirements(name) & constrained) - have):
                problems.append(f"{rel(path)}: {name} pulls in {dep}, which requirements.txt constrains: pin it")
    assert not problems, "\n".join(problems)


def test_envs_reach_the_package():
    """clippings_wf is not pip-installed in the envs: Snakemake creates an env from a copy of its file under
    .snakemake/conda/ (or --conda-prefix), so a relative `-e ..` would resolve there, not in the repository. It
    appends a script's own folder to the script's sys.path instead; so every step script must sit beside the
    package, and every env file must say why the package is not installed."""
    for rule in script_rules():
        script = Path(rule["script"])
        assert (script.parent / PACKAGE / "__init__.py").is_file(), (
            f"rule {rule['name']}: {rel(script)} is not beside {PACKAGE}/, so its step cannot import the package")
    for path in env_paths():
        conda, pip, comments = env_file(path)
        paths = [entry for entry in pip if pip_requirement(entry) is None]
        assert not any(re.search(r"(^|\s)\.\.?(/|\s|$)", entry) for entry in paths), (
            f"{rel(path)}: a relative pip path resolves under .snakemake/conda/, not the repository: {paths}")
        assert PACKAGE in comments and "sys.path" in comments, (
            f"{rel(path)}: the comment must say how {PACKAGE} is found (Snakemake puts workflow_scripts/ on sys.path)")


def test_envs_name_the_system_packages_their_rules_need():
    """Fonts, Tesseract's jpn/jpn_vert/eng models and the photographs are read from Debian's folders
    (/usr/share/...): the env of a rule that reads them must say that install.sh's apt packages provide them."""
    problems = []
    for rule in script_rules():
        env = Path(rule["conda"])
        _, system = reached(Path(rule["script"]))
        _, _, comments = env_file(env)
        if system and not ("install.sh" in comments and "apt" in comments):
            chain = next(iter(system.values()))
            problems.append(f"rule {rule['name']} ({rel(env)}): {' -> '.join(map(rel, chain))} reads "
                            f"{SYSTEM_FILES}..., and the env's comment does not name install.sh's apt packages")
    assert not problems, "\n".join(problems)
