"""No-match detection: held-out entities, the threshold tuned on val, and the metrics by hand."""

import numpy as np
import pandas as pd
import pytest

from clippings_wf.evaluation import nomatch


def _manifest(n_per_split=20, seed=0):
    """Entities with one reference and two queries in val and test, two distractors, one reference-less entity."""
    rows = []
    for split in ("train", "val", "test"):
        for e in range(n_per_split):
            entity = f"{split}{e:02d}"
            rows.append({"record_id": f"r_{entity}", "entity_id": entity, "role": "reference", "split": split})
            if e >= 2:  # the first two of each split are distractors: no query
                rows += [{"record_id": f"q{i}_{entity}", "entity_id": entity, "role": "query", "split": split}
                         for i in range(2)]  # fmt: skip
    rows.append({"record_id": "q_orphan", "entity_id": "orphan", "role": "query", "split": "test"})
    rows.append({"record_id": "q_unlabelled", "entity_id": "", "role": "query", "split": "test"})
    return pd.DataFrame(rows)


def test_holdout_is_seeded_per_split_and_spares_distractors():
    manifest = _manifest()
    holdout = nomatch.nomatch_holdout(manifest, fraction=0.25, seed=3)
    held = holdout[holdout["reason"] == "held_out"]
    assert held.groupby("split").size().to_dict() == {"val": 4, "test": 4}  # round(0.25 * 18 candidates)
    assert not held["entity_id"].isin(["val00", "val01", "test00", "test01"]).any()
    assert set(held["split"]) == {"val", "test"} and not held["entity_id"].str.startswith("train").any()
    natural = holdout[holdout["reason"] == "no_reference"]
    assert natural[["entity_id", "split", "n_queries"]].values.tolist() == [["orphan", "test", 1]]
    assert holdout.equals(nomatch.nomatch_holdout(manifest, fraction=0.25, seed=3))
    assert not holdout.equals(nomatch.nomatch_holdout(manifest, fraction=0.25, seed=4))
    assert (nomatch.nomatch_holdout(manifest, fraction=0.0, seed=3)["reason"] == "no_reference").all()


def test_query_scores_remove_held_out_references():
    manifest = _manifest()
    holdout = nomatch.nomatch_holdout(manifest, fraction=0.25, seed=0)
    entities = manifest["entity_id"].to_numpy()

    def oracle(queries, references):  # the perfect matcher: its own reference if present, else the first
        best = [int(np.flatnonzero(entities[references] == entities[q])[0]) if entities[q] in entities[references]
                else 0 for q in queries]  # fmt: skip
        return np.array(best), np.array([1.0 if entities[q] in entities[references] else 0.2 for q in queries])

    scores = nomatch.query_scores(manifest, holdout, oracle)
    assert "q_unlabelled" not in set(scores["query_id"])
    held = set(holdout["entity_id"])
    assert (scores["nomatch"] == scores["entity_id"].isin(held)).all()
    assert scores.loc[~scores["nomatch"], "hit"].all()
    test = scores[scores["split"] == "test"]
    assert test["nomatch"].sum() == 4 * 2 + 1  # four held-out entities with two queries each, and the orphan


def test_threshold_tuned_on_val_separates_planted_nomatch_queries():
    rng = np.random.default_rng(0)

    def split(n_match, n_nomatch):
        # Match queries score about 0.8 (10% with a wrong top-1), no-match queries about 0.5.
        scores = np.concatenate([rng.normal(0.8, 0.04, n_match), rng.normal(0.5, 0.04, n_nomatch)])
        hit = np.concatenate([rng.random(n_match) > 0.1, rng.random(n_nomatch) > 2])
        return scores, hit, np.arange(n_match + n_nomatch) >= n_match

    val, test = split(300, 100), split(300, 100)
    threshold, val_accuracy = nomatch.tune_threshold(*val)
    assert 0.6 < threshold < 0.7
    result = nomatch.outcomes(*test, threshold)
    assert result["nomatch_recall"] == 1.0 and result["nomatch_precision"] == 1.0
    assert result["match_accuracy"] == pytest.approx(test[1][:300].mean())
    assert result["accuracy"] == pytest.approx((test[1][:300].sum() + 100) / 400)
    assert val_accuracy == pytest.approx(nomatch.outcomes(*val, threshold)["accuracy"])


def test_tuning_is_exact_against_every_cut():
    rng = np.random.default_rng(1)
    scores = np.round(rng.random(60), 2)  # ties on purpose
    hit, no = rng.random(60) > 0.3, rng.random(60) > 0.7
    threshold, accuracy = nomatch.tune_threshold(scores, hit, no)
    cuts = np.concatenate([[scores.min() - 1], np.unique(scores)])
    best = max(nomatch.outcomes(scores, hit, no, t)["accuracy"] for t in cuts)
    assert accuracy == pytest.approx(best)
    assert nomatch.outcomes(scores, hit, no, threshold)["accuracy"] == pytest.approx(best)


def test_outcomes_by_hand():
    # scores, top-1 right?, no-match query?  threshold 0.5: accept the first three
    result = nomatch.outcomes([0.9, 0.8, 0.7, 0.4, 0.3], [True, False, False, True, False],
                              [False, False, True, False, True], 0.5)  # fmt: skip
    # correct: q0 (accepted hit), q4 (rejected no-match) -> 2 / 5
    assert result["accuracy"] == pytest.approx(2 / 5)
    assert result["match_accuracy"] == pytest.approx(1 / 3)  # q0 of q0, q1, q3
    assert result["nomatch_precision"] == pytest.approx(1 / 2)  # abstained on q3, q4
    assert result["nomatch_recall"] == pytest.approx(1 / 2)  # q2 accepted, q4 rejected


def test_evaluate_writes_a_row_per_method_and_curves():
    rng = np.random.default_rng(2)
    frames = []
    for method in ("a", "b"):
        for split in ("val", "test"):
            n = 50
            frames.append(pd.DataFrame({"method": method, "ocr": "noisy", "split": split, "score": rng.random(n),
                                        "entity_id": np.arange(n) // 2, "hit": rng.random(n) > 0.5,
                                        "nomatch": rng.random(n) > 0.7}))  # fmt: skip
    summary, curves = nomatch.evaluate(pd.concat(frames), curve_points=11)
    assert list(summary["method"]) == ["a", "b"]
    assert summary[["accuracy", "match_accuracy", "nomatch_precision", "nomatch_recall"]].stack().between(0, 1).all()
    assert len(curves) == 2 * 2 * 11


@pytest.mark.parametrize("conditions", [("noisy", "clean"), ("noisy", "clean", "modern")])
def test_method_rows_table_orders_ocr_then_baselines_then_models(conditions):
    from clippings_wf.reporting.tables import method_rows_table

    given = list(reversed(conditions))  # modern, clean, noisy: the table puts them in OCR_CONDITIONS order
    n = 3 * len(given)
    summary = pd.DataFrame({"method": ["sup_multimodal", "tfidf_char", "levenshtein"] * len(given),
                            "ocr": [o for o in given for _ in range(3)],
                            "group": ["model", "classical", "classical"] * len(given),
                            "accuracy": np.arange(n) / 10})  # fmt: skip
    table = method_rows_table(summary, ["accuracy"])
    assert table["method"].tolist()[:3] == ["Levenshtein", "Char TF-IDF (n-grams tuned)", "Sup multimodal"]
    assert table["ocr"].tolist() == [o for o in conditions for _ in range(3)]
    assert table["accuracy"].tolist() == pytest.approx(list(np.arange(n)[::-1] / 10))


def test_evaluate_gives_test_accuracy_a_bootstrap_interval():
    rng = np.random.default_rng(4)
    frames = [pd.DataFrame({"method": "a", "ocr": "noisy", "split": split, "score": rng.random(300),
                            "entity_id": [f"e{i // 3}" for i in range(300)], "hit": rng.random(300) > 0.3,
                            "nomatch": rng.random(300) > 0.8})
              for split in ("val", "test")]  # fmt: skip
    row = nomatch.evaluate(pd.concat(frames), curve_points=3)[0].iloc[0]
    assert row["accuracy_low"] < row["accuracy"] < row["accuracy_high"]
    test = frames[1]
    correct = nomatch.correct_decisions(test["score"], test["hit"], test["nomatch"], row["threshold"])
    assert correct.mean() == pytest.approx(row["accuracy"])
