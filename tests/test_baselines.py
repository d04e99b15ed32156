import numpy as np
import pandas as pd
import pytest

from clippings_wf.baselines.linking_rows import run_baselines
from clippings_wf.baselines.matchers import (
    METHODS, baseline_similarity, baseline_top1, select_tfidf_ngram_range, tuned_options,
)  # fmt: skip
from clippings_wf.evaluation.metrics import retrieval_top1

REFS = ["東京電機株式会社", "東洋電気株式会社", "大阪紡績株式会社"]


def test_levenshtein_top1_on_toy():
    # Hand count: 大阪紡績(株) vs 大阪紡績株式会社 shares the most characters in place.
    queries = ["東京電機株式会社", "東洋電気株式會社", "大阪紡績(株)"]
    sim = baseline_similarity("levenshtein", queries, REFS)
    assert sim.shape == (3, 3) and sim.dtype == np.float32
    assert sim[0, 0] == pytest.approx(1.0)
    # 東洋電気株式會社 -> 東洋電気株式会社 is one substitution in 8 characters.
    assert sim[1, 1] == pytest.approx(7 / 8)
    assert retrieval_top1(sim).tolist() == [0, 1, 2]


def test_tfidf_links_abbreviated_legal_form_to_its_firm():
    sim = baseline_similarity("tfidf_char", ["東京電機(株)"], REFS, ngram_range=(1, 2))
    assert retrieval_top1(sim).tolist() == [0]
    assert sim[0, 0] > sim[0, 1] > sim[0, 2] >= 0


@pytest.mark.parametrize("method", METHODS)
def test_every_method_scores_in_unit_range_and_zeroes_empty_texts(method):
    queries = ["東京電機(株)", "", "  ", None, "かな"]
    refs = [*REFS, "", "かな"]
    sim = baseline_similarity(method, queries, refs, workers=1)
    assert sim.shape == (5, 5) and sim.dtype == np.float32
    assert np.all(sim >= 0) and np.all(sim <= 1 + 1e-6)
    assert np.all(sim[1:4] == 0) and np.all(sim[:, 3] == 0)  # empty texts never match, not even each other
    best = retrieval_top1(sim)
    assert best[1] == 0  # all-zero row: lowest index, deterministic
    assert best[0] == 0


def test_stroke_ngram_ignores_kana_without_printing(capsys):
    sim = baseline_similarity("stroke_ngram", ["かきく", "東京電機"], REFS)
    assert np.all(sim[0] == 0)
    assert retrieval_top1(sim)[1] == 0
    captured = capsys.readouterr()
    assert "not Chinese" not in captured.out + captured.err


def test_all_empty_references_do_not_crash():
    for method in ("tfidf_char", "stroke_ngram", "levenshtein"):
        best, score = baseline_top1(method, ["東京"], ["", ""])
        assert best.tolist() == [0] and score.tolist() == [0.0]


def test_select_tfidf_ngram_range_reports_every_candidate():
    chosen, scores = select_tfidf_ngram_range(
        ["東京電機(株)", "大阪紡績"], ["e0", "e2"], REFS, ["e0", "e1", "e2"], [(1, 1), (2, 3)]
    )
    assert set(scores) == {(1, 1), (2, 3)}
    assert chosen == (1, 1) and scores[(1, 1)] == 1.0


def test_tuned_options_picks_tfidf_ngrams_on_the_given_records_only():
    # records 0-2 are the references, 3-4 the validation queries; record 5 is in neither set
    texts = [*REFS, "東京電機(株)", "大阪紡績", "東洋電気"]
    entities = ["e0", "e1", "e2", "e0", "e2", "e0"]
    queries, references = np.array([3, 4]), np.array([0, 1, 2])
    expected, _ = select_tfidf_ngram_range(texts[3:5], entities[3:5], REFS, entities[:3], [(1, 1), (2, 3)])
    assert tuned_options("tfidf_char", texts, entities, queries, references, [(1, 1), (2, 3)]) == {
        "ngram_range": expected
    }
    assert expected == (1, 1)
    assert tuned_options("levenshtein", texts, entities, queries, references, [(1, 1)]) == {}


def _fake_manifest():
    names = {"e0": "東京電機株式会社", "e1": "東洋電気株式会社", "e2": "大阪紡績株式会社", "e3": "名古屋製鐵株式会社"}
    rows = [dict(record_id=f"r{e}", entity_id=e, role="reference", split="train", text=t, ocr_noisy=t, ocr_clean=t)
            for e, t in names.items()]  # fmt: skip
    rows += [
        dict(record_id="q0", entity_id="e0", role="query", split="test", text="東京電機(株)", ocr_noisy="東京電(株)", ocr_clean="東京電機(株)"),
        dict(record_id="q1", entity_id="e1", role="query", split="test", text="東洋電気(株)", ocr_noisy="", ocr_clean="東洋電気(株)"),
        dict(record_id="q2", entity_id="e2", role="query", split="val", text="大阪紡績", ocr_noisy="大阪紡績", ocr_clean="大阪紡績"),
        dict(record_id="q3", entity_id="e3", role="query", split="train", text="名古屋製鐵", ocr_noisy="名古屋", ocr_clean="名古屋製鐵"),
    ]  # fmt: skip
    return pd.DataFrame(rows)


@pytest.mark.parametrize("conditions", [("noisy", "clean"), ("noisy", "clean", "modern")])
def test_run_baselines_end_to_end_on_fake_manifest(conditions):
    manifest = _fake_manifest()
    if "modern" in conditions:  # the modern recognizer reads every record right
        manifest["ocr_modern"] = manifest["text"]
    summary, predictions = run_baselines(
        manifest,
        methods=["levenshtein", "tfidf_char"],
        tfidf_ngram_ranges=[(1, 1), (1, 2)],
        return_predictions=True,
    )
    assert list(summary.columns[:5]) == ["method", "ocr", "top1", "n_queries", "setting"]
    assert len(summary) == 2 * len(conditions) and tuple(dict.fromkeys(summary["ocr"])) == conditions
    assert (summary["n_queries"] == 2).all()  # test queries only
    tfidf = summary.set_index(["method", "ocr"]).loc[("tfidf_char", "noisy")]
    assert tfidf["setting"] == "ngram_range=1-1" and tfidf["val_top1"] == 1.0
    # q1's noisy OCR is empty: linked to the first reference (e0), a miss.
    noisy = predictions[(predictions["method"] == "levenshtein") & (predictions["ocr"] == "noisy")].set_index(
        "query_id"
    )
    assert noisy.loc["q1", "pred_ref_id"] == "re0" and not noisy.loc["q1", "hit"]
    assert noisy.loc["q0", "hit"]
    assert summary.set_index(["method", "ocr"]).loc[("levenshtein", "clean"), "top1"] == 1.0
    if "modern" in conditions:
        assert (summary.loc[summary["ocr"] == "modern", "top1"] == 1.0).all()
        assert set(predictions["ocr"]) == set(conditions)
