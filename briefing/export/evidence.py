"""Evidence passages: the cited span(s) of a claim inside the surrounding paragraph(s) of the cleaned source text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Passages are whole paragraphs around the cited text; a paragraph this short takes its neighbours as context,
# and one this long (a dump with no paragraph breaks) is cut to a window at sentence boundaries.
SHORT_PARAGRAPH = 320
CONTEXT_CHARS = 480
_BOUNDARY = re.compile(r"(?<=[.!?…。！？])[\"'”’)\]]*\s+")


@dataclass
class Passage:
    """Source text around one or more cited spans: (text, highlighted) segments in reading order."""

    segments: list[tuple[str, bool]]
    cut_before: bool = False  # the passage starts mid-paragraph
    cut_after: bool = False
    start: int = 0
    end: int = 0


@dataclass
class SourceEvidence:
    """What a claim cites from one source: passages with the cited text marked, and quotes that were not located."""

    source_id: int
    passages: list[Passage] = field(default_factory=list)
    unlocated: list[str] = field(default_factory=list)  # quotes given as evidence but not found in the text
    translations: list[str] = field(default_factory=list)  # the model's rendering of the cited text, if any
    quotes: list[str] = field(default_factory=list)  # the cited text itself, in order
    spans: list[tuple[int, int]] = field(default_factory=list)  # cited char spans in the source text, merged


def _paragraph_bounds(text: str, pos: int) -> tuple[int, int]:
    """Start and end of the paragraph (text between blank lines) containing position `pos`."""
    start = text.rfind("\n\n", 0, pos)
    start = 0 if start < 0 else start + 2
    end = text.find("\n\n", pos)
    end = len(text) if end < 0 else end
    return start, end


def _window(text: str, start: int, end: int, lo: int, hi: int) -> tuple[int, int]:
    """Cut [lo, hi) down to about CONTEXT_CHARS either side of [start, end), at sentence boundaries."""
    if start - lo > CONTEXT_CHARS:
        cut = start - CONTEXT_CHARS
        m = _BOUNDARY.search(text, cut, start)
        lo = m.end() if m else cut
    if hi - end > CONTEXT_CHARS:
        cut = end + CONTEXT_CHARS
        ends = [m.start() for m in _BOUNDARY.finditer(text, end, cut)]
        hi = ends[-1] + 1 if ends else cut
        while hi < len(text) and hi > end and not text[hi - 1].isspace() and text[hi - 1] not in ".!?…。！？\"'”’)]":
            hi -= 1
    return lo, hi


def passage_bounds(text: str, start: int, end: int) -> tuple[int, int, bool, bool]:
    """The passage around [start, end): its paragraph(s), with neighbours if short; (lo, hi, cut_before, cut_after)."""
    lo, _ = _paragraph_bounds(text, start)
    _, hi = _paragraph_bounds(text, max(start, end - 1))
    if hi - lo < SHORT_PARAGRAPH:
        if lo > 0:
            lo = _paragraph_bounds(text, max(0, lo - 3))[0]
        if hi < len(text):
            hi = _paragraph_bounds(text, min(len(text), hi + 2))[1]
    plo, phi = lo, hi
    lo, hi = _window(text, start, end, lo, hi)
    while lo < hi and text[lo].isspace():
        lo += 1
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    return lo, hi, lo > plo, hi < phi


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans with overlapping ones joined."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def build_passages(text: str, spans: list[tuple[int, int]]) -> list[Passage]:
    """Passages covering every span: spans whose passages overlap share one passage, each span highlighted."""
    spans = merge_spans([(s, e) for s, e in spans if 0 <= s < e <= len(text)])
    groups: list[tuple[int, int, bool, bool, list[tuple[int, int]]]] = []
    for s, e in spans:
        lo, hi, cb, ca = passage_bounds(text, s, e)
        if groups and lo <= groups[-1][1]:
            glo, ghi, gcb, _, members = groups[-1]
            groups[-1] = (glo, max(ghi, hi), gcb, ca if hi >= ghi else groups[-1][3], [*members, (s, e)])
        else:
            groups.append((lo, hi, cb, ca, [(s, e)]))
    passages = []
    for lo, hi, cb, ca, members in groups:
        segs: list[tuple[str, bool]] = []
        pos = lo
        for s, e in members:
            if s > pos:
                segs.append((text[pos:s], False))
            segs.append((text[max(s, pos):e], True))
            pos = max(pos, e)
        if pos < hi:
            segs.append((text[pos:hi], False))
        passages.append(Passage(segs, cb, ca, lo, hi))
    return passages


def _norm(s: str) -> str:
    return " ".join(s.split()).casefold()


def locate(text: str, quote: str) -> tuple[int, int] | None:
    """Find a quote in the text when brief.json has no span for it: exact, then ignoring whitespace and case."""
    quote = quote.strip()
    if not quote:
        return None
    i = text.find(quote)
    if i >= 0:
        return i, i + len(quote)
    words = quote.split()
    if not words:
        return None
    pattern = r"\s+".join(re.escape(w) for w in words)
    m = re.search(pattern, text, re.IGNORECASE)
    return (m.start(), m.end()) if m else None


def valid_span(text: str, span: object) -> tuple[int, int] | None:
    """A [start, end) pair of ints inside the text, else None."""
    if not isinstance(span, list | tuple) or len(span) != 2:
        return None
    s, e = span
    if not isinstance(s, int) or not isinstance(e, int) or isinstance(s, bool) or isinstance(e, bool):
        return None
    return (s, e) if 0 <= s < e <= len(text) else None
