import pickle
import time

import numpy as np
import pytest
import torch
from PIL import Image

from clippings_wf.models.images import augment_crops, load_crops, preprocess_line_crop, to_model_input
from clippings_wf.models.artifacts import load_artifact, save_artifact
from clippings_wf.models.modeling import build_model, load_bundle, pick_device, pooled_embedding
from clippings_wf.models.tokenizer import CharTokenizer

torch.set_num_threads(1)
ARCH = "clippings-linecnn-char"


@pytest.fixture
def tok():
    return CharTokenizer.build(["東京電機㈱", "大阪ガス株式会社", "ABC商事"])


# ---------------------------------------------------------------- tokenizer

def test_tokenizer_round_trip_and_ids(tok, tmp_path):
    assert "(" in tok.chars and "㈱" not in tok.chars  # NFKC: ㈱ -> (株)
    assert "a" in tok.chars and "A" not in tok.chars  # lowercased
    ids = tok(["東京電機㈱", "", "未知"], context_length=8)
    assert ids.shape == (3, 8) and ids.dtype == torch.long
    assert tok.decode(ids[0]) == "東京電機(株)"
    assert ids[0].argmax().item() == 7 and ids[0, 7] == tok.eot_id == tok.vocab_size - 1
    assert ids[1, 0] == tok.eot_id and (ids[1, 1:] == 0).all()  # empty text: just eot
    assert (ids[2, :2] == 1).all()  # unknown characters
    long = tok(["大阪ガス株式会社大阪ガス株式会社"], context_length=5)[0]
    assert long[-1] == tok.eot_id and (long[:4] >= 2).all()  # truncated, eot kept
    tok.save(tmp_path / "v.json")
    again = CharTokenizer.load(tmp_path / "v.json")
    assert again.chars == tok.chars and torch.equal(again(["ABC商事"], 8), tok(["ABC商事"], 8))


# ---------------------------------------------------------------- images

def _crop(w, h):
    img = Image.new("L", (w, h), 255)
    img.paste(0, (2, 2, 6, h - 2))  # a dark bar near the start of the line
    return img


def test_preprocess_line_crop_shapes_and_rotation():
    out = preprocess_line_crop(_crop(200, 20), 24, 256)
    assert out.shape == (24, 256) and out.dtype == np.uint8
    assert out[:, :240].max() == 255 and out[:, 241:].max() == 0  # 200*24/20 = 240 wide, padded with background 0
    assert preprocess_line_crop(_crop(2000, 20), 24, 256)[:, -1].max() == 0  # squeezed to 256, white margin
    vert = preprocess_line_crop(_crop(20, 200), 24, 256)  # rotated counter-clockwise: the bar ends up at the bottom
    assert vert[-6:].max() > 200 and vert[:10].max() == 0
    sq = preprocess_line_crop(_crop(200, 20), 224, 224, fit="contain")
    assert sq.shape == (224, 224) and sq[30:].max() == 0


def test_load_crops_paths_and_bytes(tmp_path):
    p = tmp_path / "a.png"
    _crop(100, 20).save(p)
    arr = load_crops([p, p.read_bytes()], 24, 256, progress=False)
    assert arr.shape == (2, 24, 256) and np.array_equal(arr[0], arr[1])


def test_to_model_input_and_augment():
    batch = torch.from_numpy(np.stack([preprocess_line_crop(_crop(200, 20), 24, 256)] * 3))
    x1 = to_model_input(batch, 1)
    assert x1.shape == (3, 1, 24, 256) and x1.min() == 0 and x1.max() == 1
    x3 = to_model_input(batch, 3, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    assert x3.shape == (3, 3, 24, 256) and x3[0, :, 0, -1].tolist() == [1.0, 1.0, 1.0]  # white background
    a = augment_crops(batch, torch.Generator().manual_seed(0))
    b = augment_crops(batch, torch.Generator().manual_seed(0))
    assert a.dtype == torch.uint8 and a.shape == batch.shape and torch.equal(a, b)
    assert not torch.equal(a, batch)


# ---------------------------------------------------------------- model

def encode(model, images, tokens):
    """(image, text) embeddings, L2-normalized."""
    return model.encode_image(images, normalize=True), model.encode_text(tokens, normalize=True)


def test_build_forward_pooled(tok):
    model = build_model(ARCH, None, tok.vocab_size).eval()
    images = torch.rand(4, 1, 24, 256)
    tokens = tok(["東京電機㈱", "大阪ガス", "", "ABC"], 32)
    with torch.no_grad():
        img, txt = encode(model, images, tokens)
    assert img.shape == txt.shape == (4, 128)
    torch.testing.assert_close(img.norm(dim=1), torch.ones(4))
    torch.testing.assert_close(pooled_embedding(img, txt, 1.0), img)
    torch.testing.assert_close(pooled_embedding(img, txt, 0.0), txt)
    mid = pooled_embedding(img, txt, 0.5)
    torch.testing.assert_close(mid.norm(dim=1), torch.ones(4))
    torch.testing.assert_close(mid, torch.nn.functional.normalize(img + txt, dim=1))
    assert pick_device("auto").type in ("cpu", "cuda")


def test_artifact_and_pretrained_path_round_trip(tok, tmp_path):
    model = build_model(ARCH, None, tok.vocab_size).eval()
    path = tmp_path / "m.pt"
    save_artifact(path, model, ARCH, tok, {"stage": "supcon", "w": 0.5, "history": [1.0, 0.5]})
    crops = torch.randint(0, 256, (4, 24, 256), dtype=torch.uint8)
    images, tokens = to_model_input(crops, 1), tok(["a", "b", "東京", ""], 32)
    with torch.no_grad():
        ref = encode(model, images, tokens)
        again = build_model(ARCH, str(path)).eval()  # vocab size taken from the artifact
        got = encode(again, images, tokens)
        bundle = load_artifact(path, architecture=ARCH)
        got2 = encode(bundle.model.eval(), bundle.to_input(crops),
                      bundle.tokenize(["a", "b", "東京", ""]))
    for r, g, g2 in zip(ref, got, got2):
        torch.testing.assert_close(r, g)
        torch.testing.assert_close(r, g2)
    assert bundle.extra == {"stage": "supcon", "w": 0.5, "history": [1.0, 0.5]}
    assert bundle.tokenizer.chars == tok.chars and bundle.image_size == (24, 256) and bundle.channels == 1
    b2 = load_bundle(ARCH, str(path))
    assert b2.tokenizer.vocab_size == tok.vocab_size


def test_other_architecture_refused(tok, tmp_path):
    path = tmp_path / "m.pt"
    save_artifact(path, build_model(ARCH, None, tok.vocab_size), ARCH, tok)
    other = "clippings-linecnn-m-char"
    for call in (lambda: build_model(other, str(path)), lambda: load_artifact(path, architecture=other)):
        with pytest.raises(ValueError) as e:
            call()
        assert ARCH in str(e.value) and other in str(e.value)
    # a bare state_dict of the wrong shape: a clear error naming the requested architecture
    torch.save(build_model(ARCH, None, tok.vocab_size).state_dict(), tmp_path / "bare.pt")
    with pytest.raises(ValueError, match=other):
        build_model(other, str(tmp_path / "bare.pt"), tok.vocab_size)


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_malicious_pickle_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "x": _Evil()}, path)
    with pytest.raises(pickle.UnpicklingError):
        build_model(ARCH, str(path), 10)


def test_bad_pretrained_value():
    with pytest.raises(ValueError, match="neither"):
        build_model(ARCH, "no_such_file.pt", 10)
    with pytest.raises(ValueError, match="neither"):
        build_model("ViT-B-32", "no_such_tag")


def test_vit_b32_builtin_forward():
    t0 = time.time()
    bundle = load_bundle("ViT-B-32", None)
    assert bundle.image_size == (224, 224) and bundle.channels == 3 and bundle.fit == "contain"
    crops = torch.from_numpy(np.stack([preprocess_line_crop(_crop(200, 20), 224, 224, fit="contain")]))
    with torch.no_grad():
        img, txt = encode(bundle.model.eval(), bundle.to_input(crops), bundle.tokenize(["東京電機"]))
    assert img.shape == txt.shape == (1, 512)
    assert time.time() - t0 < 20


def test_describe_device_says_where_a_step_ran():
    from clippings_wf.models.modeling import describe_device

    capability = torch.backends.cpu.get_cpu_capability()
    assert describe_device("cpu").startswith(f"cpu ({torch.get_num_threads()} threads, fp32; ")
    assert describe_device("cpu").endswith(f", torch kernels {capability})")
    if torch.cuda.is_available():
        assert describe_device("cuda").startswith("cuda:0 (") and "autocast" in describe_device("cuda")
