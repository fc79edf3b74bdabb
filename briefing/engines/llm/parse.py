"""JSON schemas for the LLM engine's structured outputs, tolerant parsing of model text, and mapping to models."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from briefing.models import Claim, Evidence, Profile, Section, Source, SourceSummary, Synthesis

STANCES = ["news report", "opinion", "official statement", "translation", "analysis"]
CONFIDENCE = ["low", "moderate", "high"]
JUDGE_LABELS = ["supported", "partly", "not supported"]


def _obj(props: dict[str, Any]) -> dict[str, Any]:
    """A strict-mode object: every property required, nothing else allowed."""
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


_STR = {"type": "string"}
_IDS = {"type": "array", "items": {"type": "integer"}}
# A summary sentence cites the numbers of the article sentences it rests on; the engine fills the quotes from them.
# Key points and events are article sentences themselves (numbers only, events with a date): they cost the model a
# few tokens each and are verbatim by construction.
_CITED = _obj({"text": _STR, "sentences": _IDS})
# A summary statement also names the focus questions (profile keys) it bears on: the synthesis routes it by them.
_TAGGED = _obj({"text": _STR, "sentences": _IDS, "themes": {"type": "array", "items": _STR}})
# "notes": ids of the synthesis notes a claim rests on; the engine resolves them to the notes' sentences.
_CLAIM_PROPS = {"text": _STR, "source_ids": _IDS, "notes": {"type": "array", "items": _STR}}

NoteIndex = Mapping[str, Sequence[Evidence]]  # note id ("3.2") -> the evidence that note carries
_CLAIM = _obj(_CLAIM_PROPS)

SUMMARY_SCHEMA: dict[str, Any] = _obj({
    "summary": {"type": "array", "items": _TAGGED},
    "key_points": _IDS,
    "events": {"type": "array", "items": _obj({"date": _STR, "sentences": _IDS})},
    "actors": {"type": "array", "items": _STR},
    "stance": {"type": "string", "enum": STANCES},
    # For an article in another language than the brief: each cited sentence rendered in the brief's language
    # (the engine attaches them to the evidence; [] otherwise).
    "renderings": {"type": "array", "items": _obj({"sentence": {"type": "integer"}, "text": _STR})},
})

# One theme section (or a stable part of it), written from the notes routed to it.
SECTION_SCHEMA: dict[str, Any] = _obj({"claims": {"type": "array", "items": _CLAIM}})

# The top of the brief, written from the sections' claims: the theme sections and the timeline are not in it.
TOP_SCHEMA: dict[str, Any] = _obj({
    "bluf": {"type": "array", "items": _CLAIM},
    "judgments": {"type": "array", "items": _obj({**_CLAIM_PROPS, "confidence": {"type": "string", "enum": CONFIDENCE},
                                                   "reason": _STR})},
    "implications": {"type": "array", "items": _CLAIM},
    "indicators": {"type": "array", "items": _CLAIM},
})

# The model judge: one verdict per claim id; "reason" is a few words ("" when supported).
JUDGE_SCHEMA: dict[str, Any] = _obj({
    "verdicts": {"type": "array", "items": _obj({"id": {"type": "integer"},
                                                 "label": {"type": "string", "enum": JUDGE_LABELS},
                                                 "reason": _STR})},
})

SCHEMAS = {"source_summary": SUMMARY_SCHEMA, "section": SECTION_SCHEMA, "brief_top": TOP_SCHEMA,
           "judge": JUDGE_SCHEMA}

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


MAX_ITEMS = 60  # items kept per list of one answer: a broken or hostile endpoint cannot fan a run out to thousands


def _kind(v: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), "a number")


def _check(value: object, schema: dict[str, Any], path: str, out: list[str]) -> None:
    """Type-check a value against one of our schemas (missing keys and unknown enum values are tolerated)."""
    t = schema.get("type")
    where = path or "the answer"
    if t == "object":
        if not isinstance(value, dict):
            out.append(f"{where} should be an object, not {_kind(value)}")
            return
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                _check(value[key], sub, f"{path}.{key}" if path else key, out)
    elif t == "array":
        if not isinstance(value, list):
            out.append(f"{where} should be a list, not {_kind(value)}")
            return
        for i, item in enumerate(value[:MAX_ITEMS]):
            _check(item, schema["items"], f"{where}[{i}]", out)
    elif t == "string":
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int | float)):
            out.append(f"{where} should be a string, not {_kind(value)}")
    elif t == "integer":
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and value.strip().strip("[]").isdigit())
        if not ok:
            out.append(f"{where} should be an integer, not {_kind(value)}")


def validate(data: dict[str, Any], schema: str) -> list[str]:
    """What is wrong with a parsed answer for one of SCHEMAS (empty when it is usable).

    Wrong types anywhere (`"bluf": "x"`, `"themes": {...}`) are errors, and so is an answer with nothing in it (a
    summary without a single item, a synthesis without a single claim): such an answer is repaired or retried,
    never mapped to an empty brief and cached.
    """
    out: list[str] = []
    _check(data, SCHEMAS[schema], "", out)
    if out:
        return out
    if schema == "source_summary" and not any(_list(data.get(k)) for k in ("summary", "key_points", "events")):
        out.append("the summary has no items (summary, key_points and events are all empty)")
    if schema == "section" and not _list(data.get("claims")):
        out.append("the section has no claims")
    if schema == "brief_top":
        lists = [_list(data.get(k)) for k in ("bluf", "judgments", "timeline", "implications", "indicators")]
        lists += [_list(t.get("claims")) for t in _list(data.get("themes")) if isinstance(t, dict)]
        if not any(lists):
            out.append("the synthesis has no claims at all")
    return out


def cap_items(value: object, limit: int = MAX_ITEMS) -> int:
    """Cut every list in a parsed answer to `limit` items, in place; returns how many items were dropped."""
    dropped = 0
    if isinstance(value, dict):
        for v in value.values():
            dropped += cap_items(v, limit)
    elif isinstance(value, list):
        if len(value) > limit:
            dropped += len(value) - limit
            del value[limit:]
        for v in value:
            dropped += cap_items(v, limit)
    return dropped


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


def sentence_evidence(source: Source, ids: Sequence[int]) -> list[Evidence]:
    """Evidence for the cited sentence numbers of a source: each sentence's own text and span, in citation order.

    The quotes are verbatim by construction. A number the source has no sentence for is kept as evidence with no
    quote, so the verify stage flags the claim instead of the citation silently disappearing.
    """
    out: list[Evidence] = []
    for i in dict.fromkeys(ids):
        sent = source.sentence(i)
        if sent is None:
            out.append(Evidence(source.id, "", None, [i]))
        else:
            out.append(Evidence(source.id, sent.text, (sent.start, sent.end), [sent.id]))
    return out


def _claim(item: object, notes: NoteIndex | None = None, unknown: list[str] | None = None) -> Claim | None:
    """A cross-source claim; unknown (invented) source ids are kept for the verify stage to flag.

    Evidence comes from the referenced notes (their own source id and sentences, in reference order); the model
    never supplies quotes here. A reference to no known note is kept on the claim (Claim.unresolved, which the
    verify stage flags) and its id appended to `unknown`. Source ids stay as the model gave them; note evidence
    never adds a citation.
    """
    if not isinstance(item, dict):
        return None
    text = _s(item.get("text"))
    if not text:
        return None
    evidence: list[Evidence] = []
    seen: set[tuple[int, str, tuple[int, ...]]] = set()
    unresolved: list[str] = []
    for ref in _list(item.get("notes")):
        if isinstance(ref, bool) or not isinstance(ref, str | int | float):
            continue
        key = note_key(ref)
        found = notes.get(key) if notes is not None else None
        if found is None:
            if key:
                unresolved.append(f"note {key[:20]}")
                if unknown is not None:
                    unknown.append(key)
            continue
        for ev in found:
            k = (ev.source_id, ev.quote, tuple(ev.sentence_ids))
            if k not in seen:
                seen.add(k)
                evidence.append(Evidence(ev.source_id, ev.quote, ev.span, list(ev.sentence_ids), ev.translation))
    return Claim(text=text, source_ids=_ids(item.get("source_ids")), evidence=evidence,
                 unresolved=list(dict.fromkeys(unresolved)))


def _sentence_ids(v: object) -> list[int]:
    """Sentence numbers as the model wrote them (12, "12", "s12", "[12]"); an entry that is no number becomes 0,
    a number no sentence has, so the claim is flagged rather than the citation lost."""
    ids: list[int] = []
    for x in _list(v):
        m = re.fullmatch(r"\W*[sS#]?(\d{1,7})\W*", str(x).strip()) if isinstance(x, int | str) else None
        n = int(m.group(1)) if m is not None and not isinstance(x, bool) else 0
        if n not in ids:
            ids.append(n)
    return ids


def _cited(item: object, source: Source) -> Claim | None:
    """A summary sentence citing sentence numbers of its own source; the quotes come from those sentences."""
    if not isinstance(item, dict) or not _s(item.get("text")):
        return None
    return Claim(text=_s(item["text"]), source_ids=[source.id],
                 evidence=sentence_evidence(source, _sentence_ids(item.get("sentences"))))


def _extract(ids: list[int], source: Source, date: str | None, unknown: list[int]) -> Claim | None:
    """A key point or event: the cited sentences themselves (their text joined); numbers without a sentence are
    appended to `unknown` (nothing can be said for them)."""
    evidence = [e for e in sentence_evidence(source, ids) if e.quote]
    unknown += [i for i in ids if source.sentence(i) is None]
    if not evidence:
        return None
    return Claim(text=" ".join(e.quote for e in evidence), source_ids=[source.id], evidence=evidence, date=date)


def renderings(data: dict[str, Any]) -> dict[int, str]:
    """Sentence number -> the model's rendering of it in the brief's language (first one wins)."""
    out: dict[int, str] = {}
    for r in _list(data.get("renderings")):
        if isinstance(r, dict) and _s(r.get("text")):
            ids = _sentence_ids([r.get("sentence")])
            if ids and ids[0] > 0:
                out.setdefault(ids[0], _s(r.get("text")))
    return out


def attach_renderings(claims: Sequence[Claim], rendered: Mapping[int, str]) -> None:
    """Give each single-sentence evidence entry its rendering (Evidence.translation), in place."""
    for c in claims:
        for ev in c.evidence:
            if len(ev.sentence_ids) == 1 and ev.sentence_ids[0] in rendered:
                ev.translation = rendered[ev.sentence_ids[0]]


def to_summary(data: dict[str, Any], source: Source, unknown: list[int] | None = None,
               translate: bool = False) -> SourceSummary:
    """Map a parsed summary object to a SourceSummary citing [source.id]; missing parts become empty.

    Key points and events cite sentences only: their text is those sentences. Their sentence numbers the source
    does not have are appended to `unknown` (the engine warns); a summary sentence keeps them as evidence, so the
    verify stage flags it. With `translate` (the source is in another language than the brief), the model's
    "renderings" of cited sentences are attached to the evidence.
    """
    summary = _to_summary(data, source, [] if unknown is None else unknown)
    if translate:
        attach_renderings(summary.claims + summary.key_points + summary.events, renderings(data))
    return summary


def _to_summary(data: dict[str, Any], source: Source, unknown: list[int]) -> SourceSummary:
    stance = _s(data.get("stance")).lower()
    if stance not in STANCES:
        stance = "translation" if "machine_translated" in source.flags else "news report"
    key_points = [_extract([i], source, None, unknown) for i in _sentence_ids(data.get("key_points"))]
    events = [_extract(_sentence_ids(e.get("sentences")), source, _s(e.get("date")) or None, unknown)
              for e in _list(data.get("events")) if isinstance(e, dict)]
    items = [i for i in _list(data.get("summary")) if _cited(i, source) is not None]
    return SourceSummary(
        source_id=source.id,
        claims=[c for c in (_cited(i, source) for i in items) if c],
        themes=[[t for t in (_s(x) for x in _list(i.get("themes"))) if t] for i in items],
        stance=stance,
        key_points=[c for c in key_points if c],
        events=[c for c in events if c],
        actors=[a for a in (_s(x) for x in _list(data.get("actors"))) if a],
    )


def _set_confidence(claim: Claim, raw: object, reason: str) -> None:
    """The model's confidence (low when not a known level) and reason; the synthesize stage caps "high"."""
    conf = _s(raw).lower()
    claim.confidence = conf if conf in CONFIDENCE else "low"
    claim.reason = reason or None


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
            _set_confidence(c, item.get("confidence"), _s(item.get("reason")))
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


def to_section(data: dict[str, Any], notes: NoteIndex | None = None,
               unknown: list[str] | None = None) -> list[Claim]:
    """Map a parsed section object to its claims, note references resolved into evidence."""
    return [c for c in (_claim(i, notes, unknown) for i in _list(data.get("claims"))) if c]


def to_verdicts(data: dict[str, Any]) -> dict[int, tuple[str, str]]:
    """Claim id -> (label, reason) from a parsed judge answer; unknown labels and malformed entries are skipped."""
    out: dict[int, tuple[str, str]] = {}
    for v in _list(data.get("verdicts")):
        if not isinstance(v, dict):
            continue
        ids = _ids([v.get("id")])
        label = " ".join(_s(v.get("label")).lower().replace("_", " ").split())
        if ids and label in JUDGE_LABELS and ids[0] not in out:
            out[ids[0]] = (label, " ".join(_s(v.get("reason")).split())[:200])
    return out
