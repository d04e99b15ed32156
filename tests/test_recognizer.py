"""The pretrained text-line recognizer: checksum refusal, OCR text, torch conversion, cached features, tower."""
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont

from clippings_wf.models import artifacts
from clippings_wf.models import feature_cache
from clippings_wf.models import modeling
from clippings_wf.ocr import recognizer
from clippings_wf.models import textline_tower

FONT = "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"


def render(name: str, vertical: bool = False) -> Image.Image:
    font = ImageFont.truetype(FONT, 40)
    size = (56, 40 * len(name) + 20) if vertical else (40 * len(name) + 20, 56)
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    for i, char in enumerate(name):
        draw.text((8, 10 + 40 * i) if vertical else (10 + 40 * i, 6), char, font=font, fill=0)
    return image


def test_checksum_refuses_a_missing_or_different_file(tmp_path):
    with pytest.raises(recognizer.RecognizerModelError, match="not found.*pip install rapidocr==3.10.0"):
        recognizer.check_model(tmp_path / recognizer.MODEL_FILE)
    fake = tmp_path / recognizer.MODEL_FILE
    fake.write_bytes(recognizer.check_model().read_bytes()[:-1] + b"x")
    with pytest.raises(recognizer.RecognizerModelError) as refused:
        recognizer.check_model(fake)
    assert str(fake) in str(refused.value) and recognizer.MODEL_SHA256 in str(refused.value)
    assert recognizer.check_model() == recognizer.default_model_path()


def test_ctc_greedy_merges_repeats_and_drops_blanks():
    chars = ["<blank>", "a", "b", " "]
    best = np.array([[1, 1, 0, 1, 2, 2, 0, 0]])
    assert recognizer.ctc_greedy(best, chars) == ["aab"]


def test_reads_horizontal_and_vertical_lines():
    names = ["東京電機株式会社", "株式会社大阪鐵工所"]
    crops = [render(names[0]), render(names[1], vertical=True)]
    texts, features = recognizer.read_lines(crops, 320)
    assert texts == names
    assert features.shape == (2, 40, recognizer.FEATURE_DIM) and features.dtype == np.float16


def test_torch_encoder_equals_onnxruntime():
    batch = np.stack([recognizer.prepare_line(render("日本毛織株式會社"), 320)])
    _, expected = recognizer.Recognizer().run(batch)
    encoder = textline_tower.convert_encoder().eval()
    with torch.no_grad():
        got = encoder(torch.from_numpy(batch)).numpy()
    assert got.shape == expected.shape
    # torch sums with AVX2 kernels (pinned), onnxruntime with the CPU's own: 1.1e-4 apart on an AVX-512 Xeon
    # (2026-12-04), under 1e-4 on AVX2 machines; a wrong conversion is off by orders of magnitude more.
    np.testing.assert_allclose(got, expected, atol=5e-4)


def test_cache_roundtrip_and_missing_key(tmp_path):
    features = np.random.default_rng(0).normal(size=(3, 4, 120)).astype(np.float16)
    path = tmp_path / "records.npz"
    feature_cache.save(path, ["r1", "r2", "r3"], features, ["a", "b", "c"])
    cache = feature_cache.FeatureCache.load([path])
    np.testing.assert_array_equal(cache.take(["r3", "r1"]), features[[2, 0]])
    with pytest.raises(KeyError, match="not in the feature cache"):
        cache.take(["r4"])


def test_tower_same_embedding_from_crops_and_from_cached_features():
    bundle = modeling.load_bundle("clippings-textline-char", vocab=list("東京電機株式会社"))
    assert bundle.input_kind == "features"
    model = bundle.model.eval()
    crop = render("東京電機株式会社")
    features = bundle.load_crops([crop])
    pixels = torch.from_numpy(recognizer.prepare_line(crop, 320)[None])
    with torch.no_grad():
        from_features = model.encode_image(bundle.to_input(torch.from_numpy(features)))
        from_pixels = model.encode_image(pixels)
    np.testing.assert_allclose(from_features.numpy(), from_pixels.numpy(), atol=2e-3)


def test_frozen_encoder_stays_fixed_and_finetuning_moves_it():
    """The CPU default trains only the head; set_encoder_trainable(True) is the GPU fine-tuning path."""
    bundle = modeling.load_bundle("clippings-textline-char", vocab=list("東京電機"))
    tower = bundle.model.visual.trunk
    pixels = torch.from_numpy(np.stack([recognizer.prepare_line(render(n), 320) for n in ["東京", "電機"]]))
    for trainable in (False, True):
        tower.set_encoder_trainable(trainable)
        before = {k: v.detach().clone() for k, v in tower.encoder.named_parameters()}
        params = [p for p in bundle.model.parameters() if p.requires_grad]
        optimizer = torch.optim.SGD(params, lr=0.1)
        bundle.model.train()
        for _ in range(2):
            loss = bundle.model.encode_image(pixels).pow(2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        changed = any(not torch.equal(before[k], v) for k, v in tower.encoder.named_parameters())
        assert changed == trainable


def test_finetuning_path_trains_the_encoder_from_pixels_and_the_artifact_remembers(tmp_path):
    """The GPU path, a few steps on CPU: training_stage moves the encoder, and the saved model reads pixels."""
    from clippings_wf.training import stage
    from clippings_wf.models.tokenizer import CharTokenizer

    names = ["東京電機", "大阪鐵工", "日本毛織", "三菱重工"]
    bundle = modeling.load_bundle("clippings-textline-char", vocab=CharTokenizer.build(names))
    modeling.finetune_encoder(bundle)
    crops = bundle.load_crops([render(n, vertical=v) for n in names for v in (False, True)])
    assert crops.dtype == np.uint8 and crops.shape == (8, recognizer.HEIGHT, 320)
    data = stage.TrainingData(crops, [[n] for n in names for _ in range(2)], np.repeat(np.arange(4), 2))
    before = {k: v.detach().clone() for k, v in bundle.model.visual.trunk.encoder.named_parameters()}
    recipe = {"stage": "finetune", "objective": "views", "modality": "image", "data": "synthetic", "epochs": 1,
              "lr": 1e-3, "temperature": 0.1}
    best, rows = stage.train_stage(bundle, recipe, data, None, tmp_path / "ckpt", seed=0, batch_size=8,
                                      eval_batch_size=8, device="cpu")
    bundle.model.load_state_dict(best)
    after = dict(bundle.model.visual.trunk.encoder.named_parameters())
    assert any(not torch.equal(before[k], v) for k, v in after.items())
    path = tmp_path / "model.pt"
    artifacts.save_artifact(path, bundle.model, bundle.architecture, vocab=bundle.tokenizer,
                            extra={"encoder_finetuned": bundle.input_kind == "recognizer_pixels"})
    assert artifacts.load_artifact(path).input_kind == "recognizer_pixels"


def test_cache_of_another_line_width_is_refused(tmp_path):
    path = tmp_path / "records.npz"
    feature_cache.save(path, ["r1"], np.zeros((1, 80, 120), dtype=np.float16), ["a"])
    bundle = modeling.load_bundle("clippings-textline-char", vocab=list("ab"))
    with pytest.raises(ValueError, match="80 positions.*reads 40"):
        feature_cache.attach(bundle, [path])


def test_provenance_hashes_the_file_actually_used(tmp_path):
    import hashlib
    import re
    import shutil

    found = recognizer.provenance()
    assert found["model"] == str(recognizer.default_model_path()) and found["rapidocr"] == "3.10.0"
    assert re.fullmatch(r"[0-9a-f]{64}", found["sha256"])
    assert found["sha256"] == hashlib.sha256(recognizer.default_model_path().read_bytes()).hexdigest()
    copy = tmp_path / recognizer.MODEL_FILE  # the same weights elsewhere: that path is what the log names
    shutil.copy(recognizer.default_model_path(), copy)
    assert recognizer.provenance(copy)["model"] == str(copy)
    copy.write_bytes(b"other weights")
    with pytest.raises(recognizer.RecognizerModelError, match=hashlib.sha256(b"other weights").hexdigest()):
        recognizer.provenance(copy)  # a replaced file is hashed again, not taken from the cache
