"""RSS/Atom feeds: recognising one, and turning its entries into RawDoc fields (ingest.fetch fetches them)."""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from datetime import UTC, datetime
from typing import Any

from briefing.models import RawDoc

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")
HTML_TYPES = ("text/html", "application/xhtml+xml")
_FEED_SNIFF_RE = re.compile(
    rb"^\s*(?:<\?xml[^>]*\?>\s*)?(?:(?:<!--[\s\S]*?-->|<\?xml-stylesheet[^>]*\?>|<!DOCTYPE[^>]*>)\s*)*"
    rb"<(?:rss|feed|rdf:RDF)[\s>]",
    re.IGNORECASE,
)


def is_feed(content_type: str, body: bytes) -> bool:
    """True when a response is an RSS/Atom feed, by content type or, for generic XML, by its root element."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype in _FEED_TYPES:
        return True
    if ctype in HTML_TYPES:
        return False
    return bool(_FEED_SNIFF_RE.match(body[:4096].lstrip(b"\xef\xbb\xbf")))


def entry_date(entry: Any) -> datetime | None:
    """When a feed entry was published (or updated, or created), in UTC; None if it does not say."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        t = entry.get(key)
        if t:
            try:
                return datetime.fromtimestamp(calendar.timegm(t), UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def entry_meta(entry: Any, when: datetime | None) -> dict[str, Any]:
    """RawDoc fields from a feed entry: title, authors, published (YYYY-MM-DD)."""
    authors = [str(a["name"]).strip() for a in entry.get("authors", []) if isinstance(a, dict) and a.get("name")]
    if not authors and entry.get("author"):
        authors = [str(entry["author"]).strip()]
    title = str(entry.get("title") or "").strip() or None
    return {"title": title, "authors": [a for a in authors if a],
            "published": when.date().isoformat() if when else None}


def entry_content(entry: Any) -> tuple[str, str]:
    """The longest text the entry carries (full content, else summary) and its type."""
    best, best_type = "", "text/html"
    for c in entry.get("content", []) or []:
        value = str(c.get("value") or "")
        if len(value) > len(best):
            best, best_type = value, str(c.get("type") or "text/html")
    summary = str(entry.get("summary") or "")
    if len(summary) > len(best):
        best = summary
        best_type = str((entry.get("summary_detail") or {}).get("type") or "text/html")
    return best, best_type


def content_doc(path: str, content: str, content_type: str, meta: dict[str, Any]) -> RawDoc:
    """A RawDoc built from the article text a feed entry carries."""
    if "html" in content_type:
        title = html.escape(meta.get("title") or "")
        text = (f"<!DOCTYPE html><html><head><title>{title}</title></head><body><article>"
                f"<h1>{title}</h1>\n{content}\n</article></body></html>")
        is_html = True
    else:
        text, is_html = content, False
    return RawDoc(path, text, hashlib.sha256(text.encode("utf-8")).hexdigest(), "utf-8", is_html, **meta)
