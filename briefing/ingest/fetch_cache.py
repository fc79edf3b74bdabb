"""The fetch cache: bodies and validators (ETag, Last-Modified) of fetched URLs in OUT/.cache/fetch.sqlite."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from briefing.cache import open_db


def cache_key(url: str) -> str:
    """The URL without credentials or fragment, as stored in the fetch cache."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), host, parts.path, parts.query, ""))


class FetchCache:
    """Bodies and validators (ETag, Last-Modified) of fetched URLs, in SQLite; no request headers are stored."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self.db, self.warning = open_db(path, "CREATE TABLE IF NOT EXISTS fetches (url TEXT PRIMARY KEY, etag TEXT, "
                                        "last_modified TEXT, content_type TEXT, body BLOB, fetched_at REAL)", "fetches")

    def get(self, url: str) -> tuple[str | None, str | None, str, bytes] | None:
        """(etag, last_modified, content_type, body) of a URL, or None."""
        with self._lock:
            row = self.db.execute("SELECT etag, last_modified, content_type, body FROM fetches WHERE url = ?",
                                  (cache_key(url),)).fetchone()
        return None if row is None else (row[0], row[1], row[2] or "", bytes(row[3]))

    def put(self, url: str, etag: str | None, last_modified: str | None, content_type: str, body: bytes) -> None:
        """Store a body with its validators."""
        with self._lock:
            self.db.execute("INSERT OR REPLACE INTO fetches VALUES (?, ?, ?, ?, ?, ?)",
                            (cache_key(url), etag, last_modified, content_type, body, time.time()))

    def touch(self, url: str) -> None:
        """Record that a cached body was confirmed fresh (304)."""
        with self._lock:
            self.db.execute("UPDATE fetches SET fetched_at = ? WHERE url = ?", (time.time(), cache_key(url)))

    def close(self) -> None:
        """Close the database."""
        self.db.close()
