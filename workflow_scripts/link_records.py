"""Snakemake step: FAISS nearest-reference linking for every model row and OCR condition; top-1 accuracy."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import logging
from pathlib import Path

import faiss
import numpy as np
import pandas as pd

from clippings_wf.evaluation import pooling
from clippings_wf.models import embedding
from clippings_wf.runtime.atomic import atomic_path
from clippings_wf.records import ocr_conditions, read_manifest

log = logging.getLogger("link_records")
manifest = read_manifest(snakemake.input.manifest).set_index("record_id")
linking = snakemake.params.linking
index_params = linking.get(linking["index"], {}) if linking["index"] != "flat" else {}
gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0  # the faiss-cpu wheel has no GPU support
log.info("FAISS %s index on %s", linking["index"], "GPU" if gpus and linking["index"] in ("flat", "ivf") else "CPU")

embeddings = {Path(p).stem: np.load(p) for p in snakemake.input.embeddings}


def link(model: str, ocr: str, w: float, split: str):
    data = embeddings[model]
    ids = data["record_id"]
    rows = manifest.loc[ids]
    q, r = embedding.evaluation_indices(rows.reset_index(), split)
    emb = embedding.pooled(data["image"], data[f"text_{ocr}"], w)
    entities = rows["entity_id"].to_numpy()
    top1, best, scores = embedding.top1_from_embeddings(
        emb[q], emb[r], entities[q], entities[r], index=linking["index"], **index_params
    )
    predictions = pd.DataFrame(
        {"query_id": ids[q], "reference_id": ids[r][best], "score": scores, "hit": entities[r][best] == entities[q]}
    )
    return top1, predictions


results, predictions = [], []
for row in snakemake.params.rows:
    for ocr in ocr_conditions(manifest):
        test_top1, pred = link(row["model"], ocr, row["w"], "test")
        val_top1, _ = link(row["model"], ocr, row["w"], "val")
        results.append({"method": row["method"], "ocr": ocr, "w": row["w"], "top1": test_top1, "val_top1": val_top1})
        predictions.append(pred.assign(method=row["method"], ocr=ocr))
        log.info("%s %s (w=%.2f): test top-1 %.4f, val %.4f", row["method"], ocr, row["w"], test_top1, val_top1)

# The paper tunes the pooling weight on validation: one more row with w chosen on val per OCR condition.
tuned = snakemake.params.tuned_w_model
if tuned in embeddings:
    for ocr in ocr_conditions(manifest):
        w_best, val_top1 = pooling.tune_w(lambda w, ocr=ocr: link(tuned, ocr, w, "val")[0])
        test_top1, pred = link(tuned, ocr, w_best, "test")
        results.append({"method": f"{tuned}_tuned_w", "ocr": ocr, "w": w_best, "top1": test_top1, "val_top1": val_top1})
        predictions.append(pred.assign(method=f"{tuned}_tuned_w", ocr=ocr))
        log.info("%s %s: w tuned on val = %.2f, test top-1 %.4f", tuned, ocr, w_best, test_top1)

with atomic_path(snakemake.output.top1) as tmp:
    pd.DataFrame(results).to_csv(tmp, index=False, float_format="%.6f")
with atomic_path(snakemake.output.predictions) as tmp:
    pd.concat(predictions).to_csv(tmp, index=False, float_format="%.6f")
