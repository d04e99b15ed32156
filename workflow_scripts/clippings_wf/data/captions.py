"""Wire-photo captions of the news_wire benchmark: events, the wire's captions of them, each paper's edit of a
caption, and its rendering as scanned newspaper type.

A wire service sent several photos of one event, each with its own caption (wire_caption): they share the event's
people and place but not their wording. Every paper that ran a photo edited its caption its own way
(print_caption): cut it short, wrote another lead, swapped words, added a dateline or a credit line. The vocabulary
is in vocab_news; names come from Faker's en_US lists, drawn with the caller's numpy Generator as names.py does.
"""

import calendar
import dataclasses
import datetime
import functools
import math
import re
import textwrap

import numpy as np
from faker.providers.address.en_US import Provider as AddressProviderEn
from faker.providers.person.en_US import Provider as PersonProviderEn
from PIL import Image, ImageDraw

from clippings_wf.data import names
from clippings_wf.data import render
from clippings_wf.data import vocab_en
from clippings_wf.data import vocab_news

EDITS = ("cut", "lead", "synonyms", "dateline", "credit")
# Chance of each edit at strength 1; strength s multiplies them all. Whether each edit happens is drawn before any
# is applied, so for one rng state a higher strength only adds edits: the printed text drifts from the wire's
# smoothly and monotonically in s, which the benchmark's calibration of s relies on.
EDIT_PROBS = {"cut": 0.7, "lead": 0.6, "synonyms": 0.9, "dateline": 0.6, "credit": 0.8}
SYNONYM_SWAP_PROB = 0.6  # per swappable word, once a paper's desk swaps words at all
YEARS = (1935, 1965)  # inclusive
# Captions were set in the paper's body serif; the typewriter faces of vocab_en are for lists, not newspapers.
CAPTION_FONTS = tuple(f for f in vocab_en.QUERY_FONTS if "Mono" not in f)
FONT_SIZES = (20, 28)  # inclusive, pixels
# render.degrade's severity, drawn per caption: Tesseract's CER is then about 0.19 on 300 captions (median 0.04;
# about one caption in six comes back empty or garbled, where degrade thinned or thickened the strokes).
SEVERITY_RANGE = (0.15, 0.65)
CHARS_PER_LINE = (60, 120)  # a caption's column width, drawn per caption: short captions take one line


@dataclasses.dataclass(frozen=True)
class Event:
    """What a wire story is about; every caption of it is written from these fields."""

    template: str  # key of vocab_news.TEMPLATES
    people: tuple[str, ...]  # full names with titles, one per role of the template
    city: str
    state: str  # abbreviated as in the period ("Conn.")
    year: int
    month: int
    day: int
    street: str
    name: str  # a surname naming the event's firm, ship, school or horse
    small: int  # 2-9: feet, alarms, days, touchdowns...
    score: tuple[int, int]
    crowd: int
    age: int

    @property
    def place(self) -> str:
        return f"{self.city}, {self.state}"

    @property
    def date(self) -> str:
        return f"{vocab_news.MONTHS[self.month - 1]} {self.day}"


def _pick(rng, options):
    return options[rng.integers(len(options))]


@functools.lru_cache(maxsize=None)
def first_names(female: bool) -> tuple[str, ...]:
    """Faker's en_US first names of one sex, sorted so draws depend on the seed only."""
    pool = PersonProviderEn.first_names_female if female else PersonProviderEn.first_names_male
    return tuple(sorted(n for n in pool if n.isascii() and n.isalpha()))


def _person(rng, role, taken):
    """A person as the caption names them ("Mayor John A. Smith"): a title of the role, a first name, sometimes an
    initial, a surname not in ``taken``."""
    title = _pick(rng, vocab_news.TITLES[role])
    first = _pick(rng, first_names(bool(rng.random() < vocab_news.FEMALE_SHARE.get(role, 0.0))))
    initial = f"{chr(ord('A') + rng.integers(26))}." if rng.random() < 0.5 else ""
    surname = _pick(rng, [s for s in names.surnames_en() if s not in taken])
    return " ".join(part for part in (title, first, initial, surname) if part)


def _place(rng):
    """(city, state abbreviation): one of vocab_en.PLACES, or a Faker-style town ("Port Hallburgh") in a state."""
    if rng.random() < 0.5:
        city = _pick(rng, vocab_en.PLACES)
        return city, vocab_news.STATES[vocab_news.CITY_STATES[city]]
    city = _pick(rng, names.surnames_en()) + _pick(rng, AddressProviderEn.city_suffixes)
    if rng.random() < 0.3:
        city = f"{_pick(rng, AddressProviderEn.city_prefixes)} {city}"
    return city, vocab_news.STATES[_pick(rng, AddressProviderEn.states)]


def make_event(rng: np.random.Generator) -> Event:
    """A random event: a template, its people, a place, a date in 1935-1965 and the figures its captions quote."""
    template = _pick(rng, tuple(vocab_news.TEMPLATES))
    people = []
    for role in vocab_news.TEMPLATES[template]["roles"]:
        people.append(_person(rng, role, {p.split()[-1] for p in people}))
    city, state = _place(rng)
    year, month = int(rng.integers(YEARS[0], YEARS[1] + 1)), int(rng.integers(1, 13))
    high = int(rng.integers(3, 13))
    return Event(
        template=template,
        people=tuple(people),
        city=city,
        state=state,
        year=year,
        month=month,
        day=int(rng.integers(1, calendar.monthrange(year, month)[1] + 1)),
        street=_pick(rng, vocab_news.STREETS),
        name=_pick(rng, names.surnames_en()),
        small=int(rng.integers(2, 10)),
        score=(high, int(rng.integers(0, high))),
        crowd=int(rng.integers(2, 100)) * 100,
        age=int(rng.integers(19, 71)),
    )


@functools.lru_cache(maxsize=None)
def _titles_longest_first():
    return tuple(sorted({t for ts in vocab_news.TITLES.values() for t in ts if t}, key=len, reverse=True))


def second_reference(full_name: str) -> str:
    """How a caption names a person again: title and surname ("Mayor Smith", "Chief Smith"), or the surname."""
    surname = full_name.split()[-1]
    for title in _titles_longest_first():
        if full_name.startswith(title + " "):
            return f"{vocab_news.SHORT_TITLES.get(title, title)} {surname}"
    return surname


def _slots(event):
    """The template slots (vocab_news's docstring lists them) filled from ``event``."""
    slots = dict(city=event.city, place=event.place, street=event.street, name=event.name, date=event.date,
                 small=vocab_news.NUMBER_WORDS[event.small], nth=vocab_news.ORDINALS[event.small],
                 tens=str(10 * event.small), score=f"{event.score[0]} to {event.score[1]}",
                 crowd=f"{event.crowd:,}", money=f"${100 * event.crowd:,}", age=str(event.age))  # fmt: skip
    for letter, person in zip("abc", event.people):
        slots[letter], slots[f"{letter}_s"] = person, second_reference(person)
    return slots


def wire_caption(event: Event, rng: np.random.Generator) -> list[str]:
    """One wire photo's caption of ``event``: a lead sentence and one or two detail sentences, each drawn from the
    event template's variants, so two photos of one event share its people and place but rarely all their words."""
    spec = vocab_news.TEMPLATES[event.template]
    chosen = [_pick(rng, spec["leads"])]
    picks = rng.choice(len(spec["details"]), size=1 + int(rng.random() < 0.5), replace=False)
    chosen += [spec["details"][i] for i in picks]
    slots = _slots(event)
    sentences = [sentence.format(**slots).replace("..", ".") for sentence in chosen]  # "in Hartford, Conn.."
    for person in event.people:
        sentences = _name_once_in_full(sentences, person)
    return sentences


def _name_once_in_full(sentences, person):
    """The first mention of ``person`` in full, the later ones by second_reference, whichever the templates drew."""
    short = second_reference(person)
    mention = re.compile(rf"\b(?:{re.escape(person)}|{re.escape(short)})\b")
    named = []

    def name(match):
        named.append(match.group(0))
        return person if len(named) == 1 else short

    return [mention.sub(name, sentence) for sentence in sentences]


def print_caption(
    sentences: list[str], rng: np.random.Generator, strength: float = 1.0, *, event: Event | None = None
) -> tuple[str, list[str]]:
    """One paper's printing of a wire caption: (text, names of the EDITS that changed it, in the order applied).

    Each edit happens with probability ``strength`` * EDIT_PROBS; strength 0 prints the wire's text unchanged.
    ``event`` dates the dateline and lets it name the event's city; without it the dateline names the paper's city
    and no date."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], not {strength}")
    wanted = rng.random(len(EDITS)) < strength * np.array([EDIT_PROBS[e] for e in EDITS])
    editors = {"cut": _cut, "lead": _new_lead, "synonyms": _swap_synonyms, "dateline": _add_dateline,
               "credit": _add_credit}  # fmt: skip
    sentences, applied = list(sentences), []
    for edit, on in zip(EDITS, wanted):
        edited = editors[edit](sentences, rng, event) if on else sentences
        if edited != sentences:
            sentences = edited
            applied.append(edit)
    return " ".join(sentences), applied


def _cut(sentences, rng, event):
    """Cut to fit the column: keep the first 1 .. n-1 sentences."""
    return sentences[: rng.integers(1, len(sentences))] if len(sentences) > 1 else sentences


def _new_lead(sentences, rng, event):
    """The paper's own lead: the wire's "X greets Y" turned around, a headline kicker before the wire's lead, or a
    kicker in place of it."""
    passive, u = _passive(sentences[0]), rng.random()
    if passive and u < 0.5:
        return [passive] + sentences[1:]
    kicker = _kicker(sentences[0].lower(), rng)
    if len(sentences) > 1 and u > 0.7:
        return [f"{kicker} {sentences[1]}"] + sentences[2:]
    return [f"{kicker} {sentences[0]}"] + sentences[1:]


@functools.lru_cache(maxsize=None)
def _passive_pattern():
    titles = "|".join(map(re.escape, _titles_longest_first()))
    person = rf"(?:(?:{titles}) )?[A-Z][a-z]+(?: [A-Z]\.)? [A-Z][A-Za-z']+"
    verbs = "|".join(map(re.escape, vocab_news.PASSIVES))
    return re.compile(rf"(?P<subject>{person}) (?P<verb>{verbs}) (?P<object>{person})(?P<rest>.*)")


def _passive(sentence):
    """The lead turned around, "Y is greeted by X at ..." for "X greets Y at ..." (X, Y people); None if it can't be."""
    match = _passive_pattern().fullmatch(sentence)
    if match is None:
        return None
    participle = vocab_news.PASSIVES[match["verb"]]
    return f"{match['object']} is {participle} by {match['subject']}{match['rest']}"


def _kicker(lead, rng):
    """A headline kicker on the lead's subject (the first group of vocab_news.KICKERS with a word of it)."""
    for words, kickers in vocab_news.KICKERS:
        if any(re.search(r"\b" + re.escape(word), lead) for word in words):
            return _pick(rng, kickers)
    return _pick(rng, vocab_news.GENERIC_KICKERS)


def _split_kicker(sentence):
    """(kicker and its space, rest) of a sentence the lead edit started with a kicker; ("", sentence) otherwise."""
    for kicker in [k for _, kickers in vocab_news.KICKERS for k in kickers] + list(vocab_news.GENERIC_KICKERS):
        if sentence.startswith(kicker + " "):
            return kicker + " ", sentence[len(kicker) + 1 :]
    return "", sentence


@functools.lru_cache(maxsize=None)
def _synonym_pattern():
    # Longest phrase first ("flood waters" before "flood"); "Fire Chief" is a title, not a fire.
    phrases = sorted({p for group in vocab_news.SYNONYMS for p in group}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(map(re.escape, phrases)) + r")\b(?! Chief)", re.IGNORECASE)


def _swap_synonyms(sentences, rng, event):
    """Swap each word of vocab_news.SYNONYMS for another of its group with probability SYNONYM_SWAP_PROB."""
    groups = {p: group for group in vocab_news.SYNONYMS for p in group}

    def swap(match):
        word = match.group(0)
        if word.isupper() or rng.random() >= SYNONYM_SWAP_PROB:  # a kicker in capitals is the paper's own
            return word
        other = _pick(rng, [p for p in groups[word.lower()] if p != word.lower()])
        return other[0].upper() + other[1:] if word[0].isupper() else other

    return [_synonym_pattern().sub(swap, s) for s in sentences]


def _add_dateline(sentences, rng, event):
    """A dateline ("HARTFORD, Conn., March 4 —") at the start of the caption, after a kicker if it has one: the
    paper's city or the event's, the day of the event or the next (morning papers ran it a day later)."""
    if event is not None and rng.random() < 0.5:
        city, state = event.city, event.state
    else:
        city = _pick(rng, vocab_en.PLACES)
        state = vocab_news.STATES[vocab_news.CITY_STATES[city]]
    dateline = f"{city.upper()}, {state}"
    if event is not None:
        day = datetime.date(event.year, event.month, event.day) + datetime.timedelta(days=int(rng.integers(2)))
        dateline += f", {vocab_news.DATELINE_MONTHS[day.month - 1]} {day.day}"
    kicker, lead = _split_kicker(sentences[0])
    return [f"{kicker}{dateline} — {lead}"] + sentences[1:]


def _add_credit(sentences, rng, event):
    """The wire service's credit line after the caption ("(AP Wirephoto)")."""
    return sentences + [_pick(rng, vocab_news.CREDITS)]


def render_caption(
    text: str, rng: np.random.Generator, severity_range: tuple[float, float] = SEVERITY_RANGE
) -> tuple[Image.Image, Image.Image, int]:
    """(clean image, scanned-looking image, number of lines) of a printed caption: a serif of CAPTION_FONTS at
    FONT_SIZES, wrapped on words to 1-3 left-aligned lines, damaged by render.degrade at a severity drawn from
    ``severity_range``."""
    font = render.load_font(_pick(rng, CAPTION_FONTS), int(rng.integers(FONT_SIZES[0], FONT_SIZES[1] + 1)))
    n_lines = int(np.clip(math.ceil(len(text) / rng.uniform(*CHARS_PER_LINE)), 1, 3))
    lines = wrap_lines(text, n_lines)
    clean = _draw_lines(lines, font, margin=int(rng.integers(6, 16)))
    return clean, render.degrade(clean, rng, rng.uniform(*severity_range)), len(lines)


def wrap_lines(text: str, n_lines: int) -> list[str]:
    """``text`` broken between words into at most ``n_lines`` lines of about equal length (wider if need be)."""
    width = math.ceil(len(text) / n_lines)
    while len(lines := textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)) > n_lines:
        width += 1
    return lines


def _draw_lines(lines, font, margin):
    """Left-aligned lines, a fifth of the type's height apart, on white with ``margin`` pixels around."""
    ascent, descent = font.getmetrics()
    leading = round(0.2 * (ascent + descent))
    pitch = ascent + descent + leading
    width = max(math.ceil(font.getlength(line)) for line in lines)
    img = Image.new("L", (width + 2 * margin, pitch * len(lines) - leading + 2 * margin), render.BACKGROUND)
    draw = ImageDraw.Draw(img)
    for row, line in enumerate(lines):
        draw.text((margin, margin + row * pitch), line, font=font, fill=render.INK)
    return img
