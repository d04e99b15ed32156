"""Snakemake step: the text tower's character vocabulary, from training OCR only (never validation or test)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import logging

import pandas as pd

from clippings_wf.records import read_manifest
from clippings_wf.models.tokenizer import CharTokenizer

manifest = read_manifest(snakemake.input.manifest)
# the synthetic renders' OCR too, where the records' kind has renders
views = pd.read_parquet(snakemake.input.views, columns=["ocr"]) if "views" in snakemake.input.keys() else None
training_rows = manifest[manifest["split"].isin(["train", "pool"])]
texts = (
    (views["ocr"].fillna("").tolist() if views is not None else [])
    + training_rows.get("ocr_noisy", pd.Series(dtype=str)).tolist()
    + training_rows.get("ocr_clean", pd.Series(dtype=str)).tolist()
)
tokenizer = CharTokenizer.build(texts)
tokenizer.save(snakemake.output.vocab)
logging.getLogger("build_vocab").info("%d characters from %d training texts", len(tokenizer.chars), len(texts))
