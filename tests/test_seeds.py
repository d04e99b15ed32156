"""Seed repeats (clippings_wf.evaluation.seeds): mean, sample sd, min-max and n over seeds, by hand on made-up top-1 files."""

import math

import pandas as pd
import pytest

from clippings_wf.evaluation.seeds import seeds_table, to_markdown

# Top-1 on noisy OCR per seed; sup_unimodal_vision did not run in seed 2.
TOP1 = {
    0: {"sup_vision": 0.70, "sup_language": 0.60, "sup_multimodal": 0.80, "sup_unimodal_vision": 0.60,
        "selfsup_multimodal": 0.55},
    1: {"sup_vision": 0.74, "sup_language": 0.76, "sup_multimodal": 0.82, "sup_unimodal_vision": 0.70,
        "selfsup_multimodal": 0.57},
    2: {"sup_vision": 0.78, "sup_language": 0.62, "sup_multimodal": 0.84, "selfsup_multimodal": 0.59},
}  # fmt: skip
BASELINES = pd.DataFrame(
    [("levenshtein", "noisy", 0.52, "classical"), ("tfidf_char", "noisy", 0.68, "classical"),
     ("tfidf_char", "clean", 0.95, "classical")],
    columns=["method", "ocr", "top1", "group"],
)  # fmt: skip


def _linking_top1(values: dict[str, float]) -> pd.DataFrame:
    """A linking/top1.csv: each method on noisy OCR, and sup_vision on clean too (its value + 0.1)."""
    rows = [(m, "noisy", 0.5, v, v) for m, v in values.items()]
    rows.append(("sup_vision", "clean", 1.0, values["sup_vision"] + 0.1, 0.0))
    return pd.DataFrame(rows, columns=["method", "ocr", "w", "top1", "val_top1"])


@pytest.fixture
def table():
    return seeds_table({seed: _linking_top1(v) for seed, v in TOP1.items()}, BASELINES)


def _row(table, kind, name, ocr="noisy"):
    found = table[(table["kind"] == kind) & (table["name"] == name) & (table["ocr"] == ocr)]
    assert len(found) == 1, (kind, name, ocr)
    return found.iloc[0]


def test_top1_mean_sd_and_range_in_points(table):
    row = _row(table, "top1", "sup_vision")  # 70, 74, 78: deviations -4, 0, 4; (16 + 0 + 16) / (3 - 1) = 16
    assert row["n_seeds"] == 3
    assert row["mean"] == pytest.approx(74.0)
    assert row["sd"] == pytest.approx(4.0)
    assert (row["min"], row["max"]) == pytest.approx((70.0, 78.0))
    assert [row["seed_0"], row["seed_1"], row["seed_2"]] == pytest.approx([70.0, 74.0, 78.0])
    clean = _row(table, "top1", "sup_vision", "clean")  # kept apart from noisy
    assert clean["mean"] == pytest.approx(84.0)


def test_a_row_missing_in_one_seed_is_reported_with_its_n(table):
    row = _row(table, "top1", "sup_unimodal_vision")  # 60 and 70: sd sqrt((25 + 25) / 1)
    assert row["n_seeds"] == 2
    assert row["mean"] == pytest.approx(65.0)
    assert row["sd"] == pytest.approx(math.sqrt(50.0))
    assert math.isnan(row["seed_2"])


def test_findings_as_per_seed_differences(table):
    f3 = _row(table, "finding", "F3: Sup vision")  # vision - language: 10, -2, 16; deviations 2, -10, 8
    assert f3["compared_with"] == "Sup language"
    assert f3["mean"] == pytest.approx(8.0)
    assert f3["sd"] == pytest.approx(math.sqrt((4 + 100 + 64) / 2))
    f4 = _row(table, "finding", "F4: Sup vision")  # only seeds 0 and 1 have the unimodal row: 10, 4
    assert f4["n_seeds"] == 2
    assert f4["mean"] == pytest.approx(7.0)
    assert f4["sd"] == pytest.approx(math.sqrt(18.0))
    # F5: multimodal minus the better unimodal row of each seed: 80-70, 82-76, 84-78
    f5 = _row(table, "finding", "F5: Sup multimodal")
    assert [f5["seed_0"], f5["seed_1"], f5["seed_2"]] == pytest.approx([10.0, 6.0, 6.0])
    # F1, F2: the best classical baseline on noisy OCR (TF-IDF, 68) is the same in every seed
    f1 = _row(table, "finding", "F1: Sup multimodal")
    assert "Char TF-IDF" in f1["compared_with"]
    assert (f1["mean"], f1["sd"]) == pytest.approx((14.0, 2.0))
    assert _row(table, "finding", "F2: SelfSup multimodal")["mean"] == pytest.approx(-11.0)


def test_without_baselines_the_baseline_findings_are_left_out():
    table = seeds_table({seed: _linking_top1(v) for seed, v in TOP1.items()})
    assert not table["name"].str.startswith(("F1", "F2")).any()
    assert table["name"].str.startswith("F3").any()


def test_one_seed_has_no_sd():
    table = seeds_table({0: _linking_top1(TOP1[0])})
    assert table["n_seeds"].eq(1).all()
    assert table["sd"].isna().all()


def test_markdown_lists_n_spread_and_wall_time(table):
    wall = pd.DataFrame([{"seed": 1, "wall_s": 1800.0, "cores": 2, "jobs": "18"}])
    text = to_markdown(table, "jp_firms", wall)
    assert "| Sup vision | noisy | 3 | 74.0 | 4.0 | 70.0 – 78.0 | 70.0 | 74.0 | 78.0 |" in text
    assert "| Sup vision, no image-OCR alignment | noisy | 2 | 65.0 | 7.1 | 60.0 – 70.0 | 60.0 | 70.0 | – |" in text
    assert "| 1 | 30.0 min | 2 | 18 |" in text
