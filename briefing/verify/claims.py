"""Verify stage: check every claim against verbatim passages of the sources it cites."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from briefing.errors import ConfigError
from briefing.models import Claim, Evidence, Source, SourceSummary, Synthesis
from briefing.text import TOKEN_RE
from briefing.verify.facts import _metadata_text, _number_values, _numbers
from briefing.verify.quotes import (
    MAX_QUOTE_CHARS,
    MIN_QUOTE_WORDS,
    Policy,
    find_quote,
)
from briefing.verify.renderings import check_rendering, figure_problems
from briefing.verify.support import Cited, check_support

# --------------------------------------------------------------------------- claim verification


def _fmt_id(sid: Any) -> str:
    """Show a source id as the brief does: [n]."""
    return f"[{sid}]"


def _short(text: str, n: int = 60) -> str:
    """One-line excerpt of a text for messages."""
    t = " ".join(str(text).split())
    return t if len(t) <= n else t[: n - 1] + "…"


def _as_id(x: Any) -> int | None:
    """A source id as an int, or None if it is not one (bools and non-integers are not ids)."""
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return x
    if isinstance(x, str) and x.strip().lstrip("[").rstrip("]").isdigit():
        return int(x.strip().lstrip("[").rstrip("]"))
    return None


def verify_claim(claim: Claim, sources: dict[int, Source]) -> Claim:
    """Check one claim against the sentences it cites; sets claim.verified, support, problems and evidence spans.

    Only this function's own checks decide: text inside a claim, quote or source (e.g. "[2]" or "(verified)")
    is data, and any verified/problems value the claim arrived with is discarded.
    """
    problems: list[str] = []
    claim.verified = False
    claim.support = 0.0
    try:
        claim.support = _check_claim(claim, sources, problems)
    except Exception as exc:  # noqa: BLE001 - malformed input must never pass as verified, nor crash a run
        problems.append(f"could not be checked: {type(exc).__name__}")
    claim.problems = list(dict.fromkeys(problems))
    claim.verified = not claim.problems
    return claim


def _sentence_ids(ev: Evidence, src: Source, problems: list[str]) -> list[int] | None:
    """The evidence's sentence ids, each checked against the source; None if any is unknown or malformed."""
    raw = ev.sentence_ids if isinstance(ev.sentence_ids, list | tuple) else [ev.sentence_ids]
    ids: list[int] = []
    ok = True
    n = len(src.sentences)
    for x in raw:
        i = _as_id(x)
        if i is None:
            problems.append(f"{_fmt_id(src.id)} malformed sentence id {_short(repr(x), 20)}")
            ok = False
        elif src.sentence(i) is None:
            problems.append(f"{_fmt_id(src.id)} has no sentence {i} (it has {n}): the claim cites one that does not "
                            "exist")
            ok = False
        elif i not in ids:
            ids.append(i)
    return sorted(ids) if ok else None


def _check_claim(claim: Claim, sources: dict[int, Source], problems: list[str]) -> float:
    """All checks of verify_claim; appends a human-readable reason per failure and returns the support score."""
    text = claim.text if isinstance(claim.text, str) else ""
    if not text.strip():
        problems.append("claim has no text")
    raw_ids = claim.source_ids if isinstance(claim.source_ids, list | tuple) else []
    cited: list[int] = []
    for raw in raw_ids:
        sid = _as_id(raw)
        if sid is None:
            problems.append(f"cites malformed source id {_short(repr(raw), 20)}")
        elif sid not in sources:
            problems.append(f"cites unknown source {_fmt_id(sid)}")
        elif sid not in cited:
            cited.append(sid)
    if not raw_ids:
        problems.append("cites no source")

    for ref in claim.unresolved if isinstance(claim.unresolved, list) else []:
        problems.append(f"cites {_short(str(ref), 40)}, which does not exist")
    evidence = claim.evidence if isinstance(claim.evidence, list) else []
    if not evidence:
        problems.append("no evidence quote")

    sent_ids: dict[int, set[int]] = {sid: set() for sid in cited}
    renderings: dict[int, list[str]] = {sid: [] for sid in cited}
    for ev in evidence:
        if not isinstance(ev, Evidence):
            problems.append("malformed evidence entry")
            continue
        ev.span = None
        sid = _as_id(ev.source_id)
        quote = ev.quote if isinstance(ev.quote, str) else ""
        if sid is None:
            problems.append(f"evidence has malformed source id {_short(repr(ev.source_id), 20)}")
            continue
        if sid not in sources:
            problems.append(f"evidence from unknown source {_fmt_id(sid)}")
            continue
        if sid not in cited:
            problems.append(f"evidence from {_fmt_id(sid)}, which the claim does not cite")
            continue
        src = sources[sid]
        src_text = src.text if isinstance(src.text, str) else ""
        if ev.sentence_ids:
            ids = _sentence_ids(ev, src, problems)
            if ids is None:
                continue
            sents = [s for s in (src.sentence(i) for i in ids) if s is not None]
            lo, hi = sents[0].start, sents[-1].end
            if quote.strip():  # a quote next to ids must be in those sentences (engines fill it from the ids)
                match = find_quote(quote, src_text[lo:hi])
                if match is None:
                    where = "not in the cited sentences" if find_quote(quote, src_text) else "not found in source"
                    problems.append(f"{_fmt_id(sid)} quote {where}: {_short(quote)!r}")
                    continue
            ev.span = (lo, hi)
            sent_ids[sid].update(ids)
            _rendering(ev, sid, quote if quote.strip() else " ".join(x.text for x in sents), renderings, problems)
            continue
        if len(TOKEN_RE.findall(quote)) < MIN_QUOTE_WORDS:
            problems.append(f"{_fmt_id(sid)} quote too short to support a claim: {_short(quote, 30)!r}")
            continue
        if len(quote) > MAX_QUOTE_CHARS:
            problems.append(f"{_fmt_id(sid)} quote too long ({len(quote)} characters; at most {MAX_QUOTE_CHARS})")
            continue
        match = find_quote(quote, src_text)
        if match is None:
            problems.append(f"{_fmt_id(sid)} quote not found in source: {_short(quote)!r}")
            continue
        ev.span = (match.start, match.end)
        window = src_text[match.start : match.end]
        if match.score < 100:
            wvals = _number_values(window)
            for n in _numbers(quote):
                if re.match(r"\d", n.shown) and not n.values & wvals:  # word numbers: left to the claim check
                    problems.append(f"{_fmt_id(sid)} quote has number {n.shown}, the source passage does not")
        # A quote is matched to the sentences it overlaps: those are what the claim is checked against.
        ids = [s.id for s in src.sentences if s.start < match.end and match.start < s.end]
        ev.sentence_ids = ids
        sent_ids[sid].update(ids)
        _rendering(ev, sid, quote, renderings, problems)

    for sid in cited:
        if not sent_ids[sid] and not any(isinstance(ev, Evidence) and _as_id(ev.source_id) == sid for ev in evidence):
            problems.append(f"{_fmt_id(sid)} cited without an evidence quote")
    if problems or not cited:
        return 0.0

    support = [_cited(sources[sid], sorted(sent_ids[sid]), renderings[sid]) for sid in cited]
    result = check_support(text, support)
    problems += result.problems
    problems += figure_problems(text, "\n".join(c.text for c in support))
    return result.score if not problems else min(result.score, 0.5)


def _rendering(ev: Evidence, sid: int, original: str, renderings: dict[int, list[str]], problems: list[str]) -> None:
    """A source in another language: the claim is checked against the model's rendering of the cited sentences,
    and the rendering's figures, dates and names against the original."""
    if not (isinstance(ev.translation, str) and ev.translation.strip()):
        return
    ids = ev.sentence_ids if isinstance(ev.sentence_ids, list) else []
    where = f"{_fmt_id(sid)} sentence {', '.join(map(str, ids))}" if ids else _fmt_id(sid)
    problems += [f"{where}: {p}" for p in check_rendering(original, ev.translation)]
    renderings[sid].append(ev.translation)


def _cited(src: Source, ids: list[int], renderings: list[str] | None = None) -> Cited:
    """The cited sentences of one source (or their renderings in the brief's language), the two sentences before
    them, and the source's metadata."""
    if renderings:
        rendered = "\n".join(renderings)
        return Cited(src.id, rendered, rendered + "\n" + src.text, "", _metadata_text(src), "",
                     src.title if isinstance(src.title, str) else "")
    sents = src.sentences
    first = ids[0]
    context = " ".join(s.text for s in sents[max(0, first - 3) : first - 1])
    people = " ".join([*(a for a in src.authors if isinstance(a, str)), src.publisher or "",
                       src.original_publisher or ""])
    title = src.title if isinstance(src.title, str) else ""
    return Cited(src.id, "\n".join(sents[i - 1].text for i in ids), src.text, context, _metadata_text(src), people,
                 title)


def verify_claims(claims: Iterable[Claim], sources: dict[int, Source]) -> tuple[int, int]:
    """Verify every claim in place; returns (verified, total) for the method note "N of M claims verified"."""
    total = verified = 0
    for c in claims:
        verify_claim(c, sources)
        total += 1
        verified += bool(c.verified)
    return verified, total


# --------------------------------------------------------------------------- policy and rendering helpers


def apply_policy(claims: list[Claim], policy: Policy) -> tuple[list[Claim], list[Claim]]:
    """Split claims into (kept, unverified); "flag" keeps unverified claims (marked), "drop" removes them.

    A claim counts as verified only if verification ran and passed (verified is True); None is unverified.
    """
    if policy not in ("flag", "drop"):
        raise ConfigError(f"verify policy: expected 'flag' or 'drop', got {policy!r}")
    unverified = [c for c in claims if c.verified is not True]
    kept = list(claims) if policy == "flag" else [c for c in claims if c.verified is True]
    return kept, unverified


def drop_unverified(synthesis: Synthesis, summaries: list[SourceSummary]) -> None:
    """The `drop` policy, section by section: unverified claims leave the brief (brief.json still lists them)."""

    def kept(claims: list[Claim]) -> list[Claim]:
        return apply_policy(claims, "drop")[0]

    synthesis.bluf = kept(synthesis.bluf)
    synthesis.judgments = kept(synthesis.judgments)
    for t in synthesis.themes:
        t.claims = kept(t.claims)
    synthesis.timeline = kept(synthesis.timeline)
    synthesis.implications = kept(synthesis.implications)
    synthesis.indicators = kept(synthesis.indicators)
    for s in summaries:
        s.claims = kept(s.claims)
