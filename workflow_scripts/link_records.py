"""Snakemake step: FAISS nearest-reference linking for every model row and OCR condition; top-1 accuracy."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import logging

import faiss
import pandas as pd

from clippings_wf.evaluation import methods, pooling
from clippings_wf.models import embedding
from clippings_wf.models import embedding_files
from clippings_wf.runtime.atomic import atomic_path
from clippings_wf.records import ocr_conditions, read_manifest

log = logging.getLogger("link_records")
manifest = read_manifest(snakemake.input.manifest).set_index("record_id")
linking = snakemake.params.linking
gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0  # the faiss-cpu wheel has no GPU support
log.info("FAISS %s index on %s", linking["index"], "GPU" if gpus and linking["index"] in ("flat", "ivf") else "CPU")

embeddings = embedding_files.load_by_model(snakemake.input.embeddings)


def scorers(rows):
    return methods.model_scorers(manifest, embeddings, rows, linking)


def link(scorer, split: str):
    """Top-1 of the split's queries against every reference, and the per-query predictions."""
    q, r = embedding.evaluation_indices(scorer.records, split)
    best, scores = scorer.top1(q, r)
    entities, ids = scorer.records["entity_id"].to_numpy(), scorer.records["record_id"].to_numpy()
    hit = entities[r][best] == entities[q]
    top1 = float(hit.mean()) if len(hit) else float("nan")
    return top1, pd.DataFrame({"query_id": ids[q], "reference_id": ids[r][best], "score": scores, "hit": hit})


results, predictions = [], []
for scorer in scorers(snakemake.params.rows):
    w = scorer.w
    test_top1, pred = link(scorer, "test")
    val_top1, _ = link(scorer, "val")
    results.append({"method": scorer.method, "ocr": scorer.ocr, "w": w, "top1": test_top1, "val_top1": val_top1})
    predictions.append(pred.assign(method=scorer.method, ocr=scorer.ocr))
    log.info("%s %s (w=%.2f): test top-1 %.4f, val %.4f", scorer.method, scorer.ocr, w, test_top1, val_top1)

# The paper tunes the pooling weight on validation: one more row with w chosen on val per OCR condition.
tuned = snakemake.params.tuned_w_model
if tuned in embeddings:
    for ocr in ocr_conditions(manifest):

        def at(w, ocr=ocr):
            row = {"method": f"{tuned}_tuned_w", "model": tuned, "w": w}
            return next(s for s in scorers([row]) if s.ocr == ocr)

        w_best, val_top1 = pooling.tune_w(lambda w: link(at(w), "val")[0])
        test_top1, pred = link(at(w_best), "test")
        results.append({"method": f"{tuned}_tuned_w", "ocr": ocr, "w": w_best, "top1": test_top1, "val_top1": val_top1})
        predictions.append(pred.assign(method=f"{tuned}_tuned_w", ocr=ocr))
        log.info("%s %s: w tuned on val = %.2f, test top-1 %.4f", tuned, ocr, w_best, test_top1)

with atomic_path(snakemake.output.top1) as tmp:
    pd.DataFrame(results).to_csv(tmp, index=False, float_format="%.6f")
with atomic_path(snakemake.output.predictions) as tmp:
    pd.concat(predictions).to_csv(tmp, index=False, float_format="%.6f")
