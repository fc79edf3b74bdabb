"""JSON schemas for the LLM engine's structured outputs, tolerant parsing of model text, and mapping to models."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from briefing.models import Claim, Evidence, Profile, Section, Source, SourceSummary, Synthesis

STANCES = ["news report", "opinion", "official statement", "translation", "analysis"]
CONFIDENCE = ["low", "moderate", "high"]


def _obj(props: dict[str, Any]) -> dict[str, Any]:
    """A strict-mode object: every property required, nothing else allowed."""
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


_STR = {"type": "string"}
_QUOTED = _obj({"text": _STR, "quote": _STR})
_EVIDENCE = _obj({"source_id": {"type": "integer"}, "quote": _STR})
# "notes": ids of the synthesis notes a claim rests on (their evidence is resolved by the engine); "evidence" is for
# quotes the model copies itself and may be empty (strict mode makes every key required, so "optional" means []).
_CLAIM_PROPS = {"text": _STR, "source_ids": {"type": "array", "items": {"type": "integer"}},
                "notes": {"type": "array", "items": _STR}, "evidence": {"type": "array", "items": _EVIDENCE}}

NoteIndex = Mapping[str, Sequence[Evidence]]  # note id ("3.2") -> the evidence that note carries
_CLAIM = _obj(_CLAIM_PROPS)

SUMMARY_SCHEMA: dict[str, Any] = _obj({
    "summary": {"type": "array", "items": _QUOTED},
    "key_points": {"type": "array", "items": _QUOTED},
    "events": {"type": "array", "items": _obj({"date": _STR, "text": _STR, "quote": _STR})},
    "actors": {"type": "array", "items": _STR},
    "stance": {"type": "string", "enum": STANCES},
})

NOTES_SCHEMA: dict[str, Any] = _obj({
    "notes": {"type": "array", "items": _obj({"theme": _STR, **_CLAIM_PROPS})},
})

SYNTHESIS_SCHEMA: dict[str, Any] = _obj({
    "bluf": {"type": "array", "items": _CLAIM},
    "judgments": {"type": "array", "items": _obj({**_CLAIM_PROPS, "confidence": {"type": "string", "enum": CONFIDENCE},
                                                   "reason": _STR})},
    "themes": {"type": "array", "items": _obj({"key": _STR, "claims": {"type": "array", "items": _CLAIM}})},
    "timeline": {"type": "array", "items": _obj({"date": _STR, **_CLAIM_PROPS})},
    "implications": {"type": "array", "items": _CLAIM},
    "indicators": {"type": "array", "items": _CLAIM},
})

SCHEMAS = {"source_summary": SUMMARY_SCHEMA, "theme_notes": NOTES_SCHEMA, "synthesis": SYNTHESIS_SCHEMA}

_THINK = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.S | re.I)
_THINK_OPEN = re.compile(r"<think(?:ing)?>.*", re.S | re.I)
_THINK_CLOSE = re.compile(r"^.*</think(?:ing)?>", re.S | re.I)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)


def strip_reasoning(text: str) -> str:
    """Remove <think>…</think> blocks, a dangling closing tag's preamble, and an unterminated <think> tail."""
    text = _THINK.sub("", text)
    text = _THINK_CLOSE.sub("", text)
    return _THINK_OPEN.sub("", text).strip()


class ParseError(ValueError):
    """Model output that is not the JSON object asked for."""


def parse_json(text: str, expect: list[str] | None = None) -> dict[str, Any]:
    """Parse the JSON object in model text: reasoning blocks, ``` fences and surrounding prose are ignored.

    A candidate must be followed only by prose (no closing brace), so an inner object of a broken reply is never
    mistaken for the answer; with `expect`, at least one of those keys must be present.
    """
    text = strip_reasoning(text)
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    error = "no JSON object found"
    for cand in candidates:
        pos = cand.find("{")
        tries = 0
        while pos != -1 and tries < 50:
            tries += 1
            try:
                value, end = decoder.raw_decode(cand, pos)
            except json.JSONDecodeError as e:
                if error == "no JSON object found":
                    error = f"invalid JSON: {e.msg} at char {e.pos}"
            else:
                if isinstance(value, dict) and "}" not in cand[end:]:
                    if expect and not any(k in value for k in expect):
                        error = f"JSON object without the expected keys ({', '.join(expect)})"
                    else:
                        return value
            pos = cand.find("{", pos + 1)
    raise ParseError(error)


def _s(v: object) -> str:
    return v.strip() if isinstance(v, str) else ""


def _list(v: object) -> list[Any]:
    return v if isinstance(v, list) else []


def _ids(v: object) -> list[int]:
    out: list[int] = []
    for x in _list(v):
        if isinstance(x, bool):
            continue
        if isinstance(x, int | float | str):
            try:
                n = int(str(x).strip().strip("[]"))
            except ValueError:
                continue
            if n not in out:
                out.append(n)
    return out


def note_key(ref: object) -> str:
    """A note reference as the model wrote it ("3.2", "(3.2)", "[3.2]") reduced to the note id."""
    return str(ref).strip().strip("()[]").strip()


def _claim(item: object, notes: NoteIndex | None = None, unknown: list[str] | None = None) -> Claim | None:
    """A cross-source claim; unknown (invented) source ids are kept for the verify stage to flag.

    Evidence comes from the referenced notes (their own source id and quote, in reference order), then from any
    quotes given directly. A reference to no known note is dropped and its id appended to `unknown`. Source ids stay
    as the model gave them, plus the ids of directly given evidence; note evidence never adds a citation.
    """
    if not isinstance(item, dict):
        return None
    text = _s(item.get("text"))
    if not text:
        return None
    evidence: list[Evidence] = []
    seen: set[tuple[int, str]] = set()

    def add(ev: Evidence) -> None:
        if (ev.source_id, ev.quote) not in seen:
            seen.add((ev.source_id, ev.quote))
            evidence.append(ev)

    for ref in _list(item.get("notes")):
        if isinstance(ref, bool) or not isinstance(ref, str | int | float):
            continue
        key = note_key(ref)
        found = notes.get(key) if notes is not None else None
        if found is None:
            if key and unknown is not None:
                unknown.append(key)
            continue
        for ev in found:
            add(Evidence(ev.source_id, ev.quote))
    direct = []
    for ev in _list(item.get("evidence")):
        if isinstance(ev, dict) and _s(ev.get("quote")):
            sid = _ids([ev.get("source_id")])
            if sid:
                direct.append(Evidence(sid[0], _s(ev.get("quote"))))
    ids = _ids(item.get("source_ids"))
    for ev in direct:
        add(ev)
        if ev.source_id not in ids:
            ids.append(ev.source_id)
    return Claim(text=text, source_ids=ids, evidence=evidence)


def _quoted(item: object, source_id: int) -> Claim | None:
    if not isinstance(item, dict) or not _s(item.get("text")):
        return None
    quote = _s(item.get("quote"))
    return Claim(text=_s(item["text"]), source_ids=[source_id],
                 evidence=[Evidence(source_id, quote)] if quote else [],
                 date=_s(item.get("date")) or None)


def to_summary(data: dict[str, Any], source: Source) -> SourceSummary:
    """Map a parsed summary object to a SourceSummary citing [source.id]; missing parts become empty."""
    sid = source.id
    stance = _s(data.get("stance")).lower()
    if stance not in STANCES:
        stance = "translation" if "machine_translated" in source.flags else "news report"
    return SourceSummary(
        source_id=sid,
        claims=[c for c in (_quoted(i, sid) for i in _list(data.get("summary"))) if c],
        stance=stance,
        key_points=[c for c in (_quoted(i, sid) for i in _list(data.get("key_points"))) if c],
        events=[c for c in (_quoted(i, sid) for i in _list(data.get("events"))) if c],
        actors=[a for a in (_s(x) for x in _list(data.get("actors"))) if a],
    )


def _cap_confidence(claim: Claim, raw: object, reason: str) -> None:
    conf = _s(raw).lower()
    conf = conf if conf in CONFIDENCE else "low"
    claim.reason = reason or None
    if conf == "high" and len(set(claim.source_ids)) < 2:
        conf = "moderate"
        claim.reason = ((reason + " ") if reason else "") + "(Capped at moderate: supported by a single source.)"
    claim.confidence = conf


def to_synthesis(data: dict[str, Any], profile: Profile, notes: NoteIndex | None = None,
                 unknown: list[str] | None = None) -> Synthesis:
    """Map a parsed synthesis object: one Section per focus question in profile order; confidence enforced.

    `notes` resolves the claims' note references into evidence; ids of unknown notes are appended to `unknown`.
    """
    def claim(item: object) -> Claim | None:
        return _claim(item, notes, unknown)

    def claims(key: str) -> list[Claim]:
        return [c for c in (claim(i) for i in _list(data.get(key))) if c]

    judgments = []
    for item in _list(data.get("judgments")):
        c = claim(item)
        if c is not None and isinstance(item, dict):
            _cap_confidence(c, item.get("confidence"), _s(item.get("reason")))
            judgments.append(c)
    timeline = []
    for item in _list(data.get("timeline")):
        c = claim(item)
        if c is not None and isinstance(item, dict):
            c.date = _s(item.get("date")) or None
            timeline.append(c)
    by_key: dict[str, list[Claim]] = {}
    for item in _list(data.get("themes")):
        if isinstance(item, dict):
            by_key.setdefault(_s(item.get("key")), []).extend(
                c for c in (claim(i) for i in _list(item.get("claims"))) if c)
    themes = [Section(q.key, q.title, by_key.get(q.key, [])) for q in profile.focus_questions]
    return Synthesis(bluf=claims("bluf"), judgments=judgments, themes=themes, timeline=timeline,
                     implications=claims("implications"), indicators=claims("indicators"))


def to_notes(data: dict[str, Any], notes: NoteIndex | None = None,
             unknown: list[str] | None = None) -> list[tuple[str, Claim]]:
    """Map a parsed theme-notes object (hierarchical synthesis) to (theme key, claim) pairs; references resolved."""
    out = []
    for item in _list(data.get("notes")):
        c = _claim(item, notes, unknown)
        if c is not None and isinstance(item, dict):
            out.append((_s(item.get("theme")) or "other", c))
    return out
