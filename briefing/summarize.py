"""Summarize stage: one summary per source from the engine, in source order."""

from __future__ import annotations

from briefing.engines.base import Engine
from briefing.models import Chunk, Profile, Source, SourceSummary


def summarize_sources(engine: Engine, sources: list[Source], chunks: dict[int, list[Chunk]],
                      profile: Profile) -> list[SourceSummary]:
    """Ask the engine for per-source summaries and check it returned exactly one per source."""
    if not sources:
        return []
    summaries = engine.summarize(sources, chunks, profile)
    by_id = {s.source_id: s for s in summaries}
    missing = [s.id for s in sources if s.id not in by_id]
    if missing:
        raise RuntimeError(f"engine {engine.name} returned no summary for sources {missing}")
    return [by_id[s.id] for s in sources]
