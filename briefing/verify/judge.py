"""Optional model judge: claims that pass the deterministic checks are labelled against only their cited sentences."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from briefing.cache import Cache, digest
from briefing.errors import BriefingError
from briefing.models import Claim, Source

JUDGE_PREFIX = "model judge"


class Judge(Protocol):
    """What the judge needs from an engine (the LLM engine implements it)."""

    def judge(self, items: list[dict[str, Any]]) -> dict[int, tuple[str, str]]:
        """Claim id -> (label, reason) for claims {id, text, sentences: [{source_id, text}]}."""
        ...


@dataclass
class JudgeReport:
    """What the judge did in a run."""

    judged: int = 0  # claims with a verdict (from the model or the cache)
    cached: int = 0
    flagged: int = 0  # "not supported": now unverified
    partly: int = 0
    missing: int = 0  # claims the model gave no verdict for (their deterministic verdict stands)
    error: str | None = None  # why the judge failed, if it did (every deterministic verdict stands)
    labels: dict[str, int] = field(default_factory=dict)


def cited_sentences(claim: Claim, sources: dict[int, Source]) -> list[dict[str, Any]]:
    """The sentences a claim cites, verbatim: each evidence entry's sentences, or its quote when it names none."""
    out: list[dict[str, Any]] = []
    for ev in claim.evidence:
        src = sources.get(ev.source_id)
        texts = [s.text for i in ev.sentence_ids if src and (s := src.sentence(i))] or ([ev.quote] if ev.quote else [])
        for t in texts:
            item = {"source_id": ev.source_id, "text": t}
            if item not in out:
                out.append(item)
    return out


def judge_claims(engine: Judge, claims: list[Claim], sources: dict[int, Source], cache: Cache | None = None,
                 engine_id: str | None = None) -> JudgeReport:
    """Send every verified claim with its cited sentences to the model judge; "not supported" flags the claim.

    Verdicts are cached per claim (its text and cited sentences, with the engine identity), so an unchanged rerun
    sends nothing. A failed request leaves every deterministic verdict in place and is reported in `error`.
    """
    report = JudgeReport()
    todo: list[tuple[Claim, dict[str, Any], str | None]] = []
    for c in claims:
        if c.verified is not True:
            continue
        sentences = cited_sentences(c, sources)
        key = digest("judge", engine_id, c.text, sentences) if cache is not None and engine_id else None
        hit = cache.get("judge", key) if cache is not None and key else None
        if isinstance(hit, list) and len(hit) == 2:
            report.cached += 1
            _apply(c, str(hit[0]), str(hit[1]), report)
            continue
        todo.append((c, {"id": len(todo) + 1, "text": c.text, "sentences": sentences}, key))
    if not todo:
        return report
    try:
        verdicts = engine.judge([item for _, item, _ in todo])
    except BriefingError as e:
        report.error = str(e)
        return report
    for c, item, key in todo:
        verdict = verdicts.get(item["id"])
        if verdict is None:
            report.missing += 1
            continue
        if cache is not None and key:
            cache.put("judge", key, list(verdict))
        _apply(c, verdict[0], verdict[1], report)
    return report


def _apply(claim: Claim, label: str, reason: str, report: JudgeReport) -> None:
    report.judged += 1
    report.labels[label] = report.labels.get(label, 0) + 1
    claim.judge = f"{label}: {reason}" if reason else label
    if label == "not supported":
        report.flagged += 1
        claim.verified = False
        claim.problems.append(f"{JUDGE_PREFIX}: not supported" + (f" ({reason})" if reason else ""))
    elif label == "partly":
        report.partly += 1
