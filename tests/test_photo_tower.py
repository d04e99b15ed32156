"""The photo tower: its fixed front end (what a printing changes and what it keeps) and its head (an untrained
tower embeds a photo as its front-end features; it reads only those features)."""

import numpy as np
import pytest
import torch
from PIL import Image

from clippings_wf.data import photos
from clippings_wf.models import modeling, photo_encoder


def _photo(seed, size=(150, 120)):
    """A smooth random scene: blobs of light and dark, like a photo's low frequencies."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]] / 40.0
    field = sum(np.sin(rng.uniform(0.5, 2) * x + rng.uniform(0, 6)) * np.cos(rng.uniform(0.5, 2) * y + rng.uniform(0, 6))
                for _ in range(4))  # fmt: skip
    return Image.fromarray(np.uint8(127 + 30 * field))


def _cos(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_front_end_keeps_a_printing_close_to_its_source_and_far_from_another_scene():
    source, other = _photo(1), _photo(2)
    printed, _ = photos.print_photo(source, np.random.default_rng(0), strength=1.0)
    f_source, f_printed, f_other = (photo_encoder.photo_features(p) for p in (source, printed, other))
    assert f_source.shape == (photo_encoder.FEATURE_DIM,) and np.isclose(np.linalg.norm(f_source), 1, atol=1e-5)
    assert _cos(f_source, f_printed) > _cos(f_source, f_other) + 0.2
    faded = Image.fromarray(np.uint8(60 + 0.5 * np.asarray(source, dtype=np.float64)))  # grey ink on grey paper
    assert _cos(f_source, photo_encoder.photo_features(faded)) > 0.99  # a uniform contrast loss changes nothing
    flat = photo_encoder.photo_features(Image.new("L", (50, 40), 128))
    assert not flat.any()  # a photo without content has no layout, and no accidental direction


def test_encode_photos_matches_one_at_a_time_in_any_worker_count(tmp_path):
    paths = []
    for i in range(5):
        paths.append(tmp_path / f"p{i}.png")
        _photo(i).save(paths[-1])
    one = photo_encoder.encode_photos(paths, workers=1, chunk=2)
    two = photo_encoder.encode_photos(paths, workers=2, chunk=2)
    assert one.dtype == np.float16 and np.array_equal(one, two)
    assert np.allclose(one[3], photo_encoder.photo_features(paths[3]), atol=1e-3)


def test_untrained_photo_tower_embeds_a_photo_as_its_features_and_refuses_pixels():
    bundle = modeling.load_bundle("clippings-photo-char-en", "none", vocab=list("abc"))
    assert bundle.input_kind == "photo_features"
    features = torch.nn.functional.normalize(torch.randn(6, photo_encoder.FEATURE_DIM), dim=1)
    with torch.no_grad():
        emb = bundle.model.encode_image(features, normalize=True)
    assert torch.allclose(emb @ emb.T, features @ features.T, atol=1e-5)
    with pytest.raises(ValueError, match="front end's features"):
        bundle.model.encode_image(torch.zeros(2, 3, 32, 32))
