"""Numbers, names and content words of a claim, and where a source's metadata may supply them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from briefing.models import Source
from briefing.text import MONTH_NAMES, STOPWORDS, TOKEN_RE
from briefing.verify.quotes import _CITATION_MARK

# --------------------------------------------------------------------------- numbers

_SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
           "trillion": 1_000_000_000_000}  # fmt: skip
_NUM_WORDS = "|".join(sorted(list(_SMALL) + list(_SCALES), key=len, reverse=True))
_NUMBER = re.compile(
    r"(?<![\w.,])(?P<digits>\d{1,3}(?:(?:,|[ \u00a0\u202f\u2009])\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?!\d)"
    r"(?:[ \u00a0-]*(?P<scale>thousand|million|billion|trillion|bn|m)\b)?"
    rf"|\b(?P<words>(?:(?:{_NUM_WORDS})(?:[ -]+(?:and[ ]+)?)?)+)\b",
    re.IGNORECASE,
)
_SCALE_ABBR = {"bn": 1_000_000_000, "m": 1_000_000}
_YEAR = re.compile(r"^(1[89]\d\d|20\d\d)$")


def _words_value(words: str) -> float | None:
    """Value of a run of English number words ("three hundred", "twelve thousand"); None if it has none."""
    total, current, seen = 0, 0, False
    for w in re.split(r"[ -]+", words.lower()):
        if w in _SMALL:
            current += _SMALL[w]
            seen = True
        elif w == "hundred":
            current = max(current, 1) * 100
            seen = True
        elif w in _SCALES:
            total += max(current, 1) * _SCALES[w]
            current = 0
            seen = True
    return float(total + current) if seen else None


@dataclass(frozen=True)
class _Num:
    """A number found in text: its written form and the values it can stand for."""

    shown: str
    values: frozenset[float]
    is_year: bool
    is_small_word: bool = False  # "two", "five": often a figure of speech ("the two countries")


def _numbers(text: str) -> list[_Num]:
    """Every number in a text ("12,000", "12 000", "1.5 million", "three hundred"), citation markers excluded."""
    text = _CITATION_MARK.sub(" ", text)
    found: list[_Num] = []
    for m in _NUMBER.finditer(text):
        if m.group("digits"):
            raw = m.group("digits")
            try:
                base = float(re.sub(r"[, \u00a0\u202f\u2009]", "", raw))
            except ValueError:
                continue
            scale = (m.group("scale") or "").lower()
            mult = _SCALES.get(scale) or _SCALE_ABBR.get(scale) or 1
            if scale == "m" and not re.match(r"\d", raw):
                mult = 1
            values = {base, base * mult}
            found.append(_Num(m.group(0).strip(), frozenset(values), bool(_YEAR.match(raw)) and mult == 1))
        else:
            words = m.group("words").strip(" -")
            parts = set(re.split(r"[ -]+", words.lower())) - {"and"}
            if not parts or parts <= {"one"} | set(_SCALES):  # "one of the", "a thousand reasons": not a figure
                continue
            v = _words_value(words)
            if v is not None:
                found.append(_Num(words, frozenset({v}), False, v <= 10))
    return found


def _number_values(text: str) -> set[float]:
    """All values the numbers of a text can stand for."""
    vals: set[float] = set()
    for n in _numbers(text):
        vals |= n.values
    return vals


# --------------------------------------------------------------------------- words and names

def _stem(word: str) -> str:
    """Crude stem (suffix off, first five letters): matches inflections and demonyms (fired/firing, Russia/Russian)."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    for suffix in ("ing", "ed", "es", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    return w[:5]


def _content_words(text: str) -> set[str]:
    """Stemmed content words: lower case, no stopwords, no numbers, no citation markers."""
    text = _CITATION_MARK.sub(" ", text)
    out = set()
    for w in TOKEN_RE.findall(text.replace("-", " ")):  # "long-range" matches "long range"
        lw = w.lower()
        if lw in STOPWORDS or lw.isdigit() or len(lw) < 2 or lw in _SMALL or lw in _SCALES:
            continue
        out.add(_stem(lw))
    return out


def _metadata_text(src: Source) -> str:
    """Source metadata a claim may legitimately draw names and dates from."""
    parts = [src.title or "", " ".join(src.authors), src.publisher or "", src.original_publisher or ""]
    parts.append(src.published or "")
    if src.published:
        m = re.match(r"(\d{4})(?:-(\d{2}))?", src.published)
        if m:
            parts.append(m.group(1))
            if m.group(2):
                idx = int(m.group(2))
                if 1 <= idx <= 12:
                    parts.append(MONTH_NAMES[idx - 1])
    return " ".join(parts)

