# CLIPPINGS (Arora, Yang, Jheng, Dell; arXiv 2304.03464) as a workflow: data, OCR, baselines,
# pretraining, fine-tuning, embedding, linking, evaluation, report. See README.md.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


# The image every job runs in under --sdm apptainer (docs/deployment.md, "Container"), from config key
# `container`; before the includes, since a global container reaches only the rules defined after it. Unset (""):
# no container.
if config.get("container"):

    container: config["container"]


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/ocr.smk"
include: "rules/baselines.smk"
include: "rules/pretrain.smk"
include: "rules/finetune.smk"
include: "rules/embed.smk"
include: "rules/link.smk"
include: "rules/nomatch.smk"
include: "rules/cluster.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/export.smk"
include: "rules/bench.smk"


rule all:
    default_target: True
    input:
        all_targets(),
