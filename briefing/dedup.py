"""Group documents of a batch that report the same event: textual near-duplicates (MinHash) and shared rare names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from briefing.models import CleanedDoc

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


def _features(text: str, stops: frozenset[str]) -> _Features:
    """Content-word pairs, multi-digit numbers (not years) and capitalised name pairs of a text."""
    phrases: set[str] = set()
    anchors: set[str] = set()
    prev, prev_cap = "", False
    for w in _WORD_RE.findall(text):
        lw = w.lower().replace("’", "'")
        if w[0].isdigit():
            digits = re.sub(r"\D", "", w)
            if len(digits) >= 2 and not re.fullmatch(r"(?:19|20)\d\d", w):
                num = "#" + lw.replace(",", "")
                phrases.add(num)
                anchors.add(num)
            prev = ""
            continue
        if lw in stops or len(lw) <= 3:
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


def _minhash(text: str) -> object:
    """MinHash of the word 3-shingles of a text."""
    from datasketch import MinHash

    words = [w.lower() for w in _WORD_RE.findall(text)]
    mh = MinHash(num_perm=64, seed=7)
    shingles = {" ".join(words[i : i + 3]).encode() for i in range(max(1, len(words) - 2))}
    mh.update_batch(list(shingles))
    return mh


def same_event(a: _Features, b: _Features) -> tuple[bool, float]:
    """Whether two texts report the same event, and the share of phrases they have in common."""
    shared = a.phrases & b.phrases
    smaller = min(len(a.phrases), len(b.phrases))
    share = len(shared) / smaller if smaller else 0.0
    anchors = len(a.anchors & b.anchors)
    return len(shared) >= MIN_SHARED_PHRASES and share >= MIN_PHRASE_SHARE and anchors >= MIN_ANCHORS, share


def similarity_matrix(texts: list[str]) -> list[list[float]]:
    """Pairwise share of event phrases in common (0..1), for reporting and tuning."""
    feats = _all_features(texts)
    n = len(texts)
    sims = [[0.0] * n for _ in range(n)]
    for a in range(n):
        for b in range(a + 1, n):
            sims[a][b] = sims[b][a] = same_event(feats[a], feats[b])[1]
    return sims


def _all_features(texts: list[str]) -> list[_Features]:
    """Features of every text, with the English stoplist as the function-word filter."""
    import justext

    stops = frozenset(justext.get_stoplist("English"))
    return [_features(t, stops) for t in texts]


def groups(texts: list[str]) -> list[list[int]]:
    """For each text, the 0-based indices of the other texts reporting the same event."""
    n = len(texts)
    out: list[set[int]] = [set() for _ in range(n)]
    if n < 2:
        return [[] for _ in range(n)]
    hashes = [_minhash(t) for t in texts]
    feats = _all_features(texts)
    for a in range(n):
        for b in range(a + 1, n):
            if hashes[a].jaccard(hashes[b]) >= TEXT_JACCARD or same_event(feats[a], feats[b])[0]:  # type: ignore[attr-defined]
                out[a].add(b)
                out[b].add(a)
    return [sorted(s) for s in out]


def mark_duplicates(docs: list[CleanedDoc]) -> None:
    """Fill CleanedDoc.duplicates and the near_duplicate flag for same-event reports in a batch."""
    for doc, dup in zip(docs, groups([d.text for d in docs]), strict=True):
        doc.duplicates = dup
        if dup and "near_duplicate" not in doc.flags:
            doc.flags.append("near_duplicate")
