"""Link new, unlabeled records to references with a trained model; writes matches.csv (README "Using a trained
model"). Kept for existing scripts: it is ``clippings link`` (clippings_wf/cli.py), with the same options.

    .venv/bin/python workflow_scripts/link_new_records.py \
        --model results/jp_firms/models/sup_multimodal/model.pt \
        --queries new/queries.csv --references new/references.csv --out matches.csv \
        [--ocr-column text] [--w 0.5] [--top-k 5] \
        [--threshold 0.8 | --thresholds results/jp_firms/nomatch/thresholds.csv [--method sup_multimodal] [--ocr noisy]]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clippings_wf import cli  # noqa: E402


def main(argv=None) -> int:
    """``clippings link`` with these arguments; errors propagate (the tests expect them)."""
    return cli.main(["link", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(cli.run(["link", *sys.argv[1:]]))
