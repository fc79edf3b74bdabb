"""brief.html: one self-contained page from prompts/brief.html.j2 (autoescaped), citations opening their evidence."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from briefing.export.document import BriefDoc, ClaimView
from briefing.templates import render_template

HTML_TEMPLATE = "brief.html.j2"


def plain(text: object) -> str:
    """A catalogue message without its Markdown (**bold**, `code`), for HTML where it is escaped as text."""
    return str(text).replace("**", "").replace("`", "")


def csp_hash(script: object) -> str:
    """The Content-Security-Policy source expression allowing exactly this inline script."""
    digest = hashlib.sha256(str(script).encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _section_label(doc: BriefDoc, c: ClaimView) -> str:
    sec = c.section
    if sec == "key_judgments":
        n = next((i for i, j in enumerate(doc.judgments, 1) if j.k == c.k), None)
        return f"{doc.t.judgments} · {n}" if n else doc.t.judgments
    if sec.startswith("theme:"):
        key = sec.removeprefix("theme:")
        return f"{doc.t.themes} · " + next((th.title for th in doc.themes if th.key == key), key)
    if sec.startswith("source_summary:"):
        return f"{doc.t.summaries} · [" + sec.removeprefix("source_summary:") + "]"
    t = doc.t
    names = {"bluf": t.bluf, "timeline": t.timeline, "implications": t.implications, "indicators": t.indicators}
    label = names.get(sec, sec.replace("_", " ").capitalize())
    return f"{label} ({c.date})" if sec == "timeline" and c.date else label


def evidence_data(doc: BriefDoc) -> dict[str, Any]:
    """What the page's script needs, keyed by claim index and source id; embedded as JSON (|tojson escapes it)."""
    claims: dict[str, Any] = {}
    for c in doc.claims:
        claims[str(c.k)] = {
            "section": _section_label(doc, c),
            "text": c.attribution + c.text + c.language_mark,
            "verified": c.verified,
            "problems": c.problems,
            "evidence": {str(sid): {
                "passages": [{"segments": [[t, hl] for t, hl in p.segments], "cut_before": p.cut_before,
                              "cut_after": p.cut_after} for p in se.passages],
                "unlocated": se.unlocated,
                "translations": se.translations,
            } for sid, se in doc.evidence.get(c.k, {}).items()},
        }
    sources = {str(s.id): {
        "title": s.title or "Untitled",
        "authors": ", ".join(s.authors) or "unknown",
        "outlet": s.outlet,
        "date": s.published or "date unknown",
        "where": s.where,
        "href": s.href,
        "translated": "machine_translated" in s.flags,
        "has_text": s.text is not None,
    } for s in doc.sources}
    return {"claims": claims, "sources": sources}


def render_html(doc: BriefDoc, template_dirs: list[Path]) -> str:
    """Render brief.html.j2 with the brief; every value is HTML-escaped by the template environment."""
    context: dict[str, Any] = {name: getattr(doc, name) for name in (
        "title", "audience", "language", "t", "generated_at", "engine", "model", "offline", "coverage", "bluf",
        "judgments", "themes", "timeline", "implications", "indicators", "summaries", "sources", "unverified",
        "method", "changes")}
    return render_template(template_dirs, HTML_TEMPLATE, data=evidence_data(doc), csp_hash=csp_hash, plain=plain,
                           **context)
