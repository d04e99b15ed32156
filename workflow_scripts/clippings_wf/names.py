"""Generated firm base names (no legal form, modern characters).

Heads come from Faker's ja_JP vocabularies (surnames, prefectures, cities, towns) plus a few period-typical
heads; tails are industry words and optional modifiers. The vocabularies are small on purpose: many firms
share most of their characters (東京電気 / 東京電機 / 東洋電気), which is what makes the linking hard.
"""

import functools
import unicodedata

from faker.providers.address.ja_JP import Provider as AddressProvider
from faker.providers.person.ja_JP import Provider as PersonProvider

from . import vocab_ja


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


def normalize_base_name(name):
    """Canonical form for comparing names: NFKC, modern character forms, no spaces."""
    return vocab_ja.to_modern(unicodedata.normalize("NFKC", str(name))).replace(" ", "")


def generate_base_names(n, rng, exclude=frozenset()):
    """``n`` distinct base names drawn with the numpy Generator ``rng``, none in ``exclude`` (after normalisation)."""
    head_list = heads()
    industry, modifiers = vocab_ja.INDUSTRY_WORDS, vocab_ja.MODIFIERS
    taken = {normalize_base_name(x) for x in exclude}
    names = []
    attempts = 0
    while len(names) < n:
        attempts += 1
        if attempts > 50 * n + 10000:
            raise ValueError(f"could only generate {len(names)} of {n} distinct names; the vocabulary is exhausted")
        name = head_list[rng.integers(len(head_list))] + industry[rng.integers(len(industry))]
        if rng.random() < 0.35:
            name += modifiers[rng.integers(len(modifiers))]
        key = normalize_base_name(name)
        if key not in taken:
            taken.add(key)
            names.append(name)
    return names
