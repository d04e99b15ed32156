import numpy as np
import pandas as pd
import pytest

from clippings_wf.reporting.table_format import write_table
from clippings_wf.reporting.tables import PAPER_NUMBERS, main_results_table


def _rows():
    return pd.DataFrame(
        [
            ("levenshtein", "noisy", 0.40), ("levenshtein", "clean", 0.70),
            ("tfidf_char", "noisy", 0.60), ("tfidf_char", "clean", 0.65),
            ("partial_ratio", "noisy", 0.60), ("partial_ratio", "clean", 0.50),
            ("sup_multimodal", "noisy", 0.76), ("sup_multimodal", "clean", 0.80),
        ],
        columns=["method", "ocr", "top1"],
    )  # fmt: skip


def _rows_with_modern():
    """Three OCR conditions: the modern recognizer's rows beside noisy and clean."""
    modern = pd.DataFrame(
        [("levenshtein", "modern", 0.55), ("tfidf_char", "modern", 0.75), ("partial_ratio", "modern", 0.50),
         ("sup_multimodal", "modern", 0.85)],
        columns=["method", "ocr", "top1"],
    )  # fmt: skip
    return pd.concat([_rows(), modern], ignore_index=True)


def _cer():
    return pd.DataFrame(
        {"role": ["query", "query", "reference", "reference"], "ocr": ["noisy", "clean"] * 2,
         "cer": [0.31, 0.05, 0.13, 0.0], "n_records": [9, 9, 20, 20], "n_empty": [2, 0, 0, 0]}
    )  # fmt: skip


def test_table_layout_best_baseline_and_gains():
    table = main_results_table(_rows(), _cer(), PAPER_NUMBERS).set_index("method")
    # Classical rows in the paper's order first, then models.
    assert list(table.index) == ["Levenshtein", "Partial ratio", "Char TF-IDF (n-grams tuned)", "Sup multimodal"]
    # Noisy column: TF-IDF and partial ratio tie at 0.60; the first in table order is the one marked.
    assert table["best_noisy"].tolist() == [False, True, False, False]
    assert table["best_clean"].tolist() == [True, False, False, False]
    assert table.loc["Sup multimodal", "gain_noisy"] == pytest.approx(16.0)
    assert table.loc["Sup multimodal", "gain_clean"] == pytest.approx(10.0)
    assert table.loc["Levenshtein", "paper_noisy"] == 0.630
    assert table.loc["Sup multimodal", "paper_clean"] == 0.945
    assert np.isnan(table.loc["Partial ratio", "paper_noisy"])
    assert table.loc["Sup multimodal", "group"] == "model"
    assert "query noisy 0.310 (2 empty)" in table.attrs["footer"]


def test_a_column_per_ocr_condition_present_paper_numbers_for_noisy_and_clean_only(tmp_path):
    two = main_results_table(_rows(), _cer(), PAPER_NUMBERS)
    assert not [c for c in two.columns if "modern" in c]  # a manifest without modern OCR: no modern column
    three = main_results_table(_rows_with_modern(), _cer(), PAPER_NUMBERS)
    assert list(three.columns) == ["method", "group", "top1_noisy", "top1_clean", "top1_modern", "paper_noisy",
                                   "paper_clean", "gain_noisy", "gain_clean", "gain_modern", "best_noisy",
                                   "best_clean", "best_modern"]  # fmt: skip
    pd.testing.assert_frame_equal(three[two.columns], two)  # noisy and clean unchanged by the third condition
    three = three.set_index("method")
    assert three["best_modern"].tolist() == [False, False, True, False]
    assert three.loc["Sup multimodal", "gain_modern"] == pytest.approx(10.0)
    md = write_table(three.reset_index(), tmp_path / "main")[1].read_text(encoding="utf-8")
    header = md.splitlines()[0]
    assert "Top-1 noisy OCR | Top-1 clean OCR | Top-1 modern OCR (PP-OCR) | Paper noisy | Paper clean |" in header
    assert "Gain modern (pts)" in header and "Paper modern" not in header
    assert "| **0.750** |" in md  # the best baseline of the modern column in bold


def test_write_table_formats_deterministically(tmp_path):
    table = main_results_table(_rows(), _cer())
    paths = write_table(table, tmp_path / "main")
    first = [p.read_bytes() for p in paths]
    write_table(main_results_table(_rows(), _cer()), tmp_path / "main")
    assert [p.read_bytes() for p in paths] == first
    md = paths[1].read_text(encoding="utf-8")
    assert "| **0.600** |" in md and "| **0.700** |" in md and "+16.0" in md
    assert "OCR character error rate" in md
    tex = paths[2].read_text(encoding="utf-8")
    assert r"\toprule" in tex and r"\textbf{0.600}" in tex and "n-grams tuned" in tex
    csv = pd.read_csv(paths[0])
    assert csv["best_noisy"].dtype == bool and csv.loc[0, "top1_noisy"] == 0.4


@pytest.mark.parametrize("with_modern", [False, True])
def test_plots_smoke(tmp_path, with_modern):
    from PIL import Image

    from clippings_wf.reporting.gallery import plot_embedding_map, plot_example_records, plot_retrieval_gallery
    from clippings_wf.reporting.plots import plot_main_results, plot_training_curves

    Image.new("L", (60, 16), 255).save(tmp_path / "h.png")
    Image.new("L", (16, 60), 255).save(tmp_path / "v.png")
    manifest = pd.DataFrame(
        {"record_id": ["r0", "r1", "q0"], "image_path": ["h.png", "v.png", "v.png"], "entity_id": ["e0", "e1", "e0"],
         "role": ["reference", "reference", "query"], "split": ["test", "test", "test"],
         "text": ["東京電機株式会社", "大阪紡績", "東京電機(株)"], "ocr_noisy": ["東京電機", "", "東京"], "ocr_clean": ["a", "b", "c"]}
    )  # fmt: skip
    rows = _rows()
    if with_modern:
        manifest["ocr_modern"] = ["東京電機株式会社", "大阪紡績", "東京電機"]
        rows = _rows_with_modern()
    pd.DataFrame({"step": [0, 1, 2], "loss": [3.0, 2.0, 1.0], "val_top1": [None, 0.2, 0.3]}).to_csv(tmp_path / "a.csv")
    pd.DataFrame({"epoch": [0, 1], "loss": [3.0, 2.5]}).to_csv(tmp_path / "b.csv")
    out = [
        *plot_training_curves({"vision": tmp_path / "a.csv", "text": tmp_path / "b.csv"}, tmp_path / "curves"),
        *plot_main_results(main_results_table(rows), tmp_path / "bars"),
        *plot_example_records(manifest, tmp_path, tmp_path / "examples", n=2),
        *plot_retrieval_gallery(manifest, tmp_path, ["q0"], [["r0", "r1"]], [[0.9, 0.1]], tmp_path / "gallery"),
        *plot_embedding_map(
            np.random.default_rng(0).normal(size=(6, 4)), ["a", "a", "b", "b", "c", "d"], tmp_path / "map"
        ),
    ]
    assert all(p.exists() and p.stat().st_size > 0 for p in out)


@pytest.mark.parametrize("conditions", [("noisy", "clean"), ("noisy", "clean", "modern")])
def test_nomatch_and_clustering_figures_draw_every_ocr_condition(tmp_path, conditions):
    from clippings_wf.reporting.plots import plot_clustering, plot_nomatch_thresholds
    from clippings_wf.reporting.tables import method_rows_table

    methods = ["levenshtein", "sup_multimodal"]
    grid = np.linspace(0, 1, 5)
    curves = pd.DataFrame([(m, o, s, t, t / 2) for m in methods for o in conditions for s in ("val", "test") for t in grid],
                          columns=["method", "ocr", "split", "threshold", "accuracy"])  # fmt: skip
    summary = pd.DataFrame([(m, o, "classical" if m == "levenshtein" else "model", 0.5, 0.4) for m in methods
                            for o in conditions], columns=["method", "ocr", "group", "threshold", "ari"])  # fmt: skip
    table = method_rows_table(summary, ["threshold", "ari"])
    assert tuple(dict.fromkeys(table["ocr"])) == conditions
    out = [
        *plot_nomatch_thresholds(curves, summary, methods, tmp_path / "nomatch"),
        *plot_clustering(table, curves.rename(columns={"accuracy": "ari"}), methods, tmp_path / "clustering"),
    ]
    assert all(p.exists() and p.stat().st_size > 0 for p in out)


def test_footer_accepts_the_ocr_steps_quality_csv():
    quality = pd.DataFrame(
        {"condition": ["noisy", "noisy"], "role": ["query", "reference"], "n": [5, 7], "cer": [0.25, 0.1],
         "empty": [1, 0]}
    )  # fmt: skip
    footer = main_results_table(_rows(), quality).attrs["footer"]
    assert footer == "OCR character error rate: query noisy 0.250 (1 empty); reference noisy 0.100."


# --- Intervals: main table, orientation split, findings, reference comparison -------------------------------


def _hits(rates, n=200, seed=0):
    """Per-query hits of each (method, ocr) at exactly the given rate, the same test queries q0..q(n-1), three
    queries per entity."""
    rng = np.random.default_rng(seed)
    frames = []
    for (method, ocr), rate in rates.items():
        hit = np.zeros(n, bool)
        hit[rng.permutation(n)[: int(round(rate * n))]] = True
        group = "classical" if method in ("levenshtein", "tfidf_char", "partial_ratio") else "model"
        frames.append(pd.DataFrame({"method": method, "ocr": ocr, "query_id": [f"q{i}" for i in range(n)],
                                    "entity_id": [f"e{i // 3}" for i in range(n)], "hit": hit,
                                    "group": group}))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def test_read_hits_takes_each_querys_entity_from_the_manifest(tmp_path):
    from clippings_wf.evaluation.top1_intervals import read_hits

    pd.DataFrame({"method": "tfidf_char", "ocr": "noisy", "query_id": ["q1", "q2"], "pred_ref_id": "r",
                  "score": 0.5, "hit": [True, False]}).to_csv(tmp_path / "baselines.csv", index=False)  # fmt: skip
    pd.DataFrame({"query_id": ["q2"], "reference_id": "r", "score": 0.5, "hit": ["1.0"], "method": "sup_vision",
                  "ocr": "noisy"}).to_csv(tmp_path / "models.csv", index=False)  # fmt: skip
    manifest = pd.DataFrame({"record_id": ["q1", "q2", "r"], "entity_id": ["e1", "e2", "e1"]})
    hits = read_hits(tmp_path / "baselines.csv", tmp_path / "models.csv", manifest)
    assert hits[["query_id", "entity_id", "hit", "group"]].values.tolist() == [
        ["q1", "e1", True, "classical"], ["q2", "e2", False, "classical"], ["q2", "e2", True, "model"]]
    with pytest.raises(ValueError, match="not in the manifest"):
        read_hits(tmp_path / "baselines.csv", tmp_path / "models.csv", manifest[manifest["record_id"] != "q1"])


def test_best_classical_ties_are_broken_alike_in_table_findings_and_seeds():
    from clippings_wf.evaluation.findings import best_classical, findings_table
    from clippings_wf.evaluation.seeds import finding_differences

    # Char TF-IDF and Partial ratio tie on noisy OCR (0.60); the main table marks the first in its order.
    rows = _rows()
    table = main_results_table(rows, _cer()).set_index("method")
    assert table.index[table["best_noisy"]].tolist() == ["Partial ratio"]
    assert best_classical({"tfidf_char": 0.6, "partial_ratio": 0.6, "levenshtein": 0.4}) == "partial_ratio"
    assert best_classical({"tfidf_char": float("nan")}) is None
    hits = _hits({(r.method, r.ocr): r.top1 for r in rows.itertuples()})
    assert findings_table(hits).set_index("finding").loc["F1", "compared_with"] == "Partial ratio"
    baselines = rows[rows["method"] != "sup_multimodal"].assign(group="classical")  # TF-IDF before partial ratio
    long = pd.DataFrame({"seed": [0], "method": ["sup_multimodal"], "ocr": ["noisy"], "top1": [0.76]})
    f1 = finding_differences(long, baselines).set_index("finding").loc["F1"]
    assert f1["compared_with"] == "best classical baseline (Partial ratio)" and f1["diff"] == pytest.approx(0.16)


def test_main_table_intervals_and_paired_gains(tmp_path):
    from clippings_wf.evaluation.top1_intervals import add_top1_intervals

    rows = _rows()
    hits = _hits({(r.method, r.ocr): r.top1 for r in rows.itertuples()})
    table = add_top1_intervals(main_results_table(rows, _cer()), hits).set_index("method")
    assert list(table.columns[:5]) == ["group", "top1_noisy", "top1_noisy_low", "top1_noisy_high", "top1_clean"]
    for ocr in ("noisy", "clean"):
        assert (table[f"top1_{ocr}_low"] <= table[f"top1_{ocr}"]).all()
        assert (table[f"top1_{ocr}"] <= table[f"top1_{ocr}_high"]).all()
    # The best baseline's gain over itself: exactly 0 with a zero-width interval.
    best = table.loc["Partial ratio"]
    assert (best["gain_noisy"], best["gain_noisy_low"], best["gain_noisy_high"]) == (0.0, 0.0, 0.0)
    sup = table.loc["Sup multimodal"]
    assert sup["gain_noisy_low"] < 16.0 < sup["gain_noisy_high"]
    table.attrs["footer"] = "footer"
    md = write_table(table.reset_index(), tmp_path / "main")[1].read_text(encoding="utf-8")
    low, high = sup["top1_noisy_low"], sup["top1_noisy_high"]
    assert f"| 0.760 [{low:.3f}, {high:.3f}] |" in md
    assert "| **0.600 [" in md and "Top-1 noisy OCR | Top-1 clean OCR |" in md  # bounds join the cell, no column
    csv = pd.read_csv(tmp_path / "main.csv")
    assert {"top1_noisy_low", "top1_noisy_high", "gain_clean_low", "gain_clean_high"} <= set(csv.columns)


def _manifest(vertical_queries):
    ids = [f"q{i}" for i in range(200)]
    return pd.DataFrame({"record_id": ids, "vertical": ["1" if i in vertical_queries else "0" for i in range(200)]})


def test_orientation_split_counts_and_top1():
    from clippings_wf.evaluation.top1_intervals import orientation_table

    hits = _hits({("tfidf_char", "noisy"): 0.5, ("sup_multimodal", "noisy"): 0.7, ("sup_multimodal", "clean"): 0.9})
    vertical = set(range(0, 200, 4))  # 50 vertical, 150 horizontal
    table = orientation_table(hits, _manifest(vertical)).set_index("method")
    assert list(table.index) == ["Char TF-IDF (n-grams tuned)", "Sup multimodal"]
    assert table["n_vertical"].tolist() == [50, 50] and table["n_horizontal"].tolist() == [150, 150]
    mine = hits[(hits["method"] == "sup_multimodal") & (hits["ocr"] == "noisy")]
    is_vertical = mine["query_id"].str[1:].astype(int).isin(vertical)
    row = table.loc["Sup multimodal"]
    assert row["top1_noisy_vertical"] == pytest.approx(mine.loc[is_vertical, "hit"].mean())
    assert row["top1_noisy_horizontal"] == pytest.approx(mine.loc[~is_vertical, "hit"].mean())
    assert row["top1_noisy_vertical_low"] <= row["top1_noisy_vertical"] <= row["top1_noisy_vertical_high"]
    assert np.isnan(table.loc["Char TF-IDF (n-grams tuned)", "top1_clean_vertical"])  # no clean run of it


def test_orientation_without_vertical_queries_is_written_with_a_note(tmp_path):
    from clippings_wf.evaluation.top1_intervals import orientation_table

    hits = _hits({("tfidf_char", "noisy"): 0.5})
    for manifest in (_manifest(set()), _manifest(set()).drop(columns="vertical")):
        table = orientation_table(hits, manifest)
        assert table.empty and "No test query is a vertical crop" in table.attrs["footer"]
        md = write_table(table, tmp_path / "orientation")[1].read_text(encoding="utf-8")
        assert "No test query is a vertical crop" in md


@pytest.mark.parametrize("low, high, expected", [(0.5, 3.0, "holds"), (-1.0, 2.0, "not shown"),
                                                 (0.0, 2.0, "not shown"), (-3.0, -0.2, "reversed")])  # fmt: skip
def test_finding_verdict(low, high, expected):
    from clippings_wf.evaluation.findings import verdict

    assert verdict(low, high) == expected


def test_findings_table_names_the_compared_method_and_skips_absent_ones():
    from clippings_wf.evaluation.findings import findings_table

    hits = _hits({("levenshtein", "noisy"): 0.40, ("tfidf_char", "noisy"): 0.60, ("sup_multimodal", "noisy"): 0.90,
                  ("selfsup_multimodal", "noisy"): 0.60, ("sup_vision", "noisy"): 0.30,
                  ("sup_language", "noisy"): 0.75, ("sup_multimodal", "clean"): 0.10}, n=400)  # fmt: skip
    table = findings_table(hits).set_index("finding")
    assert list(table.index) == ["F1", "F2", "F3", "F5"]  # F4: no unimodally pretrained ViT in this run
    assert "Skipped (a method did not run): F4." in table.attrs["footer"]
    f1 = table.loc["F1"]
    assert f1["compared_with"] == "Char TF-IDF (n-grams tuned)" and f1["verdict"] == "holds"
    assert f1["gain_pts"] == pytest.approx(30.0) and f1["gain_pts_low"] < 30.0 < f1["gain_pts_high"]
    assert table.loc["F2", "verdict"] == "not shown"  # 0.60 against 0.60 (different queries hit)
    assert table.loc["F3", "verdict"] == "reversed"  # vision 0.30 against language 0.75
    f5 = table.loc["F5"]
    assert f5["compared_with"] == "Sup language" and f5["gain_pts"] == pytest.approx(15.0)
    assert f5["n_queries"] == 400 and f5["top1_method"] == pytest.approx(0.9)  # noisy only: clean's 0.10 unused


def test_reference_comparison_by_interval_overlap_else_tolerance():
    from clippings_wf.evaluation.reference import compare_with_reference

    current = pd.DataFrame({"method": ["A", "B"], "top1_noisy": [0.70, 0.70], "top1_noisy_low": [0.66, 0.66],
                            "top1_noisy_high": [0.74, 0.74]})  # fmt: skip
    with_intervals = pd.DataFrame({"method": ["A", "B"], "top1_noisy": [0.77, 0.82],
                                   "top1_noisy_low": [0.73, 0.78], "top1_noisy_high": [0.81, 0.86]})  # fmt: skip
    report = compare_with_reference(current, with_intervals, 0.03)
    assert "| A | 0.700 [0.660, 0.740] | 0.770 [0.730, 0.810] | ok |" in report  # 0.07 apart, intervals overlap
    assert "| B | 0.700 [0.660, 0.740] | 0.820 [0.780, 0.860] | DIFFERS |" in report
    assert "Result: 1 value(s) disagree." in report and "fixed tolerance" not in report.split("Result")[1]
    old = compare_with_reference(current, with_intervals[["method", "top1_noisy"]], 0.03)  # a reference without
    assert "| A | 0.700 [0.660, 0.740] | 0.770 | DIFFERS (tolerance) |" in old
    assert "Note: 2 value(s) judged by the fixed tolerance 0.030" in old


def test_reference_comparison_counts_missing_rows_and_reads_renamed_ones():
    from clippings_wf.evaluation.reference import compare_with_reference

    current = pd.DataFrame({"method": ["A", "Sup vision, no image-OCR alignment", "New"],
                            "top1_noisy": [0.7, 0.4, 0.5]})  # fmt: skip
    reference = pd.DataFrame({"method": ["A", "Unimodally pretrained ViT", "Gone"], "top1_noisy": [0.7, 0.41, 0.6]})
    report = compare_with_reference(current, reference, 0.03)
    assert "| Sup vision, no image-OCR alignment | 0.400 | 0.410 | ok (tolerance) |" in report  # the old name
    assert "Result: 2 method(s) missing on one side." in report and "all agree" not in report
    assert "Missing from this run: Gone." in report and "Missing from the reference: New." in report


def test_complementarity_counts_each_querys_pair_of_outcomes():
    from clippings_wf.evaluation.findings import complementarity_table

    def hits(method, ocr, outcomes):
        return pd.DataFrame({"method": method, "ocr": ocr, "query_id": [f"q{i}" for i in range(len(outcomes))],
                             "entity_id": "e", "hit": [c == "1" for c in outcomes], "group": "model"})  # fmt: skip

    frames = [hits("sup_vision", "noisy", "11100000"), hits("sup_language", "noisy", "10010000"),
              hits("sup_multimodal", "noisy", "11110000"), hits("tfidf_char", "noisy", "11111111").assign(
                  group="classical"),
              hits("sup_vision", "clean", "1111"), hits("sup_language", "clean", "1111")]  # fmt: skip
    table = complementarity_table(pd.concat(frames, ignore_index=True))
    # clean has no multimodal row: skipped; noisy: q0 both, q1-q2 vision only, q3 language only, q4-q7 neither
    assert list(table["ocr"]) == ["noisy"]
    row = table.iloc[0]
    assert row["n_queries"] == 8
    assert (row["both"], row["vision_only"], row["language_only"], row["neither"]) == (1 / 8, 2 / 8, 1 / 8, 4 / 8)
    assert row["top1_vision"] == 3 / 8 and row["top1_language"] == 2 / 8 and row["either"] == 4 / 8
    assert row["top1_multimodal"] == 4 / 8
