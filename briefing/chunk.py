"""Chunk stage: split a source into pieces that never exceed a token budget, at paragraph then sentence bounds."""

from __future__ import annotations

import re

from briefing.models import Chunk
from briefing.tokens import encoding

_PARA = re.compile(r"\n\s*\n")
_SENT = re.compile(r"(?<=[.!?…。])[\"'”’)\]]*\s+")


def _spans(text: str, pattern: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    """Split text[start:end] after each separator match; pieces tile the range exactly."""
    out, pos = [], start
    for m in pattern.finditer(text, start, end):
        if m.end() > pos and m.start() > pos:
            out.append((pos, m.end()))
            pos = m.end()
    if pos < end:
        out.append((pos, end))
    return out


def _hard_split(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    """Split an over-long sentence by tokens, mapping token boundaries back to char offsets."""
    enc = encoding()
    toks = enc.encode_ordinary(text[start:end])
    out, pos = [], start
    for i in range(0, len(toks), max_tokens):
        piece = enc.decode(toks[i : i + max_tokens])
        nxt = min(end, pos + len(piece)) if i + max_tokens < len(toks) else end
        if nxt > pos:
            out.append((pos, nxt))
        pos = nxt
    return out


def _pieces(text: str, max_tokens: int) -> list[tuple[int, int, int]]:
    """(start, end, tokens) pieces, each within budget: paragraphs, else sentences, else token slices."""
    enc = encoding()
    out: list[tuple[int, int, int]] = []
    for ps, pe in _spans(text, _PARA, 0, len(text)):
        n = len(enc.encode_ordinary(text[ps:pe]))
        if n <= max_tokens:
            out.append((ps, pe, n))
            continue
        for ss, se in _spans(text, _SENT, ps, pe):
            n = len(enc.encode_ordinary(text[ss:se]))
            if n <= max_tokens:
                out.append((ss, se, n))
            else:
                for hs, he in _hard_split(text, ss, se, max_tokens):
                    out.append((hs, he, len(enc.encode_ordinary(text[hs:he]))))
    return out


def chunk_text(text: str, max_tokens: int, overlap: int = 0, source_id: int = 0) -> list[Chunk]:
    """Pack pieces greedily into chunks of at most max_tokens; `overlap` repeats up to that many trailing tokens."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    enc = encoding()
    pieces = _pieces(text, max_tokens)
    chunks: list[Chunk] = []
    i = 0
    while i < len(pieces):
        start = pieces[i][0]
        j, total = i, 0
        while j < len(pieces) and total + pieces[j][2] <= max_tokens:
            total += pieces[j][2]
            j += 1
        j = max(j, i + 1)
        end = pieces[j - 1][1]
        # Token counts of adjacent pieces are additive at these boundaries, but check and shrink to be sure.
        real = len(enc.encode_ordinary(text[start:end]))
        while real > max_tokens and j > i + 1:
            j -= 1
            end = pieces[j - 1][1]
            real = len(enc.encode_ordinary(text[start:end]))
        chunks.append(Chunk(source_id, len(chunks), text[start:end], start, end, real))
        if j >= len(pieces):
            break
        nxt = j
        if overlap > 0:
            back, k = 0, j - 1
            while k > i and back + pieces[k][2] <= overlap:
                back += pieces[k][2]
                k -= 1
            nxt = k + 1 if k + 1 < j else j
        i = nxt
    return chunks
