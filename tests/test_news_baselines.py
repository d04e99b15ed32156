"""The newspaper application's classical baselines: Jaccard of caption word sets (the paper's) and pHash of the
photos (image only), by hand; and the TF-IDF n-grams of a dataset evaluated by clustering alone, tuned by ARI."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageOps

from clippings_wf.baselines import image_hash
from clippings_wf.baselines.matchers import (
    baseline_similarity, baseline_top1, caption_words, select_tfidf_ngram_range_by_ari, tuned_options,
)  # fmt: skip
from clippings_wf.evaluation.clustering import ValidationClustering
from clippings_wf.evaluation.methods import baseline_scorers, image_hash_scorers

CAPTIONS = ["president washington", "the smith dog", "AP photo", "—"]


def test_caption_words_drop_ocr_punctuation_and_case():
    assert caption_words("WASH-ington, (AP)—Mrs. Smith's") == {"wash", "ington", "ap", "mrs", "smith", "s"}
    assert caption_words("!!! ...") == set() and caption_words("") == set()


def test_jaccard_words_by_hand():
    queries = ["The President, in Washington (AP)", "", "!!! ...", "Mrs. Smith's dog", "WASHINGTON President."]
    sim = baseline_similarity("jaccard_words", queries, CAPTIONS)
    assert sim.shape == (5, 4) and sim.dtype == np.float32
    # {the, president, in, washington, ap} against each caption: |A ∩ B| / (|A| + |B| - |A ∩ B|)
    np.testing.assert_allclose(sim[0], [2 / 5, 1 / 7, 1 / 6, 0.0], rtol=1e-6)
    assert np.all(sim[1] == 0) and np.all(sim[2] == 0)  # empty, and punctuation only (also against "—")
    # {mrs, smith, s, dog} against {the, smith, dog}: 2 / (4 + 3 - 2)
    np.testing.assert_allclose(sim[3], [0.0, 2 / 5, 0.0, 0.0], rtol=1e-6)
    assert sim[4, 0] == 1.0  # case and punctuation do not matter
    best, score = baseline_top1("jaccard_words", queries, CAPTIONS, chunk_size=2)
    assert best.tolist() == [0, 0, 0, 1, 0] and score[3] == pytest.approx(0.4)


def _picture(seed: int) -> Image.Image:
    """A 64 x 64 grayscale picture with coarse structure (what pHash sees): blurred random blocks."""
    blocks = np.random.default_rng(seed).integers(0, 256, size=(4, 4)).astype(np.uint8)
    return Image.fromarray(blocks, mode="L").resize((64, 64), Image.Resampling.BILINEAR)


def test_hamming_similarity_by_hand():
    a = np.zeros((2, 64), dtype=bool)
    a[1, :16] = True
    b = np.zeros((2, 64), dtype=bool)
    b[1, :8] = True
    b[1, 32:36] = True
    # a1 vs b1 differ in bits 8-15 and 32-35 (12); a0 vs b1 in 12; a1 vs b0 in 16
    expected = np.array([[1.0, 1 - 12 / 64], [1 - 16 / 64, 1 - 12 / 64]], dtype=np.float32)
    sim = image_hash.hamming_similarity(a, b)
    assert sim.dtype == np.float32
    np.testing.assert_array_equal(sim, expected)


def test_phash_of_identical_and_inverted_pictures(tmp_path):
    picture = _picture(0)
    paths = [tmp_path / "a.png", tmp_path / "a_copy.png", tmp_path / "a_inverted.png", tmp_path / "b.png"]
    picture.save(paths[0])
    picture.save(paths[1])
    ImageOps.invert(picture).save(paths[2])
    _picture(1).save(paths[3])
    bits = image_hash.phash_bits(paths, workers=2)
    assert bits.shape == (4, 64) and bits.dtype == bool
    sim = image_hash.hamming_similarity(bits, bits)
    assert sim[0, 1] == 1.0 and np.all(np.diag(sim) == 1.0)
    assert sim[0, 2] < 0.2  # inverting flips every frequency's sign: nearly every bit
    assert sim[0, 3] < 0.9


def test_image_hash_scorer_finds_each_photo_s_other_print(tmp_path):
    (tmp_path / "images").mkdir()
    rows = []
    for i in range(6):  # three photos, each printed twice (the second one slightly smaller)
        picture = _picture(i // 2)
        if i % 2:
            picture = picture.resize((60, 60), Image.Resampling.BILINEAR)
        picture.save(tmp_path / "images" / f"r{i}.png")
        rows.append({"record_id": f"r{i}", "entity_id": f"e{i // 2}", "role": "record", "split": "test",
                     "image_path": f"images/r{i}.png", "ocr_noisy": "x", "ocr_clean": "y"})  # fmt: skip
    manifest = pd.DataFrame(rows)
    scorers = list(image_hash_scorers(manifest, tmp_path))
    assert [(s.method, s.ocr, s.group) for s in scorers] == [
        ("phash", "noisy", "classical"),
        ("phash", "clean", "classical"),
    ]
    neighbours, sims = scorers[0].knn(np.arange(6), 2)
    assert neighbours[:, 0].tolist() == [1, 0, 3, 2, 5, 4]
    np.testing.assert_array_equal(scorers[1].knn(np.arange(6), 2)[1], sims)  # the photo does not read OCR
    best, score = scorers[0].top1(np.array([1, 3, 5]), np.array([0, 2, 4]))
    assert best.tolist() == [0, 1, 2] and score.shape == (3,)
    # the baselines' one entry point: string baselines first, then pHash, which needs the photos' folder
    none = np.array([], dtype=np.int64)
    listed = list(baseline_scorers(manifest, ["jaccard_words", "phash"], none, none, [[1, 2]], image_root=tmp_path))
    assert [(s.method, s.ocr) for s in listed] == [("jaccard_words", "noisy"), ("jaccard_words", "clean"),
                                                    ("phash", "noisy"), ("phash", "clean")]  # fmt: skip
    np.testing.assert_array_equal(listed[2].knn(np.arange(6), 2)[1], sims)
    with pytest.raises(ValueError, match="give image_root"):
        list(baseline_scorers(manifest, ["phash"], none, none, [[1, 2]]))


def _clustering_texts():
    """Two captions per wire story, differently garbled: 12 validation records of 6 entities."""
    stories = ["flood waters rise in ohio", "senator speaks at rally", "new bridge opens today",
               "fire destroys old mill", "team wins state title", "queen visits canada"]  # fmt: skip
    texts, entities = [], []
    for e, story in enumerate(stories):
        texts += [story, story.replace("o", "0").replace("e", "c")]
        entities += [f"e{e}", f"e{e}"]
    return texts, entities


def test_tfidf_ngrams_of_a_clustering_dataset_are_tuned_by_validation_ari():
    texts, entities = _clustering_texts()
    ranges = [(1, 1), (2, 3), (3, 3)]
    val = ValidationClustering(np.arange(len(texts)), neighbours=5, grid_size=50)
    chosen, scores = select_tfidf_ngram_range_by_ari(texts, entities, ranges, neighbours=5, grid_size=50)
    assert list(scores) == ranges and all(-1 <= s <= 1 for s in scores.values())
    assert scores[chosen] == max(scores.values()) and chosen == next(r for r in ranges if scores[r] == scores[chosen])
    assert scores[(3, 3)] > scores[(1, 1)]  # single characters are shared by every caption
    none = np.array([], dtype=np.int64)
    assert tuned_options("tfidf_char", texts, entities, none, none, ranges, val_clustering=val) == {
        "ngram_range": chosen
    }
    # no linking task and no clustering records: the first range, as before
    assert tuned_options("tfidf_char", texts, entities, none, none, ranges) == {"ngram_range": (1, 1)}
    # a linking task wins over the clustering records: the firm datasets keep their tuning
    linked = tuned_options(
        "tfidf_char", texts, entities, np.array([1, 3]), np.array([0, 2]), ranges, val_clustering=val
    )
    assert linked == tuned_options("tfidf_char", texts, entities, np.array([1, 3]), np.array([0, 2]), ranges)
    assert tuned_options("jaccard_words", texts, entities, none, none, ranges, val_clustering=val) == {}
