"""Verify stage: check every claim against verbatim passages of the sources it cites, and re-check a brief.json."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from rapidfuzz import fuzz

from briefing.errors import ConfigError, InputError
from briefing.models import Claim, Evidence, Source

# Thresholds (tuned on the planted-fault tests in tests/test_verify.py).
FUZZY_THRESHOLD = 90.0  # rapidfuzz partial_ratio (0-100) of the normalised quote over its best window of the source
MIN_QUOTE_WORDS = 3  # a shorter "quote" cannot support a statement
MAX_QUOTE_CHARS = 1500  # evidence is a passage, not the whole article
MIN_OVERLAP = 0.34  # share of the claim's content words found in its evidence passages (all cited sources)
MIN_SOURCE_OVERLAP = 0.15  # share each cited source's own evidence must cover (multi-source claims)
CONTEXT_CHARS = 300  # how far a matched quote is widened, to its enclosing sentence, for number/word checks

UNVERIFIED_MARKER = "⚠ unverified"

Policy = Literal["flag", "drop"]

# --------------------------------------------------------------------------- text normalisation

_QUOTES = dict.fromkeys("\"'`´‘’‚‛“”„‟′″‹›«»＂＇", "'")
_DASHES = dict.fromkeys("-‐‑‒–—―−﹘﹣－⁃", "-")
_DROP = set("\u00ad\u200b\u200c\u200d\u2060\ufeff")
_ELLIPSIS = re.compile(r"\s*(?:\[\s*(?:\.\s*){3}\]|\[…\]|\.\s*\.\s*\.|…)\s*")
_CITATION_MARK = re.compile(r"\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]")


@dataclass(frozen=True)
class _Norm:
    """A normalised text and, for each of its characters, the offset of the original character it came from."""

    text: str
    origin: tuple[int, ...]


@lru_cache(maxsize=1024)
def _normalise(text: str) -> _Norm:
    """Casefold and unify quotes, dashes and whitespace; runs of space around a dash collapse to one '-'."""
    out: list[str] = []
    origin: list[int] = []
    pending_space = -1  # original offset of a pending whitespace run, -1 if none
    for i, ch in enumerate(text):
        if ch in _DROP:
            continue
        for c in unicodedata.normalize("NFKC", ch).lower():
            c = _QUOTES.get(c, c)
            c = _DASHES.get(c, c)
            if c.isspace():
                if pending_space < 0:
                    pending_space = i
                continue
            if c == "-":
                pending_space = -1
                if out and out[-1] == "-":
                    continue
                if out and out[-1] == " ":
                    out.pop()
                    origin.pop()
                out.append("-")
                origin.append(i)
                continue
            if pending_space >= 0:
                if out and out[-1] != "-":
                    out.append(" ")
                    origin.append(pending_space)
                pending_space = -1
            out.append(c)
            origin.append(i)
    return _Norm("".join(out), tuple(origin))


def normalise(text: str) -> str:
    """The comparison form of a text: lower case, one space, one kind of quote mark and dash."""
    return _normalise(text).text


# --------------------------------------------------------------------------- quote matching


@dataclass
class QuoteMatch:
    """Where a quote was found in a source: original-text span and similarity score (100 = exact)."""

    start: int
    end: int
    score: float


def _strip_edges(q: str) -> str:
    """Drop surrounding quote marks and trailing punctuation that an engine may add or omit."""
    return q.strip(" '.,;:!?-")


def _find_norm(nq: str, norm: _Norm) -> tuple[int, int, float] | None:
    """Find a normalised quote in a normalised source: exact first, then the best fuzzy window."""
    if not nq or not norm.text:
        return None
    pos = norm.text.find(nq)
    if pos >= 0:
        return pos, pos + len(nq), 100.0
    if len(nq) > len(norm.text):
        return None
    al = fuzz.partial_ratio_alignment(nq, norm.text, score_cutoff=FUZZY_THRESHOLD)
    if al is None or al.score < FUZZY_THRESHOLD or al.dest_end <= al.dest_start:
        return None
    return al.dest_start, al.dest_end, float(al.score)


def find_quote(quote: str, text: str) -> QuoteMatch | None:
    """Locate a quote in a source text, tolerating case, whitespace, quote-mark, dash and small typo differences.

    Quotes elided with "..." match if each fragment is found, in order; the span covers them all.
    """
    norm = _normalise(text)
    nq = _strip_edges(normalise(quote))
    found = _find_norm(nq, norm)
    if found is None and _ELLIPSIS.search(quote):
        parts = [_strip_edges(normalise(p)) for p in _ELLIPSIS.split(quote)]
        parts = [p for p in parts if p]
        spans = [_find_norm(p, norm) for p in parts]
        if parts and all(s is not None for s in spans):
            ok = [s for s in spans if s is not None]
            in_order = all(a[0] <= b[0] for a, b in zip(ok, ok[1:], strict=False))
            if in_order:
                score = min(s[2] for s in ok)
                found = ok[0][0], ok[-1][1], score
    if found is None:
        return None
    ns, ne, score = found
    start = norm.origin[ns]
    end = norm.origin[ne - 1] + 1
    return QuoteMatch(start, end, score)


def _context(text: str, start: int, end: int) -> str:
    """The matched passage widened to its enclosing sentence(s), at most CONTEXT_CHARS each way."""
    lo = max(0, start - CONTEXT_CHARS)
    head = text[lo:start]
    cut = max(head.rfind(". "), head.rfind("\n"), head.rfind("? "), head.rfind("! "))
    s = lo + cut + 1 if cut >= 0 else lo
    tail = text[end : end + CONTEXT_CHARS]
    m = re.search(r"[.!?](?:\s|$)|\n", tail)
    e = end + (m.end() if m else len(tail))
    return text[s:e]


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

_STOPWORDS = frozenset(
    """a about above after again against all also although am an and any are as at be because been before being
    below between both but by can could did do does doing down during each either else ever few for from further
    had has have having he her here hers herself him himself his how however i if in into is it its itself just
    least less like may me might more most much must my myself no nor not now of off on once only or other our
    ours ourselves out over own per rather same she should since so some such than that the their theirs them
    themselves then there these they this those though through thus to too under until up upon us very via was
    we were what when where whether which while who whom whose why will with within without would yet you your
    yours said says say saying according unless until whereas over already still even well toward towards amid
    among across around
    s t don doesn didn isn wasn weren won wouldn shouldn couldn""".split()
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
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
    for w in _WORD.findall(text):
        lw = w.lower()
        if lw in _STOPWORDS or lw.isdigit() or len(lw) < 2 or lw in _SMALL or lw in _SCALES:
            continue
        out.add(_stem(lw))
    return out


def _names_of_run(run: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Names in one run of capitalised (word, at sentence start): leading titles/openers dropped; flag = at start."""
    while run and (run[0][0].lower() in _NAME_NOISE or run[0][0].lower() in _STOPWORDS):
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
                months = ["January", "February", "March", "April", "May", "June", "July", "August",
                          "September", "October", "November", "December"]  # fmt: skip
                idx = int(m.group(2))
                if 1 <= idx <= 12:
                    parts.append(months[idx - 1])
    return " ".join(parts)


# --------------------------------------------------------------------------- claim verification


def _fmt_id(sid: Any) -> str:
    """Show a source id as the brief does: [n]."""
    return f"[{sid}]"


def _short(text: str, n: int = 60) -> str:
    """One-line excerpt of a text for messages."""
    t = " ".join(str(text).split())
    return t if len(t) <= n else t[: n - 1] + "…"


def _as_id(x: Any) -> int | None:
    """A source id as an int, or None if it is not one (bools and non-integers are not ids)."""
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return x
    if isinstance(x, str) and x.strip().lstrip("[").rstrip("]").isdigit():
        return int(x.strip().lstrip("[").rstrip("]"))
    return None


def verify_claim(claim: Claim, sources: dict[int, Source]) -> Claim:
    """Check one claim against the sources it cites; sets claim.verified, claim.problems and evidence spans.

    Only this function's own checks decide: text inside a claim, quote or source (e.g. "[2]" or "(verified)")
    is data, and any verified/problems value the claim arrived with is discarded.
    """
    problems: list[str] = []
    claim.verified = False
    try:
        _check_claim(claim, sources, problems)
    except Exception as exc:  # noqa: BLE001 - malformed input must never pass as verified, nor crash a run
        problems.append(f"could not be checked: {type(exc).__name__}")
    claim.problems = list(dict.fromkeys(problems))
    claim.verified = not claim.problems
    return claim


def _check_claim(claim: Claim, sources: dict[int, Source], problems: list[str]) -> None:
    """All checks of verify_claim; appends a human-readable reason per failure."""
    text = claim.text if isinstance(claim.text, str) else ""
    if not text.strip():
        problems.append("claim has no text")
    raw_ids = claim.source_ids if isinstance(claim.source_ids, list | tuple) else []
    cited: list[int] = []
    for raw in raw_ids:
        sid = _as_id(raw)
        if sid is None:
            problems.append(f"cites malformed source id {_short(repr(raw), 20)}")
        elif sid not in sources:
            problems.append(f"cites unknown source {_fmt_id(sid)}")
        elif sid not in cited:
            cited.append(sid)
    if not raw_ids:
        problems.append("cites no source")

    evidence = claim.evidence if isinstance(claim.evidence, list) else []
    if not evidence:
        problems.append("no evidence quote")

    passages: dict[int, list[str]] = {sid: [] for sid in cited}
    for ev in evidence:
        if not isinstance(ev, Evidence):
            problems.append("malformed evidence entry")
            continue
        ev.span = None
        sid = _as_id(ev.source_id)
        quote = ev.quote if isinstance(ev.quote, str) else ""
        if sid is None:
            problems.append(f"evidence has malformed source id {_short(repr(ev.source_id), 20)}")
            continue
        if sid not in sources:
            problems.append(f"evidence from unknown source {_fmt_id(sid)}")
            continue
        if sid not in cited:
            problems.append(f"evidence from {_fmt_id(sid)}, which the claim does not cite")
            continue
        if len(_WORD.findall(quote)) < MIN_QUOTE_WORDS:
            problems.append(f"{_fmt_id(sid)} quote too short to support a claim: {_short(quote, 30)!r}")
            continue
        if len(quote) > MAX_QUOTE_CHARS:
            problems.append(f"{_fmt_id(sid)} quote too long ({len(quote)} characters; at most {MAX_QUOTE_CHARS})")
            continue
        src_text = sources[sid].text if isinstance(sources[sid].text, str) else ""
        match = find_quote(quote, src_text)
        if match is None:
            problems.append(f"{_fmt_id(sid)} quote not found in source: {_short(quote)!r}")
            continue
        ev.span = (match.start, match.end)
        window = src_text[match.start : match.end]
        if match.score < 100:
            wvals = _number_values(window)
            for n in _numbers(quote):
                if re.match(r"\d", n.shown) and not n.values & wvals:  # word numbers: left to the claim check
                    problems.append(f"{_fmt_id(sid)} quote has number {n.shown}, the source passage does not")
        passages[sid].append(_context(src_text, match.start, match.end))

    for sid in cited:
        if not passages[sid] and not any(isinstance(ev, Evidence) and _as_id(ev.source_id) == sid for ev in evidence):
            problems.append(f"{_fmt_id(sid)} cited without an evidence quote")
    if problems or not cited:
        return

    _check_agreement(text, cited, passages, sources, problems)


def _check_agreement(
    text: str, cited: list[int], passages: dict[int, list[str]], sources: dict[int, Source], problems: list[str]
) -> None:
    """The claim says what its evidence says: numbers, dates, names and content words."""
    evidence_text = "\n".join(p for sid in cited for p in passages[sid])
    ev_values = _number_values(evidence_text)
    src_values: set[float] = set()
    src_flat_parts: list[str] = [_flat(evidence_text)]
    for sid in cited:
        flat, values = _source_profile(sources[sid].text)
        meta = _metadata_text(sources[sid])
        src_flat_parts += [flat, _flat(meta)]
        src_values |= values | _number_values(meta)
    src_flat = "".join(src_flat_parts) + " "

    # Quantities must be in the quoted passages; years (dates) and small number words ("the two countries")
    # may come from elsewhere in the cited source.
    for n in _numbers(text):
        if n.values & ev_values:
            continue
        if (n.is_year or n.is_small_word) and n.values & src_values:
            continue
        kind = "date" if n.is_year else "number"
        problems.append(f"{kind} {n.shown} not in cited evidence")

    for name, at_start in _names(text):
        if _name_in(name, src_flat):
            continue
        rest = name.split(" ", 1)[1] if at_start and " " in name else ""
        if not (rest and _name_in(rest, src_flat)):
            problems.append(f"name {name!r} not in cited source")

    claim_words = _content_words(text)
    if not claim_words:
        return
    ev_words = _content_words(evidence_text)
    shared = claim_words & ev_words
    share = len(shared) / len(claim_words)
    if share < MIN_OVERLAP:
        problems.append(f"claim does not match its evidence ({len(shared)} of {len(claim_words)} content words shared)")
        return
    if len(cited) > 1:
        for sid in cited:
            own = claim_words & _content_words("\n".join(passages[sid]))
            if len(own) / len(claim_words) < MIN_SOURCE_OVERLAP and len(own) < 3:
                problems.append(f"{_fmt_id(sid)} evidence does not support the claim")


def verify_claims(claims: Iterable[Claim], sources: dict[int, Source]) -> tuple[int, int]:
    """Verify every claim in place; returns (verified, total) for the method note "N of M claims verified"."""
    total = verified = 0
    for c in claims:
        verify_claim(c, sources)
        total += 1
        verified += bool(c.verified)
    return verified, total


# --------------------------------------------------------------------------- policy and rendering helpers


def apply_policy(claims: list[Claim], policy: Policy) -> tuple[list[Claim], list[Claim]]:
    """Split claims into (kept, unverified); "flag" keeps unverified claims (marked), "drop" removes them.

    A claim counts as verified only if verification ran and passed (verified is True); None is unverified.
    """
    if policy not in ("flag", "drop"):
        raise ConfigError(f"verify policy: expected 'flag' or 'drop', got {policy!r}")
    unverified = [c for c in claims if c.verified is not True]
    kept = list(claims) if policy == "flag" else [c for c in claims if c.verified is True]
    return kept, unverified


def claim_marker(claim: Claim) -> str:
    """What the renderer appends after a claim: "" when verified, else " ⚠ unverified"."""
    return "" if claim.verified is True else f" {UNVERIFIED_MARKER}"


# --------------------------------------------------------------------------- `briefing verify PATH`


@dataclass
class ClaimRow:
    """One line of the verify report."""

    index: int  # 1-based position in brief.json's claims
    section: str
    text: str
    source_ids: list[int]
    verified: bool
    problems: list[str]


@dataclass
class VerifyReport:
    """Result of re-checking a brief.json against its sources."""

    path: str
    rows: list[ClaimRow] = field(default_factory=list)
    missing_sources: list[str] = field(default_factory=list)  # one line per source whose text could not be read
    warnings: list[str] = field(default_factory=list)  # e.g. a source file changed since the brief was made

    @property
    def total(self) -> int:
        """Number of claims checked."""
        return len(self.rows)

    @property
    def verified(self) -> int:
        """Number of claims that passed."""
        return sum(r.verified for r in self.rows)

    @property
    def failed(self) -> int:
        """Number of claims that failed."""
        return self.total - self.verified

    @property
    def ok(self) -> bool:
        """True if every claim passed (the CLI exits 1 otherwise)."""
        return self.failed == 0


def _load_source_text(entry: dict[str, Any], run_dir: Path) -> tuple[str | None, str | None, str | None]:
    """Text of one source from brief.json: (text, problem, warning); text_path first, else re-clean the original."""
    text_path = entry.get("text_path")
    if isinstance(text_path, str) and text_path:
        p = Path(text_path)
        p = p if p.is_absolute() else run_dir / p
        try:
            return p.read_text(encoding="utf-8"), None, None
        except (OSError, UnicodeDecodeError) as exc:
            fallback_reason = f"{p}: {exc.__class__.__name__}"
    else:
        fallback_reason = "no text_path"
    orig = entry.get("path")
    if not isinstance(orig, str) or not orig:
        return None, f"no cleaned text ({fallback_reason}) and no original path", None
    candidates = [Path(orig)] if Path(orig).is_absolute() else [Path(orig), run_dir / orig]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        return None, f"{fallback_reason}; original {orig} not found", None
    from briefing.clean import clean_documents
    from briefing.sources import load_raw

    docs, _ = load_raw([str(found)])
    if not docs:
        return None, f"{fallback_reason}; original {orig} could not be read", None
    warning = None
    sha = entry.get("sha256")
    if isinstance(sha, str) and sha and sha != docs[0].sha256:
        warning = f"source {_fmt_id(entry.get('id'))} {orig} changed since the brief was made (sha256 differs)"
    return clean_documents(docs)[0].text, None, warning


def _claim_from_json(d: Any) -> Claim:
    """A Claim from its brief.json form; malformed fields become values the verifier rejects."""
    if not isinstance(d, dict):
        return Claim(text="", source_ids=[])
    ev: list[Evidence] = []
    raw_ev = d.get("evidence")
    for e in raw_ev if isinstance(raw_ev, list) else []:
        if isinstance(e, dict):
            ev.append(Evidence(source_id=e.get("source_id"), quote=e.get("quote") or ""))  # type: ignore[arg-type]
    ids = d.get("source_ids")
    text = d.get("text")
    return Claim(
        text=text if isinstance(text, str) else "",
        source_ids=list(ids) if isinstance(ids, list) else [],
        evidence=ev,
    )


def verify_brief_file(path: Path) -> VerifyReport:
    """Re-check every claim of a brief.json (or the run folder holding it) against the texts of its sources."""
    path = Path(path)
    brief_path = path / "brief.json" if path.is_dir() else path
    if not brief_path.is_file():
        raise InputError(f"{brief_path}: no brief.json there")
    try:
        data = json.loads(brief_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{brief_path}: not a readable brief.json ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{brief_path}: not a brief.json (expected an object)")
    run_dir = brief_path.parent
    report = VerifyReport(path=str(brief_path))

    sources: dict[int, Source] = {}
    missing: dict[int, str] = {}
    raw_sources = data.get("sources")
    for entry in raw_sources if isinstance(raw_sources, list) else []:
        if not isinstance(entry, dict) or _as_id(entry.get("id")) is None:
            report.warnings.append(f"malformed source entry skipped: {_short(repr(entry), 60)}")
            continue
        sid = _as_id(entry.get("id"))
        assert sid is not None
        text, problem, warning = _load_source_text(entry, run_dir)
        if warning:
            report.warnings.append(warning)
        if text is None:
            msg = f"source {_fmt_id(sid)}: text unavailable ({problem})"
            report.missing_sources.append(msg)
            missing[sid] = msg
            continue
        sources[sid] = Source(
            id=sid,
            path=str(entry.get("path") or ""),
            text=text,
            sha256=str(entry.get("sha256") or ""),
            tokens=0,
            title=entry.get("title") if isinstance(entry.get("title"), str) else None,
            authors=[a for a in entry.get("authors") or [] if isinstance(a, str)],
            publisher=entry.get("publisher") if isinstance(entry.get("publisher"), str) else None,
            published=entry.get("published") if isinstance(entry.get("published"), str) else None,
        )

    raw_claims = data.get("claims")
    if not isinstance(raw_claims, list):
        raise InputError(f"{brief_path}: no claims list")
    for i, d in enumerate(raw_claims, 1):
        claim = verify_claim(_claim_from_json(d), sources)
        problems = list(claim.problems)
        for sid in claim.source_ids:
            n = _as_id(sid)
            if n is not None and n in missing:
                problems = [p for p in problems if p != f"cites unknown source {_fmt_id(n)}"]
                problems.insert(0, missing[n])
        section = d.get("section") if isinstance(d, dict) else None
        report.rows.append(
            ClaimRow(
                index=i,
                section=section if isinstance(section, str) else "",
                text=claim.text,
                source_ids=[n for n in (_as_id(s) for s in claim.source_ids) if n is not None],
                verified=bool(claim.verified) and not problems,
                problems=problems,
            )
        )
    return report


def format_report(report: VerifyReport) -> str:
    """Per-claim report, one line per claim (✓/✗ index, section, short text, problems), then the totals."""
    lines = [f"Verifying {report.path}"]
    lines += [f"! {m}" for m in report.missing_sources]
    lines += [f"! {w}" for w in report.warnings]
    for r in report.rows:
        mark = "✓" if r.verified else "✗"
        cites = "".join(_fmt_id(s) for s in r.source_ids)
        line = f"{mark} {r.index:>3} {r.section or '-'}: {_short(r.text)} {cites}".rstrip()
        if r.problems:
            line += " — " + "; ".join(r.problems)
        lines.append(line)
    lines.append(f"{report.verified} of {report.total} claims verified")
    return "\n".join(lines)
