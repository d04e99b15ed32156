"""Same seed, same bits: a training stage run in two fresh processes gives identical weights; another seed does not.

Each run is a new Python process (as each Snakemake job is), with 2 threads and channels_last like the workflow,
training both towers on the pooled embedding with hard negatives mined by FAISS.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def probe(seed: int, checkpoint_dir: str) -> str:
    """Train a tiny multimodal SupCon stage and return a hash of its weights and losses."""
    import hashlib
    import json

    import torch

    from clippings_wf.runtime import determinism
    from clippings_wf.models import modeling
    from clippings_wf.training import stage
    from clippings_wf.models.tokenizer import CharTokenizer
    from helpers import TRAINING_NAMES, TRAINING_RECIPE, rendered_views

    torch.set_num_threads(2)
    determinism.make_deterministic(seed)
    bundle = modeling.load_bundle("clippings-linecnn-char", None, vocab=CharTokenizer.build(TRAINING_NAMES))
    bundle.model.visual.to(memory_format=torch.channels_last)
    best, rows = stage.train_stage(
        bundle, dict(TRAINING_RECIPE, epochs=2), rendered_views(), None, Path(checkpoint_dir), seed=seed,
        batch_size=8, eval_batch_size=16, device="cpu",
    )  # fmt: skip
    digest = hashlib.sha256(json.dumps([r["loss"] for r in rows]).encode())
    for name, tensor in sorted(best.items()):
        digest.update(name.encode() + tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def _probes_in_fresh_process(seeds, checkpoints: Path) -> list[str]:
    calls = ", ".join(f"t.probe({seed}, {str(checkpoints / str(i))!r})" for i, seed in enumerate(seeds))
    # conftest: the process set-up of the tests (no GPU, pinned CPU kernels), on pyproject.toml's pythonpath
    code = f"import conftest, test_determinism as t; print(*[{calls}])"
    path = [str(HERE), str(HERE.parent / "workflow_scripts"), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in path if p))
    result = subprocess.run([sys.executable, "-c", code], cwd=HERE, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split()


@pytest.fixture(scope="module")
def hashes(tmp_path_factory):
    """Seed 0 in one process; seed 0 and then seed 1 in another (two imports of torch, not three)."""
    tmp = tmp_path_factory.mktemp("determinism")
    return _probes_in_fresh_process([0], tmp / "a") + _probes_in_fresh_process([0, 1], tmp / "b")


def test_same_seed_trains_bit_identical_weights(hashes):
    assert hashes[0] == hashes[1]


def test_another_seed_trains_other_weights(hashes):
    assert hashes[0] != hashes[2]


def test_deterministic_mode_is_on_after_make_deterministic():
    import torch

    from clippings_wf.runtime import determinism

    before = torch.are_deterministic_algorithms_enabled()
    try:
        determinism.make_deterministic(0)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.backends.mkldnn.deterministic and torch.backends.cudnn.deterministic
        assert not torch.backends.cudnn.benchmark
    finally:
        torch.use_deterministic_algorithms(before)


PRINT_CAPABILITY = (
    "import sys; sys.path.insert(0, {path!r}); from clippings_wf.runtime.cpu import pin_cpu_kernels; pin_cpu_kernels(); "
    "import torch; print(torch.backends.cpu.get_cpu_capability())"
)


def _capability(**env_overrides) -> str:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR")}
    env.update(env_overrides)
    code = PRINT_CAPABILITY.format(path=str(HERE.parent / "workflow_scripts"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_cpu_kernels_are_pinned_to_avx2_unless_the_user_says_otherwise():
    from clippings_wf.runtime.cpu import _cpu_flags

    if "avx2" not in _cpu_flags():
        pytest.skip("this CPU has no AVX2: nothing is pinned")
    assert _capability() == "AVX2"
    assert _capability(ATEN_CPU_CAPABILITY="default") == "DEFAULT"  # the user's value wins


def test_cpu_kernels_are_left_alone_without_avx2(monkeypatch):
    import platform

    from clippings_wf.runtime.cpu import pin_cpu_kernels

    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("MKL_CBWR", raising=False)
    assert pin_cpu_kernels(flags={"sse4_2", "avx"}) == {}
    expected = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"}
    assert pin_cpu_kernels(flags={"sse4_2", "avx", "avx2"}) == (expected if platform.machine() == "x86_64" else {})
    assert pin_cpu_kernels(flags={"avx2"}) == {}  # already set: nothing more


STEP_THREADS = (
    "import sys, types; sys.path.insert(0, {path!r}); from clippings_wf.runtime.logs import start_step_log; "
    "start_step_log(types.SimpleNamespace(log=[], threads=2, rule='probe')); "
    "import torch; print(torch.get_num_threads())"
)


@pytest.mark.parametrize("limit, expected", [(None, "2"), ("1", "1"), ("8", "2")])
def test_step_threads_never_exceed_the_openmp_thread_limit(limit, expected):
    # torch planning for 2 threads while OpenMP runs 1 gave non-finite gradient norms and run-to-run differences.
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("OMP_THREAD_LIMIT", "OMP_NUM_THREADS")}
    if limit:
        env["OMP_THREAD_LIMIT"] = limit
    code = STEP_THREADS.format(path=str(HERE.parent / "workflow_scripts"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected
