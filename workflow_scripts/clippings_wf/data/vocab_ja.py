"""Vocabularies and fonts for generated mid-20th-century Japanese firm names."""

import functools
from pathlib import Path

# Industry words: most firms in a directory share a handful of these, so names differ by a character or two.
INDUSTRY_WORDS = (
    "鉱業", "紡績", "製紙", "商事", "電機", "電気", "造船", "銀行", "運輸", "醸造",
    "化学", "製鉄", "鉄道", "織物", "保険", "倉庫", "瓦斯", "製薬", "食品", "建設",
    "製糖", "製粉", "製氷", "製菓", "製油", "製材", "製缶", "製鋼", "鋼管", "鋳造",
    "金属", "機械", "重工", "車両", "自動車", "汽船", "海運", "航空", "通運", "物産",
    "商会", "商店", "貿易", "百貨店", "信託", "証券", "土地", "開発", "建物", "窯業",
    "硝子", "陶器", "セメント", "肥料", "染料", "塗料", "油脂", "石油", "炭礦", "水産",
    "農林", "印刷", "出版", "映画", "新聞", "放送", "精工", "光学", "ゴム", "皮革",
    "毛織", "製糸", "人絹", "酒造", "乳業", "缶詰", "電線", "電工", "通信", "木材",
)

# Optional modifiers that follow the industry word (東京電気工業).
MODIFIERS = ("興業", "工業", "産業", "製作所", "工務店", "商会", "工作所", "実業")

# Heads that are neither surnames nor places but are common in firm names of the period.
GENERIC_HEADS = (
    "東洋", "大日本", "日本", "東亜", "帝国", "昭和", "大正", "明治", "共同", "第一",
    "中央", "日東", "三共", "旭", "朝日", "富士", "太平洋", "大同", "協和", "日之出",
    "東邦", "関東", "関西", "東北", "九州", "北陸", "山陽", "南海", "西日本", "東日本",
    "大和", "扶桑", "興亜", "日新", "日清", "日立", "三光", "丸善", "大洋", "極東",
)

# Legal-form variants: (text, position) with position "before" | "after".
KABUSHIKI = "株式会社"
LEGAL_FORMS = ("株式会社", "合資会社", "合名会社", "有限会社")
# How a 株式会社 is written in a query list: full, abbreviated, or omitted (text "", position "").
# ASCII parentheses: Tesseract's jpn model writes them for full-width ones too, so the ground truth matches.
KABUSHIKI_VARIANTS = (
    ("株式会社", "before"), ("株式会社", "after"), ("(株)", "before"), ("(株)", "after"),
    ("㈱", "before"), ("", ""),
)
# Parenthesised abbreviations cannot be set one character per row; vertical crops use these.
KABUSHIKI_VARIANTS_VERTICAL = (("株式会社", "before"), ("株式会社", "after"), ("㈱", "before"), ("", ""))

# Modern -> old (kyujitai) character forms seen in pre-1950 print. Only characters all our fonts have.
OLD_FORMS = {
    "会": "會", "気": "氣", "鉄": "鐵", "国": "國", "発": "發", "広": "廣", "関": "關", "応": "應",
    "与": "與", "売": "賣", "写": "寫", "学": "學", "実": "實", "沢": "澤", "浜": "濱", "塩": "鹽",
    "薬": "藥", "団": "團", "豊": "豐", "体": "體", "旧": "舊", "当": "當", "県": "縣", "区": "區",
    "灯": "燈", "鉱": "鑛", "駅": "驛", "価": "價", "読": "讀", "変": "變", "来": "來", "図": "圖",
    "浅": "淺", "寿": "壽", "処": "處", "総": "總", "庁": "廳", "斎": "齋", "蚕": "蠶", "糸": "絲",
    "続": "續", "万": "萬", "労": "勞", "満": "滿", "栄": "榮", "営": "營", "桜": "櫻", "亜": "亞",
    "医": "醫", "衛": "衞", "画": "畫", "拠": "據", "検": "檢", "権": "權", "済": "濟", "雑": "雜",
    "児": "兒", "収": "收", "焼": "燒", "条": "條", "状": "狀", "乗": "乘", "浄": "淨", "譲": "讓",
    "醸": "釀", "真": "眞", "専": "專", "戦": "戰", "銭": "錢", "繊": "纖", "双": "雙", "蔵": "藏",
    "属": "屬", "対": "對", "台": "臺", "滝": "瀧", "単": "單", "断": "斷", "虫": "蟲", "鋳": "鑄",
    "伝": "傳", "転": "轉", "党": "黨", "独": "獨", "弐": "貳", "脳": "腦", "廃": "廢", "麦": "麥",
    "髪": "髮", "蛮": "蠻", "辺": "邊", "舗": "舖", "穂": "穗", "宝": "寶", "予": "豫", "余": "餘",
    "揺": "搖", "様": "樣", "頼": "賴", "乱": "亂", "覧": "覽", "竜": "龍", "両": "兩", "猟": "獵",
    "緑": "綠", "励": "勵", "礼": "禮", "霊": "靈", "齢": "齡", "恋": "戀", "炉": "爐", "楼": "樓",
    "湾": "灣", "駆": "驅", "軽": "輕", "芸": "藝", "径": "徑", "経": "經", "継": "繼", "鶏": "鷄",
    "研": "硏", "険": "險", "圏": "圈", "歩": "步", "毎": "每", "黒": "黑", "砕": "碎", "剤": "劑",
    "参": "參", "惨": "慘", "賛": "贊", "残": "殘", "歯": "齒", "辞": "辭", "湿": "濕", "釈": "釋",
    "従": "從", "渋": "澁", "獣": "獸", "縦": "縱", "粛": "肅", "将": "將", "称": "稱", "奨": "獎",
    "証": "證", "触": "觸", "寝": "寢", "尽": "盡", "粋": "粹", "酔": "醉", "随": "隨", "声": "聲",
    "静": "靜", "窃": "竊", "摂": "攝", "禅": "禪", "争": "爭", "荘": "莊", "装": "裝", "騒": "騷",
    "増": "增", "臓": "臟", "即": "卽", "帯": "帶", "滞": "滯", "担": "擔", "胆": "膽", "遅": "遲",
    "昼": "晝", "聴": "聽", "鎮": "鎭", "逓": "遞", "点": "點", "闘": "鬪", "徳": "德", "届": "屆",
    "悩": "惱", "拝": "拜", "抜": "拔", "秘": "祕", "払": "拂", "仏": "佛", "並": "竝", "弁": "辨",
    "訳": "譯", "誉": "譽", "謡": "謠", "塁": "壘", "隷": "隸", "録": "錄",
}
MODERN_FORMS = {old: modern for modern, old in OLD_FORMS.items()}

_NOTO = "/usr/share/fonts/opentype/noto"
# stem -> (path, face index in a collection, Debian package that ships it). Index 0 is the JP face of Noto CJK.
FONTS = {
    "ipaexm": ("/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf", 0, "fonts-ipaexfont-mincho"),
    "ipaexg": ("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf", 0, "fonts-ipaexfont-gothic"),
    "ipam": ("/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf", 0, "fonts-ipafont-mincho"),
    "ipag": ("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf", 0, "fonts-ipafont-gothic"),
    "VL-Gothic-Regular": ("/usr/share/fonts/truetype/vlgothic/VL-Gothic-Regular.ttf", 0, "fonts-vlgothic"),
    "TakaoMincho": ("/usr/share/fonts/truetype/takao-mincho/TakaoMincho.ttf", 0, "fonts-takao-mincho"),
    "NotoSerifCJK-Regular": (f"{_NOTO}/NotoSerifCJK-Regular.ttc", 0, "fonts-noto-cjk"),
    "NotoSansCJK-Regular": (f"{_NOTO}/NotoSansCJK-Regular.ttc", 0, "fonts-noto-cjk"),
}
# A directory is set in Mincho; query lists come from many printers.
REFERENCE_FONTS = ("ipaexm", "ipam")
QUERY_FONTS = tuple(FONTS)


def font_path(stem, fonts=None):
    """(path, face index) of a font of ``fonts`` (default this module's FONTS), or a FileNotFoundError naming the
    apt package to install."""
    path, index, package = (fonts or FONTS)[stem]
    if not Path(path).is_file():
        raise FileNotFoundError(f"font {stem!r} not found at {path}: install it with `apt-get install {package}`")
    return path, index


def font_charset(stem, fonts=None):
    """The set of characters a font has glyphs for (so names never render as tofu)."""
    return _charset_of(*font_path(stem, fonts))


@functools.lru_cache(maxsize=None)
def _charset_of(path, index):
    from fontTools.ttLib import TTFont

    with TTFont(path, fontNumber=index, lazy=True) as font:
        return frozenset(chr(code) for code in font.getBestCmap())


@functools.lru_cache(maxsize=None)
def common_charset():
    """Characters every font has: vocabularies are filtered to these."""
    return frozenset.intersection(*(font_charset(stem) for stem in FONTS))


def old_forms():
    """OLD_FORMS limited to old characters that every font can render."""
    chars = common_charset()
    return {modern: old for modern, old in OLD_FORMS.items() if old in chars}


def to_modern(text):
    """Map old character forms back to modern ones."""
    return "".join(MODERN_FORMS.get(ch, ch) for ch in text)
