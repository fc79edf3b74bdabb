"""Numbers, names and content words of a claim, and where a source's metadata may supply them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from briefing.models import Source
from briefing.text import MONTH_NAMES, STOPWORDS, TOKEN_RE
from briefing.verify.quotes import _CITATION_MARK, normalise

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

_NAME_TOKEN = re.compile(r"(?:[A-Z][\w’'.-]*[A-Za-z0-9]|[A-Z]{2,}\d*|[A-Z]\d+|[A-Z])")
# Words that open a sentence or a name but are not themselves evidence of anything.
_NAME_NOISE = frozenset(
    """the a an in on at of for and but or to by from with as this that these those it its he she they we his
    her their our there here however while when after before during since although though also mr mrs ms dr
    prof president minister prime foreign defence defense secretary general chief leader sir lord according
    presidents ministers secretaries leaders officials official ambassador envoy spokesperson spokesman
    meanwhile moreover furthermore yet still both all some most many several""".split()
)


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


def _names_of_run(run: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Names in one run of capitalised (word, at sentence start): leading titles/openers dropped; flag = at start."""
    while run and (run[0][0].lower() in _NAME_NOISE or run[0][0].lower() in STOPWORDS):
        run = run[1:]
    if len(run) >= 2:
        return [(" ".join(w for w, _ in run), run[0][1])]
    if len(run) == 1:
        w, first = run[0]
        if (not first and len(w) > 1) or re.fullmatch(r"[A-Z]{2,}\d*|[A-Z]\d+", w):
            return [(w, False)]
    return []


def _names(text: str) -> list[tuple[str, bool]]:
    """Named entities in a claim (capitalised multiword names, acronyms, capitalised words mid-sentence).

    Each comes with whether it opens a sentence, where its first word may be capitalised only by position.
    """
    text = _CITATION_MARK.sub(" ", text)
    names: list[tuple[str, bool]] = []
    for sentence in re.split(r"(?<=[.!?:;])\s+|\n+", text):
        run: list[tuple[str, bool]] = []
        for i, t in enumerate(re.finditer(r"\S+", sentence)):
            raw = t.group(0)
            if raw[0] in "(['\"\u2018\u201c" and run:  # an opening bracket or quote starts a new name
                names += _names_of_run(run)
                run = []
            word = raw.strip("\"'\u201c\u201d\u2018\u2019()[],.;:!?\u2014\u2013")
            possessive = bool(re.search(r"[\u2019']s$", word))
            word = re.sub(r"[\u2019']s$", "", word)
            if word and _NAME_TOKEN.fullmatch(word) and word != "I":
                run.append((word, i == 0))
                ends = raw[-1] in ',;:!?)]\u2014\u2013"\u201d\u2019' or possessive
                if ends or (raw.endswith(".") and not re.search(r"\.\w", raw)):
                    names += _names_of_run(run)  # punctuation or a possessive after the word ends the name
                    run = []
            elif run:
                names += _names_of_run(run)
                run = []
        names += _names_of_run(run)
    return names


def _flat(text: str) -> str:
    """Normalised text with punctuation (but not dots) turned into single spaces, padded with a leading space."""
    return " " + re.sub(r"[^\w.]+", " ", normalise(text)).strip()


def _word_root_in(word: str, hay: str) -> bool:
    """Whether one capitalised word is in a flattened text by its root (Chinese/China, Japanese/Japan)."""
    w = _flat(word).strip(" .")
    root = w[: max(4, len(w) - 3)]
    return bool(root) and (" " + root) in hay


def _name_in(name: str, hay: str) -> bool:
    """Whether a name is in a flattened text: as a phrase, titles dropped, or word by word if long."""
    words = name.split()
    variants = [name]
    while words and words[0].lower().rstrip(".") in _NAME_NOISE:
        words = words[1:]
        variants.append(" ".join(words))
    for v in variants:
        nv = _flat(v).rstrip(" .")
        if nv.strip() and nv in hay:
            return True
    if len(words) == 1:
        return _word_root_in(words[0], hay)
    if len(words) >= 3:  # "Russian President Vladimir Putin": the name's tail as a phrase, every word present
        return _flat(" ".join(words[-2:])).rstrip(" .") in hay and all(_word_root_in(w, hay) for w in words)
    return False


@lru_cache(maxsize=1024)
def _source_profile(text: str) -> tuple[str, frozenset[float]]:
    """Flattened text (see _flat) and number values of a whole source (cached: sources are checked many times)."""
    return _flat(text), frozenset(_number_values(text))


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

