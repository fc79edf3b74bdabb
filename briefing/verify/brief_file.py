"""`briefing verify PATH`: re-check a brief.json's claims against its saved sources."""

from __future__ import annotations

import json
import os
import stat
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


MAX_TEXT_BYTES = 50 * 1024 * 1024  # a saved source text (sources/N.txt) larger than this is refused
MAX_BRIEF_BYTES = 200 * 1024 * 1024
MAX_ID_DIGITS = 18


def _id(x: Any) -> int | None:
    """A source id as verify understands it; absurdly long numbers are not ids (and are never converted)."""
    if isinstance(x, str) and len(x.strip()) > MAX_ID_DIGITS + 2:
        return None
    if isinstance(x, int) and not isinstance(x, bool) and abs(x) >= 10 ** MAX_ID_DIGITS:
        return None
    return _as_id(x)


def _read_saved_text(text_path: str, run_dir: Path) -> str:
    """A saved source text: only a regular file inside the run folder, at most MAX_TEXT_BYTES; OSError otherwise.

    brief.json is input like any other: its text_path must not turn `verify` into a reader of /etc/passwd, nor
    make it block on /dev/stdin or exhaust memory on /dev/zero.
    """
    base = run_dir.resolve()
    p = (run_dir / text_path).resolve()
    if p != base and base not in p.parents:
        raise OSError(f"text_path {text_path!r} is outside the run folder")
    st = os.stat(p)
    if not stat.S_ISREG(st.st_mode):
        raise OSError(f"text_path {text_path!r} is not a regular file")
    if st.st_size > MAX_TEXT_BYTES:
        raise OSError(f"text_path {text_path!r} is {st.st_size} bytes, over the {MAX_TEXT_BYTES}-byte limit")
    with open(p, "rb") as f:
        data = f.read(MAX_TEXT_BYTES + 1)
    if len(data) > MAX_TEXT_BYTES:
        raise OSError(f"text_path {text_path!r} is over the {MAX_TEXT_BYTES}-byte limit")
    return data.decode("utf-8")


def _load_source_text(entry: dict[str, Any], run_dir: Path) -> tuple[str | None, str | None, str | None]:
    """Text of one source from brief.json: (text, problem, warning); text_path first, else re-clean the original."""
    text_path = entry.get("text_path")
    if isinstance(text_path, str) and text_path:
        try:
            return _read_saved_text(text_path, run_dir), None, None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            fallback_reason = f"{_short(str(exc), 120)}" if isinstance(exc, OSError) and not exc.errno else \
                f"{_short(text_path, 80)}: {exc.__class__.__name__}"
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
            sid, quote, ids, tr = e.get("source_id"), e.get("quote"), e.get("sentence_ids"), e.get("translation")
            ev.append(Evidence(source_id=sid if _id(sid) is not None else None,  # type: ignore[arg-type]
                               quote=quote if isinstance(quote, str) else "",
                               sentence_ids=[i for i in ids if _id(i) is not None] if isinstance(ids, list) else [],
                               translation=tr if isinstance(tr, str) and tr.strip() else None))
    ids = d.get("source_ids")
    text = d.get("text")
    unresolved = d.get("unresolved")
    return Claim(
        text=text if isinstance(text, str) else "",
        source_ids=[i if _id(i) is not None else _short(repr(i), 24)  # type: ignore[misc]
                    for i in ids] if isinstance(ids, list) else [],
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
        if brief_path.stat().st_size > MAX_BRIEF_BYTES:
            raise InputError(f"{brief_path}: over the {MAX_BRIEF_BYTES}-byte limit for a brief.json")
        data = json.loads(brief_path.read_text(encoding="utf-8"))
    except RecursionError:
        raise InputError(f"{brief_path}: not a brief.json (JSON nested too deeply)") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: bad JSON, or a number too long to read
        raise InputError(f"{brief_path}: not a readable brief.json ({_short(str(exc), 120)})") from None
    if not isinstance(data, dict):
        raise InputError(f"{brief_path}: not a brief.json (expected an object)")
    run_dir = brief_path.parent
    report = VerifyReport(path=str(brief_path))

    sources: dict[int, Source] = {}
    missing: dict[int, str] = {}
    raw_sources = data.get("sources")
    for entry in raw_sources if isinstance(raw_sources, list) else []:
        if not isinstance(entry, dict) or _id(entry.get("id")) is None:
            report.warnings.append(f"malformed source entry skipped: {_short(_safe_repr(entry), 60)}")
            continue
        sid = _id(entry.get("id"))
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
            n = _id(sid)
            if n is not None and n in missing:
                problems = [p for p in problems if p != f"cites unknown source {_fmt_id(n)}"]
                problems.insert(0, missing[n])
        section = d.get("section") if isinstance(d, dict) else None
        report.rows.append(
            ClaimRow(
                index=i,
                section=section if isinstance(section, str) else "",
                text=claim.text,
                source_ids=[n for n in (_id(s) for s in claim.source_ids) if n is not None],
                verified=bool(claim.verified) and not problems,
                problems=problems,
                support=float(claim.support or 0.0) if not problems or claim.problems else 0.0,
            )
        )
    return report


def _safe_repr(value: Any) -> str:
    """repr() cut short, and safe on deeply nested values."""
    try:
        return repr(value)[:200]
    except (RecursionError, ValueError):
        return f"<{type(value).__name__}>"


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
