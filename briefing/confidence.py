"""Confidence rules shared by every engine: which sources are independent, and "high" needs two of them."""

from __future__ import annotations

from briefing.models import Claim, Source
from briefing.text import content_words

COPY_CONTAINMENT = 0.35  # share of the shorter text's content-word pairs found in the other: one report copied


def _pairs(text: str) -> set[tuple[str, str]]:
    """Adjacent content-word pairs of a text (what a copied or lightly rewritten report keeps)."""
    w = content_words(text)
    return set(zip(w, w[1:], strict=False))


def copied(a: Source, b: Source) -> bool:
    """Whether two texts are one report (a copy, an update or a light rewrite of the same story), not two."""
    if a.text == b.text:
        return True
    pa, pb = _pairs(a.text), _pairs(b.text)
    small = min(len(pa), len(pb))
    return bool(small) and len(pa & pb) / small >= COPY_CONTAINMENT


def independent_groups(sources: list[Source]) -> dict[int, int]:
    """Source id -> group id; near-duplicate reports count once.

    Two sources share a group when they report the same event (same_event_as) *and* one is a copy or light
    rewrite of the other's text. Different outlets' own reports of one event stay independent: that they agree is
    corroboration.
    """
    by_id = {s.id: s for s in sources}
    group = {s.id: s.id for s in sources}
    for s in sources:
        for other in s.same_event_as:
            if other in group and other > s.id and copied(s, by_id[other]):
                low = min(group[s.id], group[other])
                for k, g in group.items():
                    if g in (group[s.id], group[other]):
                        group[k] = low
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
