"""Content-addressed cache (SQLite) of per-source summaries and syntheses, so reruns pay only for what changed."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any


def digest(*parts: object) -> str:
    """A stable sha256 over JSON-serialisable parts."""
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


class Cache:
    """A key-value store of JSON documents, one table, safe for concurrent readers and a single writer."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # The LLM engine may report summaries from a helper thread (when called inside a running event loop).
        self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self.lock = threading.Lock()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS entries (kind TEXT, key TEXT, value TEXT, created REAL, "
                        "PRIMARY KEY (kind, key))")

    def get(self, kind: str, key: str) -> Any | None:
        """The cached value, or None."""
        with self.lock:
            row = self.db.execute("SELECT value FROM entries WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except json.JSONDecodeError:
            return None  # a damaged entry is a miss, recomputed and overwritten

    def put(self, kind: str, key: str, value: Any) -> None:
        """Store a value (committed immediately, so work survives a later crash)."""
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)",
                            (kind, key, json.dumps(value, ensure_ascii=False), time.time()))

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
