"""Synthesize stage: the cross-source brief content on the profile's focus questions (cached when unchanged)."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from dataclasses import asdict

from briefing.cache import Cache, canonical_json, digest_json
from briefing.engines.base import Engine
from briefing.models import Claim, Profile, Source, SourceSummary, Synthesis, synthesis_from_dict
from briefing.summarize import source_meta


def synthesize(engine: Engine, sources: list[Source], summaries: list[SourceSummary], profile: Profile,
               cache: Cache | None = None, eid: str | None = None,
               meanwhile: Callable[[Synthesis | None], object] | None = None,
               serialized: dict[int, str] | None = None) -> tuple[Synthesis, bool]:
    """The synthesis (sections in profile order) and whether it came from the cache.

    `serialized`: the summaries' canonical JSON by source id, as summarize_sources gave it (else made here).
    `meanwhile` (e.g. verifying the summaries) runs once, after the cache key is taken: in a helper thread while
    the engine waits on the model, given the engine's draft (the synthesis but its top, whose claims it may verify
    meanwhile; None if the engine has none), or inline, given None, on a cache hit.
    """
    key = None
    if cache is not None and eid is not None:
        meta = [(s.id, s.same_event_as, source_meta(s)) for s in sources]
        texts = [serialized.get(s.source_id) if serialized else None for s in summaries]
        listed = "[" + ", ".join(t if t is not None else canonical_json(asdict(s)) for t, s in zip(texts, summaries,
                                                                                             strict=True)) + "]"
        key = digest_json(*map(canonical_json, ("synthesis", eid, asdict(profile), meta)), listed)
        hit = cache.get("synthesis", key)
        if hit is not None:
            if meanwhile is not None:
                meanwhile(None)
            return _ordered(synthesis_from_dict(hit), profile), True
    if cache is not None and eid is not None:
        engine.use_cache(cache, eid)  # an engine that writes the synthesis in parts caches each part by its inputs
    if meanwhile is None:
        synthesis = engine.synthesize(sources, summaries, profile)
    else:
        work = meanwhile

        def later() -> object:
            engine.waiting_on_model.wait(600)  # the side work then takes no CPU from routing and sending requests
            return work(engine.draft)

        engine.draft = None  # an engine used for a run before still holds that run's draft, its wait ended
        engine.waiting_on_model.clear()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            side = pool.submit(later)
            synthesis = engine.synthesize(sources, summaries, profile)
            side.result()
    from briefing.confidence import cap_confidence  # (numpy) not on the way to the first request

    cap_confidence(synthesis.judgments, sources)
    if cache is not None and key is not None:
        cache.put("synthesis", key, asdict(synthesis))
    return _ordered(synthesis, profile), False


def _ordered(synthesis: Synthesis, profile: Profile) -> Synthesis:
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
