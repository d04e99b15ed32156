"""The code passes the linter configured in pyproject.toml (ruff: pyflakes, pycodestyle, bugbear)."""

import subprocess
import sys
from pathlib import Path

from helpers import REPO


def test_ruff_is_clean():
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run([str(ruff), "check", "--output-format", "concise", "."], cwd=REPO, capture_output=True,
                            text=True)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
