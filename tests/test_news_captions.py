"""Wire captions of the news_wire benchmark: events, their captions, each paper's edits and the rendered type."""

import dataclasses
import datetime
import re

import numpy as np
import pytest

from clippings_wf.data import captions
from clippings_wf.data import render
from clippings_wf.data import vocab_en
from clippings_wf.data import vocab_news
from clippings_wf.evaluation.metrics import character_error_rate
from clippings_wf.ocr import tesseract


def _printings(seed, n, strength=1.0):
    """(event, wire sentences, printed text, edits) for ``n`` events, one printing each."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        event = captions.make_event(rng)
        wire = captions.wire_caption(event, rng)
        out.append((event, wire, *captions.print_caption(wire, rng, strength, event=event)))
    return out


# Any kicker the lead edit may have put before a dateline.
KICKER = "|".join(map(re.escape, [k for _, ks in vocab_news.KICKERS for k in ks] + list(vocab_news.GENERIC_KICKERS)))


def _words(text):
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def test_same_seed_same_events_captions_and_pngs():
    def run(seed):
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(8):
            event = captions.make_event(rng)
            wire = captions.wire_caption(event, rng)
            text, edits = captions.print_caption(wire, rng, 0.7, event=event)
            clean, degraded, n_lines = captions.render_caption(text, rng)
            out.append((event, wire, text, edits, render.to_png(clean), render.to_png(degraded), n_lines))
        return out

    assert run(3) == run(3)
    assert [e for e, *_ in run(3)] != [e for e, *_ in run(4)]


def test_enough_templates_and_each_caption_names_the_first_person():
    assert len(vocab_news.TEMPLATES) >= 40
    for key, spec in vocab_news.TEMPLATES.items():
        assert all("{a}" in s for s in spec["leads"]) or all("{a}" in s for s in spec["details"]), key
        assert set(spec["roles"]) <= set(vocab_news.TITLES), key


def test_every_template_sentence_fills_from_an_event():
    event = captions.make_event(np.random.default_rng(0))
    event = dataclasses.replace(event, people=("Mayor John A. Smith", "Sen. Mary Jones", "Rev. Paul Carter"))
    slots = captions._slots(event)
    for key, spec in vocab_news.TEMPLATES.items():
        for sentence in spec["leads"] + spec["details"]:
            filled = sentence.format(**slots)
            assert "{" not in filled and filled[0].isupper(), (key, filled)


def test_two_captions_of_one_event_share_its_people_and_differ_in_wording():
    rng = np.random.default_rng(1)
    differ = 0
    for _ in range(100):
        event = captions.make_event(rng)
        first, second = captions.wire_caption(event, rng), captions.wire_caption(event, rng)
        assert 2 <= len(first) <= 3 and 2 <= len(second) <= 3
        assert event.people[0] in " ".join(first) and event.people[0] in " ".join(second)
        differ += first != second
    assert differ > 70


def test_different_events_rarely_share_a_name():
    rng = np.random.default_rng(2)
    people = [p for _ in range(300) for p in captions.make_event(rng).people]
    assert len(set(people)) > 0.98 * len(people)


def test_people_places_and_dates_are_of_the_period():
    rng = np.random.default_rng(5)
    events = [captions.make_event(rng) for _ in range(300)]
    assert all(1935 <= e.year <= 1965 for e in events)
    assert all(e.state in vocab_news.STATES.values() for e in events)
    assert any(e.city in vocab_en.PLACES for e in events) and any(e.city not in vocab_en.PLACES for e in events)
    assert set(vocab_en.PLACES) <= set(vocab_news.CITY_STATES)
    names = " ".join(p for e in events for p in e.people)
    assert all(title in names for title in ("Mayor ", "Sen. ", "Mrs. ", "Cpl. "))
    assert re.fullmatch(r"[A-Z][a-z]+ \d{1,2}", events[0].date)


def test_every_edit_appears_at_full_strength():
    seen = {edit for *_, edits in _printings(6, 200) for edit in edits}
    assert seen == set(captions.EDITS)


def test_strength_zero_prints_the_wire_text():
    for _, wire, text, edits in _printings(7, 50, strength=0.0):
        assert text == " ".join(wire) and edits == []


def test_stronger_edits_move_the_text_further_from_the_wire():
    def drift(strength):
        pairs = [(_words(" ".join(wire)), _words(text)) for _, wire, text, _ in _printings(8, 300, strength)]
        return np.mean([1 - len(a & b) / len(a | b) for a, b in pairs])

    drifts = [drift(s) for s in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert drifts[0] == 0 and all(np.diff(drifts) > 0.01), drifts


def test_credit_line_ends_the_caption():
    credited = [(text, edits) for *_, text, edits in _printings(9, 100) if "credit" in edits]
    assert credited
    for text, _ in credited:
        assert any(text.endswith(" " + credit) for credit in vocab_news.CREDITS), text


def test_dateline_starts_the_caption_after_any_kicker():
    months = "|".join(map(re.escape, vocab_news.DATELINE_MONTHS))
    dateline = re.compile(rf"(?:(?:{KICKER}) )?(?P<city>[A-Z][A-Z .']+), (?P<state>[A-Za-z.]+), "
                          rf"(?P<month>{months}) (?P<day>\d+) — ")  # fmt: skip
    dated = [(event, text) for event, _, text, edits in _printings(10, 100) if "dateline" in edits]
    assert dated
    for event, text in dated:
        match = dateline.match(text)
        assert match, text
        assert match["city"] in {event.city.upper()} | {p.upper() for p in vocab_en.PLACES}
        assert match["state"] in vocab_news.STATES.values()
        day = datetime.date(event.year, event.month, event.day)
        printed = {(vocab_news.DATELINE_MONTHS[d.month - 1], str(d.day)) for d in (day, day + datetime.timedelta(1))}
        assert (match["month"], match["day"]) in printed, text


def test_dateline_without_the_event_names_a_papers_city():
    rng = np.random.default_rng(11)
    cities = "|".join(p.upper() for p in vocab_en.PLACES)
    dated = 0
    for _ in range(20):
        text, edits = captions.print_caption(["Mayor John Smith greets Sen. Mary Jones.", "It rained."], rng)
        if "dateline" in edits:
            dated += 1
            assert re.match(rf"(?:(?:{KICKER}) )?(?:{cities}), [A-Za-z.]+ — ", text), text
    assert dated


def test_lead_turns_a_greeting_around():
    sentence = "Mayor John A. Smith greets Sen. Mary Jones at the Hartford railway station."
    assert (
        captions._passive(sentence)
        == "Sen. Mary Jones is greeted by Mayor John A. Smith at the Hartford railway station."
    )
    assert captions._passive("Flood waters cover Main Street in Dayton, Ohio.") is None


def test_synonyms_spare_titles_and_kickers():
    rng = np.random.default_rng(12)
    sentences = ["HIGH WATER: Fire Chief John Smith said the flood waters rose.", "A crowd watched."]
    swapped = [captions._swap_synonyms(sentences, rng, None) for _ in range(30)]
    assert all(s[0].startswith("HIGH WATER: Fire Chief John Smith ") for s in swapped)
    assert any("rising waters" in s[0] for s in swapped) and any("throng" in s[1] for s in swapped)


def _ink_rows(img):
    """Number of bands of rows with ink, separated by blank rows: the printed lines."""
    inked = (np.asarray(img) < 128).any(axis=1)
    return int(np.sum(inked[1:] & ~inked[:-1]) + inked[0])


@pytest.mark.parametrize("length", [40, 150, 400, 900])
def test_rendered_captions_have_one_to_three_lines(length):
    rng = np.random.default_rng(length)
    words = " ".join(_printings(13, 40)[i][2] for i in range(40))
    text = words[: words.rfind(" ", 0, length)]
    for _ in range(6):
        clean, degraded, n_lines = captions.render_caption(text, rng)
        assert 1 <= n_lines <= 3 and _ink_rows(clean) == n_lines
        assert degraded.mode == "L"
        assert n_lines == 3 or length < 600  # a long caption fills the three lines


def test_wrap_never_exceeds_the_lines_asked_for():
    text = " ".join(["Flood waters cover Main Street in Dayton, Ohio."] * 12)
    for n in (1, 2, 3):
        lines = captions.wrap_lines(text, n)
        assert len(lines) <= n and " ".join(lines) == text


def test_taller_captions_for_more_lines():
    font = render.load_font(captions.CAPTION_FONTS[0], 22)
    heights = [captions._draw_lines(["Mayor Smith greets Sen. Jones."] * n, font, 8).height for n in (1, 2, 3)]
    assert heights[0] < heights[1] < heights[2]


def test_clean_render_is_read():
    rng = np.random.default_rng(14)
    texts = [text for *_, text, _ in _printings(15, 5)]
    items = [(render.to_png(captions.render_caption(t, rng)[0]), False) for t in texts]
    ocr = tesseract.ocr_images(items, lang="eng", mode="block", workers=1)
    assert character_error_rate(ocr, texts) < 0.05
