"""Verify stage: check every claim against verbatim passages of the sources it cites."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from briefing.errors import ConfigError
from briefing.models import Claim, Evidence, Source, SourceSummary, Synthesis
from briefing.text import TOKEN_RE
from briefing.verify.facts import (
    _content_words,
    _flat,
    _metadata_text,
    _name_in,
    _names,
    _number_values,
    _numbers,
    _source_profile,
)
from briefing.verify.quotes import (
    MAX_QUOTE_CHARS,
    MIN_OVERLAP,
    MIN_QUOTE_WORDS,
    MIN_SOURCE_OVERLAP,
    Policy,
    _context,
    find_quote,
)
from briefing.verify.renderings import check_rendering, figure_problems

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
    """Check one claim against the sources it cites; sets claim.verified, claim.problems and evidence spans.

    Only this function's own checks decide: text inside a claim, quote or source (e.g. "[2]" or "(verified)")
    is data, and any verified/problems value the claim arrived with is discarded.
    """
    problems: list[str] = []
    claim.verified = False
    try:
        _check_claim(claim, sources, problems)
    except Exception as exc:  # noqa: BLE001 - malformed input must never pass as verified, nor crash a run
        problems.append(f"could not be checked: {type(exc).__name__}")
    claim.problems = list(dict.fromkeys(problems))
    claim.verified = not claim.problems
    return claim


def _check_claim(claim: Claim, sources: dict[int, Source], problems: list[str]) -> None:
    """All checks of verify_claim; appends a human-readable reason per failure."""
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

    passages: dict[int, list[str]] = {sid: [] for sid in cited}
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
        missing = [i for i in ev.sentence_ids if sources[sid].sentence(i) is None]
        if missing:
            problems.append(f"{_fmt_id(sid)} has no sentence {', '.join(map(str, missing[:5]))}")
            continue
        if len(TOKEN_RE.findall(quote)) < MIN_QUOTE_WORDS:
            problems.append(f"{_fmt_id(sid)} quote too short to support a claim: {_short(quote, 30)!r}")
            continue
        if len(quote) > MAX_QUOTE_CHARS:
            problems.append(f"{_fmt_id(sid)} quote too long ({len(quote)} characters; at most {MAX_QUOTE_CHARS})")
            continue
        src_text = sources[sid].text if isinstance(sources[sid].text, str) else ""
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
        if isinstance(ev.translation, str) and ev.translation.strip():
            # a source in another language: the claim is checked against the model's rendering of the sentence,
            # and the rendering's figures, dates and names against the original
            where = f"{_fmt_id(sid)} sentence {', '.join(map(str, ev.sentence_ids))}" if ev.sentence_ids else \
                _fmt_id(sid)
            problems += [f"{where}: {p}" for p in check_rendering(quote, ev.translation)]
            passages[sid].append(ev.translation)
        else:
            passages[sid].append(_context(src_text, match.start, match.end))

    for sid in cited:
        if not passages[sid] and not any(isinstance(ev, Evidence) and _as_id(ev.source_id) == sid for ev in evidence):
            problems.append(f"{_fmt_id(sid)} cited without an evidence quote")
    if problems or not cited:
        return

    _check_agreement(text, cited, passages, sources, problems)
    problems += figure_problems(text, "\n".join(p for sid in cited for p in passages[sid]))


def _check_agreement(
    text: str, cited: list[int], passages: dict[int, list[str]], sources: dict[int, Source], problems: list[str]
) -> None:
    """The claim says what its evidence says: numbers, dates, names and content words."""
    evidence_text = "\n".join(p for sid in cited for p in passages[sid])
    ev_values = _number_values(evidence_text)
    src_values: set[float] = set()
    src_flat_parts: list[str] = [_flat(evidence_text)]
    for sid in cited:
        flat, values = _source_profile(sources[sid].text)
        meta = _metadata_text(sources[sid])
        src_flat_parts += [flat, _flat(meta)]
        src_values |= values | _number_values(meta)
    src_flat = "".join(src_flat_parts) + " "

    # Quantities must be in the quoted passages; years (dates) and small number words ("the two countries")
    # may come from elsewhere in the cited source.
    for n in _numbers(text):
        if n.values & ev_values:
            continue
        if (n.is_year or n.is_small_word) and n.values & src_values:
            continue
        kind = "date" if n.is_year else "number"
        problems.append(f"{kind} {n.shown} not in cited evidence")

    for name, at_start in _names(text):
        if _name_in(name, src_flat):
            continue
        rest = name.split(" ", 1)[1] if at_start and " " in name else ""
        if not (rest and _name_in(rest, src_flat)):
            problems.append(f"name {name!r} not in cited source")

    claim_words = _content_words(text)
    if not claim_words:
        return
    ev_words = _content_words(evidence_text)
    shared = claim_words & ev_words
    share = len(shared) / len(claim_words)
    if share < MIN_OVERLAP:
        problems.append(f"claim does not match its evidence ({len(shared)} of {len(claim_words)} content words shared)")
        return
    if len(cited) > 1:
        for sid in cited:
            own = claim_words & _content_words("\n".join(passages[sid]))
            if len(own) / len(claim_words) < MIN_SOURCE_OVERLAP and len(own) < 3:
                problems.append(f"{_fmt_id(sid)} evidence does not support the claim")


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
