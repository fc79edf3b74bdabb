"""Content-addressed cache (SQLite) of per-source summaries and syntheses, so reruns pay only for what changed."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from briefing.errors import BriefingError


def canonical_json(part: object) -> str:
    """The JSON text digest() hashes for one part."""
    return json.dumps(part, sort_keys=True, ensure_ascii=False, default=str)


def digest(*parts: object) -> str:
    """A stable sha256 over JSON-serialisable parts."""
    return digest_json(*(canonical_json(p) for p in parts))


def digest_json(*texts: str) -> str:
    """digest() of parts already given as their canonical_json (a list's is "[" + ", ".join(items' texts) + "]")."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def _connect(path: Path, schema: str, table: str) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(schema)
        db.execute(f"SELECT * FROM {table} LIMIT 1").fetchall()  # noqa: S608 - our own table name
    except BaseException:
        db.close()
        raise
    return db


def _damaged(e: sqlite3.Error) -> bool:
    """A broken database file (not a lock, a permission or a full disk, which moving it aside cannot fix)."""
    if isinstance(e, sqlite3.OperationalError):
        return bool(re.search(r"malformed|not a database|corrupt", str(e), re.I))
    return isinstance(e, sqlite3.DatabaseError)


def open_db(path: Path, schema: str, table: str) -> tuple[sqlite3.Connection, str | None]:
    """Open (creating) a SQLite cache file. A damaged one is moved aside, next to it, and a fresh one is opened: a
    cache is never worth failing a run for. Returns the connection and a warning naming the moved file, if any."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _connect(path, schema, table), None
    except sqlite3.Error as e:
        if not _damaged(e):
            raise BriefingError(f"{path}: cannot open the cache ({e})") from None
        reason = str(e)
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
    try:
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.replace(side, aside.with_name(aside.name + suffix))
        db = _connect(path, schema, table)
    except (OSError, sqlite3.Error) as e:
        raise BriefingError(f"{path}: the cache is damaged ({reason}) and could not be replaced ({e}); "
                            "delete it and run again") from None
    return db, f"{path}: damaged cache ({reason}); moved aside to {aside.name}, starting with an empty cache"


class Cache:
    """A key-value store of JSON documents, one table, safe for concurrent readers and a single writer.

    A damaged database is moved aside on open (see open_db), and one that turns out damaged later is bypassed:
    reads miss, writes are skipped; `warnings` says which.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        # The LLM engine may report summaries from a helper thread (when called inside a running event loop).
        self.db, warning = open_db(path, "CREATE TABLE IF NOT EXISTS entries (kind TEXT, key TEXT, value TEXT, "
                                   "created REAL, PRIMARY KEY (kind, key))", "entries")
        self.warnings: list[str] = [warning] if warning else []
        # Each entry is committed as it is made (work survives a crash or a kill); in WAL mode NORMAL does not wait
        # for the disk on every commit (2 ms each, on the engine's event loop), and still never corrupts the file:
        # only a power loss can take back the last commits, which a cache recomputes.
        with contextlib.suppress(sqlite3.Error):
            self.db.execute("PRAGMA synchronous=NORMAL")
        self.lock = threading.Lock()
        self.broken = False

    def _failed(self, e: sqlite3.Error) -> None:
        if not self.broken:
            self.broken = True
            self.warnings.append(f"{self.path}: cache unusable ({e}); continuing without it (move the file away "
                                 "to start a new one)")

    def get(self, kind: str, key: str) -> Any | None:
        """The cached value, or None."""
        if self.broken:
            return None
        try:
            with self.lock:
                row = self.db.execute("SELECT value FROM entries WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        except sqlite3.Error as e:  # damaged, locked for too long, disk gone: a miss
            self._failed(e)
            return None
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except json.JSONDecodeError:
            return None  # a damaged entry is a miss, recomputed and overwritten

    def put(self, kind: str, key: str, value: Any) -> None:
        """Store a value (committed immediately, so work survives a later crash)."""
        if self.broken:
            return
        try:
            with self.lock:
                self.db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)",
                                (kind, key, json.dumps(value, ensure_ascii=False), time.time()))
        except sqlite3.Error as e:  # damaged, disk full, read-only: the run goes on uncached
            self._failed(e)

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
