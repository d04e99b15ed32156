import numpy as np
import pytest

from clippings_wf.evaluation.pooling import W_GRID, tune_w


def test_tune_w_picks_the_best_validation_w():
    w, top1 = tune_w(lambda w: 1 - abs(w - 0.7))
    assert w == pytest.approx(0.7) and top1 == pytest.approx(1.0)


def test_tune_w_breaks_ties_towards_the_smaller_w_and_scores_every_grid_point():
    seen = []

    def val_top1(w):
        seen.append(w)
        return 0.5 if w >= 0.3 else 0.4

    assert tune_w(val_top1) == (pytest.approx(0.3), 0.5)
    assert np.allclose(seen, W_GRID) and len(W_GRID) == 11 and W_GRID[0] == 0 and W_GRID[-1] == 1
