"""Confidence rules shared by every engine: which sources are independent, and "high" needs two of them."""

from __future__ import annotations

import numpy as np

from briefing.models import Claim, Source
from briefing.text import content_words

COPY_CONTAINMENT = 0.35  # share of the shorter text's content-word pairs found in the other: one report copied


def _pairs(text: str) -> set[tuple[str, str]]:
    """Adjacent content-word pairs of a text (what a copied or lightly rewritten report keeps)."""
    w = content_words(text)
    return set(zip(w, w[1:], strict=False))


def _pair_hashes(text: str) -> np.ndarray:
    """The text's content-word pairs as sorted unique 64-bit hashes: 8 bytes a pair, where a set of word tuples
    takes ~150 (independent_groups keeps one per source of a same-event group)."""
    return np.unique(np.fromiter((hash(p) for p in _pairs(text)), dtype=np.int64))


def copied(a: Source, b: Source, memo: dict[int, np.ndarray] | None = None) -> bool:
    """Whether two texts are one report (a copy, an update or a light rewrite of the same story), not two.

    `memo` (source id -> pair hashes) lets a caller comparing many pairs read each text once.
    """
    if a.text == b.text:
        return True
    memo = {} if memo is None else memo
    for s in (a, b):
        if s.id not in memo:
            memo[s.id] = _pair_hashes(s.text)
    pa, pb = memo[a.id], memo[b.id]
    small = min(len(pa), len(pb))
    return bool(small) and len(np.intersect1d(pa, pb, assume_unique=True)) / small >= COPY_CONTAINMENT


_LAST: list[tuple[tuple[object, ...], dict[int, int]]] = []  # the last call's sources and groups (a run asks 3-4x)


def independent_groups(sources: list[Source]) -> dict[int, int]:
    """Source id -> group id; near-duplicate reports count once.

    Two sources share a group when they report the same event (same_event_as) *and* one is a copy or light
    rewrite of the other's text. Different outlets' own reports of one event stay independent: that they agree is
    corroboration.
    """
    key = tuple((s.id, len(s.text), hash(s.text), tuple(s.same_event_as)) for s in sources)
    if _LAST and _LAST[0][0] == key:
        return dict(_LAST[0][1])
    by_id = {s.id: s for s in sources}
    group = {s.id: s.id for s in sources}
    memo: dict[int, np.ndarray] = {}  # each text's word pairs once, not once per pair compared
    for s in sources:
        for other in s.same_event_as:
            if other in group and other > s.id and copied(s, by_id[other], memo):
                low = min(group[s.id], group[other])
                for k, g in group.items():
                    if g in (group[s.id], group[other]):
                        group[k] = low
    _LAST[:] = [(key, dict(group))]
    return group


def cap_confidence(judgments: list[Claim], sources: list[Source]) -> None:
    """A judgment resting on one independent source (near-duplicates count once) cannot be "high", for any engine."""
    group = independent_groups(sources)
    for c in judgments:
        n = len({group.get(i, i) for i in c.source_ids})
        if (c.confidence or "").lower() == "high" and n < 2:
            c.confidence = "moderate"
            why = ("supported by a single source" if len(set(c.source_ids)) < 2
                   else "the cited reports are not independent")
            c.reason = ((c.reason or "").rstrip(". ") + f". (Capped at moderate: {why}.)").lstrip(". ")
