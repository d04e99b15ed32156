"""Real photographs cut into wire-photo sources, and the newspaper printings of each source (PIL + numpy only).

CLIPPINGS clusters newspaper photos by the wire photo they reprint. Here a wire photo (a "source") is a crop of a
real photograph that Debian ships as a desktop background; two crops of one photograph are different sources, like
two wire photos of one event, so they make hard negatives. A printing is what one newspaper made of a source: its
own crop and scale, a halftone screen or faded ink, scan noise and a JPEG round trip.
"""

import dataclasses
import functools
import io
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter


@dataclasses.dataclass(frozen=True)
class Picture:
    """A photograph installed by a Debian package, with the licence and author its copyright notice gives."""

    name: str
    package: str
    path: str
    licence: str
    author: str


def _mate(name, author):
    """debian/copyright of mate-backgrounds puts every nature photograph under GPL-2+."""
    return Picture(name, "mate-backgrounds", f"/usr/share/backgrounds/mate/nature/{name}.jpg", "GPL-2+", author)


def _plasma(name, author):
    """debian/copyright of plasma-workspace-wallpapers says GPL-2+ for every file, but the metadata.json beside each
    image names its photographer and LGPLv3: we record the file's own, narrower statement. 2560x1600.jpg is the one
    real file of these wallpapers; the other sizes are symlinks to it."""
    path = f"/usr/share/wallpapers/{name}/contents/images/2560x1600.jpg"
    return Picture(name, "plasma-workspace-wallpapers", path, "LGPL-3", author)


# Photographs only: the packages' drawings and renders would teach a photo model nothing about photographs.
PICTURES = (
    _mate("Aqua", "Charles Barbin"),
    _mate("Blinds", "Lennart Poettering, Andrea Cimitan"),
    _mate("Dune", "Marco Cogoni, Hylke Bons"),
    _mate("FreshFlower", "Jens Ansorg"),
    _mate("Garden", "Charles Barbin"),
    _mate("GreenMeadow", "Timothy Schellhase, Lapo Calamandrei"),
    _mate("LadyBird", "Charles Barbin"),
    _mate("RainDrops", "blackcombwhistler07"),
    _mate("Storm", "Sergey Nazarov"),
    _mate("TwoWings", "Charles Barbin, Hylke Bons"),
    _mate("Wood", "Jean-François Fortin Tam"),
    _mate("YellowFlower", "Charles Barbin"),
    _plasma("BytheWater", "Maciej Wiklo"),
    _plasma("ColdRipple", "Risto Saukonpää"),
    _plasma("ColorfulCups", "Dmitri Popov"),
    _plasma("DarkestHour", "Risto Saukonpää"),
    _plasma("EveningGlow", "Ian Hex"),
    _plasma("FallenLeaf", "Martin Klapetek"),
    _plasma("Grey", "Sigi Sagi"),
    _plasma("Kite", "Risto Saukonpää"),
    _plasma("OneStandsOut", "Risto Saukonpää"),
    _plasma("Path", "Risto Saukonpää"),
    _plasma("summer_1am", "Risto Saukonpää"),
    Picture(
        "Kleiber",
        "lomiri-wallpapers-20.04",
        "/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",
        "CC-BY-SA-3.0",
        "Lukas Baubkus",
    ),
)

# A source's box: width / height, and its short side as a fraction of the picture's short side.
ASPECT_RANGE = (0.67, 1.5)
SIDE_RANGE = (0.25, 0.5)
TRIES_PER_BOX = 200
RELAX = 0.85  # the side range shrinks by this when a box does not fit: small boxes overlap less
MIN_SIDE = 0.1  # below this fraction of the picture's short side a crop is too small to be a photo

DEGRADATIONS = ("crop", "aspect", "rescale", "halftone", "contrast", "noise", "jpeg")
MAX_CROP = 0.25  # a paper keeps 75-100% of each side
MAX_STRETCH = 0.15
PRINT_LONG_SIDE = (96, 192)
P_ASPECT = 0.7
P_NOISE = 0.8
HALFTONE_BELOW, CONTRAST_ABOVE = 0.55, 0.45  # of one uniform draw: about half each, both a tenth of the time
CELL_PX = (3.0, 5.0)
MAX_INK, MAX_PAPER_LOSS, MAX_LOG_GAMMA = 70.0, 60.0, 0.4
MAX_NOISE_SIGMA, MAX_SPECKS = 12.0, 0.01
JPEG_QUALITY, GENTLE_JPEG_QUALITY = (20, 70), (90, 95)  # at strength 1 and at strength 0


@functools.lru_cache(maxsize=64)
def load_picture(picture, max_side=1600):
    """The picture in grayscale with its long side at most ``max_side``; cached, so callers must not draw on it."""
    path = Path(picture.path)
    if not path.is_file():
        raise FileNotFoundError(f"picture {picture.name!r} not found at {path}: install it with "
                                f"`apt-get install {picture.package}`")  # fmt: skip
    with Image.open(path) as img:
        img.draft("L", (max_side, max_side))  # JPEG decodes at 1/2, 1/4 or 1/8 scale: much faster on large files
        gray = img.convert("L")
    gray.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return gray


def cut_sources(sizes, n_sources, rng, max_overlap=0.3):
    """``n_sources`` (picture index, box) pairs spread over pictures of ``sizes`` (as load_picture gives them) as
    evenly as possible, no two boxes of one picture with an IoU above ``max_overlap``."""
    if n_sources < 0 or not sizes:
        raise ValueError(f"cannot cut {n_sources} sources from {len(sizes)} pictures")
    base, extra = divmod(n_sources, len(sizes))
    counts = np.full(len(sizes), base)
    counts[rng.choice(len(sizes), extra, replace=False)] += 1  # the pictures that get one more: random, not the first
    cuts = []
    for i, size in enumerate(sizes):
        cuts += [(i, box) for box in _boxes_in_picture(size, int(counts[i]), rng, max_overlap)]
    return cuts


def _boxes_in_picture(size, count, rng, max_overlap):
    """Rejection sampling; when a box cannot be placed the boxes get smaller, down to MIN_SIDE, then an error."""
    boxes, shrink = [], 1.0
    while len(boxes) < count:
        box = _place_box(size, boxes, rng, max_overlap, shrink)
        if box is not None:
            boxes.append(box)
            continue
        shrink *= RELAX
        if SIDE_RANGE[1] * shrink < MIN_SIDE:
            raise ValueError(f"cannot place {count} boxes with IoU <= {max_overlap} in a {size[0]}x{size[1]} picture: "
                             f"ask for fewer sources per picture or a larger max_overlap")  # fmt: skip
    return boxes


def _place_box(size, placed, rng, max_overlap, shrink):
    """A random box overlapping none of ``placed`` by more than ``max_overlap``, or None after TRIES_PER_BOX."""
    for _ in range(TRIES_PER_BOX):
        box = _random_box(size, rng, shrink)
        if all(_iou(box, other) <= max_overlap for other in placed):
            return box
    return None


def _random_box(size, rng, shrink):
    """A box inside the picture whose short side is in SIDE_RANGE * shrink and whose aspect is in ASPECT_RANGE."""
    width, height = size
    low = max(1, math.ceil(SIDE_RANGE[0] * shrink * min(size)))
    short = int(rng.integers(low, max(low, math.floor(SIDE_RANGE[1] * shrink * min(size))) + 1))
    aspect = math.exp(rng.uniform(math.log(ASPECT_RANGE[0]), math.log(ASPECT_RANGE[1])))  # as often wide as tall
    if aspect >= 1:
        box_w, box_h = min(round(short * aspect), math.floor(short * ASPECT_RANGE[1])), short
    else:
        box_w, box_h = short, min(round(short / aspect), math.floor(short / ASPECT_RANGE[0]))
    left, top = int(rng.integers(0, width - box_w + 1)), int(rng.integers(0, height - box_h + 1))
    return left, top, left + box_w, top + box_h


def _iou(a, b):
    overlap_w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    overlap_h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    overlap = overlap_w * overlap_h
    return overlap / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap)


def source_image(picture_img, box, long_side=256):
    """The wire photo: the picture's box scaled to ``long_side``."""
    return _resize_long_side(picture_img.crop(box), long_side)


def _resize_long_side(img, long_side, stretch=(1.0, 1.0)):
    """``img`` stretched by ``stretch`` (x, y) and scaled so that its long side is ``long_side``."""
    width, height = img.width * stretch[0], img.height * stretch[1]
    scale = long_side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS)


def print_photo(source, rng, strength=1.0):
    """One newspaper's printing of ``source`` and the names (from DEGRADATIONS) of the steps it went through.

    ``strength`` in [0, 1] scales how far each step goes; at 0 every step but the rescaling is a no-op and the JPEG's
    quality is 90-95, so the printing is nearly the source.
    """
    if not 0 <= strength <= 1:
        raise ValueError(f"strength must be in [0, 1], not {strength}")
    steps = _choose_steps(rng)
    img = _crop(source, rng, strength)
    stretch = _stretch(rng, strength) if "aspect" in steps else (1.0, 1.0)
    img = _resize_long_side(img, int(rng.integers(PRINT_LONG_SIDE[0], PRINT_LONG_SIDE[1] + 1)), stretch)
    if "halftone" in steps:
        img = _halftone(img, rng, strength)
    if "contrast" in steps:
        img = _fade(img, rng, strength)
    if "noise" in steps:
        img = _scan_noise(img, rng, strength)
    return _jpeg_round_trip(img, rng, strength), steps


def _choose_steps(rng):
    """The DEGRADATIONS one printing goes through: crop, rescale and JPEG always, the others by chance."""
    aspect, tone, noise = rng.random(3)
    chosen = {"crop": True, "aspect": aspect < P_ASPECT, "rescale": True, "halftone": tone < HALFTONE_BELOW,
              "contrast": tone >= CONTRAST_ABOVE, "noise": noise < P_NOISE, "jpeg": True}  # fmt: skip
    return [name for name in DEGRADATIONS if chosen[name]]


def _crop(img, rng, strength):
    """Each paper cropped the wire photo to its own column: a random part of each side, at a random offset."""
    keep = 1 - MAX_CROP * strength * rng.random(2)
    width, height = max(1, round(img.width * keep[0])), max(1, round(img.height * keep[1]))
    left, top = int(rng.integers(0, img.width - width + 1)), int(rng.integers(0, img.height - height + 1))
    return img.crop((left, top, left + width, top + height))


def _stretch(rng, strength):
    """(x, y) factors: one axis stretched or squeezed, as a paper fitting the photo to its layout did."""
    factor = 1 + MAX_STRETCH * strength * rng.uniform(-1, 1)
    return (factor, 1.0) if rng.random() < 0.5 else (1.0, factor)


def _halftone(img, rng, strength):
    """An amplitude-modulated screen: a round dot per rotated cell, as large as the cell is dark, seen through a
    scanner's slight blur; blended with the continuous tone by ``strength``."""
    cell, angle = rng.uniform(*CELL_PX), rng.uniform(0, np.pi / 2)
    ys, xs = np.mgrid[0 : img.height, 0 : img.width]
    u = (xs * np.cos(angle) + ys * np.sin(angle)) / cell  # screen coordinates, one unit per cell
    v = (ys * np.cos(angle) - xs * np.sin(angle)) / cell
    darkness = 1 - np.asarray(img, dtype=np.float64) / 255
    cell_darkness = _cell_means(darkness, np.floor(u).astype(int), np.floor(v).astype(int))
    spot = -(np.cos(2 * np.pi * u) + np.cos(2 * np.pi * v)) / 2  # 1 at a cell's centre, -1 at its corners
    ink = np.clip((spot - (1 - 2 * cell_darkness)) / 0.5 + 0.5, 0, 1)  # soft edge about a pixel wide
    screened = Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8))
    blurred = screened.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 0.8)))
    return Image.blend(img, blurred, strength)


def _cell_means(values, cell_u, cell_v):
    """Each pixel's value replaced by the mean over its cell (pixels with equal (cell_u, cell_v))."""
    cell_u, cell_v = cell_u - cell_u.min(), cell_v - cell_v.min()
    cells = (cell_u * (cell_v.max() + 1) + cell_v).ravel()
    sums = np.bincount(cells, weights=values.ravel())
    return (sums / np.maximum(np.bincount(cells), 1))[cells].reshape(values.shape)


def _fade(img, rng, strength):
    """Contrast loss: ink that is not black, paper that is not white, and a tone curve off by a gamma."""
    ink = rng.uniform(0, MAX_INK * strength)
    paper = 255 - rng.uniform(0, MAX_PAPER_LOSS * strength)
    gamma = math.exp(MAX_LOG_GAMMA * strength * rng.uniform(-1, 1))
    levels = ink + (paper - ink) * (np.arange(256) / 255) ** gamma
    return img.point(np.round(levels).astype(int).tolist())


def _scan_noise(img, rng, strength):
    """Sensor noise and specks of dust (dark) or paper fleck (light)."""
    pixels = np.asarray(img, dtype=np.float64)
    pixels = pixels + rng.normal(0, MAX_NOISE_SIGMA * strength * rng.random(), pixels.shape)
    specks = rng.random(pixels.shape) < MAX_SPECKS * strength * rng.random()
    pixels[specks] = 255 * rng.integers(0, 2, int(specks.sum()))
    return Image.fromarray(np.clip(np.round(pixels), 0, 255).astype(np.uint8))


def _jpeg_round_trip(img, rng, strength):
    """The archive's JPEG; its quality falls from 90-95 at strength 0 to 20-70 at strength 1."""
    low, high = (round(gentle + (q - gentle) * strength) for gentle, q in zip(GENTLE_JPEG_QUALITY, JPEG_QUALITY))
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=int(rng.integers(low, high + 1)))
    buffer.seek(0)
    return Image.open(buffer).convert("L")
