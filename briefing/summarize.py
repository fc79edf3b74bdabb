"""Summarize stage: one summary per source from the engine, reusing cached summaries of unchanged sources."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict

from briefing.cache import Cache, canonical_json, digest
from briefing.engines.base import Engine
from briefing.models import Chunk, Profile, Source, SourceSummary, summary_from_dict


def summary_key(engine_id: str, source: Source, profile: Profile) -> str:
    """Cache key of one source's summary: cleaned text + engine identity + profile (not the run-specific id, nor the
    flags that depend on the run's other sources: a summary is asked for before they are known)."""
    return digest("summary", engine_id, source.text, {**source_meta(source), "flags": source.own_flags()},
                  asdict(profile))


def source_meta(source: Source) -> dict[str, object]:
    """What a prompt may show about a source besides its text and run id: a cache key must cover all of it."""
    meta = source.to_json()
    for key in ("id", "path", "sha256", "tokens", "same_event_as"):
        meta.pop(key, None)
    return meta


def _rebind(summary: SourceSummary, source_id: int) -> SourceSummary:
    """A cached summary cites the id its source had then; give it this run's id."""
    summary.source_id = source_id
    for c in [*summary.claims, *summary.key_points, *summary.events]:
        c.source_ids = [source_id]
        for ev in c.evidence:
            ev.source_id = source_id
    return summary


def summarize_sources(engine: Engine, sources: Iterable[Source], chunks: dict[int, list[Chunk]], profile: Profile,
                      cache: Cache | None = None, eid: str | None = None,
                      progress: Callable[[int, int, Source], None] | None = None,
                      expected: int | None = None,
                      serialized: dict[int, str] | None = None) -> tuple[list[SourceSummary], int]:
    """Per-source summaries in source order, and how many came from the cache.

    `sources` may be lazy (the run's sources as they are cleaned): each is looked up in the cache as it comes, and
    the others go to the engine at once. Each new summary is cached as soon as the engine reports it (its
    `on_summary` argument), so a run that fails half-way resumes from there. `expected`: how many sources a lazy
    `sources` will give at most (progress shows it until they are all known). `serialized`, if given, gets each
    summary's canonical JSON by source id as it comes (the synthesis' cache key, without serialising them all again
    once the last one is in).
    """
    seen: list[Source] = []
    done: dict[int, SourceSummary] = {}
    keys: dict[int, str] = {}
    by_id: dict[int, Source] = {}  # sources sent to the engine
    stored: set[int] = set()
    exhausted = False
    shown = [0, 0]  # the last progress (done, total) reported

    def todo() -> Iterator[Source]:
        nonlocal exhausted
        for s in sources:
            seen.append(s)
            if cache is not None and eid is not None:
                keys[s.id] = summary_key(eid, s, profile)
                hit = cache.get("summary", keys[s.id])
                if hit is not None:
                    done[s.id] = _rebind(summary_from_dict(hit), s.id)
                    if serialized is not None:
                        serialized[s.id] = canonical_json(asdict(done[s.id]))
                    continue
            by_id[s.id] = s
            yield s
        exhausted = True

    def store(summary: SourceSummary) -> None:
        if summary.source_id in stored:
            return
        stored.add(summary.source_id)
        as_dict = asdict(summary)
        if serialized is not None:
            serialized[summary.source_id] = canonical_json(as_dict)
        if cache is not None and summary.source_id in keys:
            cache.put("summary", keys[summary.source_id], as_dict)
        if progress is not None and summary.source_id in by_id:
            total = len(by_id) if exhausted else max(len(by_id), (expected or 0) - (len(seen) - len(by_id)))
            shown[:] = [len(stored), total]
            progress(len(stored), total, by_id[summary.source_id])

    pending = todo()
    first = next(pending, None)  # every source cached (an unchanged rerun): the engine is not started at all
    if first is not None:
        fresh = engine.summarize(itertools.chain([first], pending), chunks, profile, on_summary=store)
        for summary in fresh:
            done[summary.source_id] = summary
            store(summary)
    if progress is not None and by_id and shown != [len(by_id), len(by_id)]:
        # the total was a guess while sources were still coming (cache hits among them): the final count says it
        progress(len(by_id), len(by_id), by_id[max(by_id)])
    missing = [s.id for s in seen if s.id not in done]
    if missing:
        raise RuntimeError(f"engine {engine.name} returned no summary for sources {missing}")
    return [done[s.id] for s in seen], len(seen) - len(by_id)
