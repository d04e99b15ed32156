"""Is the frozen recognizer worth quantizing? onnxruntime int8 dynamic quantization of the PP-OCR line encoder
against its float32 graph: the encoder's throughput, and the default model's top-1 when its image tower reads
int8 features (everything else as the workflow runs it). Kept only if top-1 stays within 0.5 points.

Needs a default run (results/jp_firms: manifest, the trained sup_multimodal model and its embeddings, whose text
embeddings are reused: the text tower does not read the recognizer). Writes results/benchmarks/recognizer_int8.md.

Usage:  python bench/recognizer_int8.py [--results results] [--threads 2]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow_scripts"))

TOLERANCE = 0.005  # top-1 may drop by at most half a point


def sessions(threads: int) -> dict:
    """float32 and int8 onnxruntime sessions of the recognizer graph the workflow runs (features as an output)."""
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from clippings_wf.ocr import recognizer

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    model = recognizer.load_onnx()
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(model, str(fp32))
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
        return {name: onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                for name, path in (("float32", fp32), ("int8", int8))}


def features(session, paths, width: int, batch: int = 64) -> tuple[np.ndarray, float]:
    """Features float16 [N, width / 8, 120] of the crops, and the seconds the encoder took (reading excluded)."""
    from clippings_wf.ocr import recognizer

    out = np.zeros((len(paths), width // recognizer.STRIDE, recognizer.FEATURE_DIM), np.float16)
    names = [o.name for o in session.get_outputs()]
    seconds = 0.0
    for lo in range(0, len(paths), batch):
        x = np.stack([recognizer.prepare_line(p, width) for p in paths[lo : lo + batch]])
        start = time.perf_counter()
        out[lo : lo + len(x)] = session.run(names, {"x": x})[1]
        seconds += time.perf_counter() - start
    return out, seconds


def top1_with(feats, keys, model_path, records, manifest_dir, text_emb, w: float, threads: int):
    """Test top-1 (and per-query hits) of the model whose image tower reads ``feats``, pooled with ``text_emb``."""
    import torch

    from clippings_wf.models import artifacts, embedding
    from clippings_wf.models.feature_cache import FeatureCache

    torch.set_num_threads(threads)
    bundle = artifacts.load_artifact(model_path, device=torch.device("cpu"))
    bundle.feature_cache = FeatureCache(keys, feats)
    encoded = embedding.encode_records(bundle, records, manifest_dir, ocr_columns=[])
    image, _ = embedding.embed_arrays(bundle, encoded.crops, None, 256, torch.device("cpu"), desc="image")
    pooled = embedding.pooled(image, text_emb, w)
    queries, refs = embedding.evaluation_indices(records, "test")
    entities = records["entity_id"].to_numpy()
    _, best, _ = embedding.top1_from_embeddings(pooled[queries], pooled[refs], entities[queries], entities[refs])
    return entities[refs][best] == entities[queries]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", type=Path, default=REPO / "results")
    p.add_argument("--dataset", default="jp_firms")
    p.add_argument("--model", default="sup_multimodal")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks" / "recognizer_int8.md")
    args = p.parse_args(argv)
    load_start = os.getloadavg()
    import onnxruntime

    from clippings_wf.evaluation.intervals import paired_bootstrap_diff
    from clippings_wf.models import embedding, embedding_files, tower_kinds
    from clippings_wf.models.artifacts import read_checkpoint
    from clippings_wf.records import read_manifest, resolve_image_paths

    data_dir = args.results / args.dataset / "data"
    model_path = args.results / args.dataset / "models" / args.model / "model.pt"
    saved = embedding_files.load_embeddings(args.results / args.dataset / "embeddings" / f"{args.model}.npz")
    manifest = read_manifest(data_dir / "manifest.csv").set_index("record_id")
    records = manifest.loc[saved["record_id"]].reset_index()
    architecture = read_checkpoint(model_path)["architecture"]
    width = tower_kinds.line_width(architecture)
    w = 0.5
    paths = [str(p) for p in resolve_image_paths(records, data_dir)]
    rows, hits = [], {}
    for name, session in sessions(args.threads).items():
        feats, seconds = features(session, paths, width)
        hits[name] = top1_with(feats, records["record_id"].tolist(), model_path, records, data_dir,
                               saved["text_noisy"], w, args.threads)
        rows.append((name, len(paths) / seconds, hits[name].mean()))
        print(name, rows[-1], flush=True)
    test_queries, _ = embedding.evaluation_indices(records, "test")
    diff, low, high = paired_bootstrap_diff(hits["int8"], hits["float32"], records["entity_id"].to_numpy()[test_queries])
    drop = -diff
    keep = drop <= TOLERANCE
    lines = ["# The frozen recognizer in int8 (onnxruntime dynamic quantization)", "",
             f"Generated by `python bench/recognizer_int8.py {' '.join(sys.argv[1:])}` on "
             f"{time.strftime('%Y-%m-%d %H:%M %Z')}; onnxruntime {onnxruntime.__version__}, {args.threads} threads, "
             f"CPU. Records: {args.dataset}'s {len(paths):,} evaluation records; top-1: {args.model} ({architecture}), "
             f"w = {w}, noisy OCR, {len(hits['int8']):,} test queries, its image tower reading the features below "
             "(text embeddings from the run).", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; "
             f"load average (1, 5, 15 min) at the start {', '.join(f'{x:.2f}' for x in load_start)}, at the end "
             f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}.", "",
             "| encoder | crops/s (encoder only) | test top-1 |", "|---|---:|---:|"]
    lines += [f"| {name} | {rate:,.1f} | {top1:.4f} |" for name, rate, top1 in rows]
    lines += ["", f"int8 - float32 top-1: {-drop:+.4f} (95% paired bootstrap interval over test entities "
              f"[{low:+.4f}, {high:+.4f}]); speed-up {rows[1][1] / rows[0][1]:.2f}x. Verdict: "
              + (f"within {TOLERANCE * 100:g} point{'s' if TOLERANCE != 0.01 else ''} of float32: int8 is an option "
                 "worth its speed." if keep else f"top-1 drops by more than {TOLERANCE * 100:g} points: not kept.")
              + " The workflow itself runs float32.", ""]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
