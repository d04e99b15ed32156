"""Record kinds (clippings_wf/kinds.py): a dataset's kind selects its image preprocessing, its OCR mode and its
towers; a dataset evaluated by clustering alone needs no reference role and gets the clustering tables only."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image, ImageDraw, ImageFont

from clippings_wf.config_checks import ConfigError, check_config
from clippings_wf.data.import_manifest import import_manifest
from clippings_wf.data.user_manifest import ManifestError, check_manifest
from clippings_wf.models.images import load_crops, preprocess_line_crop, preprocess_photo, to_model_input
from clippings_wf.ocr import tesseract
from helpers import REPO, copy_workflow, dry_run_jobs, run_snakemake

LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"


def _photo(path, size=(60, 90), seed=0):
    """A tall grayscale 'photograph' (a gradient with a block), the kind of picture no line crop is."""
    rng = np.random.default_rng(seed)
    arr = np.tile(np.linspace(40, 220, size[0], dtype=np.uint8), (size[1], 1))
    arr[10:30, 5:25] = rng.integers(0, 255)
    Image.fromarray(arr).save(path)
    return path


def _caption(path, lines):
    font = ImageFont.truetype(LATIN_FONT, 28)
    img = Image.new("L", (40 + 17 * max(map(len, lines)), 20 + 40 * len(lines)), 255)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((20, 10 + 40 * i), line, font=font, fill=0)
    img.save(path)
    return path


def test_a_photo_is_fitted_whole_into_the_square_and_never_turned(tmp_path):
    photo = Image.open(_photo(tmp_path / "p.png"))
    out = preprocess_photo(photo, 64, 64)
    assert out.shape == (64, 64)
    # tall: scaled to the full height, centred horizontally with equal margins of 0
    cols = np.flatnonzero(out.any(axis=0))
    assert cols[0] > 0 and 64 - 1 - cols[-1] in (cols[0] - 1, cols[0], cols[0] + 1)
    # stored as 255 - gray like the line crops (margin 0): the gradient, dark to light left to right, is not turned
    assert out[32, cols[0] + 1] > out[32, cols[-1] - 1]
    tower_input = to_model_input(torch.from_numpy(out[None]), channels=3)[0, 0]
    assert tower_input[32, cols[0] + 1] < tower_input[32, cols[-1] - 1] and tower_input[32, 0] == 1.0  # photo on white
    line = preprocess_line_crop(photo, 64, 64, fit="contain")  # what a line crop would do: turn it on its side
    assert not np.array_equal(out, line)
    np.testing.assert_array_equal(load_crops([tmp_path / "p.png"], 64, 64, fit="photo", progress=False)[0], out)


def test_block_mode_reads_every_line_of_a_caption(tmp_path):
    lines = ["Flood waters rise", "at Main Street"]
    path = _caption(tmp_path / "c.png", lines)
    block = tesseract.ocr_images([(path, False)], "eng", "eng", mode="block")[0]
    assert "Flood" in block and "Street" in block  # both lines, joined
    with pytest.raises(ValueError, match="OCR mode 'page'"):
        tesseract.init_worker("eng", "eng", mode="page")


def _default():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def _news(c):
    return c["datasets"]["news_wire"]


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda c: c["datasets"]["us_firms"].update(record_kind="photo_caption"), "generator firms renders text_line"),
        (lambda c: _news(c).update(record_kind="text_line"), "generator news_wire renders photo_caption"),
        (lambda c: _news(c).update(evaluation="linking"), "news_wire has no reference records"),
        (lambda c: _news(c)["model"].update(architecture="clippings-textline-char-en"), "reads text lines, not photo"),
        (lambda c: c["datasets"]["us_firms"]["model"].update(architecture="clippings-photo-char-en"),
         "reads photos, not text lines"),
        (lambda c: c["datasets"]["us_firms"].update(baselines=["levenshtein", "phash"]), "phash hashes photos"),
        (lambda c: _news(c)["generate"].update(printings_per_source=[3, 1]), "min 3 > max 1"),
        (lambda c: c["datasets"]["jp_firms_shifted"].update(record_kind="photo_caption"), "a text_line dataset"),
        (lambda c: c["datasets"]["jp_firms_shifted"].update(evaluation="clustering"), "clustering alone is for"),
    ],
)
def test_kinds_the_rules_cannot_run_are_refused(edit, expected):
    config = _default()
    edit(config)
    with pytest.raises(ConfigError, match=expected):
        check_config(config)


def _records_manifest(tmp_path, with_role):
    rows = []
    for e in range(6):
        for r in range(2):
            name = f"p{e}_{r}.png"
            _photo(tmp_path / name, seed=e)
            _caption(tmp_path / f"c{e}_{r}.png", [f"Senator {e} arrives", "(AP Wirephoto)"])
            rows.append({"record_id": f"{e}_{r}", "image_path": name, "ocr_image_path": f"c{e}_{r}.png",
                         "entity_id": f"s{e}", "split": ["train", "train", "val", "val", "test", "test"][e]})
    frame = pd.DataFrame(rows)
    if with_role:
        frame["role"] = "record"
    frame.to_csv(tmp_path / "manifest.csv", index=False)
    return tmp_path / "manifest.csv"


def test_a_clustering_dataset_needs_no_reference_role(tmp_path):
    path = _records_manifest(tmp_path, with_role=False)
    checked = check_manifest(path, references=False)
    assert set(checked.frame["role"]) == {"record"} and checked.summary["entities"] == 6
    with pytest.raises(ManifestError, match=r"missing column\(s\) \['role'\]"):
        check_manifest(path)  # a linking dataset does need roles, and references among them
    bad = pd.read_csv(path).assign(role="query")
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ManifestError, match="its labelled rows are records"):
        check_manifest(tmp_path / "bad.csv", references=False)
    records, summary = import_manifest(path, tmp_path / "out", None, {"train": 0.7, "val": 0.15, "test": 0.15}, 256,
                                       references=False, line_crops=False)  # fmt: skip
    values = dict(zip(summary["metric"], summary["value"]))
    assert values["records_val"] == "4" and values["records_test"] == "4" and "no_match_queries_val" not in values
    # the captions kept for the OCR step; a tall photo is no vertical line
    assert records["ocr_image_path"].str.endswith(".png").all() and records["vertical"].eq(0).all()


def test_a_photo_clustering_dataset_builds_its_own_dag(tmp_path):
    """A photo_caption manifest evaluated by clustering: no synthetic stage, no line recognizer, no linking
    table; OCR reads the captions as blocks; the clustering table and the training curves are its targets."""
    (tmp_path / "data").mkdir()
    path = _records_manifest(tmp_path / "data", with_role=True)
    workdir = copy_workflow(tmp_path / "wf")
    config = {"datasets": {name: {"enabled": False} for name in ("jp_firms", "us_firms", "jp_firms_shifted")}}
    config["datasets"]["photos"] = {"manifest": str(path), "language": "en", "record_kind": "photo_caption",
                                    "evaluation": "clustering", "model": {"architecture": "ViT-B-32"}}  # fmt: skip
    (workdir / "photos.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(workdir, "-n", "--configfile", "photos.yaml")
    jobs = dry_run_jobs(result.stdout + result.stderr)
    rules = {job["rule"] for job in jobs}
    assert {"import_manifest", "ocr_records", "align_selfsup", "supcon_labelled", "embed_records",
            "cluster_models", "cluster_baselines", "clustering_table"} <= rules  # fmt: skip
    assert not rules & {"synthetic_renders", "recognize_records", "recognize_views", "warmup_vision", "warmup_text",
                        "supcon_synthetic", "string_baselines", "link_records", "main_table", "nomatch_table",
                        "plot_retrieval"}  # fmt: skip
    labelled = [job for job in jobs if job["rule"] == "supcon_labelled"]
    assert all("selfsup/model.pt" in job["input"] or job["wildcards"]["variant"] == "unimodal_vision"
               for job in labelled)  # fmt: skip


def test_firm_datasets_keep_their_kind():
    config = copy.deepcopy(_default())
    check_config(config)
    from clippings_wf.kinds import kind_of, links

    for name, dataset in config["datasets"].items():
        if name == "news_wire":  # the newspaper application: photos with captions, clustered
            assert kind_of(dataset).name == "photo_caption" and not links(dataset)
        else:
            assert kind_of(dataset).name == "text_line" and links(dataset)


def test_a_photo_dataset_needs_its_captions(tmp_path):
    path = _records_manifest(tmp_path, with_role=True)
    pd.read_csv(path).drop(columns=["ocr_image_path"]).to_csv(path, index=False)
    config = _default()
    config["datasets"]["photos"] = {"manifest": str(path), "language": "en", "record_kind": "photo_caption",
                                    "evaluation": "clustering", "model": {"architecture": "ViT-B-32"}}  # fmt: skip
    with pytest.raises(ConfigError, match="give each record's caption image"):
        check_config(config)


def test_a_photo_model_reads_photos_wherever_it_is_loaded(tmp_path):
    from clippings_wf.models import artifacts, modeling

    bundle = modeling.load_bundle("clippings-linecnn-char", vocab=list("ab"))
    for kind, fit in ((None, bundle.fit), ("photo_caption", "photo")):
        extra = {"record_kind": kind} if kind else {}
        artifacts.save_artifact(tmp_path / "m.pt", bundle.model, bundle.architecture, vocab=bundle.tokenizer,
                                extra=extra)  # fmt: skip
        assert artifacts.load_artifact(tmp_path / "m.pt").fit == fit
