"""Generated firm base names (no legal form; modern characters in Japanese, full words in English).

Japanese heads come from Faker's ja_JP vocabularies (surnames, prefectures, cities, towns) plus a few
period-typical heads; tails are industry words and optional modifiers. The vocabularies are small on purpose:
many firms share most of their characters (東京電気 / 東京電機 / 東洋電気), which is what makes the linking hard.
English names (``language="en"``) are built the same way from Faker's en_US surnames and states (vocab_en).
The off-distribution benchmark (``shift=True``, Japanese) draws from vocabularies the default never uses (shifted).
"""

import functools
import unicodedata

from faker.providers.address.en_US import Provider as AddressProviderEn
from faker.providers.address.ja_JP import Provider as AddressProvider
from faker.providers.address.zh_TW import Provider as AddressProviderTw
from faker.providers.person.en_US import Provider as PersonProviderEn
from faker.providers.person.ja_JP import Provider as PersonProvider
from faker.providers.person.zh_TW import Provider as PersonProviderTw

from clippings_wf.data import shifted
from clippings_wf.data import vocab_en
from clippings_wf.data import vocab_ja
from clippings_wf.languages import LANGUAGES


def _strip_suffix(name, suffixes):
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


@functools.lru_cache(maxsize=None)
def heads():
    """Sorted, deduplicated name heads whose every character all fonts can render."""
    places = [_strip_suffix(p, ("県", "府", "都")) for p in AddressProvider.prefectures]
    places += [_strip_suffix(c, ("市", "区", "町", "村")) for c in AddressProvider.cities]
    places += [_strip_suffix(t, ("町", "村")) for t in AddressProvider.towns]
    candidates = set(PersonProvider.last_names) | set(places) | set(vocab_ja.GENERIC_HEADS)
    chars = vocab_ja.common_charset()
    # Sorted so the sampling below depends only on the seed, not on set iteration order.
    return tuple(sorted(h for h in candidates if 1 <= len(h) <= 4 and set(h) <= chars))


@functools.lru_cache(maxsize=None)
def shifted_heads():
    """Heads of the off-distribution benchmark: Faker's zh_TW towns and 50 commonest surnames and
    shifted.OVERSEAS_HEADS in modern forms, none a default head, every character in the default and shifted fonts."""
    surnames = sorted(PersonProviderTw.last_names.items(), key=lambda item: -item[1])[:50]  # stable: ties keep order
    candidates = {vocab_ja.to_modern(h) for h in AddressProviderTw.cities}
    candidates |= {vocab_ja.to_modern(h) for h, _ in surnames} | set(shifted.OVERSEAS_HEADS)
    chars = vocab_ja.common_charset() & shifted.charset()
    default = set(heads())
    return tuple(sorted(h for h in candidates if 1 <= len(h) <= 4 and set(h) <= chars and h not in default))


def spelled_by_default_vocabulary(name):
    """Whether the default Japanese generator could draw ``name``: default head, industry word, maybe modifier."""
    key = normalize_base_name(name)
    head_set, industry, modifiers = set(heads()), set(vocab_ja.INDUSTRY_WORDS), set(vocab_ja.MODIFIERS)
    for i in range(1, len(key)):
        if key[:i] in head_set:
            rest = key[i:]
            if any(rest[:j] in industry and rest[j:] in modifiers | {""} for j in range(1, len(rest) + 1)):
                return True
    return False


@functools.lru_cache(maxsize=None)
def surnames_en():
    """Faker's 1,000 en_US surnames, sorted (all plain ASCII letters)."""
    return tuple(sorted(n for n in PersonProviderEn.last_names if n.isascii() and n.isalpha()))


@functools.lru_cache(maxsize=None)
def heads_en():
    """Surnames, states, industrial towns and generic heads (American, National ...), sorted, one-word or two."""
    states = [s for s in AddressProviderEn.states if len(s.split()) <= 2]
    return tuple(sorted(set(surnames_en()) | set(states) | set(vocab_en.PLACES) | set(vocab_en.GENERIC_HEADS)))


def normalize_base_name(name):
    """Canonical form for comparing names: NFKC, modern character forms, English abbreviations expanded
    (Bros. -> brothers, & -> and), lowercase, no spaces or dots. Japanese names only lose their spaces."""
    return "".join(vocab_en.canonical_words(vocab_ja.to_modern(unicodedata.normalize("NFKC", str(name)))))


def _pick(rng, options):
    return options[rng.integers(len(options))]


def _draw_name_en(rng):
    """One English base name from a pattern of vocab_en.PATTERN_WEIGHTS."""
    patterns, weights = zip(*vocab_en.PATTERN_WEIGHTS)
    pattern = patterns[rng.choice(len(patterns), p=weights)]
    surname = _pick(rng, surnames_en())
    if pattern == "industry":
        name = f"{_pick(rng, heads_en())} {_pick(rng, vocab_en.INDUSTRY_WORDS)}"
        if rng.random() < 0.35:
            name += " " + _pick(rng, vocab_en.MODIFIERS)
        return name
    if pattern == "brothers":
        name = f"{surname} Brothers"
    elif pattern == "sons":
        return f"{surname} & Sons"
    else:
        name = f"{surname} & {_pick(rng, surnames_en())}"
    if rng.random() < 0.4:
        name += " " + _pick(rng, vocab_en.INDUSTRY_WORDS)
    return name


def generate_base_names(n, rng, exclude=frozenset(), language="ja", shift=False):
    """``n`` distinct base names drawn with the numpy Generator ``rng``, none in ``exclude`` (after normalisation).

    ``shift``: Japanese names from the off-distribution vocabulary (shifted_heads, shifted.INDUSTRY_WORDS and
    MODIFIERS), none of which the default vocabulary could spell."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
    if shift and language != "ja":
        raise ValueError("the shifted vocabulary is Japanese: shift needs language ja")
    head_list = (shifted_heads() if shift else heads()) if language == "ja" else None
    industry, modifiers = (shifted.INDUSTRY_WORDS, shifted.MODIFIERS) if shift else (
        vocab_ja.INDUSTRY_WORDS, vocab_ja.MODIFIERS)
    taken = {normalize_base_name(x) for x in exclude}
    names = []
    attempts = 0
    while len(names) < n:
        attempts += 1
        if attempts > 50 * n + 10000:
            raise ValueError(f"could only generate {len(names)} of {n} distinct names; the vocabulary is exhausted")
        if language == "en":
            name = _draw_name_en(rng)
        else:
            name = head_list[rng.integers(len(head_list))] + industry[rng.integers(len(industry))]
            if rng.random() < 0.35:
                name += modifiers[rng.integers(len(modifiers))]
        key = normalize_base_name(name)
        if key not in taken and not (shift and spelled_by_default_vocabulary(name)):
            taken.add(key)
            names.append(name)
    return names
