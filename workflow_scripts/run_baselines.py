"""Snakemake step: string-matching baselines (top-1 per method and OCR condition, plus per-query predictions)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)  # noqa: F821


from clippings_wf.runtime.atomic import atomic_path  # noqa: E402
from clippings_wf.baselines.linking_rows import run_baselines  # noqa: E402
from clippings_wf.records import read_manifest  # noqa: E402

manifest = read_manifest(snakemake.input.manifest)  # noqa: F821
summary, predictions = run_baselines(
    manifest,
    methods=list(snakemake.params.methods),  # noqa: F821
    ocr_columns=snakemake.params.get("ocr_columns"),  # noqa: F821  (default: the manifest's OCR conditions)
    tfidf_ngram_ranges=[tuple(r) for r in snakemake.params.tfidf_ngram_ranges],  # noqa: F821
    workers=snakemake.threads,  # noqa: F821
    return_predictions=True,
)
with atomic_path(snakemake.output.top1) as tmp:  # noqa: F821
    summary.to_csv(tmp, index=False, lineterminator="\n")
with atomic_path(snakemake.output.predictions) as tmp:  # noqa: F821
    predictions.to_csv(tmp, index=False, lineterminator="\n")
