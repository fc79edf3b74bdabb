"""Render stage: the brief as Markdown from a user-editable Jinja2 template; untrusted text is escaped."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, NotRequired, Protocol, TypedDict

from briefing import __version__
from briefing.confidence import independent_groups
from briefing.config import DEFAULT_IMPLICATIONS_FOR
from briefing.messages import DEFAULT_LANGUAGE, Messages
from briefing.messages import load as load_messages
from briefing.models import Changes, Claim, Profile, Source, SourceSummary, Synthesis, Usage
from briefing.templates import packaged_dir, render_template

BRIEF_TEMPLATE = "brief.md.j2"

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_LINE_START = re.compile(r"^(\s*)([#>+\-=])", re.MULTILINE)
_ORDERED = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)  # "1. " / "1) " would start an ordered list


def md_escape(text: object) -> str:
    """Make article text inert in Markdown: no HTML, links, images, emphasis, headings or forged [n] markers."""
    s = " ".join(str(text).split())  # one line: no injected headings or list items
    s = _MD_SPECIAL.sub(r"\\\1", s)
    s = s.replace("&", "&amp;")
    s = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), s)
    # Markdown shows a backslash before a digit literally ("\2.4 million"): escape the list marker's punctuation
    return _ORDERED.sub(lambda m: m.group(1) + "\\" + m.group(2), s)


def code_text(text: object) -> str:
    """Text for inside a `code span`: one line, and no backtick that could close the span early."""
    return " ".join(str(text).split()).replace("`", "'") or "unknown"


def cite(ids: list[int]) -> str:
    """Inline citation markers: [1][3]."""
    return "".join(f"[{i}]" for i in sorted(set(ids)))


def reference(src: dict[str, Any], t: Messages | None = None) -> str:
    """`Author(s). "Title." Outlet (original outlet), date. File or URL.` with "unknown" for missing fields."""
    t = t or _english()
    authors = ", ".join(src.get("authors") or []) or t.unknown_author
    title = src.get("title") or t.untitled
    original = src.get("original_publisher")
    outlet = src.get("publisher") or original or t.unknown_outlet
    if original and original != outlet:
        outlet = t("originally_in", outlet=outlet, original=original)
    date = src.get("published") or t.date_unknown
    where = src.get("url") or src.get("path") or "unknown"
    return (f'{md_escape(authors)}. "{md_escape(title)}." {md_escape(outlet)}, {md_escape(date)}. '
            f"`{code_text(where)}`")


class Cited(Protocol):
    """Anything with the source ids it cites (a Claim, or an export's view of one)."""

    source_ids: list[int]


def make_attribution(sources: list[dict[str, Any]], stances: dict[int, str], offline: bool,
                     t: Messages | None = None, esc: Callable[[object], str] = md_escape) -> Callable[[Cited], str]:
    """A template helper: "Braun argues: " before an opinion source's verbatim sentence (offline engine only)."""
    by_id = {s["id"]: s for s in sources}
    msgs = t or _english()

    def attribution(claim: Cited) -> str:
        if not offline or len(claim.source_ids) != 1:
            return ""
        sid = claim.source_ids[0]
        src = by_id.get(sid)
        if not src or not src.get("authors") or not stances.get(sid, "").startswith("opinion"):
            return ""
        names = [a.split()[-1] for a in src["authors"] if a.split()]
        if not names:
            return ""
        who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + msgs.name_joiner + names[-1]
        return msgs("argues" if len(names) == 1 else "argue", who=esc(who))

    return attribution


def render_brief(context: dict[str, Any], template_dirs: list[Path]) -> str:
    """Render the brief template with the run's data (see prompts/brief.md.j2 for the variables).

    Values the template prints raw are made inert first: timeline dates come from the model (escaped), and file
    paths shown in code spans lose their backticks.
    """
    context = dict(context)
    t = context.get("t")
    if not isinstance(t, Messages):
        t = context["t"] = load_messages(template_dirs, context.get("language") or DEFAULT_LANGUAGE)
    context.setdefault("language", t.language)
    context["timeline"] = [replace(c, date=md_escape(c.date)) if getattr(c, "date", None) else c
                           for c in context.get("timeline") or []]
    if isinstance(context.get("changes"), dict):
        context["changes"] = {k: [code_text(p) for p in v] if k in ("added", "removed", "updated") else v
                              for k, v in context["changes"].items()}
    return render_template(template_dirs, BRIEF_TEMPLATE, esc=md_escape, cite=cite,
                           reference=lambda src: reference(src, t), **context)


def _english() -> Messages:
    """The packaged English messages (for helpers called without a catalogue)."""
    return load_messages([packaged_dir()], DEFAULT_LANGUAGE)


@dataclass
class BriefContent:
    """Everything a run produced that the brief and brief.json show (the render stage's input)."""

    profile: Profile
    messages: Messages  # the brief language's headings and fixed phrases
    title: str  # profile title, audience and theme titles (by focus key) in the brief's language
    audience: str
    theme_titles: dict[str, str]
    implications_for: list[str]  # profile.implications_for: who the Implications section is about
    generated_at: str  # ISO UTC, seconds
    engine: str
    model: str
    offline: bool  # written without a model (verbatim sentences): the brief says so and attributes opinion
    sources: list[Source]
    summaries: list[SourceSummary]
    synthesis: Synthesis  # after the verify policy (with "drop", unverified claims are gone)
    claims: list[tuple[str, Claim]]  # every statement with its section, before the policy (brief.json lists all)
    unverified: list[Claim]
    verified: int
    total: int
    policy: str
    usage: Usage
    skipped: list[str]  # warnings for inputs left out
    changes: Changes | None
    summaries_reused: int = 0
    synthesis_reused: bool = False
    judge: dict[str, Any] | None = None  # verify.judge.JudgeReport as a dict, when the model judge ran


class VerificationJson(TypedDict):
    """brief.json "verification"."""

    verified: int
    total: int
    policy: str
    judge: NotRequired[dict[str, Any]]  # what the model judge did, when it ran


class CacheJson(TypedDict):
    """brief.json "cache": what came from OUT/.cache."""

    summaries_reused: int
    synthesis_reused: bool


class BriefJson(TypedDict):
    """The shape of brief.json (`briefing verify` reads sources and claims back)."""

    version: str
    generated_at: str
    title: str
    language: str
    audience: str
    themes: list[dict[str, str]]  # key, title (in the brief's language), question: every focus question
    engine: str
    model: str
    sources: list[dict[str, Any]]  # Source.to_json() plus text_path (sources/<id>.txt)
    summaries: list[dict[str, Any]]  # source_id, stance, text, actors, key_points, events
    claims: list[dict[str, Any]]  # a Claim as a dict plus its section
    verification: VerificationJson
    usage: dict[str, Any]  # Usage, cost rounded
    timings: dict[str, float]
    skipped: list[str]
    method_notes: list[str]  # translated, trimmed and near-duplicate sources (flag_notes)
    changes: Changes | None
    cache: CacheJson


def sources_json(sources: list[Source]) -> list[dict[str, Any]]:
    """Source metadata as brief.json lists it, with where the cleaned text is kept in the run folder."""
    return [{**s.to_json(), "text_path": f"sources/{s.id}.txt"} for s in sources]


def flag_notes(sources: list[Source], t: Messages) -> list[str]:
    """Method-note lines about sources the reader should know about (translated, trimmed, near-duplicates)."""
    notes = []
    for s in sources:
        if "machine_translated" in s.flags:
            notes.append(t("flag_machine_translated", id=s.id))
        if "appended_content_removed" in s.flags:
            notes.append(t("flag_appended_removed", id=s.id))
    seen: set[int] = set()
    copies = independent_groups(sources)  # copies and rewrites of one report share a group
    for s in sources:
        if s.same_event_as and s.id not in seen:
            group = sorted({s.id, *s.same_event_as})
            seen.update(group)
            by_report: dict[int, list[int]] = {}
            for i in group:
                by_report.setdefault(copies.get(i, i), []).append(i)
            for same in by_report.values():
                if len(same) > 1:
                    notes.append(t("flag_near_duplicates", ids="".join(f"[{i}]" for i in same)))
            if len(by_report) > 1:
                notes.append(t("flag_same_event", ids="".join(f"[{i}]" for i in group)))
    return notes


def _usage_json(usage: Usage) -> dict[str, Any]:
    d = asdict(usage)
    d["cost_usd"] = round(d["cost_usd"], 6)
    return d


def implications_heading(parties: list[str], t: Messages) -> str:
    """ "Implications for Canada and South Korea" in the brief's language, for the profile's implications_for."""
    if parties == DEFAULT_IMPLICATIONS_FOR:
        return str(t.implications)
    if not parties:
        return str(t.implications_general)
    names = parties[0] if len(parties) == 1 else ", ".join(parties[:-1]) + t.name_joiner + parties[-1]
    return t("implications_for", parties=names)


def brief_context(b: BriefContent) -> dict[str, Any]:
    """The brief template's variables (documented in the header of prompts/brief.md.j2)."""
    src_json = sources_json(b.sources)
    dates = sorted(s.published for s in b.sources if s.published)
    syn = b.synthesis
    return {
        "language": b.profile.language,
        "t": b.messages,
        "title": b.title,
        "audience": b.audience,
        "generated_at": b.generated_at,
        "engine": b.engine,
        "model": b.model,
        "offline": b.offline,
        "coverage": {"n_sources": len(b.sources), "date_from": dates[0] if dates else None,
                     "date_to": dates[-1] if dates else None},
        "bluf": syn.bluf,
        "judgments": syn.judgments,
        "themes": [{"key": th.key, "title": b.theme_titles.get(th.key, th.title), "claims": th.claims,
                    "question": next((q.question for q in b.profile.focus_questions if q.key == th.key), "")}
                   for th in syn.themes],
        "timeline": sorted(syn.timeline, key=lambda c: c.date or ""),
        "implications": syn.implications,
        "implications_heading": md_escape(implications_heading(b.implications_for, b.messages)),
        "indicators": syn.indicators,
        "summaries": [{"source": src_json[i], "stance": s.stance, "claims": s.claims}
                      for i, s in enumerate(b.summaries)],
        "sources": src_json,
        "unverified": b.unverified if b.policy == "flag" else [],
        "method": {**_usage_json(b.usage), "verified": b.verified, "total_claims": b.total, "policy": b.policy,
                   "flagged_sources": flag_notes(b.sources, b.messages), "skipped": b.skipped},
        "changes": b.changes,
        "attribution": make_attribution(src_json, {s.source_id: s.stance for s in b.summaries}, b.offline,
                                        b.messages),
    }


def _claim_json(section: str, c: Claim) -> dict[str, Any]:
    d = asdict(c)
    d["section"] = section
    for ev in d["evidence"]:
        ev["span"] = list(ev["span"]) if ev["span"] else None
    return d


def brief_json(b: BriefContent, timings: dict[str, float]) -> BriefJson:
    """brief.json: sources, summaries, every claim with its section and verification state, usage and timings."""
    verification: VerificationJson = {"verified": b.verified, "total": b.total, "policy": b.policy}
    if b.judge is not None:
        verification["judge"] = b.judge
    return {
        "version": __version__,
        "generated_at": b.generated_at,
        "title": b.title,
        "language": b.profile.language,
        "audience": b.audience,
        "themes": [{"key": q.key, "title": b.theme_titles.get(q.key, q.title), "question": q.question}
                   for q in b.profile.focus_questions],
        "engine": b.engine,
        "model": b.model,
        "sources": sources_json(b.sources),
        "summaries": [{"source_id": s.source_id, "stance": s.stance, "text": " ".join(c.text for c in s.claims),
                       "actors": s.actors, "key_points": [asdict(c) for c in s.key_points],
                       "events": [asdict(c) for c in s.events]} for s in b.summaries],
        "claims": [_claim_json(sec, c) for sec, c in b.claims],
        "verification": verification,
        "usage": _usage_json(b.usage),
        "timings": timings,
        "skipped": b.skipped,
        "method_notes": flag_notes(b.sources, b.messages),
        "changes": b.changes,
        "cache": {"summaries_reused": b.summaries_reused, "synthesis_reused": b.synthesis_reused},
    }
