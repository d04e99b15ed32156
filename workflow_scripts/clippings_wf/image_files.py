"""A manifest's images are untrusted input: where their paths may point, and how large an image may decode.

Paths: an image path (``image_path``, ``clean_image_path``, ``ocr_image_path``, ...) resolves relative to the
manifest's folder, or is absolute, and its real location (``..`` collapsed and every symlink followed) must lie
under the manifest's folder or under one of the allowed ``roots`` (a dataset's ``image_roots`` in config). A path
that leaves them, through ``..``, as an absolute path elsewhere, or through a symlink whose target lies outside, is
refused naming the record, the column and the path.

Size: an image whose header claims more than ``max_pixels`` pixels (width x height) is refused before its pixels
are decoded (a decompression bomb), naming the file and, where the caller knows it, the record. Default: PIL's
own guard, 89,478,485 pixels (about 9,459 x 9,459).

The import step writes the policy it checked with (the allowed roots, the pixel limit) beside the workflow's
records.csv (``POLICY_FILE``), so every later step that resolves a path of that table applies the same policy.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import json
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_PIXELS = 89_478_485  # PIL.Image.MAX_IMAGE_PIXELS: 1024 * 1024 * 1024 // 4 // 3
POLICY_FILE = "image_policy.json"
# Roots allowed on top of a manifest's own folder for the duration of a call (the API: a DataFrame's paths
# resolve against the working folder, though it is checked as a temporary manifest).
_MAX_PIXELS = [DEFAULT_MAX_PIXELS]  # open_image's limit where none is given: this process's dataset's (use_max_pixels)
_EXTRA_ROOTS: contextvars.ContextVar[tuple[Path, ...]] = contextvars.ContextVar("extra_image_roots", default=())


class UntrustedPathError(ValueError):
    """An image path that leaves the manifest's folder and the allowed roots."""


class ImageTooLargeError(ValueError):
    """An image whose decoded size would exceed the pixel limit."""


@dataclass(frozen=True)
class ImagePolicy:
    roots: tuple[Path, ...] = ()  # allowed besides the manifest's folder, resolved
    max_pixels: int = DEFAULT_MAX_PIXELS

    @classmethod
    def make(cls, roots: Iterable = (), max_pixels: int | None = None) -> ImagePolicy:
        return cls(tuple(_real(r) for r in roots or ()), int(max_pixels or _MAX_PIXELS[0]))


def _real(path) -> Path:
    return Path(os.path.realpath(os.path.expanduser(str(path))))


def write_policy(folder, policy: ImagePolicy) -> Path:
    """The policy a table's paths were checked with, beside it (its paths are absolute then, under these roots)."""
    path = Path(folder) / POLICY_FILE
    path.write_text(json.dumps({"roots": [str(r) for r in policy.roots], "max_pixels": policy.max_pixels},
                               indent=1) + "\n", encoding="utf-8")  # fmt: skip
    return path


def policy_of(manifest_dir) -> ImagePolicy:
    """The policy written beside a manifest (``write_policy``), else the default: its own folder, PIL's limit."""
    path = Path(manifest_dir) / POLICY_FILE
    if not path.is_file():
        return ImagePolicy()
    data = json.loads(path.read_text(encoding="utf-8"))
    return ImagePolicy.make(data.get("roots", ()), data.get("max_pixels"))


def use_max_pixels(max_pixels: int | None) -> None:
    """Make ``max_pixels`` the limit of every later ``open_image`` without one (a step's process opens one
    dataset's images, in workers too: set it before they fork)."""
    _MAX_PIXELS[0] = int(max_pixels or DEFAULT_MAX_PIXELS)


@contextlib.contextmanager
def extra_roots(roots: Iterable, max_pixels: int | None = None):
    """Allow ``roots`` too (this thread / context only) and, where given, make ``max_pixels`` the limit, for
    every path resolved and image opened inside the ``with`` block (the API's calls)."""
    token = _EXTRA_ROOTS.set(_EXTRA_ROOTS.get() + tuple(_real(r) for r in roots))
    previous = _MAX_PIXELS[0]
    if max_pixels:
        use_max_pixels(max_pixels)
    try:
        yield
    finally:
        _EXTRA_ROOTS.reset(token)
        _MAX_PIXELS[0] = previous


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolve_checked(value, manifest_dir, policy: ImagePolicy | None = None, record_id=None,
                    column: str = "image_path") -> Path:  # fmt: skip
    """``value`` resolved against ``manifest_dir`` (unless absolute), refused (UntrustedPathError) where its real
    location is outside ``manifest_dir`` and the policy's roots. Returns the path as resolved, symlinks kept (the
    workflow's tables keep the name the user gave)."""
    policy = policy_of(manifest_dir) if policy is None else policy
    given = Path(str(value))  # "~" is not expanded: a manifest's path names a file, not a shell word
    path = given if given.is_absolute() else Path(manifest_dir) / given
    real = _real(path)
    allowed = (_real(manifest_dir), *policy.roots, *_EXTRA_ROOTS.get())
    if not any(_within(real, root) for root in allowed):
        record = f"record_id {record_id!r}, " if record_id is not None else ""
        via = " (through a symlink)" if real != Path(os.path.abspath(path)) else ""
        raise UntrustedPathError(
            f"{record}column {column}: image path {str(value)!r} resolves to {real}{via}, outside the manifest's "
            f"folder and the allowed image roots ({', '.join(str(r) for r in allowed)}); add its folder to the "
            "dataset's image_roots in config to allow it"
        )
    return path


def open_image(source, max_pixels: int | None = None, what: str = ""):
    """``PIL.Image.open`` of a path, bytes or file, refused (ImageTooLargeError, naming ``what`` and the file)
    where width x height exceeds ``max_pixels`` (default: ``use_max_pixels``'s, else DEFAULT_MAX_PIXELS): only the
    header is read to know.
    PIL's own guard (Image.MAX_IMAGE_PIXELS) is raised to a higher configured limit, so this one decides."""
    from PIL import Image

    limit = int(max_pixels or _MAX_PIXELS[0])
    if Image.MAX_IMAGE_PIXELS is not None and limit > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = limit
    name = "image bytes" if isinstance(source, (bytes, bytearray, memoryview)) else f"image {source}"
    prefix = f"{what}: " if what else ""
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(source)
        except Image.DecompressionBombError as e:
            raise ImageTooLargeError(f"{prefix}{name} is too large to decode safely ({e})") from e
    width, height = image.size
    if width * height > limit:
        image.close()
        raise ImageTooLargeError(f"{prefix}{name} is {width} x {height} = {width * height:,} pixels, over the "
                                 f"limit of {limit:,} (max_image_pixels in the dataset's config)")  # fmt: skip
    return image
