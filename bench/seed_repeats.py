"""Seed repeats (README "Seed repeats"): retrain the learned rows with more training seeds on the default run's
fixed data, and report each row's top-1 as mean and spread over seeds, so that a one-seed difference between two
rows can be read against seed noise. Not part of the default run: each extra seed costs about the training part of
the default run (warm-ups, self-supervised alignment, the fine-tunings, embedding and linking).

For each extra seed N:
1. A Snakemake working directory <repo>/results/seeds/seed<N>/ whose results/<dataset>/ links to what the default
   run made upstream of training: data/ and synthetic/ (folder links), features/records.npz and models/vocab.json
   (file links), and features/views.npz while the default run still has it (it is temp(): when it is gone the seed
   run remakes it with recognize_views, in its own features/ folder). Each file link gets its target's mtime, since
   Snakemake dates an output by the link itself and would otherwise rerun OCR into the default run's folder.
2. seed_overlay.yaml there: training.seed: N, this dataset enabled and every other one disabled.
3. The planned jobs are checked first (snakemake --summary): if any would write through a link into the default
   run (an unfinished or out-of-date default run, say), nothing runs and the script stops.
4. snakemake results/<dataset>/linking/top1.csv --snakefile <repo>/Snakefile --directory <workdir>
   --workflow-profile <profile> --configfile <repo>/config.yaml [files] seed_overlay.yaml --rerun-triggers mtime
   [--cores n]: training, embedding and linking only. Its wall time goes to <workdir>/wall_time.json. Rerunning
   resumes (each training stage checkpoints every epoch); a seed whose top1.csv is up to date is not run again.

Then <repo>/results/<dataset>/tables/seeds.{csv,md}: per learned row and OCR condition, each seed's top-1 (the
default run's training.seed from <repo>/results/<dataset>/linking/top1.csv, every other from its working directory),
n seeds, mean, sample sd, min and max; the same for the findings' differences on noisy OCR (findings.md's F1-F5);
and the wall time of each extra seed. All in percentage points.

Usage:
    python bench/seed_repeats.py --dataset jp_firms --seeds 1 2            # after the default run has finished
    python bench/seed_repeats.py --seeds 1 2 --dry-run                     # prepare, list the jobs, train nothing
    python bench/seed_repeats.py --seeds 1 2 3 --aggregate-only            # only the tables, from finished seeds
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow_scripts"))
from clippings_wf.runtime import atomic  # noqa: E402
from clippings_wf.evaluation.seeds import seeds_table, to_markdown  # noqa: E402

log = logging.getLogger("seed_repeats")

# What the default run made upstream of training and that linking/top1.csv depends on (rules/data.smk, ocr.smk,
# pretrain.smk): folders are linked whole, files one by one. baselines/ and nomatch/ are not upstream of top1.csv.
UPSTREAM_FOLDERS = ("data", "synthetic")  # generate_benchmark or import_manifest, ocr_records, synthetic_renders
UPSTREAM_FILES = ("features/records.npz", "models/vocab.json")  # recognize_records, build_vocab
TEMP_FILES = ("features/views.npz",)  # recognize_views: temp(), linked while the default run still has it
TARGET = "results/{dataset}/linking/top1.csv"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dataset", default="jp_firms",
                        help="a dataset that trains its own models (default: jp_firms); its default run must have "
                             "finished in <repo>/results/<dataset>/")  # fmt: skip
    parser.add_argument("--seeds", type=int, nargs="+", required=True,
                        help="the extra training seeds (training.seed), e.g. 1 2; not the default run's own")
    parser.add_argument("--repo", type=Path, default=REPO,
                        help="the repository root of the default run (default: this script's repository)")
    parser.add_argument("--configfile", type=Path, nargs="+", default=[],
                        help="further config files the default run was started with, after <repo>/config.yaml "
                             "(e.g. config/ablation_linecnn.yaml), so that the seed runs see its settings")  # fmt: skip
    parser.add_argument("--cores", type=int, default=None,
                        help="snakemake --cores for each seed run (default: the workflow profile's; "
                             f"profiles/default takes all, {os.cpu_count()} here)")  # fmt: skip
    parser.add_argument("--workflow-profile", type=Path, default=None,
                        help="the snakemake --workflow-profile of the seed runs (default: <repo>/profiles/default; "
                             "<repo>/profiles/slurm on a cluster, docs/deployment.md, \"SLURM\")")  # fmt: skip
    parser.add_argument("--snakemake", default=str(_default_snakemake()),
                        help="the snakemake executable (default: the one beside this Python, else on PATH)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true",
                      help="prepare each working directory, check and list the jobs (snakemake -n), train nothing")
    mode.add_argument("--aggregate-only", action="store_true",
                      help="run nothing: write the tables from the seeds that have finished")
    return parser.parse_args(argv)


def _default_snakemake() -> Path | str:
    beside = Path(sys.executable).parent / "snakemake"
    return beside if beside.exists() else "snakemake"


# ------------------------------------------------------------------------------------------------ config
def _merge(base: dict, extra: dict) -> dict:
    """Snakemake's config merge: nested dicts update key by key, anything else replaces."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def load_config(repo: Path, configfiles: list[Path]) -> dict:
    config: dict = {}
    for path in [repo / "config.yaml", *configfiles]:
        _merge(config, yaml.safe_load(Path(path).read_text()) or {})
    return config


def default_seed(config: dict) -> int:
    return int(config.get("training", {}).get("seed", 0))  # the schema's default


def check_dataset(config: dict, dataset: str, repo: Path) -> Path:
    """The default run's results folder of this dataset, once it is known to be complete; else exits saying why."""
    datasets = config.get("datasets", {})
    if dataset not in datasets:
        sys.exit(f"dataset {dataset!r} is not in the config (known: {', '.join(datasets)})")
    if "models_from" in datasets[dataset]:
        sys.exit(f"{dataset} is evaluation-only (models_from: {datasets[dataset]['models_from']}): it trains nothing; "
                 f"repeat the seeds of {datasets[dataset]['models_from']} instead")  # fmt: skip
    results = repo / "results" / dataset
    needed = [TARGET.format(dataset=dataset), *(f"results/{dataset}/{p}" for p in UPSTREAM_FOLDERS + UPSTREAM_FILES)]
    missing = [p for p in needed if not (repo / p).exists()]
    if missing:
        sys.exit(f"the default run of {dataset} has not finished in {repo}: missing {', '.join(missing)}")
    return results


def overlay(config: dict, dataset: str, seed: int, repo: Path) -> dict:
    """training.seed and this dataset alone; a manifest path made absolute (it is relative to the repository)."""
    datasets = {name: {"enabled": name == dataset} for name in config["datasets"]}
    manifest = config["datasets"][dataset].get("manifest")
    if manifest and not Path(manifest).is_absolute():
        datasets[dataset]["manifest"] = str((repo / manifest).resolve())
    return {"training": {"seed": seed}, "datasets": datasets}


# ------------------------------------------------------------------------------------------ working dir
def _link(target: Path, link: Path) -> None:
    """A symlink to target dated like target, replacing an earlier link (never a real file or folder)."""
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():
        link.unlink()
    elif link.exists():
        sys.exit(f"{link} exists and is not a link: move it away (it should be the default run's {target})")
    link.symlink_to(target.resolve(), target_is_directory=target.is_dir())
    stat = target.stat()
    os.utime(link, ns=(stat.st_atime_ns, stat.st_mtime_ns), follow_symlinks=False)


def prepare_workdir(repo: Path, dataset: str, seed: int, config: dict) -> Path:
    """results/seeds/seed<N>/ with its links (refreshed every time, so their dates follow the default run) and its
    config overlay. Returns the overlay's path."""
    workdir = repo / "results" / "seeds" / f"seed{seed}"
    source, here = repo / "results" / dataset, workdir / "results" / dataset
    for relative in UPSTREAM_FOLDERS + UPSTREAM_FILES:
        _link(source / relative, here / relative)
    for relative in TEMP_FILES:
        link = here / relative
        if (source / relative).exists() and (link.is_symlink() or not link.exists()):
            _link(source / relative, link)
        elif link.is_symlink():  # the default run has since deleted it: this run remakes its own copy
            link.unlink()
    path = workdir / "seed_overlay.yaml"
    atomic.write_text(path, yaml.safe_dump(overlay(config, dataset, seed, repo), sort_keys=False))
    return path


def snakemake_command(args, workdir: Path, overlay_path: Path, *extra: str) -> list[str]:
    # The target first: --configfile and --rerun-triggers take several values and would swallow it.
    command = [args.snakemake, TARGET.format(dataset=args.dataset), "--snakefile", str(args.repo / "Snakefile"),
               "--directory", str(workdir), "--workflow-profile", str(args.workflow_profile),
               "--configfile", str(args.repo / "config.yaml"), *map(str, args.configfile), str(overlay_path),
               "--rerun-triggers", "mtime"]  # fmt: skip
    if args.cores:
        command += ["--cores", str(args.cores)]
    return command + list(extra)


def _snakemake(command: list[str], workdir: Path) -> str:
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(command)}\nfailed (exit {done.returncode}):\n{done.stderr[-3000:]}{done.stdout[-3000:]}")
    return done.stdout


def pending_outputs(command: list[str], workdir: Path) -> list[tuple[str, str]]:
    """(rule, output) of every output Snakemake would (re)make, from --summary's tab-separated table."""
    lines = _snakemake(command + ["--summary"], workdir).splitlines()
    header = next((i for i, line in enumerate(lines) if line.startswith("output_file\t")), None)
    if header is None:
        sys.exit("snakemake --summary printed no table")
    columns = lines[header].split("\t")
    rows = [dict(zip(columns, line.split("\t"))) for line in lines[header + 1:] if "\t" in line]
    return [(row["rule"], row["output_file"]) for row in rows if row.get("plan") != "no update"]


def outside_workdir(pending: list[tuple[str, str]], workdir: Path) -> list[tuple[str, str]]:
    """Planned outputs that resolve, through a link, out of the working directory (into the default run)."""
    root = workdir.resolve()
    return [(rule, out) for rule, out in pending if not (workdir / out).resolve().is_relative_to(root)]


def job_counts(command: list[str], workdir: Path) -> dict[str, int]:
    """{rule: jobs} from the first "Job stats" table of a dry run."""
    counts, table = {}, False
    for line in _snakemake(command + ["--dry-run", "--quiet", "rules"], workdir).splitlines():
        if line.startswith("Job stats:"):
            if counts:
                break
            table = True
        elif table and (match := re.fullmatch(r"(\w+)\s+(\d+)", line.strip())):
            if match[1] == "total":
                break
            counts[match[1]] = int(match[2])
    return counts


def run_seed(args, config: dict, seed: int) -> None:
    overlay_path = prepare_workdir(args.repo, args.dataset, seed, config)
    workdir = overlay_path.parent
    command = snakemake_command(args, workdir, overlay_path)
    pending = pending_outputs(command, workdir)
    if through_links := outside_workdir(pending, workdir):
        shown = "\n".join(f"  {rule}: {out}" for rule, out in through_links[:20])
        sys.exit(f"seed {seed}: these jobs would write into the default run through the links in {workdir}, so "
                 f"nothing runs (is the default run complete and up to date?):\n{shown}")  # fmt: skip
    if not pending:
        log.info("seed %d: %s is up to date", seed, workdir / TARGET.format(dataset=args.dataset))
        return
    counts = job_counts(command, workdir)
    log.info("seed %d: %d jobs (%s) in %s", seed, sum(counts.values()),
             ", ".join(f"{rule} {n}" for rule, n in counts.items()), workdir)  # fmt: skip
    if args.dry_run:
        return
    # An earlier, interrupted attempt left trained stages or checkpoints: this wall time is then only the rest.
    here = workdir / "results" / args.dataset
    resumed = any(here.glob("models/*/model.pt")) or any(here.glob("checkpoints/*/*"))
    start = time.monotonic()
    done = subprocess.run(command, cwd=workdir)
    wall_s = time.monotonic() - start
    if done.returncode:
        sys.exit(f"seed {seed}: snakemake failed (exit {done.returncode}) after {wall_s / 60:.1f} min; logs in "
                 f"{workdir / 'logs' / args.dataset}; the same command resumes")  # fmt: skip
    log.info("seed %d: done in %.1f min", seed, wall_s / 60)
    cores = args.cores or f"{args.workflow_profile.name} profile ({os.cpu_count()} CPUs)"
    record = {"seed": seed, "wall_s": round(wall_s, 1), "cores": cores, "jobs": sum(counts.values()),
              "resumed": resumed, "rules": counts, "finished": time.strftime("%Y-%m-%d %H:%M:%S")}  # fmt: skip
    atomic.write_text(workdir / "wall_time.json", json.dumps(record, indent=2) + "\n")


# ------------------------------------------------------------------------------------------- the tables
def _stale(top1: Path, upstream: Path) -> bool:
    """Whether the default run's data changed after this seed's linking (its links would now rerun training)."""
    inputs = [upstream / p for p in UPSTREAM_FILES] + [upstream / "data" / "manifest.csv"]
    return any(p.exists() and p.stat().st_mtime > top1.stat().st_mtime for p in inputs)


def _benchmark_seconds(folder: Path, stems: set[str]) -> float:
    """Sum of the wall seconds in these benchmark files (Snakemake's benchmark: column s)."""
    return sum(float(pd.read_csv(folder / f"{stem}.tsv", sep="\t")["s"].mean())
               for stem in stems if (folder / f"{stem}.tsv").exists())  # fmt: skip


def aggregate(args, config: dict) -> None:
    results = args.repo / "results" / args.dataset
    top1 = {default_seed(config): pd.read_csv(results / "linking" / "top1.csv")}
    walls, stems = [], set()
    for seed in args.seeds:
        workdir = args.repo / "results" / "seeds" / f"seed{seed}"
        path = workdir / TARGET.format(dataset=args.dataset)
        if not path.exists():
            log.warning("seed %d: no %s yet, left out", seed, path)
            continue
        if _stale(path, results):
            log.warning("seed %d: made before the default run's data last changed; rerun it without --aggregate-only",
                        seed)  # fmt: skip
        top1[seed] = pd.read_csv(path)
        if (workdir / "wall_time.json").exists():
            walls.append(json.loads((workdir / "wall_time.json").read_text()))
        stems |= {p.stem for p in (workdir / "benchmarks" / args.dataset).glob("*.tsv")}
    baselines = results / "baselines" / "top1.csv"
    table = seeds_table(top1, pd.read_csv(baselines) if baselines.exists() else None)
    note = ""
    default_s = _benchmark_seconds(args.repo / "benchmarks" / args.dataset, stems)
    if default_s > 0:
        note = (f"The default run spent {default_s / 60:.1f} min in the same jobs (sum of its "
                f"benchmarks/{args.dataset}/*.tsv, run one after another on its machine).")  # fmt: skip
    columns = ["seed", "wall_s", "cores", "jobs", "resumed"]
    wall_times = pd.DataFrame([{"resumed": False} | w for w in walls], columns=columns)
    stem = results / "tables" / "seeds"
    atomic.write_text(stem.with_suffix(".csv"), table.round(4).to_csv(index=False))
    atomic.write_text(stem.with_suffix(".md"), to_markdown(table, args.dataset, wall_times, note))
    log.info("wrote %s.csv and .md (seeds %s)", stem, ", ".join(map(str, top1)))


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = parse_args(argv)
    # Snakemake runs in each seed's working directory: paths given relative to here must not change meaning.
    args.repo = args.repo.resolve()
    args.configfile = [path.resolve() for path in args.configfile]
    args.workflow_profile = (args.workflow_profile or args.repo / "profiles" / "default").resolve()
    if os.sep in args.snakemake:
        args.snakemake = str(Path(args.snakemake).resolve())
    if any(seed < 0 for seed in args.seeds):
        sys.exit("training seeds are integers from 0 (schemas/config.schema.yaml)")
    config = load_config(args.repo, args.configfile)
    check_dataset(config, args.dataset, args.repo)
    if default_seed(config) in args.seeds:
        sys.exit(f"seed {default_seed(config)} is the default run's training.seed: it is read from "
                 f"results/{args.dataset}/, not rerun")  # fmt: skip
    if not args.aggregate_only:
        for seed in args.seeds:
            run_seed(args, config, seed)
    if not args.dry_run:
        aggregate(args, config)


if __name__ == "__main__":
    main()
