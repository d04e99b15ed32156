"""The English dataset (us_firms): generator, OCR, the baselines and table rows that apply, config and model."""

import numpy as np
import pandas as pd
import pytest
import yaml
from snakemake.utils import validate

from clippings_wf import languages
from clippings_wf.data import leakage
from clippings_wf.data import names
from clippings_wf.ocr import tesseract
from clippings_wf.data import render
from clippings_wf.data import vocab_en
from clippings_wf.baselines.matchers import METHODS
from clippings_wf.data.benchmark import generate_benchmark
from clippings_wf.config_checks import ConfigError, check_config
from clippings_wf.evaluation.metrics import character_error_rate
from clippings_wf.data.synthetic import generate_synthetic_views
from clippings_wf.reporting.tables import main_results_table

from helpers import REPO

SETTINGS = dict(n_entities=40, distractor_fraction=0.25, queries_per_entity=(1, 3),
                split_fractions={"train": 0.6, "val": 0.2, "test": 0.2}, n_pool=10, old_form_prob=0.5,
                language="en")


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench_en")
    return out, generate_benchmark(out, seed=3, **SETTINGS)


def test_same_seed_same_bytes(bench, tmp_path):
    out, records = bench
    generate_benchmark(tmp_path, seed=3, **SETTINGS)
    assert (out / "records.csv").read_bytes() == (tmp_path / "records.csv").read_bytes()
    for path in list(records["image_path"][:20]) + list(records["clean_image_path"][:20]):
        assert (out / path).read_bytes() == (tmp_path / path).read_bytes(), path


def test_english_names_fonts_and_horizontal_crops(bench):
    out, records = bench
    assert records["text"].map(str.isascii).all()
    assert set(records["font"]) <= set(vocab_en.FONTS) and records["font"].nunique() >= 5
    assert (records["vertical"] == 0).all()
    from PIL import Image

    for path in records["clean_image_path"][:10]:
        crop = Image.open(out / path)
        assert crop.mode == "L" and crop.width > 3 * crop.height


def test_queries_show_other_variants_of_the_name(bench):
    _, records = bench
    text = " ".join(records["text"])
    assert any(f" {full}" in text for full, _ in vocab_en.LEGAL_FORMS)  # Company, Corporation ...
    assert any(f" {abbr}" in text for _, abbr in vocab_en.LEGAL_FORMS)  # Co., Corp. ...
    assert any(abbr in text for abbr in ("Mfg.", "Bros.", " and ", "Elec.", "Chem.", "Mach."))
    labelled = records[records["entity_id"] != ""]
    refs = labelled[labelled["role"] == "reference"].set_index("entity_id")["text"]
    queries = labelled[labelled["role"] == "query"]
    differs = queries["text"].to_numpy() != refs.loc[queries["entity_id"]].to_numpy()
    assert 0.3 < differs.mean() < 1.0  # most queries print the firm otherwise than its reference, not all
    # Every printed variant still normalises to its firm's base name.
    keys = [leakage.firm_key("", t) for t in queries["text"]]
    assert keys == [names.normalize_base_name(b) for b in queries["base_name"]]


def test_variants_normalise_to_one_key():
    key = names.normalize_base_name("Miller Brothers Manufacturing")
    assert leakage.firm_key("", "Miller Bros. Mfg. Co.") == key
    assert leakage.firm_key("", "Miller Brothers Manufacturing, Incorporated") == key
    assert names.normalize_base_name("Smith & Sons") == names.normalize_base_name("Smith and Sons")
    assert names.normalize_base_name("Smith & Sons") != names.normalize_base_name("Smith & Jones")
    # Japanese names only lose their spaces, as before.
    assert names.normalize_base_name("東京 電氣") == "東京電気"


def test_splits_by_entity_and_no_leakage(bench):
    _, records = bench
    labelled = records[records["entity_id"] != ""]
    assert (labelled.groupby("entity_id")["split"].nunique() == 1).all()
    assert set(records["split"]) == {"train", "val", "test", "pool"}
    leakage.check_no_leakage(records)
    train = labelled.loc[labelled["split"] == "train", "base_name"].unique().tolist()
    held = labelled.loc[labelled["split"].isin(["val", "test"]), "base_name"].unique().tolist()
    views = generate_synthetic_views(train[:3], 4, 2, held, seed=1, ocr_lang="eng", ocr_lang_vertical="eng",
                                     language="en")
    assert len(views) == 14 and views["text"].map(str.isascii).all()
    assert {names.normalize_base_name(n) for n in views["base_name"]}.isdisjoint(
        names.normalize_base_name(n) for n in held)
    leakage.check_no_leakage(records, views)
    # A held-out firm printed with abbreviations and a legal form is still caught.
    test_name = labelled.loc[labelled["split"] == "test", "base_name"].iloc[0]
    variant = vocab_en.abbreviate(test_name, np.random.default_rng(0), 1.0) + " Co."
    with pytest.raises(ValueError, match="synthetic views"):
        leakage.check_no_leakage(records, pd.DataFrame({"text": [variant]}))


def test_names_distinct_deterministic_and_excluded():
    first = names.generate_base_names(300, np.random.default_rng(0), language="en")
    assert first == names.generate_base_names(300, np.random.default_rng(0), language="en")
    assert len({names.normalize_base_name(n) for n in first}) == 300
    excluded = names.generate_base_names(300, np.random.default_rng(1), exclude=set(first), language="en")
    assert not {names.normalize_base_name(n) for n in excluded} & {names.normalize_base_name(n) for n in first}
    with pytest.raises(ValueError, match="language"):
        names.generate_base_names(1, np.random.default_rng(0), language="fr")


def test_tesseract_eng_reads_clean_english_crops():
    texts = ["Hartford Steel Mfg. Co.", "Miller Bros., Inc.", "Keystone Boiler Corporation",
             "Smith & Sons Company", "Acme Rubber Products Ltd."]
    fonts = ["C059-Roman", "NimbusMonoPS-Regular", "FreeSerif", "LiberationMono-Regular", "P052-Roman"]
    settings = languages.ocr_settings("en")
    assert settings == {"lang": "eng", "lang_vertical": "eng"}
    items = [(render.to_png(render.render_text(t, f, 32, False, 6)), False) for t, f in zip(texts, fonts)]
    read = tesseract.ocr_images(items, settings["lang"], settings["lang_vertical"], workers=1)
    # The jpn model or a broken font path gives a CER near or above 0.5 here; eng reads these almost perfectly.
    assert character_error_rate(read, texts) < 0.1, read
    assert all("  " not in t and " " in t for t in read)


def test_stroke_ngram_does_not_apply_to_english_and_the_table_omits_it():
    assert "stroke_ngram" not in languages.applicable_baselines("en", METHODS)
    assert languages.applicable_baselines("ja", METHODS) == list(METHODS)
    rows = pd.DataFrame([("levenshtein", "noisy", 0.5), ("levenshtein", "clean", 0.8), ("tfidf_char", "noisy", 0.6),
                         ("tfidf_char", "clean", 0.9), ("sup_multimodal", "noisy", 0.7),
                         ("sup_multimodal", "clean", 0.85)], columns=["method", "ocr", "top1"])  # fmt: skip
    table = main_results_table(rows, paper_numbers={}).set_index("method")
    assert "Stroke n-gram" not in table.index
    assert not [c for c in table.columns if c.startswith("paper_")]  # the paper's numbers are for Japanese
    assert table.loc["Sup multimodal", "gain_noisy"] == pytest.approx(10.0)


def _default_config():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    validate(config, schema=str(REPO / "schemas" / "config.schema.yaml"))
    return config


def test_default_config_runs_us_firms_in_english():
    config = _default_config()
    check_config(config)
    us = config["datasets"]["us_firms"]
    assert us["enabled"] and us["generate"]["language"] == "en"
    assert languages.ocr_settings("en", us["ocr"])["lang"] == "eng"
    assert config["datasets"]["jp_firms"]["generate"]["language"] == "ja"


def test_contradictory_generator_and_unknown_dataset_architecture_are_refused():
    config = _default_config()
    config["datasets"]["us_firms"]["generate"]["generator"] = "jp_firms"
    config["datasets"]["us_firms"]["model"]["architecture"] = "ViT-Q-99"
    with pytest.raises(ConfigError) as error:
        check_config(config)
    assert "generator jp_firms is Japanese" in str(error.value)
    assert "datasets.us_firms.model.architecture" in str(error.value)


def test_english_architecture_reads_long_names_whole():
    from clippings_wf.models import modeling

    name = "rhode island shipbuilding manufacturing, incorporated"  # 53 characters
    bundle = modeling.load_bundle("clippings-linecnn-char-en", vocab=sorted(set(name)))
    assert bundle.context_length == 64 and bundle.image_size == (24, 256)
    tokens = bundle.tokenize([name])[0]
    assert bundle.tokenizer.decode(tokens.tolist()) == name
