"""Linking split into query shards (config ``linking.shards``): one saved reference index per model, N jobs that
each search a deterministic slice of the val and test queries, and a gather that computes what link_records
computes in one job (rules/link.smk).

Each shard returns, for every search (a model row, or the tuned-w model at a w of the grid, under each OCR
condition), each query's best reference and score. The gather then takes the top-1 of every row and tunes w on
validation exactly as ``workflow_scripts/link_records.py`` does, so the tables are the same bytes: the pooled
embedding is computed over all records before slicing (as the unsharded run does), the index is built by
``faiss_index.build_index`` from the same references, and each shard's queries are searched with the kernel
FAISS chose for the whole split, cut where that kernel's bits do not depend on the cut
(``faiss_index.search_slice``): anywhere below about 1,000 queries at d=128, else at blocks of 4,096 queries (a
split smaller than one block then lands in one shard). Exact on a CPU flat (the default) or HNSW index; with IVF,
or on a GPU, scores agree to float rounding and a near-tie may link differently.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from clippings_wf.evaluation import pooling
from clippings_wf.linking import faiss_index
from clippings_wf.models import embedding
from clippings_wf.records import ocr_conditions
from clippings_wf.runtime.atomic import atomic_path

SPLITS = ("test", "val")


def shard_slice(n: int, shards: int, shard: int, align: int = 1) -> slice:
    """Shard ``shard`` (0-based) of ``shards`` contiguous slices of ``range(n)``, cut only at multiples of ``align``
    (an embedding batch: a shard then embeds exactly the unsharded run's batches). With fewer blocks than shards
    the earlier shards are empty."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not in 0..{shards - 1}")
    blocks = -(-n // align)
    start, stop = (blocks * shard) // shards, (blocks * (shard + 1)) // shards
    return slice(min(start * align, n), min(stop * align, n))


def searches(rows: Sequence[dict], tuned_model: str | None, models: Sequence[str]) -> list[dict]:
    """Every (method, model, w) linking searches: the table's rows, then the tuned-w model at each w of the grid."""
    found = [{"method": r["method"], "model": r["model"], "w": r["w"]} for r in rows]
    if tuned_model in models:
        found += [{"method": f"{tuned_model}_tuned_w", "model": tuned_model, "w": float(w)} for w in pooling.W_GRID]
    return found


def index_key(ocr: str, w: float) -> str:
    return f"index_{ocr}_{float(w).hex()}"


def save_reference_indexes(path, manifest: pd.DataFrame, data: dict, ws: Sequence[float], linking: dict) -> None:
    """One model's reference indexes (each OCR condition at each pooling weight in ``ws``) in one .npz, built as
    ``methods.model_scorers`` builds them."""
    records = manifest.loc[data["record_id"]].reset_index()
    _, references = embedding.evaluation_indices(records, "test")
    arrays = {"record_id": np.asarray(data["record_id"]).astype(str)}
    for ocr in ocr_conditions(manifest):
        for w in sorted(set(float(w) for w in ws)):
            emb = embedding.pooled(data["image"], data[f"text_{ocr}"], w)
            index = faiss_index.build_index(emb[references], kind=linking["index"], use_gpu=False,
                                            **index_params(linking))  # fmt: skip
            arrays[index_key(ocr, w)] = faiss_index.serialize(index)
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)


def index_params(linking: dict) -> dict:
    return linking.get(linking["index"], {}) if linking["index"] != "flat" else {}


def search_shard(manifest: pd.DataFrame, embeddings: dict, indexes: dict, found: Sequence[dict], linking: dict,
                 shards: int, shard: int) -> pd.DataFrame:  # fmt: skip
    """This shard's slice of each split's queries, searched for every search under every OCR condition:
    one row per (method, w, ocr, split, query) with the best reference's position and score (positions in the
    model's embeddings order)."""
    frames = []
    for each in found:
        data = embeddings[each["model"]]
        records = manifest.loc[data["record_id"]].reset_index()
        for ocr in ocr_conditions(manifest):
            emb = embedding.pooled(data["image"], data[f"text_{ocr}"], each["w"])
            index = faiss_index.deserialize(indexes[each["model"]][index_key(ocr, each["w"])], kind=linking["index"],
                                            **index_params(linking))  # fmt: skip
            for split in SPLITS:
                queries, references = embedding.evaluation_indices(records, split)
                part = shard_slice(len(queries), shards, shard, faiss_index.slice_alignment(len(queries), emb.shape[1]))
                scores, best = faiss_index.search_slice(index, emb[queries], part, 1)
                queries = queries[part]
                frames.append(pd.DataFrame({
                    "method": each["method"], "model": each["model"], "w": float(each["w"]), "ocr": ocr,
                    "split": split, "query": queries, "reference": references[best[:, 0]], "score": scores[:, 0],
                }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


class GatheredHits:
    """Every shard's hits, looked up by search: (top-1, predictions) of a (method, w, ocr, split) in query order."""

    def __init__(self, manifest: pd.DataFrame, embeddings_ids: dict, hits: pd.DataFrame):
        self.manifest, self.ids = manifest, embeddings_ids
        self.groups = {key: frame.sort_values("query", kind="stable")
                       for key, frame in hits.groupby(["method", "w", "ocr", "split"], sort=False)}  # fmt: skip

    def link(self, method: str, model: str, w: float, ocr: str, split: str) -> tuple[float, pd.DataFrame]:
        records = self.manifest.loc[self.ids[model]].reset_index()
        frame = self.groups.get((method, float(w), ocr, split))
        q = frame["query"].to_numpy() if frame is not None else np.zeros(0, dtype=np.int64)
        ref = frame["reference"].to_numpy() if frame is not None else np.zeros(0, dtype=np.int64)
        scores = frame["score"].to_numpy(dtype=np.float32) if frame is not None else np.zeros(0, dtype=np.float32)
        expected = embedding.evaluation_indices(records, split)[0]
        if not np.array_equal(q, expected):  # a shard's hits lost or doubled: refuse rather than score a subset
            raise ValueError(f"gathered link shards hold {len(q)} {split} queries of {method} (w={w}, {ocr} OCR), "
                             f"the split has {len(expected)}: rerun the link_records shards")
        entities, ids = records["entity_id"].to_numpy(), records["record_id"].to_numpy()
        hit = entities[ref] == entities[q]
        top1 = float(hit.mean()) if len(hit) else float("nan")
        return top1, pd.DataFrame({"query_id": ids[q], "reference_id": ids[ref], "score": scores, "hit": hit})


def link_split(scorer, split: str) -> tuple[float, pd.DataFrame]:
    """Top-1 of the split's queries against every reference, and the per-query predictions (one job)."""
    q, r = embedding.evaluation_indices(scorer.records, split)
    best, scores = scorer.top1(q, r)
    entities, ids = scorer.records["entity_id"].to_numpy(), scorer.records["record_id"].to_numpy()
    hit = entities[r][best] == entities[q]
    top1 = float(hit.mean()) if len(hit) else float("nan")
    return top1, pd.DataFrame({"query_id": ids[q], "reference_id": ids[r][best], "score": scores, "hit": hit})


def link_whole(manifest: pd.DataFrame, embeddings: dict, rows: Sequence[dict], tuned_model: str | None,
               linking: dict) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """(top1, predictions) of every row in one job (linking.shards: 1), the paper's tuned-w row last: w chosen per
    OCR condition by validation top-1 over ``pooling.W_GRID``."""
    from clippings_wf.evaluation import methods

    def scorers(chosen):
        return methods.model_scorers(manifest, embeddings, chosen, linking)

    results, predictions = [], []
    for scorer in scorers(rows):
        test_top1, pred = link_split(scorer, "test")
        val_top1, _ = link_split(scorer, "val")
        results.append({"method": scorer.method, "ocr": scorer.ocr, "w": scorer.w, "top1": test_top1,
                        "val_top1": val_top1})  # fmt: skip
        predictions.append(pred.assign(method=scorer.method, ocr=scorer.ocr))
    if tuned_model in embeddings:
        method = f"{tuned_model}_tuned_w"
        for ocr in ocr_conditions(manifest):

            def at(w, ocr=ocr):
                return next(s for s in scorers([{"method": method, "model": tuned_model, "w": w}]) if s.ocr == ocr)

            w_best, val_top1 = pooling.tune_w(lambda w: link_split(at(w), "val")[0])
            test_top1, pred = link_split(at(w_best), "test")
            results.append({"method": method, "ocr": ocr, "w": w_best, "top1": test_top1, "val_top1": val_top1})
            predictions.append(pred.assign(method=method, ocr=ocr))
    return pd.DataFrame(results), pd.concat(predictions)


def gather(manifest: pd.DataFrame, embeddings_ids: dict, hits: pd.DataFrame, rows: Sequence[dict],
           tuned_model: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """(top1, predictions) as link_records writes them, from every shard's hits: the rows, then the tuned-w row
    per OCR condition with w chosen on validation (``pooling.tune_w``)."""
    gathered = GatheredHits(manifest, embeddings_ids, hits)
    results, predictions = [], []
    for row in rows:
        for ocr in ocr_conditions(manifest):
            test_top1, pred = gathered.link(row["method"], row["model"], row["w"], ocr, "test")
            val_top1, _ = gathered.link(row["method"], row["model"], row["w"], ocr, "val")
            results.append({"method": row["method"], "ocr": ocr, "w": row["w"], "top1": test_top1,
                            "val_top1": val_top1})  # fmt: skip
            predictions.append(pred.assign(method=row["method"], ocr=ocr))
    if tuned_model in embeddings_ids:
        method = f"{tuned_model}_tuned_w"
        for ocr in ocr_conditions(manifest):
            w_best, val_top1 = pooling.tune_w(lambda w, ocr=ocr: gathered.link(method, tuned_model, w, ocr, "val")[0])
            test_top1, pred = gathered.link(method, tuned_model, w_best, ocr, "test")
            results.append({"method": method, "ocr": ocr, "w": w_best, "top1": test_top1, "val_top1": val_top1})
            predictions.append(pred.assign(method=method, ocr=ocr))
    return pd.DataFrame(results), pd.concat(predictions)


def write_tables(results: pd.DataFrame, predictions: pd.DataFrame, top1_path, predictions_path, log) -> None:
    """Log each row's top-1 and write the top-1 table and the predictions (link_records and gather_links alike)."""
    for row in results.itertuples():
        log.info("%s %s (w=%.2f): test top-1 %.4f, val %.4f", row.method, row.ocr, row.w, row.top1, row.val_top1)
    with atomic_path(top1_path) as tmp:
        results.to_csv(tmp, index=False, float_format="%.6f")
    with atomic_path(predictions_path) as tmp:
        predictions.to_csv(tmp, index=False, float_format="%.6f")
