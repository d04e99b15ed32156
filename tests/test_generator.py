"""The generated benchmark and synthetic views: deterministic, varied, and free of val/test leakage."""

import numpy as np
import pandas as pd
import pytest

from clippings_wf.data import leakage
from clippings_wf.data import names
from clippings_wf.data import render
from clippings_wf.data import vocab_ja
from clippings_wf.data.benchmark import generate_benchmark
from clippings_wf.records import RECORD_COLUMNS, read_records
from clippings_wf.data.synthetic import VIEW_COLUMNS, generate_synthetic_views

SETTINGS = dict(n_entities=30, distractor_fraction=0.25, queries_per_entity=(1, 3),
                split_fractions={"train": 0.6, "val": 0.2, "test": 0.2}, n_pool=10, vertical_fraction=0.3,
                old_form_prob=0.5)


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    return out, generate_benchmark(out, seed=3, **SETTINGS)


def test_same_seed_same_bytes(bench, tmp_path):
    out, records = bench
    again = generate_benchmark(tmp_path, seed=3, **SETTINGS)
    assert (out / "records.csv").read_bytes() == (tmp_path / "records.csv").read_bytes()
    for path in list(records["image_path"]) + list(records["clean_image_path"]):
        assert (out / path).read_bytes() == (tmp_path / path).read_bytes(), path
    other = generate_benchmark(tmp_path / "other", seed=4, **SETTINGS)
    assert not other[["text", "font"]].equals(again[["text", "font"]])


def test_records_schema(bench):
    out, records = bench
    assert list(records.columns) == RECORD_COLUMNS
    assert records["record_id"].is_unique
    assert records["record_id"].str.fullmatch(r"r\d{6}").all()
    labelled = records[records["role"] != "unlabeled"]
    assert labelled["entity_id"].str.fullmatch(r"e\d{5}").all()
    assert set(records["role"]) == {"query", "reference", "unlabeled"}
    assert set(records["split"]) == {"train", "val", "test", "pool"}
    pool = records[records["role"] == "unlabeled"]
    assert len(pool) == 10 and (pool["split"] == "pool").all() and (pool["entity_id"] == "").all()
    refs = labelled[labelled["role"] == "reference"]
    assert refs["entity_id"].is_unique and len(refs) == 30
    per_entity = labelled.groupby("entity_id")["split"].nunique()
    assert (per_entity == 1).all()  # split by entity
    n_queries = labelled[labelled["role"] == "query"].groupby("entity_id").size()
    assert n_queries.between(1, 3).all() and 0 < len(n_queries) < 30  # distractors have no query
    for path in list(records["image_path"]) + list(records["clean_image_path"]):
        assert (out / path).is_file()
    reread = read_records(out / "records.csv")
    assert reread["entity_id"].tolist() == records["entity_id"].tolist()


def test_variants_present(bench):
    out, records = bench
    text = " ".join(records["text"])
    assert "株式会社" in text and ("(株)" in text or "㈱" in text)
    assert (records["text"] == records["base_name"]).any()  # legal form omitted
    assert any(old in text for old in vocab_ja.OLD_FORMS.values())
    assert records["vertical"].sum() > 0
    assert records["font"].nunique() >= 5
    vertical = records[records["vertical"] == 1].iloc[0]
    from PIL import Image

    crop = Image.open(out / vertical["clean_image_path"])
    assert crop.mode == "L" and crop.height > crop.width


def test_names_distinct_deterministic_and_excluded():
    first = names.generate_base_names(200, np.random.default_rng(0))
    assert first == names.generate_base_names(200, np.random.default_rng(0))
    assert len(set(first)) == 200
    excluded = names.generate_base_names(200, np.random.default_rng(0), exclude=set(first[:100]))
    assert not set(excluded) & set(first[:100])


def test_no_leakage_in_benchmark_and_synthetic(bench):
    _, records = bench
    leakage.check_no_leakage(records)
    labelled = records[records["entity_id"] != ""]
    train = labelled.loc[labelled["split"] == "train", "base_name"].unique().tolist()
    held = labelled.loc[labelled["split"].isin(["val", "test"]), "base_name"].unique().tolist()
    views = generate_synthetic_views(train[:5], 5, 2, held, seed=1, workers=1)
    assert list(views.columns) == VIEW_COLUMNS
    assert len(views) == 20 and views["view_id"].tolist() == list(range(20))
    assert (views.groupby("name_id")["style"].first() == "reference").all()
    assert not set(views["base_name"]) & set(held)
    leakage.check_no_leakage(records, views)
    # Rendered names are deterministic per seed, whatever the worker count.
    again = generate_synthetic_views(train[:5], 5, 2, held, seed=1, workers=2)
    assert views.drop(columns="ocr").equals(again.drop(columns="ocr"))


def test_leakage_check_raises_on_planted_leaks(bench):
    _, records = bench
    test_row = records[(records["split"] == "test") & (records["role"] == "reference")].iloc[0]
    leaked = records.copy()
    train_idx = leaked.index[leaked["split"] == "train"][0]
    leaked.loc[train_idx, "entity_id"] = test_row["entity_id"]
    with pytest.raises(ValueError, match="entity ids in the train split"):
        leakage.check_no_leakage(leaked)
    # The same firm in old character forms with a legal form, and no base_name column, is still caught.
    old_text = render.apply_old_forms("株式会社" + test_row["base_name"], np.random.default_rng(0), 1.0)
    assert old_text.startswith("株式會社")
    views = pd.DataFrame({"text": [old_text]})
    with pytest.raises(ValueError, match=test_row["base_name"]):
        leakage.check_no_leakage(records, views)
    pool = records.copy()
    pool.loc[pool.index[pool["split"] == "pool"][0], "base_name"] = test_row["base_name"]
    with pytest.raises(ValueError, match="unlabeled pool"):
        leakage.check_no_leakage(pool)


def test_degrade_and_render_basics():
    rng = np.random.default_rng(0)
    clean = render.render_text("東京電気", "ipaexm", 32)
    assert clean.mode == "L" and np.asarray(clean).min() < 50 and clean.width > clean.height
    assert render.degrade(clean, rng, 0.0).tobytes() == clean.tobytes()
    noisy = render.degrade(clean, rng, 0.8)
    assert abs(noisy.width - clean.width) <= 4 and noisy.tobytes() != clean.tobytes()  # skew may widen it


def test_missing_font_names_package(monkeypatch):
    monkeypatch.setitem(vocab_ja.FONTS, "ipaexm", ("/nonexistent/ipaexm.ttf", 0, "fonts-ipaexfont-mincho"))
    with pytest.raises(FileNotFoundError, match="fonts-ipaexfont-mincho"):
        vocab_ja.font_path("ipaexm")
