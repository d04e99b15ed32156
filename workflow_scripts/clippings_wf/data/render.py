"""Render firm names as grayscale line crops and degrade them like old scanned print (PIL + numpy only).

The script-specific parts (fonts, legal forms, old forms or abbreviations, vertical text) follow the style's
``language`` ("ja" or "en"); the degradation is the same for both.
"""

import functools
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from clippings_wf.data import shifted
from clippings_wf.data import vocab_en
from clippings_wf.data import vocab_ja

BACKGROUND = 255
INK = 0
# Tuned so Tesseract's CER is about 0.2 on query-style crops and about 0.05-0.1 on reference-style ones.
DAMAGE_AT_FULL_SEVERITY = dict(scale_min=0.45, scale_max=0.7, noise=30, specks=0.03)


@functools.lru_cache(maxsize=256)
def load_font(stem, size):
    path, index = font_path(stem)
    return ImageFont.truetype(path, size, index=index)


def font_path(stem):
    """(path, face index) of a Japanese or English font, or a FileNotFoundError naming the apt package."""
    if stem in shifted.FONTS:
        return shifted.font_path(stem)
    if stem in vocab_en.FONTS:
        path, index, package = vocab_en.FONTS[stem]
        if not Path(path).is_file():
            raise FileNotFoundError(f"font {stem!r} not found at {path}: install it with `apt-get install {package}`")
        return path, index
    return vocab_ja.font_path(stem)


def _tight(img, margin):
    """Crop to the ink and add a white margin (pixels)."""
    box = Image.eval(img, lambda v: 255 - v).getbbox()
    if box is not None:
        img = img.crop(box)
    out = Image.new("L", (img.width + 2 * margin, img.height + 2 * margin), BACKGROUND)
    out.paste(img, (margin, margin))
    return out


def render_text(text, font_stem, size, vertical=False, margin=6):
    """Dark text on white, tight crop plus ``margin``; vertical sets one character per row."""
    font = load_font(font_stem, size)
    if not vertical:
        left, top, right, bottom = font.getbbox(text)
        img = Image.new("L", (right - left + 4, bottom - top + 4), BACKGROUND)
        ImageDraw.Draw(img).text((2 - left, 2 - top), text, font=font, fill=INK)
        return _tight(img, margin)
    cell = int(round(size * 1.08))  # a little leading between characters, as in vertical print
    img = Image.new("L", (size + 8, cell * max(len(text), 1) + 8), BACKGROUND)
    draw = ImageDraw.Draw(img)
    for row, ch in enumerate(text):
        left, top, right, bottom = font.getbbox(ch)
        x = 4 + (size - (right - left)) / 2 - left
        y = 4 + row * cell + (cell - (bottom - top)) / 2 - top
        draw.text((x, y), ch, font=font, fill=INK)
    return _tight(img, margin)


def apply_legal_form(base_name, legal_form, position):
    """Attach a legal form ("" = omitted) before or after the base name."""
    if not legal_form:
        return base_name
    return legal_form + base_name if position == "before" else base_name + legal_form


def apply_old_forms(text, rng, p):
    """With probability ``p`` print the whole name in old character forms (會, 氣, 鐵...)."""
    if p <= 0 or rng.random() >= p:
        return text
    table = vocab_ja.old_forms()
    return "".join(table.get(ch, ch) for ch in text)


def degrade(img, rng, severity):
    """Scan-like damage scaled by ``severity`` in [0, 1].

    Ink bleed or faded strokes, skew, blur, then at a lower scan resolution grey ink on grey paper, noise and
    specks, scaled back to the original size (so a crop's size still tells its font size).
    """
    s = float(np.clip(severity, 0.0, 1.0))
    if s == 0:
        return img.copy()
    size = img.size
    stroke = rng.random()
    if stroke < 0.35 * s:
        img = img.filter(ImageFilter.MinFilter(3))  # ink spread: dark strokes thicken and merge
    elif stroke < 0.6 * s:
        img = img.filter(ImageFilter.MaxFilter(3))  # worn type: thin strokes break
    angle = rng.uniform(-2.0, 2.0) * s
    if abs(angle) > 0.1:
        img = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=BACKGROUND)
        size = img.size
    radius = rng.uniform(0.0, 1.5) * s
    if radius > 0.2:
        img = img.filter(ImageFilter.GaussianBlur(radius))
    scale = 1.0 - rng.uniform(DAMAGE_AT_FULL_SEVERITY["scale_min"], DAMAGE_AT_FULL_SEVERITY["scale_max"]) * s
    if scale < 0.95:
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.float32)
    ink = rng.uniform(0, 110) * s
    paper = 255 - rng.uniform(0, 45) * s
    arr = ink + (paper - ink) * arr / 255.0  # contrast loss
    arr += rng.normal(0.0, rng.uniform(0, DAMAGE_AT_FULL_SEVERITY["noise"]) * s, size=arr.shape)
    specks = rng.random(arr.shape) < rng.uniform(0, DAMAGE_AT_FULL_SEVERITY["specks"]) * s
    arr[specks] = np.where(arr[specks] < 128, paper, ink)  # dropouts in the ink, dirt on the paper
    img = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))
    return img.resize(size, Image.Resampling.BILINEAR) if img.size != size else img


def sample_entity_legal_form(rng, language="ja"):
    """The legal form a firm is registered under; most Japanese firms are 株式会社, most US ones a Company."""
    if language == "en":
        weights = np.array(vocab_en.LEGAL_FORM_WEIGHTS + (1 - sum(vocab_en.LEGAL_FORM_WEIGHTS),))
        pick = rng.choice(len(weights), p=weights)
        return (vocab_en.LEGAL_FORMS[pick] if pick < len(vocab_en.LEGAL_FORMS) else None), "after"
    if rng.random() < 0.8:
        form = vocab_ja.KABUSHIKI
    else:
        form = vocab_ja.LEGAL_FORMS[1 + rng.integers(len(vocab_ja.LEGAL_FORMS) - 1)]
    return form, ("before" if rng.random() < 0.5 else "after")


def sample_reference_style(rng, legal_form, vertical_fraction=0.05, old_form_prob=0.05, language="ja", shift=False):
    """A directory entry: Mincho (a book serif in English), clean print, full legal form, mostly horizontal.

    ``shift``: the off-distribution benchmark's fonts, smaller type and damage (clippings_wf.data.shifted)."""
    if language == "en":
        return _sample_style_en(rng, legal_form, "reference", None, old_form_prob)
    form, position = legal_form
    fonts, sizes = (shifted.REFERENCE_FONTS, (22, 33)) if shift else (vocab_ja.REFERENCE_FONTS, (30, 41))
    return dict(
        style="reference",
        font=fonts[rng.integers(len(fonts))],
        size=int(rng.integers(*sizes)),
        vertical=bool(rng.random() < vertical_fraction),
        old_form_prob=old_form_prob,
        severity=float(rng.uniform(0.1, 0.45)),
        margin=int(rng.integers(3, 10)),
        legal_form=form,
        position=position,
    ) | ({"damage": "shifted"} if shift else {})


def sample_query_style(rng, legal_form, reference_font=None, vertical_fraction=0.3, old_form_prob=0.3,
                       language="ja", shift=False):
    """A mention in another list: another font, heavier damage, vertical and old forms sometimes, legal-form variants.

    ``shift``: the off-distribution benchmark's fonts, smaller type and damage (clippings_wf.data.shifted)."""
    if language == "en":
        return _sample_style_en(rng, legal_form, "query", reference_font, old_form_prob)
    form, position = legal_form
    fonts = [f for f in (shifted.QUERY_FONTS if shift else vocab_ja.QUERY_FONTS) if f != reference_font]
    sizes = (20, 31) if shift else (26, 41)
    vertical = bool(rng.random() < vertical_fraction)
    if form == vocab_ja.KABUSHIKI:
        variants = vocab_ja.KABUSHIKI_VARIANTS_VERTICAL if vertical else vocab_ja.KABUSHIKI_VARIANTS
        form, position = variants[rng.integers(len(variants))]
    elif rng.random() < 0.3:
        form, position = "", ""
    return dict(
        style="query",
        font=fonts[rng.integers(len(fonts))],
        size=int(rng.integers(*sizes)),
        vertical=vertical,
        old_form_prob=old_form_prob,
        severity=float(rng.uniform(0.3, 0.85)),
        margin=int(rng.integers(2, 10)),
        legal_form=form,
        position=position,
    ) | ({"damage": "shifted"} if shift else {})


def _sample_style_en(rng, legal_form, role, reference_font, abbreviation_prob):
    """English records are horizontal. A reference prints the registered legal form in full or abbreviated
    (``Company`` / ``Co.``); a query prints it either way or omits it, in another font, with heavier damage.
    Words are abbreviated (Mfg., Bros., &) with probability ``abbreviation_prob`` each, at render time."""
    forms = legal_form[0]
    if role == "reference":
        fonts, size, severity, margin = vocab_en.REFERENCE_FONTS, (24, 35), (0.1, 0.45), (3, 10)
        choice = 0 if rng.random() < 0.6 else 1
    else:
        fonts = [f for f in vocab_en.QUERY_FONTS if f != reference_font]
        size, severity, margin = (20, 35), (0.3, 0.85), (2, 10)
        choice = int(rng.choice(3, p=[0.3, 0.5, 0.2]))  # full, abbreviated, omitted
    form = "" if forms is None or choice == 2 else forms[choice]
    if form in ("Inc.", "Ltd.", "Incorporated", "Limited") and rng.random() < 0.5:
        form = ", " + form  # Miller Bros., Inc.
    elif form:
        form = " " + form
    return dict(
        style=role,
        language="en",
        font=fonts[rng.integers(len(fonts))],
        size=int(rng.integers(*size)),
        vertical=False,
        old_form_prob=abbreviation_prob,
        severity=float(rng.uniform(*severity)),
        margin=int(rng.integers(*margin)),
        legal_form=form,
        position="after" if form else "",
    )


def render_view(base_name, style, rng):
    """Render one record: returns (text, clean image, degraded image); both images share text, font, orientation."""
    text = apply_legal_form(base_name, style["legal_form"], style["position"])
    if style.get("language", "ja") == "en":
        text = vocab_en.abbreviate(text, rng, style["old_form_prob"])
    else:
        text = apply_old_forms(text, rng, style["old_form_prob"])
    clean = render_text(text, style["font"], style["size"], style["vertical"], style["margin"])
    damage = shifted.degrade if style.get("damage") == "shifted" else degrade
    return text, clean, damage(clean, rng, style["severity"])


def to_png(img):
    """PNG bytes; PIL writes no timestamps, so equal images give equal bytes."""
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
