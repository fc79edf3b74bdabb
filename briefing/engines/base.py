"""The engine seam: structured inputs in (sources, chunks, profile), structured outputs out (summaries, synthesis)."""

from __future__ import annotations

from typing import Protocol

from briefing.models import Chunk, Profile, Source, SourceSummary, Synthesis, Usage


class Engine(Protocol):
    """What the pipeline needs from anything that writes a brief's content.

    Every claim an engine returns cites run-wide source ids and carries evidence quotes
    taken from those sources' cleaned text; the verify stage checks them afterwards.
    """

    name: str  # "extractive" or "llm"
    model: str  # model name, or a description of the offline method
    usage: Usage  # accumulated over the engine's lifetime

    def summarize(self, sources: list[Source], chunks: dict[int, list[Chunk]], profile: Profile) -> list[SourceSummary]:
        """One summary per source, in the order given."""
        ...

    def synthesize(self, sources: list[Source], summaries: list[SourceSummary], profile: Profile) -> Synthesis:
        """Cross-source synthesis on the profile's focus questions."""
        ...
