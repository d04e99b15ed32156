import math

import numpy as np
import pandas as pd
import pytest

from clippings_wf.evaluation.metrics import character_error_rate, ocr_cer_table, retrieval_top1, top1_accuracy


def test_cer_pools_edits_over_reference_length():
    # 東京電機 -> 東京電気: 1 substitution; 株式会社 -> 株式会: 1 deletion; total 2 edits over 8 chars.
    assert character_error_rate(["東京電気", "株式会"], ["東京電機", "株式会社"]) == pytest.approx(2 / 8)


def test_cer_handles_empty_and_missing_hypotheses():
    assert character_error_rate(["", None], ["ab", "c"]) == pytest.approx(1.0)
    assert character_error_rate(["abc"], ["abc"]) == 0.0
    assert math.isnan(character_error_rate(["x"], [""]))
    with pytest.raises(ValueError):
        character_error_rate(["a"], ["a", "b"])


def test_top1_accuracy():
    assert top1_accuracy(["e1", "e2", "e3", "e1"], ["e1", "e2", "e1", "e2"]) == 0.5
    assert math.isnan(top1_accuracy([], []))


def test_retrieval_top1_chunks_and_ties_to_lowest_index():
    sim = np.array([[0.1, 0.9, 0.9], [0.0, 0.0, 0.0], [0.5, 0.2, 0.7]], dtype=np.float32)
    assert retrieval_top1(sim, chunk_size=2).tolist() == [1, 0, 2]


def test_ocr_cer_table_uses_test_queries_and_all_references():
    manifest = pd.DataFrame(
        {
            "role": ["query", "query", "reference", "reference"],
            "split": ["test", "val", "train", "test"],
            "text": ["ab", "zz", "cd", "ef"],
            "ocr_noisy": ["a", "zz", "", "ef"],
            "ocr_clean": ["ab", "zz", "cd", "ef"],
        }
    )
    cer = ocr_cer_table(manifest).set_index(["role", "ocr"])
    assert cer.loc[("query", "noisy"), "cer"] == pytest.approx(0.5)
    assert cer.loc[("reference", "noisy"), "cer"] == pytest.approx(0.5)
    assert cer.loc[("reference", "noisy"), "n_empty"] == 1
    assert cer.loc[("query", "clean"), "cer"] == 0.0
    assert cer.loc[("query", "noisy"), "n_records"] == 1
    assert set(cer.index.get_level_values("ocr")) == {"noisy", "clean"}  # the manifest's OCR conditions
    modern = ocr_cer_table(manifest.assign(ocr_modern=["ab", "z", "cd", "e"])).set_index(["role", "ocr"])
    assert modern.loc[("reference", "modern"), "cer"] == pytest.approx(0.25) and len(modern) == 6
