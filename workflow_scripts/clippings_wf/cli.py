"""The ``clippings`` command (also ``python -m clippings_wf``): a thin layer over clippings_wf.api.

    clippings link --model results/jp_firms/export/sup_multimodal --queries new/queries.csv \\
        --references new/references.csv --save-index refs.npz --out matches.csv --ocr-column text
    clippings link --model results/jp_firms/export/sup_multimodal --queries more.csv --index refs.npz --out m2.csv
    clippings cluster --model results/jp_firms/export/sup_multimodal --records new/records.csv \\
        --out clusters.csv --dedup
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger("clippings")


def threshold_value(text: str):
    """--threshold: a number, "tuned" (the bundle's) or "none" (no threshold)."""
    if text.lower() in ("tuned", "none"):
        return text.lower()
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number, 'tuned' or 'none': {text!r}") from None


def _model_options(parser: argparse.ArgumentParser) -> None:
    """Options every subcommand shares: the model, how records are read and embedded, where it runs."""
    parser.add_argument("--model", required=True, type=Path,
                        help="an exported bundle folder (results/<dataset>/export/<model>/, with the tuned "
                             "thresholds) or a bare model.pt (then give --threshold)")  # fmt: skip
    parser.add_argument("--ocr-column", help="OCR text column of the manifests (default: Tesseract reads the crops)")
    parser.add_argument("--lang", help="Tesseract language of horizontal crops (default: the bundle's, else jpn)")
    parser.add_argument("--lang-vertical", help="Tesseract language of vertical crops (default: the bundle's, else "
                                                "jpn_vert)")  # fmt: skip
    parser.add_argument("--w", type=float, help="image weight of the pooled embedding (default: the bundle's, else "
                                                "the model's own)")  # fmt: skip
    parser.add_argument("--ocr", default="noisy", choices=["noisy", "clean"],
                        help="OCR condition whose tuned threshold applies (default noisy: Tesseract on real scans)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                        help="where the model runs (default auto: a GPU where there is one)")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=512, help="records embedded per batch (default 512)")
    parser.add_argument("--workers", type=int, default=1, help="processes for OCR and image loading (default 1)")
    parser.add_argument("--max-ocr-chars", type=int, default=256,
                        help="longer OCR texts are cut (counted, logged; default 256)")
    parser.add_argument("--image-root", action="append", default=[], type=Path, dest="image_roots",
                        help="a folder image paths may lead into besides the manifest's own (repeatable; others "
                        "are refused naming the record)")  # fmt: skip
    parser.add_argument("--max-image-pixels", type=int, dest="max_pixels",
                        help="largest image (width x height) accepted (default PIL's 89478485)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clippings", description="Link and cluster new records with a trained "
                                     "CLIPPINGS model (README 'Using a trained model').")  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True, metavar="{link,cluster}")
    link = commands.add_parser("link", help="link queries to references; writes matches.csv",
                               description="Link each query to its nearest references; writes matches.csv.")
    _model_options(link)
    link.add_argument("--queries", type=Path, help="manifest (CSV or Parquet) of the new records to link")
    refs = link.add_mutually_exclusive_group(required=True)
    refs.add_argument("--references", type=Path, help="manifest of the records to link them to")
    refs.add_argument("--index", type=Path, help="a reference index saved by --save-index (same model)")
    link.add_argument("--save-index", type=Path, help="save the embedded --references here (.npz), for --index")
    link.add_argument("--out", type=Path, help="matches.csv to write (needed with --queries)")
    link.add_argument("--top-k", type=int, default=5, help="alternatives listed per query (default 5)")
    no_match = link.add_mutually_exclusive_group()
    no_match.add_argument("--threshold", type=threshold_value,
                          help="no-match below this similarity; 'tuned' (the bundle's) or 'none' (default: tuned "
                               "where the bundle has one, else none)")  # fmt: skip
    no_match.add_argument("--thresholds", type=Path,
                          help="the workflow's results/<dataset>/nomatch/thresholds.csv (instead of the bundle's)")
    link.add_argument("--method", help="row of --thresholds (default: the bundle's method, else the model's folder "
                                       "name, e.g. sup_multimodal)")  # fmt: skip
    cluster = commands.add_parser("cluster", help="cluster (or deduplicate) records; writes clusters.csv",
                                  description="Single-linkage clusters of the records; writes clusters.csv.")
    _model_options(cluster)
    cluster.add_argument("--records", required=True, type=Path, help="manifest (CSV or Parquet) of the records")
    cluster.add_argument("--out", required=True, type=Path, help="clusters.csv to write")
    cluster.add_argument("--threshold", type=threshold_value, default="tuned",
                         help="similarity at which records join a cluster (default tuned: the bundle's)")
    cluster.add_argument("--neighbours", type=int,
                         help="nearest neighbours per record in the graph (default: the bundle's, else 50)")
    cluster.add_argument("--dedup", action="store_true",
                         help="add cluster_size, representative_id (each cluster's first record), is_duplicate")
    return parser


def parse_args(argv=None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.w is not None and not 0.0 <= args.w <= 1.0:
        parser.error("--w must be between 0 and 1")
    if args.command == "link":
        if args.top_k < 1:
            parser.error("--top-k must be at least 1")
        if args.save_index and args.references is None:
            parser.error("--save-index needs --references (an --index is already saved)")
        if (args.queries is None or args.out is None) and not (args.save_index and args.queries is None):
            parser.error("--queries and --out are needed (only --save-index may go without both)")
    elif args.threshold == "none":
        parser.error("cluster needs a threshold: a number or 'tuned'")
    return args


def _embed_options(args) -> dict:
    return {"ocr_column": args.ocr_column, "lang": args.lang, "lang_vertical": args.lang_vertical,
            "max_ocr_chars": args.max_ocr_chars, "workers": args.workers, "batch_size": args.batch_size,
            "image_roots": args.image_roots, "max_pixels": args.max_pixels}  # fmt: skip


def _link_threshold(args, model):
    """The no-match threshold: --thresholds' row, --threshold, or by default the bundle's tuned one if any."""
    from clippings_wf.linking import matching

    if args.thresholds is not None:
        method = args.method or model.info.get("method") or args.model.resolve().parent.name
        threshold = matching.read_threshold(args.thresholds, method, args.ocr)
        log.info("no-match threshold %.4f (%s, %s OCR, from %s)", threshold, method, args.ocr, args.thresholds)
        return threshold
    if args.threshold is None:  # the default: tuned where the bundle has a threshold for this OCR
        has_tuned = args.ocr in model.info.get("thresholds", {}).get("nomatch", {})
        args.threshold = "tuned" if has_tuned else "none"
    threshold = model.resolve_threshold(None if args.threshold == "none" else args.threshold, "nomatch", args.ocr)
    if threshold is None:
        log.info("no threshold: no query is flagged as a no-match")
    else:
        log.info("no-match threshold %.4f (%s)", threshold, args.threshold)
    return threshold


def write_csv(table, path: Path) -> None:
    """Written to a temporary file and renamed: a half-written table is never left behind."""
    from clippings_wf.runtime.atomic import atomic_path

    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f", lineterminator="\n")


def link(args) -> None:
    from clippings_wf import api
    from clippings_wf.linking import matching

    model = api.load_model(args.model, args.device, w=args.w)
    threshold = _link_threshold(args, model)
    options = _embed_options(args)
    references = model.load_index(args.index) if args.index else model.index(args.references, **options)
    if args.save_index:
        references.save(args.save_index)
        log.info("reference index of %d records saved: %s", len(references), args.save_index)
    if args.queries is None:
        return
    matches = model.link(args.queries, references, top_k=args.top_k, threshold=threshold, ocr=args.ocr, **options)
    write_csv(matches, args.out)
    entities = " (with reference_entity_id)" if matching.ENTITY_COLUMN in matches else ""
    log.info("%d queries linked, %d flagged no-match: %s%s", len(matches), int(matches["no_match"].sum()), args.out,
             entities)  # fmt: skip


def cluster(args) -> None:
    from clippings_wf import api

    model = api.load_model(args.model, args.device, w=args.w)
    run = model.deduplicate if args.dedup else model.cluster
    table = run(args.records, threshold=args.threshold, ocr=args.ocr, neighbours=args.neighbours,
                **_embed_options(args))  # fmt: skip
    write_csv(table, args.out)
    log.info("%d records in %d clusters: %s", len(table), table["cluster_id"].nunique(), args.out)


def main(argv=None) -> int:
    """Run a subcommand; errors propagate (``run`` turns them into a one-line message and exit status 1)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    {"link": link, "cluster": cluster}[args.command](args)
    return 0


def run(argv=None) -> int:
    """The console script: a bad input ends with its message on stderr and exit status 1, not a traceback."""
    from clippings_wf.data.user_manifest import ManifestError

    try:
        return main(argv)
    except (ManifestError, ValueError, FileNotFoundError) as e:
        logging.getLogger("clippings").error("%s", e)
        return 1
    except ModuleNotFoundError as e:  # an optional dependency of the model's towers or of OCR
        logging.getLogger("clippings").error("%s: install it (pip install %s), or run bash install.sh", e, e.name)
        return 1


if __name__ == "__main__":
    sys.exit(run())
