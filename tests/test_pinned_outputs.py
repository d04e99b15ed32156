"""The tiny run's outputs, pinned: a restructuring (or any change that claims to change no result) must leave the
data, manifests, predictions, models and every table byte-identical. The digests were taken on the code before
the change (tests/output_digests.py says how to repin after a change that is meant to change results)."""

import json
from pathlib import Path

import pytest
from output_digests import cpu_independent, cpu_signature, output_digests

PINNED = Path(__file__).parent / "data" / "tiny_run_digests.json"


@pytest.mark.e2e
def test_tiny_run_outputs_match_the_pinned_digests(tiny_run):
    pin = json.loads(PINNED.read_text())
    pinned, current = pin["digests"], output_digests(tiny_run.parent)
    assert sorted(current) == sorted(pinned), {
        "missing": sorted(set(pinned) - set(current)),
        "new": sorted(set(current) - set(pinned)),
    }
    same_cpu = pin["cpu"] == cpu_signature()
    compared = [path for path in pinned if same_cpu or cpu_independent(path)]
    differing = [path for path in compared if current[path] != pinned[path]]
    assert not differing, f"outputs differ from the pinned run: {differing}"
    if not same_cpu:
        pytest.skip(f"pinned on a CPU with {pin['cpu']}, this one has {cpu_signature()}: compared the "
                    f"{len(compared)} generator outputs only (onnxruntime and Tesseract kernels differ)")


def test_digests_see_a_changed_table_and_ignore_timing(tmp_path):
    tables = tmp_path / "ds" / "tables"
    tables.mkdir(parents=True)
    (tables / "main_results.csv").write_text("method,top1\na,0.5\n")
    (tables / "resources.csv").write_text("rule,s\nx,1\n")
    first = output_digests(tmp_path)
    assert list(first) == ["ds/tables/main_results.csv"]  # timing and memory are not pinned
    (tables / "resources.csv").write_text("rule,s\nx,2\n")
    assert output_digests(tmp_path) == first
    (tables / "main_results.csv").write_text("method,top1\na,0.6\n")
    assert output_digests(tmp_path) != first


def test_only_generator_outputs_count_as_cpu_independent():
    assert cpu_independent("jp_firms/data/records.csv") and cpu_independent("jp_firms/data/images/q1.png")
    assert not cpu_independent("jp_firms/data/manifest.csv")  # holds the OCR texts
    assert not cpu_independent("jp_firms/features/records.npz")
