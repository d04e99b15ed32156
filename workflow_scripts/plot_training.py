"""Snakemake step: training curves of every stage."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)

from pathlib import Path

from clippings_wf.reporting import plots

curves = {Path(p).parent.name: p for p in snakemake.input.metrics}
plots.plot_training_curves(curves, Path(snakemake.output.png).with_suffix(""))
