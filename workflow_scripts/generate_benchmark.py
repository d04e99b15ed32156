"""Snakemake step: render the generated benchmark (records.csv, images/, clean_images/)."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)  # noqa: F821

import logging  # noqa: E402
from pathlib import Path  # noqa: E402

from clippings_wf.data.benchmark import generate_benchmark  # noqa: E402
from clippings_wf.data.leakage import check_no_leakage  # noqa: E402
from clippings_wf.data.news_wire import generate_news_wire  # noqa: E402

settings = dict(snakemake.params.generate)  # noqa: F821
out_dir = Path(snakemake.output.records).parent  # noqa: F821
if settings["generator"] == "news_wire":
    records = generate_news_wire(
        out_dir=out_dir,
        n_entities=int(settings["n_entities"]),
        printings_per_source=tuple(settings["printings_per_source"]),
        split_fractions=dict(settings["split"]),
        n_pool=int(settings["n_pool"]),
        print_strength=float(settings["print_strength"]),
        edit_strength=float(settings["edit_strength"]),
        shared_event_prob=float(settings["shared_event_prob"]),
        seed=int(settings["seed"]),
    )
else:
    records = generate_benchmark(
        out_dir=out_dir,
        n_entities=int(settings["n_entities"]),
        distractor_fraction=float(settings["distractor_fraction"]),
        queries_per_entity=tuple(settings["queries_per_entity"]),
        split_fractions=dict(settings["split"]),
        n_pool=int(settings["n_pool"]),
        vertical_fraction=float(settings["vertical_fraction"]),
        old_form_prob=float(settings["old_form_prob"]),
        seed=int(settings["seed"]),
        language=settings["language"],
        shift=bool(settings.get("shift", False)),
    )
check_no_leakage(records)
logging.info("%d records: %s", len(records), records.groupby(["split", "role"]).size().to_dict())
