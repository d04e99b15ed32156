"""What several test modules share: the repository's paths, the workflow run in a temporary folder, the comparison
of two same-seed runs, and a tiny training set of rendered firm names. (conftest.py keeps the fixtures and the
process set-up; pytest finds this module through pyproject.toml's pythonpath.)"""

import re
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from clippings_wf.models import modeling
from clippings_wf.models.images import preprocess_line_crop
from clippings_wf.models.tokenizer import CharTokenizer
from clippings_wf.training import stage
from clippings_wf.training.data import TrainingData

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # snakemake and snakefmt of the environment running the tests

# The workflow in a temporary folder.

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
    """The tiny configuration run from scratch in ``workdir``; returns its results folder (results/jp_firms)."""
    copy_workflow(workdir)
    run_snakemake(workdir, "--configfile", "config_tiny.yaml")
    return workdir / "results" / "jp_firms"


# Two runs of the tiny configuration with the same seed, locally or on SLURM (CPU), write the same bytes.

DETERMINISTIC_OUTPUTS = ["data/records.csv", "data/manifest.csv", "synthetic/views.parquet", "baselines/top1.csv"]
# Every models/<stage>/ file (weights and metrics) is compared too; these are what the trained models give.
TRAINED_OUTPUTS = ["linking/top1.csv", "linking/predictions.csv", "tables/main_results.csv", "tables/nomatch.csv",
                   "tables/clustering.csv"]  # fmt: skip
SKIPPED_STEP = "non-finite gradient norm"  # what training logs when it skips a step (training/stage.py)

# Tiny runs already compared byte for byte with the session's local run (test_slurm's SLURM run adds itself), so
# the same-seed test need not pay for a second local run of its own.
SAME_SEED_COMPARED: list[Path] = []


def skipped_steps(results: Path) -> list[str]:
    """The training steps a run skipped for a non-finite gradient norm, from its logs (<workdir>/logs/<dataset>/):
    'warmup_vision.log: warmup_vision step 3', one per skipped step."""
    logs = results.parents[1] / "logs" / results.name
    skipped = []
    for log in sorted(logs.glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if SKIPPED_STEP in line:
                step = re.search(r"(\S+ step \d+): " + SKIPPED_STEP, line)
                skipped.append(f"{log.name}: {step.group(1) if step else line.strip()}")
    return skipped


def assert_same_outputs(first: Path, second: Path) -> None:
    """Two same-seed runs' results folders hold the same bytes: data, OCR and baselines, every trained model's
    weights and metrics, and the tables made from them.

    A run that skipped a training step for a non-finite gradient norm fails, naming the steps: training must be
    finite and bit-identical, with no exception for a host that makes it otherwise."""
    skipped = [f"{run}: {step}" for run in (first, second) for step in skipped_steps(run)]
    assert not skipped, f"training skipped steps for a {SKIPPED_STEP}: " + "; ".join(skipped)
    for relative in DETERMINISTIC_OUTPUTS:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative
    trained = sorted(p.relative_to(first) for p in first.glob("models/*/*") if p.suffix in (".csv", ".pt"))
    assert trained and trained == sorted(
        p.relative_to(second) for p in second.glob("models/*/*") if p.suffix in (".csv", ".pt")
    ), "the runs trained different stages"
    differing = [str(p) for p in trained if (first / p).read_bytes() != (second / p).read_bytes()]
    assert not differing, f"same-seed training differed: {differing}"
    for relative in TRAINED_OUTPUTS:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative


# A tiny training set: eight firm names rendered twice (shifted by 0 and 3 pixels), the second OCR'd with its last
# character missing; a fresh line-CNN model for them, and a SupCon recipe that trains it in seconds on a CPU.

TRAINING_FONT = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"
TRAINING_NAMES = ["東京電機", "東洋電気", "大阪紡績", "京都銀行", "横浜造船", "神戸製鉄", "名古屋商事", "札幌醸造"]
TRAINING_RECIPE = {"stage": "test", "objective": "supcon", "data": "synthetic", "w": 0.5, "epochs": 3, "lr": 0.003,
                   "temperature": 0.1, "m_per_class": 2, "hard_negatives_k": 2, "remine_every": 1}  # fmt: skip


def _render(text: str, shift: int) -> np.ndarray:
    img = Image.new("L", (24 * len(text) + 16, 32), 255)
    ImageDraw.Draw(img).text((4 + shift, 2), text, font=ImageFont.truetype(TRAINING_FONT, 24), fill=0)
    return preprocess_line_crop(img, 24, 256)


def rendered_views() -> TrainingData:
    """Two views of each of TRAINING_NAMES, labelled by name (unshifted then shifted, name by name)."""
    crops, texts, labels = [], [], []
    for label, name in enumerate(TRAINING_NAMES):
        for shift in (0, 3):
            crops.append(_render(name, shift))
            texts.append([name if shift == 0 else name[:-1]])
            labels.append(label)
    return TrainingData(np.stack(crops), texts, np.asarray(labels))


def untrained_bundle():
    """The line-CNN model for TRAINING_NAMES' characters, initialised from seed 0: the same weights every call."""
    torch.manual_seed(0)
    vocab = CharTokenizer.build(TRAINING_NAMES)
    return modeling.load_bundle("clippings-linecnn-char", None, vocab=vocab)


def train_on_rendered_views(checkpoint_dir, recipe=TRAINING_RECIPE):
    """One training stage of ``recipe`` on rendered_views() from untrained_bundle(), one thread, no validation:
    (bundle, best state_dict, metric rows)."""
    torch.set_num_threads(1)
    bundle = untrained_bundle()
    best, rows = stage.train_stage(
        bundle, recipe, rendered_views(), None, checkpoint_dir, seed=0, batch_size=8, eval_batch_size=16, device="cpu"
    )
    return bundle, best, rows


def dry_run_jobs(text: str) -> list[dict]:
    """The jobs a `snakemake -n` run lists: rule, input, output and wildcards (as a dict) of each."""
    jobs = []
    for rule, body in re.findall(r"^rule (\w+):\n((?:    .*\n?)*)", text, flags=re.M):
        fields = dict(re.findall(r"^    (\w+): (.*)$", body, flags=re.M))
        wildcards = dict(kv.split("=", 1) for kv in fields.get("wildcards", "").split(", ") if "=" in kv)
        jobs.append({"rule": rule, "input": fields.get("input", ""), "output": fields.get("output", ""),
                     "wildcards": wildcards})  # fmt: skip
    return jobs


def peak_traced_bytes(function, *args, **kwargs) -> int:
    """The peak of Python- and numpy-allocated memory (tracemalloc) while ``function(*args, **kwargs)`` runs."""
    tracemalloc.start()
    try:
        function(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
