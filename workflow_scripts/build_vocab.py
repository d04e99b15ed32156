"""Snakemake step: the text tower's character vocabulary, from training OCR only (never validation or test)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

import logging

import pandas as pd

from clippings_wf.records import read_manifest
from clippings_wf.models.tokenizer import CharTokenizer

manifest = read_manifest(snakemake.input.manifest)
views = pd.read_parquet(snakemake.input.views, columns=["ocr"])
training_rows = manifest[manifest["split"].isin(["train", "pool"])]
texts = (
    views["ocr"].fillna("").tolist()
    + training_rows.get("ocr_noisy", pd.Series(dtype=str)).tolist()
    + training_rows.get("ocr_clean", pd.Series(dtype=str)).tolist()
)
tokenizer = CharTokenizer.build(texts)
tokenizer.save(snakemake.output.vocab)
logging.getLogger("build_vocab").info("%d characters from %d training texts", len(tokenizer.chars), len(texts))
