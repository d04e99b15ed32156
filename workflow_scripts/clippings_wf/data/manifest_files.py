"""Reading a user's files: the manifest (strict UTF-8 CSV or Parquet, every cell a string) and its images (a
cheap header check, or every pixel), each problem named with its file."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from clippings_wf.image_files import ImagePolicy, ImageTooLargeError, open_image, resolve_checked


class ManifestError(ValueError):
    pass


def read_user_manifest(path) -> pd.DataFrame:
    """A user's CSV (strict UTF-8, a BOM is fine) or Parquet manifest, every cell a string ("" where empty).

    A ``where`` column names each row for messages: ``line N`` of the CSV (header = line 1), ``row N`` of Parquet.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest file not found")
    if path.suffix.lower() == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as e:  # pyarrow raises several types for a damaged file
            raise ManifestError(f"{path}: cannot read Parquet manifest ({type(e).__name__}: {e})") from e
        frame = frame.astype(object).where(frame.notna(), "").astype(str)
        where = [f"row {i + 1}" for i in range(len(frame))]
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = raw[: e.start].count(b"\n") + 1
            raise ManifestError(
                f"{path}: line {line}: not valid UTF-8 (byte {raw[e.start]:#04x} at offset {e.start}); "
                "save the manifest as UTF-8"
            ) from e
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            raise ManifestError(f"{path}: not a readable CSV manifest ({e})") from e
        where = [f"line {i + 2}" for i in range(len(frame))]
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.insert(0, "where", where)
    return frame.reset_index(drop=True)


def resolve_path(value: str, manifest_dir: Path, policy: ImagePolicy | None = None, record_id=None,
                 column: str = "image_path") -> Path:  # fmt: skip
    """A manifest cell's image path, checked against the manifest's folder and the policy's roots
    (``image_files.resolve_checked``; UntrustedPathError where it leaves them)."""
    return resolve_checked(value, manifest_dir, policy or ImagePolicy(), record_id, column)


def image_problem(path: Path, decode: bool, max_pixels: int | None = None) -> tuple[str | None, tuple[int, int] | None]:
    """(problem or None, (width, height)). The header check reads a few bytes; ``decode`` reads every pixel. An
    image over ``max_pixels`` (default image_files.DEFAULT_MAX_PIXELS) is a problem, found from its header."""
    if not path.is_file():
        return f"image file not found: {path}", None
    if path.stat().st_size == 0:
        return f"image file is empty (0 bytes): {path}", None
    try:
        with open_image(path, max_pixels) as image:
            if decode:
                image.load()
            return None, image.size
    except ImageTooLargeError as e:
        return str(e), None
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError ... for damaged files
        return f"image file cannot be {'decoded' if decode else 'read'} ({type(e).__name__}: {e}): {path}", None
