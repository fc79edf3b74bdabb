"""Group documents of a batch that report the same event: textual near-duplicates (MinHash) and shared rare names."""

from __future__ import annotations

import re
import zlib
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from briefing.figures import numbers
from briefing.ingest.lang import stoplist
from briefing.models import CleanedDoc
from briefing.text import find_words

TEXT_JACCARD = 0.5  # MinHash estimate above which two texts are copies of one another
MIN_SHARED_PHRASES = 6  # content-word pairs/numbers two reports of one event have in common ...
MIN_PHRASE_SHARE = 0.08  # ... as a share of the shorter report's ...
MIN_ANCHORS = 2  # ... including this many shared numbers or multi-word names ("Bill Blair", "2+2")

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*|\d[\d,.+/-]*\d|\d")


@dataclass
class _Features:
    """Event features of one text."""

    phrases: set[str]  # content-word pairs, numbers and name pairs
    anchors: set[str]  # the subset that pins an event: numbers and multi-word proper names


def _lower_words(words: list[str]) -> list[str]:
    """Each word lower-cased (one call for the whole text: no space is a case-ignorable character)."""
    return " ".join(words).lower().split(" ") if words else []


def _features(words: list[str], stops: frozenset[str], lowered: list[str] | None = None) -> _Features:
    """Content-word pairs, multi-digit numbers (not years) and capitalised name pairs of a tokenised text."""
    phrases: set[str] = set()
    anchors: set[str] = set()
    prev, prev_cap = "", False
    if lowered is None:
        lowered = _lower_words(words)
    if any("’" in w for w in words):
        lowered = [lw.replace("’", "'") for lw in lowered]
    for w, lw in zip(words, lowered, strict=True):
        if len(lw) <= 3 and not w[0].isdigit():
            prev = ""  # a short word (a stopword or not) breaks a pair
            continue
        if w[0].isdigit():
            digits = re.sub(r"\D", "", w)
            if len(digits) >= 2 and not re.fullmatch(r"(?:19|20)\d\d", w):
                num = "#" + lw.replace(",", "")
                phrases.add(num)
                anchors.add(num)
            prev = ""
            continue
        if lw in stops:
            prev = ""
            continue
        cap = w[0].isupper()
        if prev:
            pair = prev + " " + lw
            phrases.add(pair)
            if cap and prev_cap:
                anchors.add(pair)
        prev, prev_cap = lw, cap
    return _Features(phrases, anchors)


NUM_PERM = 64


@lru_cache(maxsize=1)
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """Odd-multiplier affine permutations mod 2^32 (the affine32 scheme of datasketch, seed 7)."""
    gen = np.random.RandomState(7)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _fmix32(hv: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer: spreads weak hashes before the affine permutations."""
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    return hv ^ (hv >> np.uint32(16))


def _minhash(lowered: list[str]) -> np.ndarray:
    """MinHash signature of the word 3-shingles of a lower-cased text.

    Each word is hashed once (CRC-32, in C through map); a shingle's hash mixes its three word hashes in numpy, so
    the per-shingle work is vectorised instead of a Python string join and hash per shingle.
    """
    if not lowered:
        lowered = [""]
    h = _fmix32(np.fromiter(map(zlib.crc32, map(str.encode, lowered)), dtype=np.uint32, count=len(lowered)))
    if len(h) >= 3:
        h = _fmix32(h[:-2] * np.uint32(0x9E3779B1) + _fmix32(h[1:-1] ^ np.uint32(0x85EBCA77)) + h[2:])
    a, b = _permutations()
    return (np.outer(np.unique(h), a) + b).min(axis=0)


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two MinHash signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


def same_event(a: _Features, b: _Features) -> tuple[bool, float]:
    """Whether two texts report the same event, and the share of phrases they have in common."""
    shared = a.phrases & b.phrases
    smaller = min(len(a.phrases), len(b.phrases))
    share = len(shared) / smaller if smaller else 0.0
    anchors = len(a.anchors & b.anchors)
    return len(shared) >= MIN_SHARED_PHRASES and share >= MIN_PHRASE_SHARE and anchors >= MIN_ANCHORS, share


def _all_features(texts: list[str]) -> list[_Features]:
    """Features of every text, with the English stoplist as the function-word filter."""
    return [_features(find_words(t, _WORD_RE), stoplist("English")) for t in texts]


def groups(texts: list[str]) -> list[list[int]]:
    """For each text, the 0-based indices of the other texts reporting the same event."""
    n = len(texts)
    if n < 2:
        return [[] for _ in range(n)]
    # Identical texts always group (equal MinHashes); compare each distinct text once.
    copies: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(texts):
        copies[t].append(i)
    members = list(copies.values())
    out: list[set[int]] = [set() for _ in range(n)]
    for m in members:
        for i in m:
            out[i].update(j for j in m if j != i)
    for a, b in _linked_pairs(list(copies)):
        for i in members[a]:
            out[i].update(members[b])
        for j in members[b]:
            out[j].update(members[a])
    return [sorted(s) for s in out]


def _linked_pairs(texts: list[str]) -> list[tuple[int, int]]:
    """Pairs (a < b) of distinct texts that are near-copies or report the same event, without comparing every pair."""
    tokens = [find_words(t, _WORD_RE) for t in texts]
    lowered = [_lower_words(words) for words in tokens]
    hashes = [_minhash(low) for low in lowered]
    feats = [_features(words, stoplist("English"), low) for words, low in zip(tokens, lowered, strict=True)]
    # A pair can pass only if enough MinHash positions hold equal values or it shares MIN_ANCHORS anchors.
    equal_positions = _co_occurrences([enumerate(h.tolist()) for h in hashes])
    shared_anchors = _co_occurrences([f.anchors for f in feats])
    candidates = {p for p, c in equal_positions.items() if c / NUM_PERM >= TEXT_JACCARD}
    candidates |= {p for p, c in shared_anchors.items() if c >= MIN_ANCHORS}
    if TEXT_JACCARD <= 0 or MIN_ANCHORS <= 0:
        candidates = {(a, b) for a in range(len(texts)) for b in range(a + 1, len(texts))}
    return [
        (a, b)
        for a, b in sorted(candidates)
        if _jaccard(hashes[a], hashes[b]) >= TEXT_JACCARD or same_event(feats[a], feats[b])[0]
    ]


def _co_occurrences(items: list[Iterable[Hashable]]) -> dict[tuple[int, int], int]:
    """For pairs (a < b) of item collections with something in common, how many items they share (hash index)."""
    index: dict[Hashable, list[int]] = defaultdict(list)
    for d, its in enumerate(items):
        for it in its:
            index[it].append(d)
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for docs in index.values():
        for x in range(len(docs)):
            for y in range(x + 1, len(docs)):
                counts[docs[x], docs[y]] += 1
    return counts


# Reports of one event in two languages share no words, but they share figures and Latin-script names.
MIN_CROSS_ANCHORS = 3  # shared figures and Latin acronyms/names two reports in different languages need ...
MIN_CROSS_FIGURE = 1000  # ... including at least one figure this large that is not a year (12,000 troops)
_ACRONYM = re.compile(r"(?<![A-Za-z0-9])[A-Z][A-Z0-9&]{1,9}(?![A-Za-z0-9])")


def _cross_anchors(text: str) -> tuple[set[str], set[float]]:
    """Language-independent anchors of a text: its figures (in any script, years included) and Latin acronyms."""
    figures = {round(v, 6) for _, v in numbers(text)}
    names = {m.group(0) for m in _ACRONYM.finditer(text) if not m.group(0).isdigit()}
    return {f"#{v:g}" for v in figures} | {"@" + n for n in names}, figures


def cross_language_pairs(texts: list[str], languages: list[str | None]) -> list[tuple[int, int]]:
    """Pairs (a < b) of texts in different known languages that share MIN_CROSS_ANCHORS figures and Latin names,
    one of them a figure of at least MIN_CROSS_FIGURE that is not a year."""
    if len({lang.split("-")[0] for lang in languages if lang}) < 2:
        return []  # one language (the usual batch): nothing to compute
    anchors = [_cross_anchors(t) if lang else (set(), set()) for t, lang in zip(texts, languages, strict=True)]
    shared = _co_occurrences([a for a, _ in anchors])
    out = []
    for (a, b), n in sorted(shared.items()):
        la, lb = languages[a], languages[b]
        if n < MIN_CROSS_ANCHORS or not la or not lb or la.split("-")[0] == lb.split("-")[0]:
            continue
        big = {v for v in anchors[a][1] & anchors[b][1] if v >= MIN_CROSS_FIGURE and not 1900 <= v <= 2100}
        if big:
            out.append((a, b))
    return out


def mark_duplicates(docs: list[CleanedDoc]) -> None:
    """Fill CleanedDoc.duplicates and the near_duplicate flag for same-event reports in a batch (textual
    near-copies and shared event phrases within a language; shared figures and Latin names across languages)."""
    found = groups([d.text for d in docs])
    for a, b in cross_language_pairs([d.text for d in docs], [d.language for d in docs]):
        found[a] = sorted({*found[a], b})
        found[b] = sorted({*found[b], a})
    for doc, dup in zip(docs, found, strict=True):
        doc.duplicates = dup
        if dup and "near_duplicate" not in doc.flags:
            doc.flags.append("near_duplicate")
