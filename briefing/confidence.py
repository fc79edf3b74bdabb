"""Confidence rules shared by every engine: which sources are independent, and "high" needs two of them."""

from __future__ import annotations

from briefing.models import Claim, Source


def independent_groups(sources: list[Source]) -> dict[int, int]:
    """Source id -> group id; near-duplicate reports of one event share a group and count once."""
    group = {s.id: s.id for s in sources}
    for s in sources:
        for other in s.same_event_as:
            if other in group:
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
