"""Export a brief to the formats analysts share: HTML (evidence-linked), DOCX, PDF; from brief.json, no model call."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from briefing.config import OUTPUT_FORMATS, parse_formats
from briefing.errors import BriefingError

EXPORT_FORMATS = ("html", "docx", "pdf")  # what `briefing export` makes; brief.md is written by every run

__all__ = ["EXPORT_FORMATS", "OUTPUT_FORMATS", "check_available", "export_run", "parse_formats", "render_formats"]


def check_available(formats: list[str]) -> None:
    """Fail before any work when a format needs an optional extra that is not installed."""
    if "pdf" in formats:
        from briefing.export.pdf import check_pdf_support

        check_pdf_support()


def render_formats(data: dict[str, Any], texts: dict[int, str], formats: list[str], template_dirs: list[Path],
                   profile_themes: list[tuple[str, str, str]] | None = None,
                   audience: str | None = None) -> dict[str, str | bytes]:
    """brief.html / brief.docx / brief.pdf for a brief.json dict and its source texts (brief.md is rendered apart)."""
    wanted = [f for f in formats if f in EXPORT_FORMATS]
    if not wanted:
        return {}
    from briefing.export import document  # (render, numpy) imported when a format is made, not at check_available

    doc = document.build(data, texts, template_dirs, profile_themes, audience)
    out: dict[str, str | bytes] = {}
    html: str | None = None
    if "html" in wanted or "pdf" in wanted:
        from briefing.export.html import render_html

        html = render_html(doc, template_dirs)
        if "html" in wanted:
            out["brief.html"] = html
    if "docx" in wanted:
        from briefing.export.docx import render_docx

        out["brief.docx"] = render_docx(doc)
    if "pdf" in wanted and html is not None:
        from briefing.export.pdf import html_to_pdf

        out["brief.pdf"] = html_to_pdf(html)
    return out


def export_run(run_dir: Path, formats: list[str], template_dirs: list[Path], dest: Path | None = None,
               profile_themes: list[tuple[str, str, str]] | None = None,
               audience: str | None = None) -> list[Path]:
    """Write brief.<fmt> for an existing run folder (into `dest`, default the run folder); returns the paths."""
    if not run_dir.exists():
        raise BriefingError(f"{run_dir}: no such run folder")
    check_available(formats)
    from briefing.export import document

    base = run_dir if run_dir.is_dir() else run_dir.parent
    data = document.load_brief_json(run_dir)
    ids = []
    for d in data.get("sources") or []:
        if isinstance(d, dict):
            try:
                ids.append(document._int(d.get("id"), "source id"))
            except document.BadBrief:
                continue
    texts = document.read_source_texts(base, ids)
    files = render_formats(data, texts, formats, template_dirs, profile_themes, audience)
    target = dest if dest is not None else base
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files.items():
        path = target / name
        tmp = target / f".{name}.{os.getpid()}.tmp"
        try:
            if isinstance(content, bytes):
                tmp.write_bytes(content)
            else:
                tmp.write_text(content, encoding="utf-8")
            os.replace(tmp, path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise BriefingError(f"{path}: cannot write: {e.strerror or e}") from None
        written.append(path)
    return written
