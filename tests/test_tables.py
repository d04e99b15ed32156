import numpy as np
import pandas as pd
import pytest

from clippings_wf.tables import PAPER_NUMBERS, main_results_table, write_table


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


def test_plots_smoke(tmp_path):
    from PIL import Image

    from clippings_wf.plots import (
        plot_embedding_map,
        plot_example_records,
        plot_main_results,
        plot_retrieval_gallery,
        plot_training_curves,
    )

    Image.new("L", (60, 16), 255).save(tmp_path / "h.png")
    Image.new("L", (16, 60), 255).save(tmp_path / "v.png")
    manifest = pd.DataFrame(
        {"record_id": ["r0", "r1", "q0"], "image_path": ["h.png", "v.png", "v.png"], "entity_id": ["e0", "e1", "e0"],
         "role": ["reference", "reference", "query"], "split": ["test", "test", "test"],
         "text": ["東京電機株式会社", "大阪紡績", "東京電機(株)"], "ocr_noisy": ["東京電機", "", "東京"], "ocr_clean": ["a", "b", "c"]}
    )  # fmt: skip
    pd.DataFrame({"step": [0, 1, 2], "loss": [3.0, 2.0, 1.0], "val_top1": [None, 0.2, 0.3]}).to_csv(tmp_path / "a.csv")
    pd.DataFrame({"epoch": [0, 1], "loss": [3.0, 2.5]}).to_csv(tmp_path / "b.csv")
    out = [
        *plot_training_curves({"vision": tmp_path / "a.csv", "text": tmp_path / "b.csv"}, tmp_path / "curves"),
        *plot_main_results(main_results_table(_rows()), tmp_path / "bars"),
        *plot_example_records(manifest, tmp_path, tmp_path / "examples", n=2),
        *plot_retrieval_gallery(manifest, tmp_path, ["q0"], [["r0", "r1"]], [[0.9, 0.1]], tmp_path / "gallery"),
        *plot_embedding_map(
            np.random.default_rng(0).normal(size=(6, 4)), ["a", "a", "b", "b", "c", "d"], tmp_path / "map"
        ),
    ]
    assert all(p.exists() and p.stat().st_size > 0 for p in out)


def test_footer_accepts_the_ocr_steps_quality_csv():
    quality = pd.DataFrame(
        {"condition": ["noisy", "noisy"], "role": ["query", "reference"], "n": [5, 7], "cer": [0.25, 0.1],
         "empty": [1, 0]}
    )  # fmt: skip
    footer = main_results_table(_rows(), quality).attrs["footer"]
    assert footer == "OCR character error rate: query noisy 0.250 (1 empty); reference noisy 0.100."
