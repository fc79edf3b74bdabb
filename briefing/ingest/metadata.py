"""Metadata of a cleaned article (title, authors, outlets, date, language, URL) found in the text, never invented."""

from __future__ import annotations

import datetime as dt
import re

from briefing.models import DocMeta
from briefing.text import MONTHS as _MONTHS
from briefing.text import WEEKDAYS as _WEEKDAYS

_MONTH_RX = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"  # noqa: E501
_DATE_RX = (
    rf"(?:{_MONTH_RX}\s+\d{{1,2}}(?:\s*[-–]\s*\d{{1,2}})?(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?(?:\s*[-–]\s*\d{{1,2}})?\s+(?:of\s+)?{_MONTH_RX},?(?:\s+\d{{4}})?"
    r"|\d{4}-\d{2}-\d{2})"
)
_DATE_RE = re.compile(_DATE_RX, re.I)
_MDY_RE = re.compile(rf"^({_MONTH_RX})\s+(\d{{1,2}})(?:\s*[-–]\s*\d{{1,2}})?(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?$", re.I)
_DMY_RE = re.compile(
    rf"^(\d{{1,2}})(?:st|nd|rd|th)?(?:\s*[-–]\s*\d{{1,2}})?\s+(?:of\s+)?({_MONTH_RX}),?(?:\s+(\d{{4}}))?$", re.I
)
_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_RELATIVE_RE = re.compile(
    r"^(?:(last|this|next|on)\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)$|^(today|yesterday|tomorrow)$",  # noqa: E501
    re.I,
)
_PUBLISHED_RE = re.compile(
    rf"\b(?:(?:first|originally)\s+)?(?:published|posted|appeared)\s*(?:on|:)?\s*(?:\w+day,?\s*)?({_DATE_RX})", re.I
)
# The verbs of _PUBLISHED_RE: scanning for them first is 3x faster than trying the full pattern at every position.
_PUBLISHED_VERB_RE = re.compile(r"[pa](?:ublished|osted|ppeared)", re.I)
_FIRST_WORD_RE = re.compile(r"first|originally", re.I)
BYLINE_RE = re.compile(
    r"^\s*(?:by|written\s+by|authors?\s*:|par|von|por|auteure?s?\s*:|autor(?:in|es)?\s*:|автор(?:ы)?\s*:?|текст\s*:)"
    r"\s+(.{2,200})$",
    re.I,
)
_UPPER = "A-ZÀ-ÖØ-ÞА-ЯЁ"
_NAME_TOKEN_RE = re.compile(
    rf"^(?:[{_UPPER}][\w'’.-]*|[{_UPPER}]\.|(?:de|da|del|van|von|der|den|bin|al|la|le|di|du|dos)|[{_UPPER}]\.[{_UPPER}]\.)$"
)
# Bylines in Korean ("김민수 기자", "(서울=연합뉴스) 김민수 기자 ="), Chinese ("（记者 王晓明 李静）", "作者：张三") and
# Japanese ("山田太郎記者").
_KO_BYLINE_RE = re.compile(r"(?<![가-힣])([가-힣]{2,4}(?:[ ·,]+[가-힣]{2,4})*)\s?(?:특파원|선임기자|기자)(?![가-힣])")
_ZH_BYLINE_RE = re.compile(
    r"(?:记者|記者|作者|撰文)\s*[:：]?\s*"
    r"([\u4e00-\u9fff]{2,3}(?:[ 　、，,]+[\u4e00-\u9fff]{2,3})*)(?![\u4e00-\u9fff]{2})"
)
_JA_BYLINE_RE = re.compile(r"^([\u4e00-\u9fff]{1,4}\s?[\u4e00-\u9fff\u3040-\u30ff]{1,4})\s?記者$")
# Cookie, licence, subscription and login text is never a headline.
_TITLE_JUNK_RE = re.compile(
    r"\bcookies?\b.{0,80}\b(?:use|using|accept|consent|settings|policy|experience|verwend|akzept|zustimm|utilis|acept)"
    r"|(?:licen[cs]ed|published|available)\s+under\b|creative\s+commons|\bcc[- ]by\b|\bsubscribe\b|abonnez|abonnieren"
    r"|\bnewsletter\b.{0,40}\b(?:sign|subscribe|receive|get)|privacy\s+(?:policy|notice|settings)|datenschutzerklärung"
    r"|rights\s+reserved|droits\s+réservés|©|enable\s+javascript|your\s+browser|\b(?:sign|log)\s*(?:in|up|on)\s+(?:to|for|with)\b"
    r"|témoins|쿠키|무단\s*전재|版权所有|転載|Все\s+права",
    re.I,
)
_CJK_SPLIT_RE = re.compile(r"[ 　、，,·]+")
# Dates written with numbers (2024.11.02, 2024-11-02, 2024/11/02, 2024년 11월 2일, 2024年11月2日) or with month
# names in French, German, Spanish, Portuguese or Russian (2 novembre 2024, 2. November 2024, 2 ноября 2024).
_NUM_DATE_RE = re.compile(
    r"(?<!\d)((?:19|20)\d{2})\s*(?:[.\-/]|년|年)\s*(\d{1,2})\s*(?:[.\-/]|월|月)\s*(\d{1,2})(?!\d)(?!\s*[.\-/]\s*\d)"
)
_INTL_MONTHS = {
    **{m: i for i, m in enumerate(("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                                   "septembre", "octobre", "novembre", "décembre"), 1)},
    **{m: i for i, m in enumerate(("januar", "februar", "märz", "april", "mai", "juni", "juli", "august",
                                   "september", "oktober", "november", "dezember"), 1)},
    **{m: i for i, m in enumerate(("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                                   "septiembre", "octubre", "noviembre", "diciembre"), 1)},
    **{m: i for i, m in enumerate(("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
                                   "setembro", "outubro", "novembro", "dezembro"), 1)},
    **{m: i for i, m in enumerate(("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
                                   "сентября", "октября", "ноября", "декабря"), 1)},
    "jänner": 1, "fevrier": 2, "aout": 8, "decembre": 12, "setiembre": 9,
}  # fmt: skip
_WORD_DATE_RE = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?:er|\.)?\s+(?:de\s+)?({'|'.join(sorted(_INTL_MONTHS, key=len, reverse=True))})"
    r"\s+(?:de\s+)?((?:19|20)\d{2})(?!\d)",
    re.I,
)
_OUTLET_RX = (
    r"(?!(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d)"
    r"((?:[Tt]he )?[A-Z][\w&'’.-]*(?: (?:[A-Z][\w&'’.-]*|and|of|for|&|on|de)){0,6})"
)
_ORIGINAL_RE = re.compile(
    rf"\b(?:originally|first)\s+(?:appeared|published|ran|posted)\b[^.]{{0,60}}?\b(?:in|on|at|by)\s+{_OUTLET_RX}"
)
_SOURCE_LINE_RE = re.compile(rf"^\s*(?i:source|originally\s+published\s+(?:in|by))\s*:\s*{_OUTLET_RX}\s*\.?\s*$")
_TITLE_OUTLET_RE = re.compile(rf":\s+([^:]{{3,120}}?)\s+(?:in|for|on)\s+(?:the\s+)?{_OUTLET_RX}\s*$")
_COPYRIGHT_RE = re.compile(
    r"(?:©|\(c\)|copyright)\s*(?:©\s*)?(?:\d{4}(?:\s*[-–]\s*\d{4})?,?\s*)?"
    r"((?:[Tt]he\s+)?[A-Z][\w&'’.-]*(?:\s+(?:[A-Z][\w&'’.-]*|and|of|for|&)){0,6}?)"
    r"\s*(?:\.|,|\||$|all\s+rights|inc\b|ltd\b|llc\b)",
    re.I,
)
_URL_LINE_RE = re.compile(r"^\s*(?:(?:url|link|source|canonical|original(?:\s+url)?)\s*:\s*)?<?(https?://[^\s>]+)>?\s*$", re.I)  # noqa: E501
_INSTITUTION_RE = re.compile(r"\b(?:Institute|Institution|Centre|Center|Council|Foundation|University|Agency|Ministry)\b")  # noqa: E501
_STOP_NAMES = {"The", "This", "A", "An", "Staff", "Editor", "Editors", "Reuters", "Continuing", "Using", "Clicking"}


Meta = DocMeta  # the metadata the cleaner finds


def extract(
    raw_text: str, header_lines: list[str], body_text: str, language: str | None = None, lines: list[str] | None = None
) -> Meta:
    """Read metadata from the raw dump (lines: its clean.normalised_lines, if known), the kept header lines and body."""
    from briefing.ingest.lang import detect_language
    from briefing.text import normalised_lines

    if lines is None:
        lines = normalised_lines(raw_text)
    meta = Meta()
    meta.title = title_line(header_lines)
    title_idx = lines.index(meta.title) if meta.title in lines else None
    byline_date: str | None = None
    search = header_lines + (lines[title_idx : title_idx + 15] if title_idx is not None else lines[:40])
    for line in search:
        m = BYLINE_RE.match(line)
        if m and len(line.split()) <= 25:
            names, date = _parse_byline(m.group(1))
            if names:
                meta.authors = names
                byline_date = date
                break
    if not meta.authors:
        meta.authors = _cjk_byline(search[:12], body_text[:120])
    title_authors, title_outlet = _title_suffix(meta.title)
    if not meta.authors and title_authors:
        meta.authors = title_authors
    meta.published = _published(raw_text, byline_date, lines, title_idx)
    meta.original_publisher = _original_publisher(lines, raw_text) or title_outlet
    meta.publisher = _publisher(lines)
    if meta.publisher and meta.original_publisher and meta.publisher.lower() == meta.original_publisher.lower():
        meta.original_publisher = None
    meta.language = language or detect_language(body_text or raw_text)[0]
    meta.url = _url(lines)
    return meta


def _cjk_byline(lines: list[str], body_start: str) -> list[str]:
    """Reporter names from a Korean, Chinese or Japanese byline in the header lines or the body's dateline."""
    for line in [*lines, body_start]:
        if len(line) > 200 and line is not body_start:
            continue
        head = line[:120]
        m = _KO_BYLINE_RE.search(head)
        if m and (len(line) <= 40 or "=" in head[m.end() : m.end() + 3] or m.start() <= 30):
            return [n for n in _CJK_SPLIT_RE.split(m.group(1)) if n]
        m = _ZH_BYLINE_RE.search(head)
        if m:
            return [n for n in _CJK_SPLIT_RE.split(m.group(1)) if n]
        m = _JA_BYLINE_RE.match(line) if len(line) <= 20 else None
        if m:
            return [m.group(1)]
    return []


def find_date_in_line(line: str) -> str | None:
    """The first numeric (2024.11.02, 2024년 11월 2일, 2024年11月2日) or non-English month-name date in a line (ISO)."""
    m = _NUM_DATE_RE.search(line)
    if m:
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            pass
    m = _WORD_DATE_RE.search(line)
    if m:
        try:
            return dt.date(int(m.group(3)), _INTL_MONTHS[m.group(2).lower()], int(m.group(1))).isoformat()
        except (ValueError, KeyError):
            return None
    return None


def title_line(header_lines: list[str]) -> str | None:
    """The headline: the first kept header line that is not a byline or a republication note."""
    candidates = [
        line for line in header_lines
        if not (BYLINE_RE.match(line) or _ORIGINAL_RE.search(line) or len(line.split()) > 35
                or _TITLE_JUNK_RE.search(line))
    ]
    # A headline rarely ends in a full stop; a standfirst or the first sentence does.
    for line in candidates:
        if not line.endswith((".", "。")):
            return line
    return candidates[0] if candidates else None


def _parse_byline(rest: str) -> tuple[list[str], str | None]:
    """Split 'X and Y, September 13, 2023' into names and an ISO date."""
    date = None
    m = _DATE_RE.search(rest)
    if m:
        date = parse_date(m.group(0))
        rest = rest[: m.start()]
    rest = re.split(r"\s[|–—-]\s|\s+(?:on|updated|published)\s", rest, maxsplit=1)[0]
    return split_authors(rest.strip(" ,;|")), date


def split_authors(text: str) -> list[str]:
    """Split an author string on commas and 'and', keeping only things shaped like personal names."""
    parts = re.split(r",\s*|\s+and\s+|\s*&\s*|\s*;\s*", text.strip())
    names = []
    for p in parts:
        p = p.strip(" .")
        if p.endswith(" J") or re.search(r"\b[A-Z]$", p):
            p += "."
        tokens = p.split()
        if not 1 <= len(tokens) <= 5 or tokens[0] in _STOP_NAMES:
            continue
        if all(_NAME_TOKEN_RE.match(t) for t in tokens) and any(len(t.strip(".")) > 1 for t in tokens):
            names.append(p)
    return names


def _title_suffix(title: str | None) -> tuple[list[str], str | None]:
    """Authors and outlet from a republication headline ending ': Author in the Outlet'."""
    if not title:
        return [], None
    m = _TITLE_OUTLET_RE.search(title)
    if not m:
        return [], None
    names = split_authors(m.group(1))
    if not names:
        return [], None
    outlet = m.group(2)
    return names, _the(outlet, title[m.start(2) - 4 : m.start(2)].lower().strip() == "the")


def _the(name: str, had_the: bool) -> str:
    """Normalise an outlet name: 'the Globe and Mail' -> 'The Globe and Mail', keep institutions bare."""
    name = name.strip(" .,")
    if name.lower().startswith("the "):
        name, had_the = name[4:], True
    if had_the and not _INSTITUTION_RE.search(name):
        return "The " + name
    return name


def _original_publisher(lines: list[str], raw_text: str) -> str | None:
    """The outlet that first ran a republished article ('Source: X', 'originally appeared in X')."""
    for line in lines:
        m = _SOURCE_LINE_RE.match(line) if ":" in line and len(line) < 120 else None
        if m and len(line.split()) <= 10:
            return _the(m.group(1), False)
    m2 = _original_match(raw_text)
    if m2:
        return _the(m2.group(1), raw_text[max(0, m2.start(1) - 4) : m2.start(1)].lower().strip() == "the")
    return None


def _publisher(lines: list[str]) -> str | None:
    """The site that published the page, from its copyright line."""
    for line in reversed(lines):
        if len(line) > 200 or not ("©" in line or "opyright" in line or "(c)" in line.lower()):
            continue
        m = _COPYRIGHT_RE.search(line)
        if m and m.group(1).split()[0].lower() not in ("all", "rights"):
            return _the(m.group(1), False)
    return None


def _published(raw_text: str, byline_date: str | None, lines: list[str], title_idx: int | None) -> str | None:
    """Publication date: explicit 'published on' phrase, byline date, or a date line next to the headline."""
    low = raw_text.lower()
    m = _published_phrase(raw_text) if ("publish" in low or "posted" in low or "appeared" in low) else None
    if m:
        d = parse_date(m.group(1))
        if d:
            return d
    if byline_date:
        return byline_date
    if title_idx is not None:
        for line in lines[title_idx : title_idx + 8]:
            if len(line.split()) <= 6 and _DATE_RE.fullmatch(line.strip(" .")):
                d = parse_date(line.strip(" ."))
                if d:
                    return d
        # A short line near the headline carrying a numeric or non-English date, with or without a label
        # ("송고2024-11-01 17:32", "2024-11-02 09:15:36 来源：新华网", "Publié le 2 novembre 2024 à 14 h 05").
        for line in lines[max(0, title_idx - 2) : title_idx + 12]:
            if len(line) <= 90 and any(c.isdigit() for c in line):
                d = find_date_in_line(line)
                if d:
                    return d
    return None


def _published_phrase(text: str) -> re.Match[str] | None:
    """_PUBLISHED_RE.search(text): the pattern is tried only where it can start, at a verb or a word just before."""
    for verb in _PUBLISHED_VERB_RE.finditer(text):
        v = verb.start()
        j = v
        while j > 0 and text[j - 1].isspace():
            j -= 1
        starts = [k for k in (j - 10, j - 5) if j < v and k >= 0 and _FIRST_WORD_RE.fullmatch(text, k, j)]
        for k in [*starts, v]:
            m = _PUBLISHED_RE.match(text, k)
            if m:
                return m
    return None


def _original_match(text: str) -> re.Match[str] | None:
    """_ORIGINAL_RE.search(text), trying the pattern only where one of its (case-sensitive) first words occurs."""
    starts: list[int] = []
    for word in ("originally", "first"):
        i = text.find(word)
        while i >= 0:
            starts.append(i)
            i = text.find(word, i + 1)
    for k in sorted(starts):
        m = _ORIGINAL_RE.match(text, k)
        if m:
            return m
    return None


def _url(lines: list[str]) -> str | None:
    """A URL given on its own line (or after 'URL:'/'Source:') near the top or bottom of the dump."""
    for line in lines[:10] + lines[-10:]:
        m = _URL_LINE_RE.match(line)
        if m:
            return m.group(1).rstrip(".,;)")
    return None


def parse_date(text: str, reference: dt.date | None = None) -> str | None:
    """Parse a date expression to ISO; a missing year or a relative day is resolved only against `reference`."""
    s = " ".join(text.strip(" .,").split())
    s = re.sub(r"^(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+", "", s, flags=re.I)
    try:
        m = _ISO_RE.match(s)
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        m = _MDY_RE.match(s)
        if m:
            return _ymd(m.group(3), m.group(1), m.group(2), reference)
        m = _DMY_RE.match(s)
        if m:
            return _ymd(m.group(3), m.group(2), m.group(1), reference)
    except ValueError:
        return None
    m = _RELATIVE_RE.match(s)
    if m and reference is not None:
        if m.group(3):
            delta = {"today": 0, "yesterday": -1, "tomorrow": 1}[m.group(3).lower()]
            return (reference + dt.timedelta(days=delta)).isoformat()
        which = (m.group(1) or "on").lower()
        target = _WEEKDAYS.index(m.group(2).lower())
        back = (reference.weekday() - target) % 7
        if which == "next":
            fwd = (target - reference.weekday()) % 7 or 7
            return (reference + dt.timedelta(days=fwd)).isoformat()
        if which == "last" or (which == "on" and back != 0):
            back = back or 7
        return (reference - dt.timedelta(days=back)).isoformat()
    return None


def _ymd(year: str | None, month: str, day: str, reference: dt.date | None) -> str | None:
    """Build an ISO date; without a year, take the reference's year (the latest such date not after it)."""
    mon = _MONTHS[month.lower()[:3]]
    if year:
        return dt.date(int(year), mon, int(day)).isoformat()
    if reference is None:
        return None
    d = dt.date(reference.year, mon, int(day))
    if d > reference + dt.timedelta(days=31):
        d = dt.date(reference.year - 1, mon, int(day))
    return d.isoformat()
