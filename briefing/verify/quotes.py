"""Find an evidence quote in a source after normalising quotes, dashes, ellipses and invisible characters."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz

# Thresholds (tuned on the planted-fault tests in tests/test_verify.py).
FUZZY_THRESHOLD = 90.0  # rapidfuzz partial_ratio (0-100) of the normalised quote over its best window of the source
MIN_QUOTE_WORDS = 3  # a shorter "quote" cannot support a statement
MAX_QUOTE_CHARS = 1500  # evidence is a passage, not the whole article
MIN_OVERLAP = 0.34  # share of the claim's content words found in its evidence passages (all cited sources)
MIN_SOURCE_OVERLAP = 0.15  # share each cited source's own evidence must cover (multi-source claims)
CONTEXT_CHARS = 300  # how far a matched quote is widened, to its enclosing sentence, for number/word checks

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

