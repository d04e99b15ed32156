"""Snakemake step: synthetic views of training-split and newly generated names, each OCR'd (views.parquet)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)  # noqa: F821

import logging  # noqa: E402

from clippings_wf.records import read_records  # noqa: E402
from clippings_wf.data.leakage import check_no_leakage  # noqa: E402
from clippings_wf.data.synthetic import generate_synthetic_views  # noqa: E402

settings = dict(snakemake.params.synthetic)  # noqa: F821
ocr_settings = dict(snakemake.params.ocr)  # noqa: F821
records = read_records(snakemake.input.records)  # noqa: F821
labelled = records[records["entity_id"] != ""]
train_names = labelled.loc[labelled["split"] == "train", "base_name"].unique().tolist()
forbidden = labelled.loc[labelled["split"].isin(["val", "test"]), "base_name"].unique().tolist()
views = generate_synthetic_views(
    train_base_names=train_names,
    n_extra_names=int(settings["n_extra_names"]),
    views_per_name=int(settings["views_per_name"]),
    forbidden_base_names=forbidden,
    seed=int(settings["seed"]),
    ocr_lang=ocr_settings["lang"],
    ocr_lang_vertical=ocr_settings["lang_vertical"],
    workers=snakemake.threads,  # noqa: F821
    literal_names=bool(snakemake.params.get("literal_names", False)),  # noqa: F821
    language=snakemake.params.language,  # noqa: F821
)
check_no_leakage(records, views)
views.to_parquet(snakemake.output.views, index=False)  # noqa: F821
logging.info("%d views of %d names (%d from the training split)", len(views), views["name_id"].nunique(),
             len(train_names))
