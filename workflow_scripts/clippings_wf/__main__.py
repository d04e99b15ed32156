"""``python -m clippings_wf link|cluster ...``: the same command as the ``clippings`` console script."""

import sys

from clippings_wf.cli import run

sys.exit(run())
