"""Ingest stage: read and decode files, folders, URLs and feeds (via ingest.fetch) into RawDoc; bad ones skipped."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from briefing.ingest.decode import decode_bytes, looks_like_html
from briefing.models import RawDoc
from briefing.redact import redact

if TYPE_CHECKING:
    from briefing.ingest.fetch import Fetcher, FetchOptions

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
_REMOTE = ("http://", "https://", "feed:")  # fetched by briefing.ingest.fetch (imported only when needed)

def redact_url(text: str) -> str:
    """Credentials out of every URL in the text (user:password@, api_key=/token=/key= values) and known secrets."""
    return redact(text)


def load_raw(paths: list[str], max_bytes: int = DEFAULT_MAX_BYTES, *, cache_dir: Path | None = None,
             feed_limit: int | None = None, since: str | datetime | None = None,
             fetch_options: FetchOptions | None = None,
             exclude: list[str | Path] | None = None) -> tuple[list[RawDoc], list[str]]:
    """Read every file, URL and feed (`feed:` prefix or detected) given; returns documents and one warning per skip.

    URLs are fetched with briefing.ingest.fetch (ETag/Last-Modified cache in cache_dir when given); feeds keep at most
    feed_limit entries, skipping those dated before `since` (7d, 12h, 2024-11-01). Folders in `exclude` (the output
    root) and everything under them are never read: old briefs must not come back as sources.
    """
    docs: list[RawDoc] = []
    warnings: list[str] = []
    seen_dirs: set[tuple[int, int]] = set()
    excluded: set[tuple[int, int]] = set()
    for ex in exclude or []:
        try:
            st = os.stat(ex)
        except OSError:
            continue
        excluded.add((st.st_dev, st.st_ino))
    fetcher: Fetcher | None = None
    try:
        for p in paths:
            if p.lower().startswith(_REMOTE):
                if fetcher is None:
                    from briefing.ingest.fetch import Fetcher, make_options

                    fetcher = Fetcher(max_bytes, make_options(feed_limit, since, fetch_options), cache_dir)
                got, problems = fetcher.load(p)
                for d in got:  # credentials in a URL are for fetching only, never shown or stored
                    d.path = redact_url(d.path)
                docs.extend(got)
                warnings.extend(redact_url(w) for w in problems)
                continue
            for file_path, problem in _expand([p], seen_dirs, excluded):
                if problem is not None:
                    warnings.append(problem)
                    continue
                doc, warning = _load_file(file_path, max_bytes)
                if doc is not None:
                    docs.append(doc)
                if warning is not None:
                    warnings.append(warning)
    finally:
        if fetcher is not None:
            fetcher.close()
    return docs, warnings


def _expand(paths: list[str], seen_dirs: set[tuple[int, int]],
            excluded: set[tuple[int, int]] | None = None) -> Iterator[tuple[str, str | None]]:
    """Yield (file path, None) for each input file, or (path, warning) for an unusable path; folders recurse sorted."""
    excluded = excluded or set()
    for p in paths:
        if os.path.isdir(p):
            st = os.stat(p)
            if (st.st_dev, st.st_ino) in excluded:
                yield p, f"{p}: the output folder, not read as a source, skipped"
                continue
            yield from _walk(p, seen_dirs, excluded=excluded)
        elif os.path.lexists(p) and not os.path.exists(p):
            yield p, f"{p}: broken or looping symlink, skipped"
        elif not os.path.exists(p):
            yield p, f"{p}: no such file, skipped"
        else:
            yield p, None


def _inside(path: str, folder: str) -> bool:
    """True when the real path lies in the real folder (or is it)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _walk(root: str, seen_dirs: set[tuple[int, int]], top: str | None = None,
          excluded: set[tuple[int, int]] | None = None) -> Iterator[tuple[str, str | None]]:
    """Walk a folder recursively in sorted order, skipping hidden entries and symlink loops.

    A symlink whose target lies outside the folder given (`top`) is skipped by name: a link to a private file must not
    put its text in the brief or send it to the endpoint. Passing the link itself as a source still reads it.
    """
    top = top or os.path.realpath(root)
    try:
        st = os.stat(root)
    except OSError as exc:
        yield root, f"{root}: cannot read folder ({exc.strerror or exc}), skipped"
        return
    key = (st.st_dev, st.st_ino)
    if key in seen_dirs:
        yield root, f"{root}: symlink loop, skipped"
        return
    seen_dirs.add(key)
    try:
        with os.scandir(root) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield root, f"{root}: cannot read folder ({exc.strerror or exc}), skipped"
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = os.path.join(root, entry.name)
        try:
            if entry.is_symlink() and os.path.exists(path) and not _inside(os.path.realpath(path), top):
                yield path, f"{path}: symlink to a target outside the source folder, skipped (pass the link to use it)"
                continue
            is_dir = entry.is_dir()
            is_file = entry.is_file()
        except OSError as exc:
            yield path, f"{path}: cannot stat ({exc.strerror or exc}), skipped"
            continue
        if is_dir:
            if excluded:
                try:
                    st_dir = os.stat(path)
                except OSError:
                    st_dir = None
                if st_dir is not None and (st_dir.st_dev, st_dir.st_ino) in excluded:
                    continue  # the output folder inside a source folder: its briefs are not sources
            yield from _walk(path, seen_dirs, top, excluded)
        elif is_file:
            yield path, None
        elif entry.is_symlink():
            yield path, f"{path}: broken or looping symlink, skipped"
        else:
            yield path, f"{path}: not a regular file (FIFO, socket or device), skipped"


def _load_file(path: str, max_bytes: int) -> tuple[RawDoc | None, str | None]:
    """Read and decode one file; returns (doc, None) or (None, warning)."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):  # opening a FIFO or a device would block or never end
            return None, f"{path}: not a regular file (FIFO, socket or device), skipped"
        size = st.st_size
        if size > max_bytes:
            return None, f"{path}: file is {size} bytes, over the {max_bytes}-byte limit, refused"
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        return None, f"{path}: cannot read ({exc.strerror or exc}), skipped"
    if len(data) > max_bytes:
        return None, f"{path}: file is over the {max_bytes}-byte limit, refused"
    if not data.strip():
        return None, f"{path}: empty file, skipped"
    decoded = decode_bytes(data)
    if decoded is None:
        return None, f"{path}: binary or undecodable file, skipped"
    text, encoding = decoded
    if not text.strip():
        return None, f"{path}: empty file, skipped"
    return RawDoc(path, text, hashlib.sha256(data).hexdigest(), encoding, looks_like_html(text)), None
