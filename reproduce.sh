#!/usr/bin/env bash
# The whole default reproduction on one machine: install, run the workflow, build the HTML report.
# Extra arguments go to snakemake (e.g. `bash reproduce.sh --configfile my.yaml`).
set -euo pipefail
cd "$(dirname "$0")"
bash install.sh
.venv/bin/snakemake --workflow-profile profiles/default "$@"
.venv/bin/snakemake --workflow-profile profiles/default --report results/report.html "$@"
echo "done: results/*/tables/main_results.md and results/report.html"
