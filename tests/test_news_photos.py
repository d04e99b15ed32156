"""news_wire's photographs: the pictures install.sh provides, the sources cut from them and their printings."""

import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clippings_wf.data import photos

SIZES = [(1600, 1000), (1067, 1600), (1600, 1200)]


def _png(img):
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def source():
    """A source cut from a real picture, small enough to keep the tests fast."""
    picture = photos.load_picture(photos.PICTURES[0], max_side=400)
    return photos.source_image(picture, (60, 40, 260, 200))


def test_pictures_are_unique_and_installed():
    assert len(photos.PICTURES) >= 20
    assert len({p.name for p in photos.PICTURES}) == len(photos.PICTURES)
    resolved = [Path(p.path).resolve() for p in photos.PICTURES]  # the plasma sizes are symlinks to one file
    assert len(set(resolved)) == len(photos.PICTURES)
    for picture in photos.PICTURES:
        assert Path(picture.path).is_file(), f"{picture.path}: run install.sh (apt-get install {picture.package})"
        assert picture.licence and picture.author


def test_load_picture_is_gray_and_bounded():
    img = photos.load_picture(photos.PICTURES[-1], max_side=300)
    assert img.mode == "L" and max(img.size) <= 300 and max(img.size) >= 299


def test_missing_picture_names_its_package():
    fake = photos.Picture("Nowhere", "fake-wallpapers", "/nonexistent/Nowhere.jpg", "GPL-2+", "nobody")
    with pytest.raises(FileNotFoundError, match=r"apt-get install fake-wallpapers"):
        photos.load_picture(fake)


def test_sources_are_spread_evenly():
    cuts = photos.cut_sources(SIZES, 10, np.random.default_rng(0))
    counts = np.bincount([i for i, _ in cuts], minlength=len(SIZES))
    assert counts.sum() == 10 and counts.max() - counts.min() <= 1


@pytest.mark.parametrize("seed", range(5))
def test_boxes_hold_their_bounds(seed):
    cuts = photos.cut_sources(SIZES, 30, np.random.default_rng(seed))  # 10 a picture: no relaxation needed
    for i, (left, top, right, bottom) in cuts:
        width, height = SIZES[i]
        assert 0 <= left < right <= width and 0 <= top < bottom <= height
        assert 0.67 <= (right - left) / (bottom - top) <= 1.5
        short = min(right - left, bottom - top)
        assert math.ceil(0.25 * min(SIZES[i])) <= short <= 0.5 * min(SIZES[i])
    _assert_overlap_at_most(cuts, 0.3)


def test_crowded_picture_keeps_the_overlap_bound():
    cuts = photos.cut_sources([(400, 300)], 60, np.random.default_rng(0), max_overlap=0.1)
    assert len(cuts) == 60
    _assert_overlap_at_most(cuts, 0.1)


def test_impossible_request_is_refused():
    with pytest.raises(ValueError, match="fewer sources per picture"):
        photos.cut_sources([(100, 100)], 200, np.random.default_rng(0), max_overlap=0.0)


def _assert_overlap_at_most(cuts, max_overlap):
    for a, (i, box_a) in enumerate(cuts):
        for j, box_b in cuts[a + 1 :]:
            assert i != j or photos._iou(box_a, box_b) <= max_overlap


def test_source_image_has_the_long_side():
    img = photos.load_picture(photos.PICTURES[1], max_side=400)
    assert max(photos.source_image(img, (10, 20, 110, 170)).size) == 256


def test_same_seed_same_sources_and_printings(source):
    def run(seed):
        rng = np.random.default_rng(seed)
        cuts = photos.cut_sources(SIZES, 9, rng)
        printings = [photos.print_photo(source, rng) for _ in range(10)]
        return cuts, [(_png(img), names) for img, names in printings]

    assert run(3) == run(3)


def test_every_degradation_appears(source):
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(100):
        img, names = photos.print_photo(source, rng)
        assert img.mode == "L" and 96 <= max(img.size) <= 192
        assert set(names) <= set(photos.DEGRADATIONS)
        seen.update(names)
    assert seen == set(photos.DEGRADATIONS)


def _difference(printed, source):
    """Mean absolute difference (0-255) from the source scaled to the printing's size."""
    reference = np.asarray(source.resize(printed.size, Image.Resampling.LANCZOS), dtype=float)
    return np.abs(np.asarray(printed, dtype=float) - reference).mean()


def test_printings_differ_from_the_source_and_each_other(source):
    rng = np.random.default_rng(1)
    (first, _), (second, _) = photos.print_photo(source, rng), photos.print_photo(source, rng)
    assert _png(first) != _png(second)
    assert _difference(first, source) > 5 and _difference(second, source) > 5


def test_strength_zero_is_nearly_the_source(source):
    rng = np.random.default_rng(2)
    gentle = [_difference(photos.print_photo(source, rng, strength=0.0)[0], source) for _ in range(20)]
    full = [_difference(photos.print_photo(source, rng, strength=1.0)[0], source) for _ in range(20)]
    assert max(gentle) < 2 and np.mean(full) > 10
