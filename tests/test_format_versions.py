"""Saved models, embeddings files and feature caches carry a format version: a file of the current format loads,
one written before versions were recorded loads as the layout it has, and a newer or foreign one is refused with a
message naming both versions (never misread)."""

import numpy as np
import pytest
import torch

from clippings_wf.models import artifacts, embedding_files, feature_cache

from helpers import untrained_bundle


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    bundle = untrained_bundle()
    path = tmp_path_factory.mktemp("artifact") / "model.pt"
    artifacts.save_artifact(path, bundle.model, bundle.architecture, vocab=bundle.tokenizer, extra={"w": 0.5})
    return path


def _rewrite(path, dst, **changes):
    ckpt = torch.load(path, weights_only=True)
    for key, value in changes.items():
        if value is None:
            ckpt.pop(key)
        else:
            ckpt[key] = value
    torch.save(ckpt, dst)
    return dst


def test_artifact_records_its_format_and_loads(artifact):
    assert torch.load(artifact, weights_only=True)["format"] == artifacts.FORMAT
    assert artifacts.load_artifact(artifact).architecture == "clippings-linecnn-char"


def test_artifact_without_a_format_loads_as_format_1(artifact, tmp_path):
    legacy = _rewrite(artifact, tmp_path / "legacy.pt", format=None)
    before = artifacts.load_artifact(artifact).model.state_dict()
    after = artifacts.load_artifact(legacy).model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_artifact_of_another_format_is_refused_naming_both(artifact, tmp_path):
    newer = _rewrite(artifact, tmp_path / "newer.pt", format=artifacts.FORMAT + 1)
    with pytest.raises(ValueError, match=rf"format {artifacts.FORMAT + 1}.*reads format {artifacts.FORMAT}"):
        artifacts.load_artifact(newer)


def test_embeddings_round_trip_with_their_format(tmp_path):
    path = tmp_path / "m.npz"
    image, text = np.eye(3, dtype=np.float32), np.ones((3, 3), np.float32)
    embedding_files.save_embeddings(path, ["a", "b", "c"], image, {"noisy": text})
    with np.load(path) as raw:
        assert int(raw["format"]) == embedding_files.FORMAT
    loaded = embedding_files.load_embeddings(path)
    assert set(loaded) == {"record_id", "image", "text_noisy"}
    assert loaded["record_id"].tolist() == ["a", "b", "c"] and np.array_equal(loaded["text_noisy"], text)


def test_embeddings_without_a_format_load_and_of_another_format_are_refused(tmp_path):
    np.savez(tmp_path / "legacy.npz", record_id=np.array(["a"]), image=np.zeros((1, 2)), text_noisy=np.ones((1, 2)))
    assert embedding_files.load_embeddings(tmp_path / "legacy.npz")["text_noisy"].shape == (1, 2)
    np.savez(tmp_path / "newer.npz", format=np.array(7), record_id=np.array(["a"]), image=np.zeros((1, 2)))
    with pytest.raises(ValueError, match=rf"newer.npz has format 7, but this code reads format {embedding_files.FORMAT}"):
        embedding_files.load_embeddings(tmp_path / "newer.npz")


def test_feature_cache_of_another_format_is_refused_naming_both(tmp_path):
    feature_cache.save(tmp_path / "ok.npz", ["k1"], np.zeros((1, 4), np.float32), ["t"])
    assert feature_cache.FeatureCache.load([tmp_path / "ok.npz"]).take(["k1"]).shape == (1, 4)
    np.savez(tmp_path / "old.npz", keys=np.array(["k1"]), features=np.zeros((1, 4), np.float16))
    with pytest.raises(ValueError, match=rf"has format None, this code reads format {feature_cache.FORMAT}"):
        feature_cache.FeatureCache.load([tmp_path / "old.npz"])
