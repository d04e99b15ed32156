"""Generated firm base names (no legal form; modern characters in Japanese, full words in English).

Japanese heads come from Faker's ja_JP vocabularies (surnames, prefectures, cities, towns) plus a few
period-typical heads; tails are industry words and optional modifiers. The vocabularies are small on purpose:
many firms share most of their characters (東京電気 / 東京電機 / 東洋電気), which is what makes the linking hard.
English names (``language="en"``) are built the same way from Faker's en_US surnames and states (vocab_en).
"""

import functools
import unicodedata

from faker.providers.address.en_US import Provider as AddressProviderEn
from faker.providers.address.ja_JP import Provider as AddressProvider
from faker.providers.person.en_US import Provider as PersonProviderEn
from faker.providers.person.ja_JP import Provider as PersonProvider

from . import vocab_en, vocab_ja
from .languages import LANGUAGES


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


def generate_base_names(n, rng, exclude=frozenset(), language="ja"):
    """``n`` distinct base names drawn with the numpy Generator ``rng``, none in ``exclude`` (after normalisation)."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
    head_list = heads() if language == "ja" else None
    industry, modifiers = vocab_ja.INDUSTRY_WORDS, vocab_ja.MODIFIERS
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
        if key not in taken:
            taken.add(key)
            names.append(name)
    return names
