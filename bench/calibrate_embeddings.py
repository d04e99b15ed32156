"""Calibrate the scaling benchmark's generated embeddings against a trained model's real test embeddings.

Compares the distributions of each test query's best reference similarity, second best and the gap between them
(bench/scaling_data.similarity_statistics) with those of generated sets of the same size over a grid of
generator settings, and writes the comparison to results/benchmarks/scaling_calibration.{md,json}. The chosen
settings are then fixed by hand in bench/scaling.yaml (``embeddings:``): the benchmark never recalibrates itself.

Usage:  python bench/calibrate_embeddings.py [--results results] [--dataset jp_firms] [--model sup_multimodal]
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow_scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import scaling_data  # noqa: E402

GRID = {"spectrum_decay": [20.0], "cluster_size": [5, 20], "reference_spread": [0.5, 0.7, 0.9, 1.1],
        "query_noise": [0.3, 0.4, 0.5], "query_noise_sigma": [0.5, 0.7, 0.9]}


def real_statistics(results: Path, dataset: str, model: str, w: float, ocr: str) -> tuple[dict, dict]:
    from clippings_wf.models import embedding, embedding_files
    from clippings_wf.records import read_manifest

    manifest = read_manifest(results / dataset / "data" / "manifest.csv").set_index("record_id")
    data = embedding_files.load_embeddings(results / dataset / "embeddings" / f"{model}.npz")
    records = manifest.loc[data["record_id"]].reset_index()
    emb = embedding.pooled(data["image"], data[f"text_{ocr}"], w)
    queries, refs = embedding.evaluation_indices(records, "test")
    centred = emb[refs] - emb[refs].mean(0)
    eigen = np.linalg.eigvalsh(np.cov(centred.T))
    info = {"queries": len(queries), "references": len(refs),
            "participation_ratio": float(eigen.sum() ** 2 / (eigen**2).sum())}
    return scaling_data.similarity_statistics(emb[queries], emb[refs]), info


def distance(a: dict, b: dict) -> float:
    return float(sum(np.abs(np.subtract(a[k], b[k])).sum() for k in a))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", type=Path, default=REPO / "results", help="a default run's results folder")
    p.add_argument("--dataset", default="jp_firms")
    p.add_argument("--model", default="sup_multimodal")
    p.add_argument("--ocr", default="noisy")
    p.add_argument("--w", type=float, default=0.5)
    p.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks")
    args = p.parse_args(argv)
    real, info = real_statistics(args.results, args.dataset, args.model, args.w, args.ocr)
    base = yaml.safe_load((Path(__file__).parent / "scaling.yaml").read_text())["embeddings"]
    n = info["references"]
    tried = []
    for values in itertools.product(*GRID.values()):
        settings = {**base, **dict(zip(GRID, values))}
        refs, queries, _ = scaling_data.synthetic_embeddings(n, settings)
        stats = scaling_data.similarity_statistics(queries[: info["queries"] * 4], refs)
        tried.append({"settings": dict(zip(GRID, values)), "statistics": stats, "distance": distance(stats, real)})
    tried.sort(key=lambda t: t["distance"])
    configured = {k: base[k] for k in GRID}
    current = next((t for t in tried if t["settings"] == configured), None)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"real": {"source": f"{args.dataset}/{args.model}, w={args.w}, {args.ocr} OCR", **info,
                       "statistics": real}, "best": tried[0], "configured": current, "grid": GRID}
    (args.out / "scaling_calibration.json").write_text(json.dumps(report, indent=1))
    (args.out / "scaling_calibration.md").write_text(markdown(report))
    print(markdown(report))


def markdown(report: dict) -> str:
    real = report["real"]
    lines = ["# Calibration of the scaling benchmark's generated embeddings", "",
             f"Real: {real['source']}, {real['queries']} test queries against {real['references']} references "
             f"(participation ratio of the references {real['participation_ratio']:.1f}). Generated: as many "
             "references, 4x as many queries, each setting of the grid; distance = sum of absolute differences of "
             "the quantiles below. Written by `bench/calibrate_embeddings.py`; the settings used are fixed in "
             "`bench/scaling.yaml`.", "",
             "| set | settings | distance | " + " | ".join(f"{k} q{int(q * 100)}" for k in ("best", "second", "gap")
                                                          for q in scaling_data.QUANTILES) + " |",
             "|---|---|---:|" + "---:|" * 15]

    def row(name, stats, settings="", dist=""):
        cells = " | ".join(f"{v:.3f}" for k in ("best", "second", "gap") for v in stats[k])
        return f"| {name} | {settings} | {dist} | {cells} |"

    lines.append(row("real", real["statistics"]))
    for name in ("best", "configured"):
        t = report[name]
        if t:
            lines.append(row(f"generated ({name})", t["statistics"],
                             ", ".join(f"{k}={v}" for k, v in t["settings"].items()), f"{t['distance']:.3f}"))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
