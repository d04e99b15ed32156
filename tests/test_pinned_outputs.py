"""The tiny run's outputs, pinned: a restructuring (or any change that claims to change no result) must leave the
data, manifests, predictions, models and every table byte-identical. The digests were taken on the code before
the change (tests/output_digests.py says how to repin after a change that is meant to change results)."""

import json
from pathlib import Path

import pytest
from output_digests import output_digests

pytestmark = pytest.mark.e2e

PINNED = Path(__file__).parent / "data" / "tiny_run_digests.json"


def test_tiny_run_outputs_match_the_pinned_digests(tiny_run):
    pinned = json.loads(PINNED.read_text())
    current = output_digests(tiny_run.parent)
    assert sorted(current) == sorted(pinned), {
        "missing": sorted(set(pinned) - set(current)),
        "new": sorted(set(current) - set(pinned)),
    }
    differing = [path for path in pinned if current[path] != pinned[path]]
    assert not differing, f"outputs differ from the pinned run: {differing}"


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
