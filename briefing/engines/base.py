"""The engine seam: structured inputs in (sources, chunks, profile), structured outputs out (summaries, synthesis)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from briefing.errors import BudgetExceededError
from briefing.models import Chunk, Profile, Source, SourceSummary, Synthesis, Usage

if TYPE_CHECKING:
    from briefing.cache import Cache

OnSummary = Callable[[SourceSummary], None]


class Engine(Protocol):
    """What the pipeline needs from anything that writes a brief's content.

    Every claim an engine returns cites run-wide source ids and carries evidence quotes
    taken from those sources' cleaned text; the verify stage checks them afterwards.
    """

    name: str  # "extractive" or "llm"
    model: str  # model name, or a description of the offline method
    usage: Usage  # accumulated over the engine's lifetime
    in_flight: int  # requests sent and not answered yet (progress display)
    offline: bool  # no model: free, nothing to wait on or cache, and the brief says its sentences are verbatim
    warnings: list[str]  # what the run should report once the engine is done (e.g. a source lost in condensing)
    notify: Callable[[str], None] | None  # told of long waits (Retry-After) as they start
    on_batch: Callable[[dict[str, Any]], None] | None  # told of each Batch API status check (progress)
    waiting_on_model: threading.Event  # set while the engine only waits on the model (side work may run then)
    draft: Synthesis | None  # once waiting_on_model is set: the synthesis without its top, if the engine has one

    def use_cache(self, cache: Cache, eid: str) -> None:
        """Let the engine cache the parts of its synthesis in the run's cache, keyed by their inputs."""
        ...

    def prepare(self) -> None:
        """Get ready to send requests, without blocking: a model engine imports its client library in the
        background, while the run waits for its first cleaned source."""
        ...

    def chunk_budget(self) -> int | None:
        """Article tokens per chunk, or None when the engine reads whole sources (the run then skips chunking)."""
        ...

    def cache_identity(self, *tasks: str) -> str | None:
        """What makes the engine's output reproducible (model, settings, the prompt files of `tasks`, all if none);
        None: do not cache it."""
        ...

    def estimate(self, sources: list[Source], chunks: dict[int, list[Chunk]], profile: Profile) -> dict[str, Any]:
        """Calls, tokens and cost per stage, as `run --dry-run` shows them; sends nothing."""
        ...

    def summarize(self, sources: Iterable[Source], chunks: dict[int, list[Chunk]], profile: Profile,
                  on_summary: OnSummary | None = None) -> list[SourceSummary]:
        """One summary per source, in the order given; `on_summary` is told of each one as soon as it is done.

        `sources` may be lazy (the run's sources as they are cleaned): a model engine sends a source's requests as
        soon as it gets it; one that needs them all (the offline engine, a batch) reads them all first."""
        ...

    def synthesize(self, sources: list[Source], summaries: list[SourceSummary], profile: Profile) -> Synthesis:
        """Cross-source synthesis on the profile's focus questions."""
        ...

    def judge(self, items: list[dict[str, Any]]) -> dict[int, tuple[str, str]]:
        """The model judge (verify.judge): claim id -> (label, reason) for {id, text, sentences}; never asked of
        an offline engine."""
        ...


def check_cost(estimate: dict[str, Any], limit: float | None) -> None:
    """Refuse to start (BudgetExceededError) when an engine's estimated cost is over --max-cost."""
    if limit is not None and estimate["cost_usd"] > limit:
        raise BudgetExceededError(f"estimated cost ${estimate['cost_usd']:.4f} ({estimate['requests']} requests, "
                                  f"{estimate['prompt_tokens']} prompt tokens) is over --max-cost ${limit:.4f}; "
                                  "not starting")
