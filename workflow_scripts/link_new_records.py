"""Link new, unlabeled records to references with a trained model; writes matches.csv (README "Linking new records").

    .venv/bin/python workflow_scripts/link_new_records.py \
        --model results/jp_firms/models/sup_multimodal/model.pt \
        --queries new/queries.csv --references new/references.csv --out matches.csv \
        [--ocr-column text] [--w 0.5] [--top-k 5] \
        [--threshold 0.8 | --thresholds results/jp_firms/nomatch/thresholds.csv [--method sup_multimodal] [--ocr noisy]]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clippings_wf.data.user_manifest import ManifestError  # noqa: E402

log = logging.getLogger("link_new_records")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, type=Path, help="a trained model.pt from results/<dataset>/models/")
    parser.add_argument("--queries", required=True, type=Path, help="manifest (CSV or Parquet) of the new records")
    parser.add_argument("--references", required=True, type=Path, help="manifest of the records to link them to")
    parser.add_argument("--out", required=True, type=Path, help="matches.csv to write")
    parser.add_argument("--ocr-column", help="OCR text column of both manifests (default: run Tesseract)")
    parser.add_argument("--lang", default="jpn", help="Tesseract language for horizontal crops (default jpn)")
    parser.add_argument("--lang-vertical", default="jpn_vert", help="Tesseract language for vertical crops")
    parser.add_argument("--w", type=float, help="image weight of the pooled embedding (default: the model's own)")
    parser.add_argument("--top-k", type=int, default=5, help="alternatives listed per query (default 5)")
    no_match = parser.add_mutually_exclusive_group()
    no_match.add_argument("--threshold", type=float, help="no-match when the best similarity is below this")
    no_match.add_argument("--thresholds", type=Path, help="the workflow's results/<dataset>/nomatch/thresholds.csv")
    parser.add_argument("--method", help="row of --thresholds (default: the model's folder name, e.g. sup_multimodal)")
    parser.add_argument("--ocr", default="noisy", help="OCR condition row of --thresholds (default noisy)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--workers", type=int, default=1, help="processes for OCR and image loading")
    parser.add_argument("--max-ocr-chars", type=int, default=256, help="longer OCR texts are cut (counted, logged)")
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error("--top-k must be at least 1")
    if args.w is not None and not 0.0 <= args.w <= 1.0:
        parser.error("--w must be between 0 and 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    import torch

    from clippings_wf.linking import matching
    from clippings_wf.models import artifacts
    from clippings_wf.models import modeling

    threshold = args.threshold
    if args.thresholds is not None:
        method = args.method or args.model.resolve().parent.name
        threshold = matching.read_threshold(args.thresholds, method, args.ocr)
        log.info("no-match threshold %.4f (%s, %s OCR, from %s)", threshold, method, args.ocr, args.thresholds)
    elif threshold is None:
        log.info("no threshold given: no query is flagged as a no-match")

    device = modeling.pick_device(args.device)
    bundle = artifacts.load_artifact(args.model, device=device)
    w = args.w if args.w is not None else float(bundle.extra.get("w", 0.5))
    if bundle.channels == 1 and device.type == "cpu":
        bundle.model.visual.to(memory_format=torch.channels_last)
    log.info("model %s (%s) on %s, w = %.2f", args.model, bundle.architecture, device, w)

    embeddings, ids = {}, {}
    for name, path in (("references", args.references), ("queries", args.queries)):
        records = matching.load_records(path, args.ocr_column, args.lang, args.lang_vertical, args.max_ocr_chars,
                                        workers=args.workers)  # fmt: skip
        log.info("%s: %d records from %s", name, len(records), path)
        embeddings[name] = matching.embed(bundle, records, w, device, args.batch_size, workers=args.workers)
        ids[name] = records["record_id"].to_numpy()
    matches = matching.match(embeddings["queries"], embeddings["references"], ids["queries"], ids["references"],
                             top_k=args.top_k, threshold=threshold)  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    matches.to_csv(tmp, index=False, float_format="%.6f", lineterminator="\n")
    tmp.replace(args.out)  # a half-written matches.csv is never left behind
    log.info("%d queries linked, %d flagged no-match: %s", len(matches), int(matches["no_match"].sum()), args.out)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ManifestError, ValueError, FileNotFoundError) as e:
        logging.getLogger("link_new_records").error("%s", e)
        sys.exit(1)
