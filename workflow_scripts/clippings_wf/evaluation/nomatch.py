"""No-match detection: link a query to its top-1 reference only when the similarity exceeds a threshold.

The generated benchmark gives every entity a reference, so no-match queries are made at evaluation time: for a
seeded fraction of the validation and of the test entities (each split separately), the reference records are
removed from the reference set of this evaluation and their queries become no-match queries. Labelled queries
whose entity has no reference at all (possible in a user's manifest) are no-match queries too.

A query is predicted "match" when its top-1 similarity is > threshold, else "no match". Outcomes:
a match query is correct when accepted and its top-1 is its own entity; a no-match query is correct when
rejected (an abstention on a no-match query counts as correct).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from clippings_wf.evaluation import intervals

HOLDOUT_SPLITS = ("val", "test")


def _labelled(manifest: pd.DataFrame) -> pd.Series:
    return manifest["entity_id"].astype(str).str.strip() != ""


def nomatch_holdout(
    manifest: pd.DataFrame, fraction: float, seed: int, splits: Sequence[str] = HOLDOUT_SPLITS
) -> pd.DataFrame:
    """The no-match entities of the evaluation: columns entity_id, split, reason, n_queries.

    reason "held_out": a seeded ``fraction`` of the split's entities that have both a labelled query and a
    reference (at least one entity when the fraction is positive); their references are removed for this
    evaluation. reason "no_reference": entities with labelled queries and no reference record at all.
    Distractors (a reference and no query) are never held out: removing them would make no no-match query.
    """
    labelled = manifest[_labelled(manifest)]
    queries = labelled[labelled["role"] == "query"]
    with_reference = set(labelled.loc[labelled["role"] == "reference", "entity_id"])
    rows = []
    for split_index, split in enumerate(splits):
        in_split = queries[queries["split"] == split]
        counts = in_split.groupby("entity_id").size()
        candidates = sorted(e for e in counts.index if e in with_reference)
        n_held = int(round(fraction * len(candidates)))
        if fraction > 0 and candidates:
            n_held = max(1, n_held)
        # One generator per split so changing one split's entities does not reshuffle the other's.
        rng = np.random.default_rng([seed, split_index])
        held = sorted(rng.permutation(candidates)[:n_held]) if n_held else []
        rows += [{"entity_id": e, "split": split, "reason": "held_out", "n_queries": int(counts[e])} for e in held]
        rows += [
            {"entity_id": e, "split": split, "reason": "no_reference", "n_queries": int(counts[e])}
            for e in sorted(counts.index)
            if e not in with_reference
        ]
    return pd.DataFrame(rows, columns=["entity_id", "split", "reason", "n_queries"])


def evaluation_sets(manifest: pd.DataFrame, holdout: pd.DataFrame, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of the split's labelled queries and of the reference set with held-out entities removed."""
    held = set(holdout.loc[holdout["reason"] == "held_out", "entity_id"])
    role = manifest["role"].to_numpy()
    in_split = (manifest["split"] == split).to_numpy() & _labelled(manifest).to_numpy()
    queries = np.flatnonzero((role == "query") & in_split)
    references = np.flatnonzero((role == "reference") & ~manifest["entity_id"].isin(held).to_numpy())
    return queries, references


def query_scores(manifest: pd.DataFrame, holdout: pd.DataFrame, top1, splits: Sequence[str] = HOLDOUT_SPLITS):
    """Top-1 of every labelled val/test query against the reduced reference set, one row per query.

    ``top1(query_positions, reference_positions)`` returns (best position within reference_positions, score)
    per query: FAISS on embeddings or a string matcher. Columns: split, query_id, entity_id, reference_id,
    score, hit, nomatch.
    """
    entities = manifest["entity_id"].astype(str).to_numpy(dtype=object)
    ids = manifest["record_id"].astype(str).to_numpy(dtype=object)
    frames = []
    for split in splits:
        queries, references = evaluation_sets(manifest, holdout, split)
        if not len(queries):
            continue
        best, score = top1(queries, references)
        best_ref = references[np.asarray(best)]
        frames.append(pd.DataFrame({
            "split": split, "query_id": ids[queries], "entity_id": entities[queries],
            "reference_id": ids[best_ref], "score": np.asarray(score, dtype=np.float64),
            "hit": entities[best_ref] == entities[queries],
            "nomatch": ~np.isin(entities[queries], entities[references]),
        }))  # fmt: skip
    columns = ["split", "query_id", "entity_id", "reference_id", "score", "hit", "nomatch"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def correct_decisions(scores, hit, nomatch, threshold: float) -> np.ndarray:
    """Per query: accepted and linked to its own entity, or a no-match query rejected."""
    scores, hit, nomatch = np.asarray(scores), np.asarray(hit, bool), np.asarray(nomatch, bool)
    accept = scores > threshold
    return (accept & hit & ~nomatch) | (~accept & nomatch)


def outcomes(scores, hit, nomatch, threshold: float) -> dict[str, float]:
    """Metrics at one threshold. ``hit``: the top-1 reference is the query's entity; ``nomatch``: the query
    has no reference. Precision with no abstention is 0 (sklearn's zero_division convention)."""
    scores, hit, nomatch = np.asarray(scores), np.asarray(hit, bool), np.asarray(nomatch, bool)
    correct = correct_decisions(scores, hit, nomatch, threshold)
    abstain = ~(scores > threshold)
    n_match, n_nomatch, n_abstain = int((~nomatch).sum()), int(nomatch.sum()), int(abstain.sum())
    return {
        "accuracy": float(correct.mean()) if len(scores) else float("nan"),
        "match_accuracy": float(correct[~nomatch].mean()) if n_match else float("nan"),
        "nomatch_precision": float((abstain & nomatch).sum() / n_abstain) if n_abstain else 0.0,
        "nomatch_recall": float((abstain & nomatch).sum() / n_nomatch) if n_nomatch else float("nan"),
        "n_queries": len(scores),
        "n_nomatch": n_nomatch,
    }


def tune_threshold(scores, hit, nomatch) -> tuple[float, float]:
    """The threshold with the best overall accuracy, exact over every cut of the sorted scores.

    Accepting the i highest-scoring queries is right for the accepted hits and the rejected no-match queries;
    cumulative sums give every i at once. The threshold is the midpoint between the last accepted and the first
    rejected score (so it generalizes better than either score); the highest such threshold wins a tie.
    Returns (threshold, accuracy).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if not len(scores):
        raise ValueError("no validation queries to tune the no-match threshold on")
    hit, nomatch = np.asarray(hit, bool), np.asarray(nomatch, bool)
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    good_accept = np.concatenate([[0], np.cumsum(hit[order] & ~nomatch[order])])
    nomatch_accepted = np.concatenate([[0], np.cumsum(nomatch[order])])
    correct = good_accept + (nomatch.sum() - nomatch_accepted)  # correct[i]: the first i accepted
    # A cut between equal scores cannot be made by a threshold: only i where s[i-1] > s[i] (or the ends).
    valid = np.ones(len(s) + 1, bool)
    valid[1:-1] = s[:-1] > s[1:]
    correct = np.where(valid, correct, -1)
    i = int(np.argmax(correct))
    if i == 0:
        threshold = s[0]
    elif i == len(s):
        threshold = s[-1] - 1e-6
    else:
        threshold = (s[i - 1] + s[i]) / 2
    return float(threshold), float(correct[i] / len(s))


def accuracy_curve(scores, hit, nomatch, thresholds) -> np.ndarray:
    """Overall accuracy at each threshold (for the threshold figure)."""
    return np.array([outcomes(scores, hit, nomatch, t)["accuracy"] for t in thresholds])


def evaluate(scores: pd.DataFrame, curve_points: int = 101) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tune on val and report on test, per (method, ocr).

    ``scores``: one row per query and split, columns method, ocr, split (val | test), entity_id, score, hit,
    nomatch (optionally group). Returns the summary (method, ocr, group, threshold, val_accuracy, then
    ``outcomes`` on test with accuracy_low / accuracy_high: a 95% bootstrap interval over the test entities, each
    with all its queries, the val-tuned threshold kept fixed) and the curves (method, ocr, split, threshold,
    accuracy) on a grid over each method's score range.
    """
    summary, curves = [], []
    for (method, ocr), rows in scores.groupby(["method", "ocr"], sort=False):
        val, test = rows[rows["split"] == "val"], rows[rows["split"] == "test"]
        threshold, val_accuracy = tune_threshold(val["score"], val["hit"], val["nomatch"])
        result = outcomes(test["score"], test["hit"], test["nomatch"], threshold)
        correct = correct_decisions(test["score"], test["hit"], test["nomatch"], threshold)
        _, result["accuracy_low"], result["accuracy_high"] = intervals.bootstrap_ci(correct, test["entity_id"])
        group = rows["group"].iloc[0] if "group" in rows else ""
        summary.append({"method": method, "ocr": ocr, "group": group, "threshold": threshold,
                        "val_accuracy": val_accuracy, **result})  # fmt: skip
        grid = np.linspace(rows["score"].min() - 1e-6, rows["score"].max(), curve_points)
        for split, part in (("val", val), ("test", test)):
            accuracy = accuracy_curve(part["score"], part["hit"], part["nomatch"], grid)
            curves.append(pd.DataFrame({"method": method, "ocr": ocr, "split": split, "threshold": grid,
                                        "accuracy": accuracy}))  # fmt: skip
    return pd.DataFrame(summary), pd.concat(curves, ignore_index=True)
