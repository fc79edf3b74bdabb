"""Synthesize stage: the cross-source brief content on the profile's focus questions."""

from __future__ import annotations

from briefing.engines.base import Engine
from briefing.models import Claim, Profile, Source, SourceSummary, Synthesis


def synthesize(engine: Engine, sources: list[Source], summaries: list[SourceSummary], profile: Profile) -> Synthesis:
    """Ask the engine for the synthesis; sections follow the profile's focus questions in order."""
    synthesis = engine.synthesize(sources, summaries, profile)
    by_key = {t.key: t for t in synthesis.themes}
    synthesis.themes = [by_key[q.key] for q in profile.focus_questions if q.key in by_key]
    return synthesis


def flatten(synthesis: Synthesis, summaries: list[SourceSummary]) -> list[tuple[str, Claim]]:
    """Every statement the brief renders, with the section it appears in."""
    out: list[tuple[str, Claim]] = [("bluf", c) for c in synthesis.bluf]
    out += [("key_judgments", c) for c in synthesis.judgments]
    for t in synthesis.themes:
        out += [(f"theme:{t.key}", c) for c in t.claims]
    out += [("timeline", c) for c in synthesis.timeline]
    out += [("implications", c) for c in synthesis.implications]
    out += [("indicators", c) for c in synthesis.indicators]
    for s in summaries:
        out += [(f"source_summary:{s.source_id}", c) for c in s.claims]
    return out
