"""Chunk stage: split a source into pieces that never exceed a token budget, at paragraph then sentence bounds.

Speed: token counts of two texts add up to the count of their concatenation when the cut is a pretoken boundary
of the cl100k split pattern (BPE never merges across pretokens, and the pattern has no lookbehind). We only cut
(a) right after a newline when the next char is not whitespace -- every alternative of the pattern that can
contain a newline ends at the last newline of a run -- and (b) at a single space between a non-space char and a
non-space char -- no alternative crosses from a non-space char into a following space, and " word" starts a new
pretoken. So each text is encoded about once and chunk counts are sums. Token-level hard splits of over-long
sentences are not boundaries of this kind: chunks containing them are re-encoded and shrunk if needed.

Scripts without spaces between sentences: Chinese and Japanese end sentences with 。！？ (often followed by a closing
bracket) directly before the next sentence, and Korean dumps sometimes run "…했다.그는" together. Those sentence ends
are cut too, but "。" is the optional prefix of the next letter run's pretoken, so such cuts are not additive: chunks
containing one are re-encoded and shrunk like hard splits. A sentence longer than the budget is cut at clause marks
(，、；：, ", ") and then at spaces between words before falling back to token-level cuts.
"""

from __future__ import annotations

import bisect
import itertools
import os
import re
from concurrent.futures import ThreadPoolExecutor

from briefing.models import Chunk
from briefing.tokens import encoding

MIN_TOKENS = 4  # one code point is at most 4 UTF-8 bytes, so any single char fits in 4 tokens

_CLOSE = "\"'”’)\\]」』）】〕》"  # closing quotes and brackets that may follow a sentence end
# Cuts, best first: after a blank line, after a newline, before the single space that follows a sentence end, and
# right after a CJK sentence end (or a Korean one with no space) that runs straight into the next sentence.
_CUTS = re.compile(
    r"(?P<nl>\n(?:[^\S\n]*\n)*)(?=\S)"
    r"|[.!?…。！？][\"'”’)\]]?(?= \S)"
    rf"|[。！？｡][{_CLOSE}]*(?=[^\s{_CLOSE}])"
    rf"|(?<=[\uac00-\ud7a3])[.!?][{_CLOSE}]?(?=[\uac00-\ud7a3])"
)
# Inside a sentence over budget: after a clause mark, or before the single space between two words.
_CLAUSE = re.compile(r"[，、；：][」』）]*(?=\S)|[,;:](?= \S)")
_WORD = re.compile(r"(?<=\S)(?= \S)")
CLAUSE, WORD, HARD = 3, 4, 5  # ranks of cuts inside an over-long sentence (HARD: token-level, not additive)
END = -1  # rank of the end of the text


def _additive(text: str, p: int) -> bool:
    """Whether the token count of text[:p] + text[p:] is the sum of the two (a pretoken boundary; see above)."""
    if p <= 0 or p >= len(text):
        return True
    if text[p - 1] == "\n":
        return not text[p].isspace()
    return text[p] == " " and not text[p - 1].isspace() and p + 1 < len(text) and not text[p + 1].isspace()


def _count(text: str) -> int:
    return len(encoding().encode_ordinary(text))


def _counts(text: str, spans: list[tuple[int, int]]) -> list[int]:
    """Token counts of many spans; big texts are counted in a few threads (tiktoken releases the GIL)."""
    enc = encoding()

    def count(group: list[tuple[int, int]]) -> list[int]:
        return [len(enc.encode_ordinary(text[a:b])) for a, b in group]

    if len(text) < 1_000_000 or len(spans) < 16:
        return count(spans)
    n = min(8, os.cpu_count() or 1)
    size = -(-len(spans) // n)
    groups = [spans[i:i + size] for i in range(0, len(spans), size)]
    with ThreadPoolExecutor(n) as pool:
        return [c for part in pool.map(count, groups) for c in part]


def _hard(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int, int]]:
    """Split a run with no safe cut every max_tokens tokens (char offsets from token byte lengths); re-counted."""
    enc = encoding()
    run = text[start:end]
    raw = run.encode("utf-8")
    toks = enc.encode_ordinary(run)
    byte_ends = list(itertools.accumulate(map(len, enc.decode_tokens_bytes(toks))))
    out: list[tuple[int, int, int]] = []
    pos = start
    while pos < end:
        done = len(text[start:pos].encode("utf-8"))
        i = bisect.bisect_right(byte_ends, done)  # tokens fully before pos
        b = byte_ends[min(len(byte_ends), i + max_tokens) - 1] if i + max_tokens < len(byte_ends) else len(raw)
        nxt = end if b >= len(raw) else max(pos + 1, start + len(raw[:b].decode("utf-8", "ignore")))
        n = _count(text[pos:nxt])
        while n > max_tokens and nxt - pos > 1:  # re-encoding the slice may merge differently: shrink
            nxt = pos + max(1, (nxt - pos) * max_tokens // (n + 1))
            n = _count(text[pos:nxt])
        out.append((pos, nxt, n))
        pos = nxt
    return out


def _pieces(text: str, max_tokens: int) -> list[tuple[int, int, int, int]]:
    """(start, end, tokens, rank of the cut after it), each within budget.

    Paragraphs are counted first (one encode of the text); only paragraphs over budget are counted again piecewise
    between their line and sentence cuts, and runs with no safe cut are hard-split.
    """
    cuts: list[tuple[int, int]] = []  # (position, rank)
    for m in _CUTS.finditer(text):
        p = m.end()
        if 0 < p < len(text) and (not cuts or p > cuts[-1][0]):
            nl = m.group("nl")
            cuts.append((p, 2 if nl is None else 0 if nl.count("\n") > 1 else 1))  # sentence, paragraph, line
    cuts.append((len(text), END))
    paras: list[tuple[int, int, int, list[tuple[int, int]]]] = []  # start, end, rank after, inner cuts
    start = 0
    inner: list[tuple[int, int]] = []
    for p, rank in cuts:
        if rank in (0, END):
            paras.append((start, p, rank, inner))
            start, inner = p, []
        else:
            inner.append((p, rank))
    out: list[tuple[int, int, int, int]] = []
    for (a, b, rank, inner), n in zip(paras, _counts(text, [(a, b) for a, b, _, _ in paras]), strict=True):
        if n <= max_tokens:
            out.append((a, b, n, rank))
            continue
        bounds = [a, *(p for p, _ in inner), b]
        ranks = [r for _, r in inner] + [rank]
        spans = list(zip(bounds, bounds[1:], strict=False))
        for (x, y), k, r in zip(spans, _counts(text, spans), ranks, strict=True):
            if k <= max_tokens:
                out.append((x, y, k, r))
            else:
                out.extend(_fine(text, x, y, r, max_tokens))
    return out


_FINE = ((CLAUSE, _CLAUSE), (WORD, _WORD))


def _fine(text: str, x: int, y: int, rank: int, max_tokens: int, level: int = 0) -> list[tuple[int, int, int, int]]:
    """Pieces of the over-budget span text[x:y]: at clause marks, else between words, else token-level cuts."""
    if level == len(_FINE):
        hard = _hard(text, x, y, max_tokens)
        return [(u, v, c, HARD if idx < len(hard) - 1 else rank) for idx, (u, v, c) in enumerate(hard)]
    r, pattern = _FINE[level]
    bounds = [x, *(p for m in pattern.finditer(text, x, y) if x < (p := m.end()) < y), y]
    if len(bounds) == 2:
        return _fine(text, x, y, rank, max_tokens, level + 1)
    spans = list(zip(bounds, bounds[1:], strict=False))
    ranks = [r] * (len(spans) - 1) + [rank]
    out: list[tuple[int, int, int, int]] = []
    for (u, v), k, rr in zip(spans, _counts(text, spans), ranks, strict=True):
        out.extend([(u, v, k, rr)] if k <= max_tokens else _fine(text, u, v, rr, max_tokens, level + 1))
    return out


def chunk_text(text: str, max_tokens: int, overlap: int = 0, source_id: int = 0) -> list[Chunk]:
    """Pack pieces into chunks of at most max_tokens, ending at the best cut in the last part of the room.

    A chunk ends at a paragraph break when one lies in its last 40%, else at a line break, else a sentence end.
    `overlap` repeats up to that many trailing tokens of a chunk at the start of the next. chunk.text ==
    text[chunk.start:chunk.end]; without overlap the chunks tile the text.
    """
    if max_tokens < MIN_TOKENS:
        raise ValueError(f"max_tokens must be at least {MIN_TOKENS}")
    if not text:
        return []
    pieces = _pieces(text, max_tokens)
    chunks: list[Chunk] = []
    i = 0
    while i < len(pieces):
        start = pieces[i][0]
        j, total = i, 0
        cum = []
        while j < len(pieces) and total + pieces[j][2] <= max_tokens:
            total += pieces[j][2]
            cum.append(total)
            j += 1
        j = max(j, i + 1)
        if j < len(pieces) and j - i > 1:  # prefer a better cut among the last 40% of the chunk
            best, best_rank = j, pieces[j - 1][3]
            for k in range(j - 1, i, -1):
                if cum[k - 1 - i] < 0.6 * total:
                    break
                if 0 <= pieces[k - 1][3] < best_rank:
                    best, best_rank = k, pieces[k - 1][3]
            j = best
        end = pieces[j - 1][1]
        if not all(_additive(text, pieces[k][1]) for k in range(i, j - 1)):  # counts may not add up: measure, shrink
            total = _count(text[start:end])
            while total > max_tokens and j > i + 1:
                j -= 1
                end = pieces[j - 1][1]
                total = _count(text[start:end])
        else:
            total = sum(p[2] for p in pieces[i:j])
        chunks.append(Chunk(source_id, len(chunks), text[start:end], start, end, total))
        if j >= len(pieces):
            break
        nxt = j
        if overlap > 0:
            back, k = 0, j - 1
            while k > i and back + pieces[k][2] <= overlap and pieces[k - 1][3] != HARD:
                back += pieces[k][2]
                k -= 1
            nxt = k + 1
        i = nxt
    return chunks
