"""The synthetic training pool (data/synthetic.py) never holds a validation or test name, even where the name
generator proposes one: a vocabulary of two names and a seed that draws the held-out one first force the collision
that the exclusion must refuse."""

import numpy as np
import pytest

from clippings_wf.data import names
from clippings_wf.data import vocab_ja
from clippings_wf.data.synthetic import generate_synthetic_views

HEAD, INDUSTRIES = "東京", ("電気", "電機")
HELD_OUT, ALLOWED = HEAD + INDUSTRIES[0], HEAD + INDUSTRIES[1]  # 東京電気 (a validation or test name), 東京電機


@pytest.fixture
def two_name_vocabulary(monkeypatch):
    """The Japanese name generator spells 東京電気 and 東京電機 only (one head, two industry words, no modifier)."""
    monkeypatch.setattr(names, "heads", lambda: (HEAD,))
    monkeypatch.setattr(vocab_ja, "INDUSTRY_WORDS", INDUSTRIES)
    monkeypatch.setattr(vocab_ja, "MODIFIERS", ("",))


def seed_drawing_first(name: str) -> int:
    """A seed whose first name from the unrestricted generator is ``name``."""
    return next(s for s in range(100) if names.generate_base_names(1, np.random.default_rng(s)) == [name])


@pytest.mark.parametrize("written", [HELD_OUT, "東京電氣"], ids=["modern", "old_form"])
def test_pool_never_holds_a_held_out_name_the_generator_draws(two_name_vocabulary, written):
    seed = seed_drawing_first(HELD_OUT)  # without the exclusion, the pool's first extra name is the held-out one
    views = generate_synthetic_views([], n_extra_names=1, views_per_name=1, forbidden_base_names=[written], seed=seed)
    assert list(views["base_name"]) == [ALLOWED]


def test_training_names_that_are_held_out_are_left_out_too(two_name_vocabulary):
    views = generate_synthetic_views([HELD_OUT, ALLOWED], n_extra_names=0, views_per_name=1,
                                     forbidden_base_names=["東京電氣"], seed=0)  # fmt: skip
    assert list(views["base_name"]) == [ALLOWED]
