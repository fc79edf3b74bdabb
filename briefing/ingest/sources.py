"""Ingest stage: read and decode files, folders, URLs and feeds (via ingest.fetch) into RawDoc; bad ones skipped."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from briefing.models import RawDoc

if TYPE_CHECKING:
    from briefing.ingest.fetch import Fetcher, FetchOptions

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
_REMOTE = ("http://", "https://", "feed:")  # fetched by briefing.ingest.fetch (imported only when needed)

_HTML_RE = re.compile(
    rb"^\s*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<\?xml[^>]*>\s*<html)|<html[\s>][\s\S]{0,4000}<(?:head|body)[\s>]",
    re.IGNORECASE,
)
_USERINFO = re.compile(r"(?<=://)[^/@\s?#]*@")


def redact_url(text: str) -> str:
    """Drop the user:password@ part of every URL in the text (for display, logs and stored paths)."""
    return _USERINFO.sub("", text)


_HTML_TAG_RE = re.compile(r"</?(?:p|div|span|a|article|section|h[1-6]|br|li|ul|body|head|html|meta|title)\b[^>]*>", re.I)  # noqa: E501


def load_raw(paths: list[str], max_bytes: int = DEFAULT_MAX_BYTES, *, cache_dir: Path | None = None,
             feed_limit: int | None = None, since: str | datetime | None = None,
             fetch_options: FetchOptions | None = None) -> tuple[list[RawDoc], list[str]]:
    """Read every file, URL and feed (`feed:` prefix or detected) given; returns documents and one warning per skip.

    URLs are fetched with briefing.ingest.fetch (ETag/Last-Modified cache in cache_dir when given); feeds keep at most
    feed_limit entries, skipping those dated before `since` (7d, 12h, 2024-11-01).
    """
    docs: list[RawDoc] = []
    warnings: list[str] = []
    seen_dirs: set[tuple[int, int]] = set()
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
            for file_path, problem in _expand([p], seen_dirs):
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


def _expand(paths: list[str], seen_dirs: set[tuple[int, int]]) -> Iterator[tuple[str, str | None]]:
    """Yield (file path, None) for each input file, or (path, warning) for an unusable path; folders recurse sorted."""
    for p in paths:
        if os.path.isdir(p):
            yield from _walk(p, seen_dirs)
        elif os.path.lexists(p) and not os.path.exists(p):
            yield p, f"{p}: broken or looping symlink, skipped"
        elif not os.path.exists(p):
            yield p, f"{p}: no such file, skipped"
        else:
            yield p, None


def _walk(root: str, seen_dirs: set[tuple[int, int]]) -> Iterator[tuple[str, str | None]]:
    """Walk a folder recursively in sorted order, skipping hidden entries and symlink loops."""
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
            is_dir = entry.is_dir()
            is_file = entry.is_file()
        except OSError as exc:
            yield path, f"{path}: cannot stat ({exc.strerror or exc}), skipped"
            continue
        if is_dir:
            yield from _walk(path, seen_dirs)
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


def decode_bytes(data: bytes) -> tuple[str, str] | None:
    """Decode bytes to text (BOMs, UTF-16, UTF-8, then detection); None when the bytes look binary."""
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return _normalise(data.decode(enc)), enc
            except UnicodeDecodeError:
                break
    utf16 = _guess_bomless_utf16(data)
    if utf16:
        try:
            return _normalise(data.decode(utf16)), utf16
        except UnicodeDecodeError:
            pass
    if _looks_binary(data):
        return None
    try:
        return _normalise(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    text, enc = _detect(data)
    if text is None:
        return None
    if _control_ratio(text) > 0.05:
        return None
    return _normalise(text), enc


def _detect(data: bytes) -> tuple[str | None, str]:
    """Detect a legacy encoding with charset-normalizer, preferring cp1252 and CP949 on ties."""
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        for enc in ("cp949", "cp1252"):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError:
                continue
        return None, ""
    enc = best.encoding
    # Korean legacy text is often reported as a narrower sibling; CP949 is the superset that decodes it all.
    if enc in ("euc_kr", "johab", "iso2022_kr"):
        try:
            return data.decode("cp949"), "cp949"
        except UnicodeDecodeError:
            pass
    # Latin-1 family: cp1252 is what Windows dumps almost always are (curly quotes in 0x80-0x9f).
    if enc in ("latin_1", "iso8859_15", "cp1250", "iso8859_2", "cp1257", "mac_roman"):
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return str(best), enc


def _guess_bomless_utf16(data: bytes) -> str | None:
    """Spot BOM-less UTF-16 by the pattern of zero bytes in ASCII-heavy text."""
    sample = data[:4000]
    if len(sample) < 4:
        return None
    even_zero = sum(1 for b in sample[0::2] if b == 0)
    odd_zero = sum(1 for b in sample[1::2] if b == 0)
    half = len(sample) / 2
    if odd_zero > 0.4 * half and even_zero < 0.05 * half:
        return "utf-16-le"
    if even_zero > 0.4 * half and odd_zero < 0.05 * half:
        return "utf-16-be"
    return None


def _looks_binary(data: bytes) -> bool:
    """True for bytes with NULs or many control characters (images, archives, executables)."""
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    ctrl = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return ctrl > 0.02 * len(sample)


def _control_ratio(text: str) -> float:
    """Share of control and replacement characters in decoded text."""
    sample = text[:8192]
    if not sample:
        return 0.0
    bad = sum(1 for c in sample if (ord(c) < 32 and c not in "\t\n\r\f") or c == "\ufffd")
    return bad / len(sample)


def _normalise(text: str) -> str:
    """Strip a stray BOM and normalise line endings."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def looks_like_html(text: str) -> bool:
    """True when the text is an HTML page rather than a text dump."""
    head = text[:5000].encode("utf-8", "ignore")
    if _HTML_RE.search(head):
        return True
    sample = text[:20000]
    tags = len(_HTML_TAG_RE.findall(sample))
    return tags >= 5 and tags * 40 > len(sample.split("\n"))


def load_path(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> RawDoc:
    """Load a single file or raise InputError naming it (for callers that want an exception)."""
    from briefing.errors import InputError

    doc, warning = _load_file(str(path), max_bytes)
    if doc is None:
        raise InputError(warning or f"{path}: unusable input")
    return doc
