"""Your own data: a manifest is validated before any work, with messages naming file, line and record; bad data
(broken images, non-UTF-8, huge OCR, no references) fails clearly or is counted, never crashes later."""

import logging
import shutil

import pandas as pd
import pytest
import yaml
from snakemake.utils import validate

from clippings_wf.data import leakage
from clippings_wf.config_checks import ConfigError, check_config
from clippings_wf.data.import_manifest import import_manifest, seeded_entity_split
from clippings_wf.data.user_manifest import ManifestError, check_manifest
from clippings_wf.records import OCR_CONDITIONS, fill_entity_names, ocr_conditions
from example_manifest import write_example_manifest

from helpers import REPO

SPLIT = {"train": 0.6, "val": 0.2, "test": 0.2, "seed": 0}


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """A 12-firm example manifest (images, entity_id, role; no split, no OCR) and its rows."""
    path = write_example_manifest(tmp_path_factory.mktemp("example"), n_entities=12, seed=5)
    return path, pd.read_csv(path, dtype=str, keep_default_na=False)


def _write(frame, tmp_path, example_path, name="manifest.csv", **csv):
    """The example's rows, edited, in another folder with a copy of its images: a manifest's image paths may not
    lead outside its folder (tests/test_untrusted_manifest.py)."""
    _copy_images(example_path, tmp_path)
    path = tmp_path / name
    frame.to_csv(path, index=False, **csv)
    return path


def _copy_images(example_path, folder):
    if not (folder / "images").exists():
        shutil.copytree(example_path.parent / "images", folder / "images")


def _line(frame, index):
    return f"line {index + 2}"  # the header is line 1


def test_example_manifest_is_valid_and_counted(example):
    path, frame = example
    checked = check_manifest(path)
    assert checked.summary["records"] == len(frame)
    assert checked.summary["references"] == 12 and checked.summary["no_match_queries"] == 0


def _missing_image(frame, tmp_path):
    frame.loc[3, "image_path"] = str(tmp_path / "gone.png")
    return f"{_line(frame, 3)} (record_id {frame.loc[3, 'record_id']!r}): image file not found"


def _zero_size_image(frame, tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    frame.loc[4, "image_path"] = str(tmp_path / "empty.png")
    return f"{_line(frame, 4)} (record_id {frame.loc[4, 'record_id']!r}): image file is empty (0 bytes)"


def _not_an_image(frame, tmp_path):
    (tmp_path / "notes.png").write_text("these are not pixels")
    frame.loc[2, "image_path"] = str(tmp_path / "notes.png")
    return f"{_line(frame, 2)} (record_id {frame.loc[2, 'record_id']!r}): image file cannot be read"


def _duplicate_id(frame, tmp_path):
    frame.loc[5, "record_id"] = frame.loc[1, "record_id"]
    return f"{_line(frame, 5)} (record_id {frame.loc[1, 'record_id']!r}): duplicate record_id, first used on line 3"


def _missing_column(frame, tmp_path):
    del frame["image_path"]
    return "missing column(s) ['image_path']"


def _unlabeled(frame, tmp_path):
    del frame["entity_id"]
    return "without entity_id is unlabeled: it cannot be trained or evaluated, only linked"


def _entity_in_two_splits(frame, tmp_path):
    entity = frame.loc[0, "entity_id"]
    rows = frame.index[frame["entity_id"] == entity]
    frame["split"] = "train"
    frame.loc[rows[-1], "split"] = "test"
    return f"entity_id {entity!r} is in more than one split: test on {_line(frame, rows[-1])}; train on line 2"


def _bad_role(frame, tmp_path):
    frame.loc[6, "role"] = "mention"
    return f"{_line(frame, 6)} (record_id {frame.loc[6, 'record_id']!r}): role 'mention' is not one of"


def _no_references(frame, tmp_path):
    frame["role"] = "query"
    return "the reference set is empty"


def _query_without_entity(frame, tmp_path):
    row = frame.index[frame["role"] == "query"][0]
    frame.loc[row, "entity_id"] = ""
    return f"{_line(frame, row)} (record_id {frame.loc[row, 'record_id']!r}): a query needs an entity_id"


@pytest.mark.parametrize(
    "edit",
    [_missing_image, _zero_size_image, _not_an_image, _duplicate_id, _missing_column, _unlabeled,
     _entity_in_two_splits, _bad_role, _no_references, _query_without_entity],  # fmt: skip
)
def test_bad_manifest_names_file_row_and_problem(example, tmp_path, edit):
    example_path, frame = example
    frame = frame.copy()
    expected = edit(frame, tmp_path)
    path = _write(frame, tmp_path, example_path)
    with pytest.raises(ManifestError) as error:
        check_manifest(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_missing_ocr_column_named(example, tmp_path):
    path, frame = example
    with pytest.raises(ManifestError, match=r"missing column\(s\) \['ocr_text'\]"):
        check_manifest(_write(frame, tmp_path, path), ocr_columns={"noisy": "ocr_text"})


def test_non_utf8_manifest_names_the_line(example, tmp_path):
    path, frame = example
    frame = frame.assign(name="")
    frame.loc[3, "name"] = "東京電機"
    bad = _write(frame, tmp_path, path, encoding="cp932")
    with pytest.raises(ManifestError, match=r"manifest\.csv: line 5: not valid UTF-8 .*save the manifest as UTF-8"):
        check_manifest(bad)


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_damaged_png_passes_the_header_check_and_fails_the_import_naming_the_record(example, tmp_path, damage):
    path, frame = example
    frame = frame.copy()
    data = (path.parent / frame.loc[7, "image_path"]).read_bytes()
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:  # flipped bytes inside the compressed pixel data; the header stays intact
        middle = len(data) // 2
        data = data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 40]) + data[middle + 40 :]
    (tmp_path / "damaged.png").write_bytes(data)
    frame.loc[7, "image_path"] = str(tmp_path / "damaged.png")
    manifest = _write(frame, tmp_path, path)
    check_manifest(manifest)  # parse time reads headers only (README: cheap for big manifests)
    with pytest.raises(ManifestError, match=rf"line 9 \(record_id '{frame.loc[7, 'record_id']}'\): image file cannot "
                                            r"be decoded \(OSError"):  # fmt: skip
        import_manifest(manifest, tmp_path / "out", {}, SPLIT, 256)
    assert not (tmp_path / "out" / "records.csv").exists()


def test_no_match_queries_empty_and_long_ocr_are_counted(example, tmp_path, caplog):
    path, frame = example
    frame = frame.copy()
    # One entity loses its reference: its queries become no-match queries (allowed, counted).
    entity = frame.loc[frame["role"] == "query", "entity_id"].iloc[0]
    frame = frame[~((frame["entity_id"] == entity) & (frame["role"] == "reference"))].reset_index(drop=True)
    frame["ocr_text"] = [f"名{i}" for i in range(len(frame))]
    frame.loc[[1, 2], "ocr_text"] = ""
    frame.loc[3, "ocr_text"] = "株" * 5000
    manifest = _write(frame, tmp_path, path)
    checked = check_manifest(manifest, ocr_columns={"noisy": "ocr_text"}, max_ocr_chars=256)
    n_no_match = int(((frame["entity_id"] == entity) & (frame["role"] == "query")).sum())
    assert checked.summary["no_match_queries"] == n_no_match > 0
    assert checked.summary["empty_ocr_noisy"] == 2 and checked.summary["long_ocr_noisy"] == 1
    with caplog.at_level(logging.WARNING):
        records, summary = import_manifest(manifest, tmp_path / "out", {"noisy": "ocr_text"}, SPLIT, 256)
    summary = dict(zip(summary["metric"], summary["value"]))
    assert summary["ocr_truncated_noisy"] == "1" and summary["no_match_queries"] == str(n_no_match)
    assert records["ocr_noisy"].str.len().max() == 256 and records.loc[3, "ocr_noisy"] == "株" * 256
    assert "1 noisy OCR texts longer than 256 characters were cut" in caplog.text
    assert "queries have no reference of their entity" in caplog.text
    written = pd.read_csv(tmp_path / "out" / "records.csv", dtype=str, keep_default_na=False)
    assert list(written["record_id"]) == list(frame["record_id"])


def test_ocr_conditions_are_the_manifests_ocr_columns():
    three = pd.DataFrame(columns=["record_id", "text", "ocr_noisy", "ocr_clean", "ocr_modern"])
    assert ocr_conditions(three) == ["noisy", "clean", "modern"] == list(OCR_CONDITIONS)
    # a manifest made before the modern recognizer, or a user's without its column
    assert ocr_conditions(three.drop(columns="ocr_modern")) == ["noisy", "clean"]
    assert ocr_conditions(["ocr_modern", "ocr_noisy", "ocr_other"]) == ["noisy", "modern"]  # OCR_CONDITIONS order


def test_a_users_modern_ocr_column_is_imported_like_the_others(example, tmp_path):
    path, frame = example
    n = len(frame)
    frame = frame.assign(tesseract=[f"東京{i}" for i in range(n)], ppocr=[f"東京電機{i}" for i in range(n)])
    frame.loc[0, "ppocr"] = ""
    manifest = _write(frame, tmp_path, path)
    columns = {"noisy": "tesseract", "modern": "ppocr"}
    check_config(_config_with({"manifest": str(manifest), "ocr": {"columns": columns}}))  # the schema takes modern
    records, summary = import_manifest(manifest, tmp_path / "out", columns, SPLIT, 256)
    summary = dict(zip(summary["metric"], summary["value"]))
    assert ocr_conditions(records) == ["noisy", "modern"]  # clean is left to the OCR step
    assert records["ocr_modern"].tolist() == frame["ppocr"].tolist()
    assert summary["empty_ocr_modern"] == "1" and summary["ocr_truncated_modern"] == "0"
    missing = _write(frame.drop(columns="ppocr"), tmp_path, path, name="no_modern.csv")
    with pytest.raises(ManifestError, match=r"missing column\(s\) \['ppocr'\]"):
        check_manifest(missing, ocr_columns=columns)


def test_import_splits_by_entity_seeded_and_records_match_the_generator_layout(example, tmp_path):
    from clippings_wf.records import RECORD_COLUMNS

    path, frame = example
    records, _ = import_manifest(path, tmp_path / "a", {}, SPLIT, 256)
    again, _ = import_manifest(path, tmp_path / "b", {}, SPLIT, 256)
    other, _ = import_manifest(path, tmp_path / "c", {}, dict(SPLIT, seed=1), 256)
    assert list(records.columns) == RECORD_COLUMNS
    assert records["split"].tolist() == again["split"].tolist() != other["split"].tolist()
    assert (records.groupby("entity_id")["split"].nunique() == 1).all()
    assert set(records["split"]) == {"train", "val", "test"}
    assert all(p.startswith("/") for p in records["image_path"])
    tall = records["vertical"] == 1
    assert tall.any() and not tall.all()  # the generator draws some vertical crops


def test_entities_sharing_a_name_share_a_split():
    frame = pd.DataFrame({"entity_id": [f"e{i}" for i in range(40)], "role": "reference",
                          "name": [f"firm{i % 10}" for i in range(40)]})  # fmt: skip
    split = seeded_entity_split(frame, SPLIT, 0)
    assert (split.groupby(frame["name"]).nunique() == 1).all()
    leakage.check_no_leakage(frame.assign(split=split, base_name=frame["name"]))


def test_entities_without_a_name_are_named_by_their_reference_ocr():
    records = pd.DataFrame({"entity_id": ["e1", "e1", "e2", ""], "role": ["query", "reference", "query", "unlabeled"],
                            "base_name": "", "ocr_noisy": ["東京電機", "東京電気", "大阪紡績", "x"],
                            "ocr_clean": ["", "東京電気株式会社", "", ""]})  # fmt: skip
    named, n = fill_entity_names(records)
    assert n == 2
    assert named["base_name"].tolist() == ["東京電気株式会社", "東京電気株式会社", "大阪紡績", ""]


def _config_with(dataset):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["datasets"] = {"my_docs": dataset}
    validate(config, schema=str(REPO / "schemas" / "config.schema.yaml"))
    return config


def test_config_check_runs_the_manifest_validation(example, tmp_path):
    path, frame = example
    check_config(_config_with({"manifest": str(path)}))
    unlabeled = _write(frame.drop(columns=["entity_id"]), tmp_path, path)
    with pytest.raises(ConfigError, match=r"datasets\.my_docs\.manifest: .*unlabeled: it cannot be trained"):
        check_config(_config_with({"manifest": str(unlabeled)}))
    with pytest.raises(ConfigError, match=r"datasets\.my_docs\.manifest: .*manifest file not found"):
        check_config(_config_with({"manifest": str(tmp_path / "nowhere.csv")}))


def test_parquet_manifest(example, tmp_path):
    path, frame = example
    frame = frame.copy()
    _copy_images(path, tmp_path)
    frame["image_path"] = [str(tmp_path / p) for p in frame["image_path"]]
    frame.to_parquet(tmp_path / "manifest.parquet")
    assert check_manifest(tmp_path / "manifest.parquet").summary["records"] == len(frame)
    frame.loc[2, "record_id"] = frame.loc[0, "record_id"]
    frame.to_parquet(tmp_path / "manifest.parquet")
    with pytest.raises(ManifestError, match=r"row 3 \(record_id 'r000001'\): duplicate record_id, first used on row 1"):
        check_manifest(tmp_path / "manifest.parquet")
    shutil.rmtree(tmp_path)


def test_manifest_names_are_rendered_as_written_and_never_a_held_out_one():
    from clippings_wf.data.synthetic import generate_synthetic_views

    views = generate_synthetic_views(["株式会社東京電機", "大阪紡績(株)", ""], n_extra_names=0, views_per_name=2,
                                     forbidden_base_names=["大阪紡績(株)"], seed=0, literal_names=True)  # fmt: skip
    assert set(views["text"]) == {"株式会社東京電機"} and len(views) == 2
