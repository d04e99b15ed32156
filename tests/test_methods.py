"""Every method, learned or classical, answers the evaluation steps through one interface (evaluation/methods.py)."""

import numpy as np
import pandas as pd

from clippings_wf.evaluation.methods import baseline_scorers, model_scorers


def _manifest():
    names = ["東京電気", "大阪紡績", "横浜正金", "名古屋製陶"]
    rows = []
    for e, name in enumerate(names):
        rows.append({"record_id": f"r{e}", "entity_id": f"e{e}", "role": "reference", "split": "test", "ocr_noisy": name})
        rows.append({"record_id": f"q{e}", "entity_id": f"e{e}", "role": "query", "split": "test",
                     "ocr_noisy": name[:-1] + "x"})  # fmt: skip
    return pd.DataFrame(rows)


def test_baseline_and_model_scorers_answer_the_same_questions():
    manifest = _manifest()
    refs, queries = np.flatnonzero(manifest["role"] == "reference"), np.flatnonzero(manifest["role"] == "query")
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 8)).astype(np.float32)
    image = np.repeat(centres, 2, axis=0) + 0.05 * rng.normal(size=(8, 8)).astype(np.float32)
    image /= np.linalg.norm(image, axis=1, keepdims=True)
    embeddings = {"m": {"record_id": manifest["record_id"].to_numpy(), "image": image, "text_noisy": image[::-1].copy()}}
    rows = [{"method": "m_vision", "model": "m", "w": 1.0}, {"method": "m_pooled", "model": "m", "w": 0.5}]
    model = list(model_scorers(manifest.set_index("record_id"), embeddings, rows, {"index": "flat"}))
    classical = list(baseline_scorers(manifest, ["levenshtein", "tfidf_char"], queries, refs, [(1, 1), (1, 2)]))
    assert [(s.method, s.ocr, s.group) for s in model] == [("m_vision", "noisy", "model"), ("m_pooled", "noisy", "model")]
    assert [s.w for s in model] == [1.0, 0.5] and all(s.w is None for s in classical)
    assert [(s.method, s.group) for s in classical] == [("levenshtein", "classical"), ("tfidf_char", "classical")]
    assert classical[1].options["ngram_range"] in [(1, 1), (1, 2)]  # tuned on the given queries
    for scorer in [model[0], *classical]:  # each query's own firm is its nearest reference
        best, score = scorer.top1(queries, refs)
        entities = scorer.records["entity_id"].to_numpy()
        assert (entities[refs[best]] == entities[queries]).all() and len(score) == len(queries)
        neighbours, sims = scorer.knn(np.arange(8), 2)
        assert neighbours.shape == sims.shape == (8, 2)
        assert (np.diff(sims, axis=1) <= 1e-6).all()  # best first
