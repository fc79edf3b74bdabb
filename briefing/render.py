"""Render stage: the brief as Markdown from a user-editable Jinja2 template; untrusted text is escaped."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from briefing.messages import DEFAULT_LANGUAGE, Messages
from briefing.messages import load as load_messages
from briefing.templates import packaged_dir, render_template

BRIEF_TEMPLATE = "brief.md.j2"

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)])", re.MULTILINE)


def md_escape(text: object) -> str:
    """Make article text inert in Markdown: no HTML, links, images, emphasis, headings or forged [n] markers."""
    s = " ".join(str(text).split())  # one line: no injected headings or list items
    s = _MD_SPECIAL.sub(r"\\\1", s)
    s = s.replace("&", "&amp;")
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), s)


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


def make_attribution(sources: list[dict[str, Any]], stances: dict[int, str], offline: bool,
                     t: Messages | None = None, esc: Any = md_escape) -> Any:
    """A template helper: "Braun argues: " before an opinion source's verbatim sentence (offline engine only)."""
    by_id = {s["id"]: s for s in sources}
    msgs = t or _english()

    def attribution(claim: Any) -> str:
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
