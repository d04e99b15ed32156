"""The pooling weight chosen on validation: the paper tunes w of ``normalize(w * img + (1 - w) * txt)`` on the
validation queries; the workflow reports that row beside the fixed-w ones."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

W_GRID = np.round(np.linspace(0.0, 1.0, 11), 2)


def tune_w(val_top1: Callable[[float], float], grid=W_GRID) -> tuple[float, float]:
    """(w, its validation top-1): the grid's w with the best validation top-1, a tie going to the smaller w."""
    scores = [val_top1(float(w)) for w in grid]
    best = int(np.argmax(scores))
    return float(grid[best]), scores[best]
