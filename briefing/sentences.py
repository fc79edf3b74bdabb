"""Sentence segmentation shared by every engine and the verifier: stable ids 1..n and char spans into the text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Sentence:
    """One sentence of a cleaned source: id (1-based, in text order), char span, and text == source[start:end]."""

    id: int
    start: int
    end: int
    text: str


# A Latin-script sentence end: . ! ? or … (repeated), then closing quotes/brackets, then whitespace.
_LATIN_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)")
# CJK full stops end a sentence whatever follows (no space is used between sentences).
_CJK_END = re.compile(r"[。！？]+[」』”’）)】]*")
_OPENERS = "\"'“‘«([¡¿"
_CLOSERS = "\"'”’»)]"
# Words followed by "." that do not end a sentence: titles and other abbreviations that precede what they qualify.
_TITLES = frozenset("mr mrs ms dr prof gen lt col sgt capt cmdr adm maj brig sen rep gov pres st vs cf".split())
# Abbreviations before a number ("No. 5", "Vol. 2"); before anything else the stop ends the sentence.
_NUMBERED = frozenset("no nos vol vols fig figs art ch para pp sec approx ca est".split())
# Abbreviations that may end a sentence: they do when the next word is a capitalised function word ("Inc. The").
_SOFT = frozenset("jr sr inc ltd corp co bros plc etc al jan feb mar apr jun jul aug sep sept oct nov dec".split())
_FUNCTION_WORDS = frozenset(
    """the a an it its he she they we i his her their our this that these those there but and or so yet in on at
    for if when while after before as since however meanwhile still also then thus many some most other such one
    two both all no not what who why how""".split()
)
# In lower-cased text only the surest sentence openers count ("u.s. on tuesday" is one sentence).
_LOWERED_STARTERS = frozenset("the a an it he she they we i his her their this these those there but however".split())
_INITIALS = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]?\.?$")  # "J.", "U.S.", "e.g.", "a.m."


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of a text in order, ids 1..n; never crossing a line break; text[s.start:s.end] == s.text.

    Deterministic (the same text always gives the same ids). A sentence ends at . ! ? … followed by space and a
    word that can start a sentence (capitalised, a digit, an opening quote, or an uncased script such as Korean),
    unless the word before is an abbreviation, title or initial; at 。！？ whatever follows; and at every line break.
    Text with (almost) no capital letters is segmented without needing one after the stop.
    """
    return list(_split(text))


@lru_cache(maxsize=256)
def _split(text: str) -> tuple[Sentence, ...]:
    lowered = _is_lowercased(text)
    spans: list[tuple[int, int]] = []
    for m in re.finditer(r"[^\n]+", text):
        ps, pe = _strip(text, m.start(), m.end())
        if pe <= ps:
            continue
        start = ps
        for end in _ends(text, ps, pe, lowered):
            s, e = _strip(text, start, end)
            if e > s:
                spans.append((s, e))
            start = end
        s, e = _strip(text, start, pe)
        if e > s:
            spans.append((s, e))
    return tuple(Sentence(i, s, e, text[s:e]) for i, (s, e) in enumerate(spans, 1))


def _strip(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def _is_lowercased(text: str) -> bool:
    """True for text written without capitals (lower-cased corpora), where a capital cannot mark a new sentence."""
    sample = text[:20000]
    upper = sum(map(str.isupper, sample))
    cased = upper + sum(map(str.islower, sample))
    return cased >= 40 and upper <= cased * 0.003


def _ends(text: str, ps: int, pe: int, lowered: bool) -> list[int]:
    """Offsets (exclusive) where sentences end inside one line."""
    ends: set[int] = set()
    for m in _CJK_END.finditer(text, ps, pe):
        if m.end() < pe:
            ends.add(m.end())
    for m in _LATIN_END.finditer(text, ps, pe):
        end = m.end()
        nxt = end
        while nxt < pe and text[nxt].isspace():
            nxt += 1
        if nxt >= pe:
            continue
        if _is_boundary(text, ps, m.start(), end, nxt, pe, lowered):
            ends.add(end)
    return sorted(ends)


def _is_boundary(text: str, ps: int, stop: int, end: int, nxt: int, pe: int, lowered: bool) -> bool:
    """Whether the stop at text[stop:end] followed by the word at nxt ends a sentence."""
    j = nxt
    while j < pe and text[j] in _OPENERS:
        j += 1
    if j >= pe:
        return False
    first = text[j]
    opener = j > nxt
    if first.islower() and not lowered:
        return False
    if not (first.isalnum() or opener or first in "-–—•*"):
        return False
    marks = text[stop:end].rstrip(_CLOSERS)
    if marks != "." or text[end - 1] in _CLOSERS:
        return True  # "!", "?", "…", "..." or a closing quote after the stop: no abbreviation to worry about
    # The word the full stop ends.
    k = stop
    while k > ps and not text[k - 1].isspace():
        k -= 1
    word = text[k : stop + 1].lstrip(_OPENERS + "-–—")
    bare = word.rstrip(".").lower()
    if not bare:
        return True
    if bare in _TITLES:
        return False
    if bare in _NUMBERED:
        return not first.isdigit()
    if bare in _SOFT or _INITIALS.match(word):
        nxt_word = re.match(r"[^\W_]+", text[j:pe])
        starters = _LOWERED_STARTERS if lowered else _FUNCTION_WORDS
        return nxt_word is not None and nxt_word.group(0).lower() in starters
    return True
