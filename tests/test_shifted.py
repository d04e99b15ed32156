"""The off-distribution benchmark (generate.shift): fonts and names no default training pool uses, its own damage,
and the default generator's output unchanged."""

import hashlib

import numpy as np
import pytest
import yaml

from clippings_wf.data import leakage
from clippings_wf.data import names
from clippings_wf.data import render
from clippings_wf.data import shifted
from clippings_wf.data import vocab_ja
from clippings_wf.data.benchmark import generate_benchmark

from helpers import REPO

SETTINGS = dict(n_entities=30, queries_per_entity=(1, 3), split_fractions={"train": 0.05, "val": 0.15, "test": 0.8},
                n_pool=0, seed=7)


@pytest.fixture(scope="module")
def shifted_bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("shifted")
    return out, generate_benchmark(out, shift=True, **SETTINGS)


def test_default_records_are_unchanged(tmp_path):
    """records.csv of a small default benchmark, as generated before the shift option existed: any extra random
    draw on the default path would change names, fonts or splits of every later record. (Only records.csv: the
    PNG bytes also depend on the installed fonts and zlib.)"""
    generate_benchmark(tmp_path, n_entities=40, n_pool=10, split_fractions={"train": 0.7, "val": 0.15, "test": 0.15},
                       seed=0)
    digest = hashlib.sha256((tmp_path / "records.csv").read_bytes()).hexdigest()
    assert digest == "e3ce759fa04b5d096952e4f5a21215d2858db796a1fa3fa16eb67ce71569c87b"


def test_fonts_are_disjoint_from_every_default_font():
    assert not set(shifted.FONTS) & set(vocab_ja.FONTS)
    default_faces = {(path, index) for path, index, _ in vocab_ja.FONTS.values()}
    shifted_faces = {(path, index) for path, index, _ in shifted.FONTS.values()}
    assert not default_faces & shifted_faces
    assert not {p for p, _ in default_faces} & {p for p, _ in shifted_faces}  # not even another face of a file
    assert set(shifted.REFERENCE_FONTS) <= set(shifted.QUERY_FONTS) == set(shifted.FONTS)
    for stem in shifted.FONTS:  # every face loads and draws ink
        assert np.asarray(render.render_text("満洲製靴", stem, 24)).min() < 80


def test_vocabulary_is_disjoint_from_the_default_one():
    assert not set(names.shifted_heads()) & set(names.heads())
    default_words = set(vocab_ja.INDUSTRY_WORDS) | set(vocab_ja.MODIFIERS)
    assert not (set(shifted.INDUSTRY_WORDS) | set(shifted.MODIFIERS)) & default_words
    chars = vocab_ja.common_charset() & shifted.charset()
    assert all(set(w) <= chars for w in shifted.INDUSTRY_WORDS + shifted.MODIFIERS)
    assert len(names.shifted_heads()) >= 100


def test_no_shifted_name_is_a_default_training_name():
    """The default config's jp_firms names (benchmark entities and pool, synthetic extra names) against the
    shifted set's, each for its configured seed and size; and no shifted name is one the default could draw."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    jp, shift = config["datasets"]["jp_firms"], config["datasets"]["jp_firms_shifted"]["generate"]
    gen = jp["generate"]
    default = names.generate_base_names(gen["n_entities"] + gen["n_pool"], np.random.default_rng(gen["seed"]))
    synthetic = jp["synthetic"]
    default += names.generate_base_names(synthetic["n_extra_names"], np.random.default_rng(synthetic["seed"]),
                                         exclude=set(default))
    drawn = names.generate_base_names(shift["n_entities"], np.random.default_rng(shift["seed"]), shift=True)
    keys = {names.normalize_base_name(n) for n in default}
    assert not {names.normalize_base_name(n) for n in drawn} & keys
    assert not any(names.spelled_by_default_vocabulary(n) for n in drawn)
    assert all(names.spelled_by_default_vocabulary(n) for n in default[:200])  # the check itself recognises them
    with pytest.raises(ValueError, match="language ja"):
        names.generate_base_names(3, np.random.default_rng(0), language="en", shift=True)


def test_shifted_benchmark_uses_only_shifted_fonts_and_names(shifted_bench, tmp_path):
    out, records = shifted_bench
    assert set(records["font"]) <= set(shifted.FONTS) and records["font"].nunique() >= 4
    assert set(records.loc[records["role"] == "reference", "font"]) <= set(shifted.REFERENCE_FONTS)
    assert not any(names.spelled_by_default_vocabulary(n) for n in records["base_name"])
    leakage.check_no_leakage(records)
    assert (records["split"] == "test").mean() > 0.6
    again = generate_benchmark(tmp_path, shift=True, **SETTINGS)  # deterministic
    assert (out / "records.csv").read_bytes() == (tmp_path / "records.csv").read_bytes()
    for path in records["image_path"]:
        assert (out / path).read_bytes() == (tmp_path / path).read_bytes(), path
    default = generate_benchmark(tmp_path / "default", **SETTINGS)
    assert not set(default["base_name"]) & set(again["base_name"])
    assert not set(default["font"]) & set(again["font"])


def test_shifted_damage_keeps_size_and_differs_from_the_default():
    clean = render.render_text("大連製靴洋行", "NotoSerifCJK-Bold", 24)
    assert shifted.degrade(clean, np.random.default_rng(0), 0.0).tobytes() == clean.tobytes()
    noisy = shifted.degrade(clean, np.random.default_rng(0), 0.8)
    assert noisy.mode == "L" and noisy.height >= clean.height and noisy.width >= clean.width  # sheared, not cut
    default = render.degrade(clean, np.random.default_rng(0), 0.8)
    assert noisy.size != default.size or noisy.tobytes() != default.tobytes()
    style = render.sample_query_style(np.random.default_rng(0), (vocab_ja.KABUSHIKI, "before"), shift=True)
    assert style["damage"] == "shifted" and style["font"] in shifted.QUERY_FONTS
    assert "damage" not in render.sample_query_style(np.random.default_rng(0), (vocab_ja.KABUSHIKI, "before"))


def test_shift_comparison_table_pairs_methods_and_reports_the_change():
    import pandas as pd

    from clippings_wf.evaluation.shift_comparison import shift_comparison_table
    from clippings_wf.reporting.table_format import to_markdown

    in_distribution = pd.DataFrame({"method": ["Levenshtein", "Sup multimodal"], "group": ["classical", "model"],
                                    "top1_noisy": [0.5, 0.9], "top1_noisy_low": [0.45, 0.88],
                                    "top1_noisy_high": [0.55, 0.92], "top1_clean": [0.6, 0.95]})
    shifted_table = pd.DataFrame({"method": ["Sup multimodal", "Levenshtein", "Only shifted"],
                                  "group": ["model", "classical", "model"], "top1_noisy": [0.7, 0.3, 0.2]})
    table = shift_comparison_table(in_distribution, shifted_table, "jp_firms", "jp_firms_shifted")
    assert list(table["method"]) == ["Levenshtein", "Sup multimodal", "Only shifted"]
    assert table["gain_shift"].round(6).tolist()[:2] == [-20.0, -20.0] and np.isnan(table["gain_shift"].iloc[2])
    assert table["group"].tolist() == ["classical", "model", "model"]
    markdown = to_markdown(table)
    assert "| Levenshtein | 0.500 [0.450, 0.550] | 0.300 | -20.0 |" in markdown
    assert "Top-1 noisy OCR, shifted" in markdown and "`jp_firms_shifted`" in markdown
