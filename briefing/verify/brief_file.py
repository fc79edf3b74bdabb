"""`briefing verify PATH`: re-check a brief.json's claims against its saved sources."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from briefing.errors import InputError
from briefing.models import Claim, Evidence, Source
from briefing.verify.claims import _as_id, _fmt_id, _short, verify_claim

# --------------------------------------------------------------------------- `briefing verify PATH`


@dataclass
class ClaimRow:
    """One line of the verify report."""

    index: int  # 1-based position in brief.json's claims
    section: str
    text: str
    source_ids: list[int]
    verified: bool
    problems: list[str]
    support: float = 0.0  # 0..1, how well the cited sentences support the claim


@dataclass
class VerifyReport:
    """Result of re-checking a brief.json against its sources."""

    path: str
    rows: list[ClaimRow] = field(default_factory=list)
    missing_sources: list[str] = field(default_factory=list)  # one line per source whose text could not be read
    warnings: list[str] = field(default_factory=list)  # e.g. a source file changed since the brief was made

    @property
    def total(self) -> int:
        """Number of claims checked."""
        return len(self.rows)

    @property
    def verified(self) -> int:
        """Number of claims that passed."""
        return sum(r.verified for r in self.rows)

    @property
    def failed(self) -> int:
        """Number of claims that failed."""
        return self.total - self.verified

    @property
    def ok(self) -> bool:
        """True if every claim passed (the CLI exits 1 otherwise)."""
        return self.failed == 0


def _load_source_text(entry: dict[str, Any], run_dir: Path) -> tuple[str | None, str | None, str | None]:
    """Text of one source from brief.json: (text, problem, warning); text_path first, else re-clean the original."""
    text_path = entry.get("text_path")
    if isinstance(text_path, str) and text_path:
        p = Path(text_path)
        p = p if p.is_absolute() else run_dir / p
        try:
            return p.read_text(encoding="utf-8"), None, None
        except (OSError, UnicodeDecodeError) as exc:
            fallback_reason = f"{p}: {exc.__class__.__name__}"
    else:
        fallback_reason = "no text_path"
    orig = entry.get("path")
    if not isinstance(orig, str) or not orig:
        return None, f"no cleaned text ({fallback_reason}) and no original path", None
    candidates = [Path(orig)] if Path(orig).is_absolute() else [Path(orig), run_dir / orig]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        return None, f"{fallback_reason}; original {orig} not found", None
    from briefing.ingest.clean import clean_documents
    from briefing.ingest.sources import load_raw

    docs, _ = load_raw([str(found)])
    if not docs:
        return None, f"{fallback_reason}; original {orig} could not be read", None
    warning = None
    sha = entry.get("sha256")
    if isinstance(sha, str) and sha and sha != docs[0].sha256:
        warning = f"source {_fmt_id(entry.get('id'))} {orig} changed since the brief was made (sha256 differs)"
    return clean_documents(docs)[0].text, None, warning


def _claim_from_json(d: Any) -> Claim:
    """A Claim from its brief.json form; malformed fields become values the verifier rejects."""
    if not isinstance(d, dict):
        return Claim(text="", source_ids=[])
    ev: list[Evidence] = []
    raw_ev = d.get("evidence")
    for e in raw_ev if isinstance(raw_ev, list) else []:
        if isinstance(e, dict):
            ids = e.get("sentence_ids")
            tr = e.get("translation")
            ev.append(Evidence(source_id=e.get("source_id"), quote=e.get("quote") or "",  # type: ignore[arg-type]
                               sentence_ids=list(ids) if isinstance(ids, list) else [],
                               translation=tr if isinstance(tr, str) and tr.strip() else None))
    ids = d.get("source_ids")
    text = d.get("text")
    unresolved = d.get("unresolved")
    return Claim(
        text=text if isinstance(text, str) else "",
        source_ids=list(ids) if isinstance(ids, list) else [],
        evidence=ev,
        unresolved=[str(u) for u in unresolved] if isinstance(unresolved, list) else [],
    )


def verify_brief_file(path: Path) -> VerifyReport:
    """Re-check every claim of a brief.json (or the run folder holding it) against the texts of its sources."""
    path = Path(path)
    brief_path = path / "brief.json" if path.is_dir() else path
    if not brief_path.is_file():
        raise InputError(f"{brief_path}: no brief.json there")
    try:
        data = json.loads(brief_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{brief_path}: not a readable brief.json ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{brief_path}: not a brief.json (expected an object)")
    run_dir = brief_path.parent
    report = VerifyReport(path=str(brief_path))

    sources: dict[int, Source] = {}
    missing: dict[int, str] = {}
    raw_sources = data.get("sources")
    for entry in raw_sources if isinstance(raw_sources, list) else []:
        if not isinstance(entry, dict) or _as_id(entry.get("id")) is None:
            report.warnings.append(f"malformed source entry skipped: {_short(repr(entry), 60)}")
            continue
        sid = _as_id(entry.get("id"))
        assert sid is not None
        text, problem, warning = _load_source_text(entry, run_dir)
        if warning:
            report.warnings.append(warning)
        if text is None:
            msg = f"source {_fmt_id(sid)}: text unavailable ({problem})"
            report.missing_sources.append(msg)
            missing[sid] = msg
            continue
        sources[sid] = Source(
            id=sid,
            path=str(entry.get("path") or ""),
            text=text,
            sha256=str(entry.get("sha256") or ""),
            tokens=0,
            title=entry.get("title") if isinstance(entry.get("title"), str) else None,
            authors=[a for a in entry.get("authors") or [] if isinstance(a, str)],
            publisher=entry.get("publisher") if isinstance(entry.get("publisher"), str) else None,
            published=entry.get("published") if isinstance(entry.get("published"), str) else None,
        )

    raw_claims = data.get("claims")
    if not isinstance(raw_claims, list):
        raise InputError(f"{brief_path}: no claims list")
    for i, d in enumerate(raw_claims, 1):
        claim = verify_claim(_claim_from_json(d), sources)
        problems = list(claim.problems)
        for sid in claim.source_ids:
            n = _as_id(sid)
            if n is not None and n in missing:
                problems = [p for p in problems if p != f"cites unknown source {_fmt_id(n)}"]
                problems.insert(0, missing[n])
        section = d.get("section") if isinstance(d, dict) else None
        report.rows.append(
            ClaimRow(
                index=i,
                section=section if isinstance(section, str) else "",
                text=claim.text,
                source_ids=[n for n in (_as_id(s) for s in claim.source_ids) if n is not None],
                verified=bool(claim.verified) and not problems,
                problems=problems,
                support=float(claim.support or 0.0) if not problems or claim.problems else 0.0,
            )
        )
    return report


def format_report(report: VerifyReport) -> str:
    """Per-claim report, one line per claim (✓/✗ index, section, short text, problems), then the totals."""
    lines = [f"Verifying {report.path}"]
    lines += [f"! {m}" for m in report.missing_sources]
    lines += [f"! {w}" for w in report.warnings]
    for r in report.rows:
        mark = "✓" if r.verified else "✗"
        cites = "".join(_fmt_id(s) for s in r.source_ids)
        line = f"{mark} {r.index:>3} {r.section or '-'}: {_short(r.text)} {cites}".rstrip()
        if r.problems:
            line += " — " + "; ".join(r.problems)
        lines.append(line)
    lines.append(f"{report.verified} of {report.total} claims verified")
    return "\n".join(lines)


def report_json(report: VerifyReport) -> dict[str, Any]:
    """The report as one JSON object: claims (index, section, text, source_ids, verified, support, problems),
    verified and total counts, plus sources whose text was unavailable and warnings."""
    return {
        "claims": [{"index": r.index, "section": r.section, "text": r.text, "source_ids": r.source_ids,
                    "verified": r.verified, "support": r.support, "problems": r.problems} for r in report.rows],
        "verified": report.verified,
        "total": report.total,
        "missing_sources": report.missing_sources,
        "warnings": report.warnings,
    }
