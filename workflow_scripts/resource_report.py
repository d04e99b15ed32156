"""Snakemake step: peak memory of every benchmarked job of this run against its rule's declared mem_mb."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)  # noqa: F821

import logging  # noqa: E402

from clippings_wf.runtime import atomic
from clippings_wf.reporting import resources  # noqa: E402

table = resources.memory_table(snakemake.params.benchmarks, snakemake.params.declared)  # noqa: F821
over = table[~table["within"]]
for row in over.itertuples():
    logging.warning("%s peaked at %.0f MB, above its rule's mem_mb %s", row.job, row.max_rss_mb, row.mem_mb_declared)
with atomic.atomic_path(snakemake.output.csv) as tmp:  # noqa: F821
    table.to_csv(tmp, index=False, lineterminator="\n")
atomic.write_text(snakemake.output.md, resources.to_markdown(table))  # noqa: F821
