"""The off-distribution Japanese benchmark (``generate.shift: true``): fonts, name words and scan damage that no
training pool of the default benchmark uses, so that a model trained there is tested on print it never saw.

Fonts: the Bold weight of Noto Serif CJK and Noto Sans CJK, in their JP, TC and KR faces. The default pools use
the Regular weight of these two families (JP face) and the Regular faces of IPA, IPAex, VL Gothic and Takao,
the only weight those Debian packages ship (their proportional faces, ipagp, VL-PGothic ..., share the glyphs),
so the families Noto Serif / Sans CJK are reused, in a weight and regional glyph shapes the default never uses
(直, 骨, 社 with the old 示 radical). References are set in the serif faces, queries in any.
Names: heads from Faker's zh_TW towns and commonest surnames and overseas places of the period (満洲, 京城,
大連 ...), none a default head, and industry words and suffixes that vocab_ja does not have; a name the default
vocabulary could also spell is redrawn (``names.shifted_heads``, ``names.generate_base_names(shift=True)``).
Damage (``degrade``): smaller type, shear, the reverse side showing through, a directional blur, uneven lighting,
pixelated resolution loss, JPEG blocks and sometimes photocopy binarisation, in place of the default's ink bleed,
Gaussian blur, noise and specks.
"""

import functools
import io

import numpy as np
from PIL import Image, ImageChops, ImageFilter, ImageOps

from clippings_wf.data import vocab_ja

BACKGROUND = 255  # as render.BACKGROUND (render imports this module)

_NOTO = "/usr/share/fonts/opentype/noto"
# stem -> (path, face index in the collection, Debian package). Faces: 0 JP, 1 KR, 3 TC.
FONTS = {
    "NotoSerifCJK-Bold": (f"{_NOTO}/NotoSerifCJK-Bold.ttc", 0, "fonts-noto-cjk"),
    "NotoSerifCJK-Bold-TC": (f"{_NOTO}/NotoSerifCJK-Bold.ttc", 3, "fonts-noto-cjk"),
    "NotoSerifCJK-Bold-KR": (f"{_NOTO}/NotoSerifCJK-Bold.ttc", 1, "fonts-noto-cjk"),
    "NotoSansCJK-Bold": (f"{_NOTO}/NotoSansCJK-Bold.ttc", 0, "fonts-noto-cjk"),
    "NotoSansCJK-Bold-TC": (f"{_NOTO}/NotoSansCJK-Bold.ttc", 3, "fonts-noto-cjk"),
    "NotoSansCJK-Bold-KR": (f"{_NOTO}/NotoSansCJK-Bold.ttc", 1, "fonts-noto-cjk"),
}
REFERENCE_FONTS = ("NotoSerifCJK-Bold", "NotoSerifCJK-Bold-TC", "NotoSerifCJK-Bold-KR")
QUERY_FONTS = tuple(FONTS)

# Places of the period's overseas and colonial firms (modern character forms); none is a head of vocab_ja/names.
OVERSEAS_HEADS = (
    "満洲", "満蒙", "南満", "北満", "朝鮮", "京城", "釜山", "仁川", "平壌", "元山", "群山", "木浦", "樺太", "豊原",
    "真岡", "大連", "旅順", "奉天", "新京", "撫順", "鞍山", "安東", "営口", "吉林", "哈爾浜", "青島", "済南",
    "天津", "上海", "漢口", "南京", "広東", "厦門", "香港", "蒙疆", "北支", "中支", "南支", "南洋", "比律賓",
    "爪哇", "暹羅", "布哇", "桑港", "伯剌西爾",
)
# Trades absent from vocab_ja.INDUSTRY_WORDS and MODIFIERS (tests/test_generator.py checks it).
INDUSTRY_WORDS = (
    "製靴", "製帽", "製綿", "製網", "製瓦", "製陶", "製麻", "製炭", "製塩", "製茶", "製革", "製函", "製鎖", "製針",
    "製瓶", "製綱", "紙器", "拓殖", "殖産", "鉄工", "撚糸", "洋服", "洋傘", "時計", "写真", "楽器", "玩具", "石鹸",
    "燐寸", "煙草", "漁業", "捕鯨", "牧場", "植林", "鉛筆", "硫酸", "曹達", "酸素", "護謨", "麦酒", "蚕糸", "生糸",
    "綿布", "麻糸", "足袋", "漆器", "樟脳", "鳳梨", "製酪", "製藍",
)
MODIFIERS = ("洋行", "商行", "公司", "組", "本舗", "商社")


def font_path(stem):
    """(path, face index) of a shifted font, or a FileNotFoundError naming the apt package."""
    return vocab_ja.font_path(stem, FONTS)


@functools.lru_cache(maxsize=None)
def charset():
    """Characters every shifted font has glyphs for."""
    return frozenset.intersection(*(vocab_ja.font_charset(stem, FONTS) for stem in FONTS))


def _shear(img, rng, s):
    """Slant the line along its length (a skewed sheet or italic-like type), then rotate it a little."""
    vertical = img.height > img.width
    if vertical:
        img = img.transpose(Image.Transpose.ROTATE_90)
    k = rng.uniform(-0.3, 0.3) * s
    width = img.width + int(np.ceil(abs(k) * img.height))
    img = img.transform((width, img.height), Image.Transform.AFFINE, (1, k, -max(k, 0.0) * img.height, 0, 1, 0),
                        resample=Image.Resampling.BICUBIC, fillcolor=BACKGROUND)
    if vertical:
        img = img.transpose(Image.Transpose.ROTATE_270)
    angle = rng.uniform(-4.0, 4.0) * s
    return img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=BACKGROUND)


def _motion_blur(img, rng, s):
    """A 5 x 5 line kernel along one direction: the sheet moved during the scan."""
    length = 5 if rng.random() < 0.4 * s else 3
    kernel = np.zeros((5, 5))
    direction = rng.integers(4)  # horizontal, vertical, two diagonals
    for t in range(-(length // 2), length // 2 + 1):
        y, x = [(0, t), (t, 0), (t, t), (t, -t)][direction]
        kernel[2 + y, 2 + x] = 1.0
    return img.filter(ImageFilter.Kernel((5, 5), kernel.ravel().tolist(), scale=float(kernel.sum())))


def degrade(img, rng, severity):
    """Scan damage of another kind than ``render.degrade``, scaled by ``severity`` in [0, 1]; same size out as in
    after the shear (a crop's size still tells its font size)."""
    s = float(np.clip(severity, 0.0, 1.0))
    if s == 0:
        return img.copy()
    # Show-through: the reverse side's print, mirrored and faint, behind the line.
    ghost = ImageChops.darker(img, ImageOps.mirror(img))
    img = Image.blend(img, ghost, rng.uniform(0.1, 0.3) * s)
    img = _shear(img, rng, s)
    size = img.size
    img = _motion_blur(img, rng, s)
    scale = 1.0 - rng.uniform(0.3, 0.5) * s  # pixelated: area-averaged down, nearest-neighbour back up
    img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.BOX)
    img = img.resize(size, Image.Resampling.NEAREST)
    arr = np.asarray(img, dtype=np.float32)
    # Uneven lighting: the paper darkens towards one end of the line.
    along = np.linspace(0.0, 1.0, arr.shape[1])[None, :]
    if rng.random() < 0.5:
        along = along[:, ::-1]
    paper = 255.0 - rng.uniform(20, 80) * s * along
    ink = rng.uniform(0, 60) * s
    arr = ink + (paper - ink) * arr / 255.0
    if rng.random() < 0.25 * s:  # a photocopy: black or white only
        arr = np.where(arr < rng.uniform(120, 170), 0.0, 255.0)
    img = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=int(round(70 - rng.uniform(0, 55) * s)))
    return Image.open(io.BytesIO(buffer.getvalue())).convert("L")
