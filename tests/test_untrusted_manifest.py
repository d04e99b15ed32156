"""A manifest is untrusted input: its image paths may not lead outside its folder and the configured image roots
(through .., as an absolute path elsewhere, or through a symlink), and no image may decode to more pixels than the
limit (a decompression bomb). Each refusal names the record, the column and the path (or file)."""

import struct
import zlib

import pandas as pd
import pytest
import yaml
from PIL import Image
from snakemake.utils import validate

from clippings_wf import image_files
from clippings_wf.config_checks import check_config
from clippings_wf.data.benchmark import generate_benchmark
from clippings_wf.data.import_manifest import import_manifest
from clippings_wf.data.user_manifest import ManifestError, check_manifest
from clippings_wf.image_files import ImageTooLargeError, UntrustedPathError
from clippings_wf.records import read_records, resolve_image_path, resolve_image_paths
from example_manifest import write_example_manifest

from helpers import REPO

SPLIT = {"train": 0.6, "val": 0.2, "test": 0.2, "seed": 0}


@pytest.fixture
def docs(tmp_path):
    """tmp/docs/manifest.csv with its images in tmp/docs/images, a valid image outside (tmp/outside/photo.png)
    and the manifest's rows."""
    path = write_example_manifest(tmp_path / "docs", n_entities=12, seed=5)
    (tmp_path / "outside").mkdir()
    Image.new("L", (40, 20), 255).save(tmp_path / "outside" / "photo.png")
    return path, pd.read_csv(path, dtype=str, keep_default_na=False)


def _write(frame, path):
    frame.to_csv(path, index=False)
    return path


def _refused(path, row, column, value, **options):
    with pytest.raises(ManifestError) as error:
        check_manifest(path, **options)
    message = str(error.value)
    assert f"line {row + 2} (record_id 'r" in message and f"column {column}: image path {value!r}" in message
    assert "outside the manifest's folder and the allowed image roots" in message
    return message


def test_a_dotdot_path_leaving_the_manifest_folder_is_refused(docs):
    path, frame = docs
    frame.loc[3, "image_path"] = "../outside/photo.png"
    frame.loc[3, "record_id"] = "r3, annex"  # a comma in the id does not cut the message
    message = _refused(_write(frame, path), 3, "image_path", "../outside/photo.png")
    assert "line 5 (record_id 'r3, annex'): column image_path: image path '../outside/photo.png' resolves" in message
    frame.loc[3, "image_path"] = "images/../images/" + frame.loc[4, "image_path"].split("/")[-1]  # stays inside
    assert check_manifest(_write(frame, path)).summary["records"] == len(frame)


def test_an_absolute_path_elsewhere_is_refused_and_a_configured_root_allows_it(docs, tmp_path):
    path, frame = docs
    outside = str(tmp_path / "outside" / "photo.png")
    frame.loc[5, "image_path"] = outside
    manifest = _write(frame, path)
    _refused(manifest, 5, "image_path", outside)
    checked = check_manifest(manifest, image_roots=[tmp_path / "outside"])  # accepted under an extra root
    assert checked.frame.loc[5, "image_file"] == outside
    # The import writes the policy beside records.csv: every later step resolves its absolute paths against it.
    records, _ = import_manifest(manifest, tmp_path / "out", {}, SPLIT, 256, image_roots=[tmp_path / "outside"])
    assert (tmp_path / "out" / image_files.POLICY_FILE).is_file()
    table = read_records(tmp_path / "out" / "records.csv")
    assert [str(p) for p in resolve_image_paths(table, tmp_path / "out")] == table["image_path"].tolist()
    (tmp_path / "out" / image_files.POLICY_FILE).unlink()  # without it, only the table's own folder is allowed
    with pytest.raises(UntrustedPathError, match=r"record_id 'r\d+', column image_path: image path"):
        resolve_image_paths(table, tmp_path / "out")


def test_config_image_roots_reach_the_parse_time_check(docs, tmp_path):
    path, frame = docs
    frame.loc[5, "image_path"] = str(tmp_path / "outside" / "photo.png")
    manifest = _write(frame, path)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["datasets"] = {"my_docs": {"manifest": str(manifest), "image_roots": [str(tmp_path / "outside")],
                                      "max_image_pixels": 1_000_000}}  # fmt: skip
    validate(config, schema=str(REPO / "schemas" / "config.schema.yaml"))
    check_config(config)
    config["datasets"]["my_docs"]["image_roots"] = []
    with pytest.raises(Exception, match=r"column image_path: image path .* outside the manifest's folder"):
        check_config(config)


def test_a_symlink_to_a_file_outside_is_refused_one_inside_is_not(docs, tmp_path):
    path, frame = docs
    (path.parent / "images" / "link.png").symlink_to(tmp_path / "outside" / "photo.png")
    (path.parent / "images" / "alias.png").symlink_to(path.parent / frame.loc[1, "image_path"])
    frame.loc[2, "image_path"] = "images/link.png"
    message = _refused(_write(frame, path), 2, "image_path", "images/link.png")
    assert "(through a symlink)" in message
    frame.loc[2, "image_path"] = "images/alias.png"
    assert check_manifest(_write(frame, path)).summary["records"] == len(frame)
    # a symlinked folder leading outside is refused too
    (path.parent / "elsewhere").symlink_to(tmp_path / "outside", target_is_directory=True)
    frame.loc[2, "image_path"] = "elsewhere/photo.png"
    _refused(_write(frame, path), 2, "image_path", "elsewhere/photo.png")


def test_every_image_column_is_checked_and_named(docs, tmp_path):
    path, frame = docs
    frame["ocr_image_path"] = frame["image_path"]
    frame.loc[6, "ocr_image_path"] = "../outside/photo.png"
    _refused(_write(frame, path), 6, "ocr_image_path", "../outside/photo.png", references=True)


def test_resolve_image_path_refuses_naming_record_column_and_path(tmp_path):
    with pytest.raises(UntrustedPathError, match=r"record_id 'q7', column clean_image_path: image path '\.\./x\.png'"):
        resolve_image_path("../x.png", tmp_path, record_id="q7", column="clean_image_path")
    assert resolve_image_path("images/a.png", tmp_path) == tmp_path / "images" / "a.png"


def _png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (its pixel data is one empty row)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


def test_a_decompression_bomb_fails_naming_the_record_and_file(docs):
    path, frame = docs
    bomb = path.parent / "images" / "bomb.png"
    bomb.write_bytes(_png_header_claiming(100_000, 100_000))  # 10^10 pixels in 80 bytes
    frame.loc[4, "image_path"] = "images/bomb.png"
    manifest = _write(frame, path)
    with pytest.raises(ManifestError, match=rf"line 6 \(record_id '{frame.loc[4, 'record_id']}'\): image {bomb} is "
                                            r"too large to decode safely"):  # fmt: skip
        check_manifest(manifest)  # the parse-time header check catches it already
    with pytest.raises(ImageTooLargeError, match=str(bomb)):
        image_files.open_image(bomb)


def test_a_real_image_over_a_lowered_limit_fails_naming_the_record(docs, tmp_path):
    path, frame = docs
    record = frame.loc[0, "record_id"]
    with pytest.raises(ManifestError, match=rf"line 2 \(record_id '{record}'\): image .* pixels, over the limit of 100 "
                                            r"\(max_image_pixels"):  # fmt: skip
        import_manifest(path, tmp_path / "out", {}, SPLIT, 256, max_pixels=100)
    # Every image opened from a manifest goes through the same guard: the model's crop loader too.
    from clippings_wf.models.images import load_crops

    crop = path.parent / frame.loc[0, "image_path"]
    with image_files.extra_roots([], max_pixels=100), pytest.raises(ImageTooLargeError, match=str(crop)):
        load_crops([crop], 24, 256, progress=False)
    assert load_crops([crop], 24, 256, progress=False).shape == (1, 24, 256)  # the default limit again


def test_generated_datasets_resolve_under_their_own_folder(tmp_path):
    for name, options in {"jp_firms": {}, "jp_firms_shifted": {"shift": True}, "us_firms": {"language": "en"}}.items():
        records = generate_benchmark(tmp_path / name, n_entities=6, n_pool=2, seed=1, **options)
        for column in ("image_path", "clean_image_path"):
            paths = resolve_image_paths(records, tmp_path / name, column)
            assert all(p.is_file() for p in paths), name
