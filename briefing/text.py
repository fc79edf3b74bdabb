"""Shared text utilities: sentence spans with char offsets, content words, date phrases."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from briefing.sentences import split_sentences

# English function words, for ranking sentences (content_words) and checking claims against their evidence (verify).
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having he
    her here hers herself him himself his how however i if in into is it its itself just me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own same she should so some such than that
    the their theirs them themselves then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours yourself yourselves said says
    say one two new also may might must shall would could been being us mr ms mrs dr its it's many much""".split()
)

# Word tokens, letters and digits, joined across inner hyphens and apostrophes: sentence ranking and verification.
TOKEN_RE = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)


def words(text: str) -> list[str]:
    """Word tokens in order, original case."""
    return TOKEN_RE.findall(text)


def content_words(text: str) -> list[str]:
    """Lower-cased words that carry meaning (stopwords and 1-letter tokens removed), crudely singularised."""
    out = []
    for w in TOKEN_RE.findall(text.lower()):
        w = w.replace("’", "'")
        if w.endswith("'s"):
            w = w[:-2]
        if len(w) < 2 or w in STOPWORDS:
            continue
        if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Char spans of non-empty lines/paragraphs (split at newlines), stripped."""
    spans = []
    for m in re.finditer(r"[^\n]+", text):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
    return spans


def sentences(text: str) -> list[tuple[int, int]]:
    """Char spans of sentences (see briefing.sentences), never crossing a line break; text[s:e] is the sentence."""
    return [(s.start, s.end) for s in split_sentences(text)]


MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December"]
MONTHS = {m.lower(): i for i, m in enumerate(MONTH_NAMES, 1)}
MONTHS.update({k[:3]: v for k, v in list(MONTHS.items())})
MONTHS["sept"] = 9
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

_MON = r"(?P<mon>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"  # noqa: E501
_DATE_PATTERNS = [
    re.compile(rf"\b{_MON}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:\s*[-–]\s*\d{{1,2}})?,?\s+(?P<year>(?:19|20)\d\d)\b"),
    re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MON}\s+(?P<year>(?:19|20)\d\d)\b"),
    re.compile(rf"\b{_MON}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:\s*[-–]\s*\d{{1,2}})?\b(?!,?\s*(?:19|20)\d\d)"),
    re.compile(rf"\b(?:in|since|by|during|of|until)\s+{_MON}\s+(?P<year>(?:19|20)\d\d)\b"),
    re.compile(r"\b(?:on\s+(?:the\s+)?|the\s+)(?P<day>\d{1,2})(?:st|nd|rd|th)\b(?!\s+(?:[A-Z]|centur|anniversar|time|year|round))"
               r"(?P<lastmonth>\s+of\s+last\s+month)?"),
    re.compile(r"\b(?P<rel>last|this past|on|this)\s+"
               r"(?P<wd>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"),
    re.compile(rf"\b(?:in|since|by|during|until)\s+{_MON}\b(?!\s+\d)"),
    re.compile(r"\b(?:in|since|by|during|until)\s+(?P<year>(?:19|20)\d\d)\b"),
    re.compile(r"\b[Ll]ast\s+month\b"),
]


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def find_date(sentence: str, published: date | None) -> str | None:
    """The first date a sentence states, as ISO (YYYY-MM-DD, YYYY-MM or YYYY), resolved against publication date.

    Dates without a year, weekdays and "the 1st" are resolved only when the publication date is known;
    otherwise the sentence has no usable date and None is returned.
    """
    for i, pat in enumerate(_DATE_PATTERNS):
        m = pat.search(sentence)
        if not m:
            continue
        g = m.groupdict()
        mon = MONTHS.get((g.get("mon") or "").lower().rstrip("."))
        if i in (0, 1):
            d = _safe_date(int(g["year"]), mon or 0, int(g["day"]))
            return d.isoformat() if d else None
        if i == 2 and published and mon:
            year = published.year if mon <= published.month else published.year - 1
            d = _safe_date(year, mon, int(g["day"]))
            return d.isoformat() if d else None
        if i == 3 and mon:
            return f"{int(g['year']):04d}-{mon:02d}"
        if i == 4 and published:
            day = int(g["day"])
            month, year = published.month, published.year
            if g.get("lastmonth") or day > published.day:
                month, year = (12, year - 1) if month == 1 else (month - 1, year)
            d = _safe_date(year, month, day)
            return d.isoformat() if d else None
        if i == 5 and published:
            back = (published.weekday() - WEEKDAYS.index(g["wd"].lower())) % 7
            if g["rel"].lower() in ("last", "this past") and back == 0:
                back = 7
            return (published - timedelta(days=back)).isoformat()
        if i == 6 and published and mon:
            year = published.year if mon <= published.month else published.year - 1
            return f"{year:04d}-{mon:02d}"
        if i == 7:
            return f"{int(g['year']):04d}"
        if i == 8 and published:
            month, year = (12, published.year - 1) if published.month == 1 else (published.month - 1, published.year)
            return f"{year:04d}-{month:02d}"
    return None


# Words made of letters (apostrophes inside): the cleaner, language detection and repetition keys.
WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# Neither letters nor apostrophes: stripped from the ends of a whitespace token, they cannot change its WORD_RE words.
EDGE_PUNCT = ".,;:!?\"“”()[]«»—–-•*/|&<>+=#%$@…"


def find_words(text: str, word_re: re.Pattern[str] = WORD_RE) -> list[str]:
    """word_re.findall(text) for a pattern whose matches hold no space and start and end with a letter or digit.

    Whitespace-separated tokens made only of letters are whole matches: they skip the (per-character costly) regex.
    """
    out: list[str] = []
    for token in text.split():
        if token.isalpha():
            out.append(token)
            continue
        token = token.strip(EDGE_PUNCT)
        if token.isalpha():
            out.append(token)
        elif token:
            out += word_re.findall(token)
    return out


def normalised_lines(text: str) -> list[str]:
    """The lines of a text (split on \\n) with runs of whitespace collapsed to one space and the ends stripped."""
    return [" ".join(line.split()) for line in text.split("\n")]


_REL_SINCE_RE = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """A UTC datetime from `7d`, `12h`, `30m`, `2w` (that long ago) or an ISO date/datetime; ValueError otherwise."""
    now = now or datetime.now(UTC)
    m = _REL_SINCE_RE.match(value)
    if m:
        n, unit = int(m.group(1)), m.group(2).lower()
        step = {"m": timedelta(minutes=1), "min": timedelta(minutes=1), "h": timedelta(hours=1),
                "d": timedelta(days=1), "w": timedelta(weeks=1)}[unit]
        try:
            return now - n * step
        except OverflowError:
            raise ValueError(f"{value!r} reaches back before year 1; give a shorter duration or a date") from None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is neither a duration like 7d, 12h, 2w nor a date like 2024-11-01") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
