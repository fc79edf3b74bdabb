"""Remote sources: fetch URLs and RSS/Atom feeds into RawDocs (timeouts, size cap, retries, ETag cache)."""

from __future__ import annotations

import hashlib
import io
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from briefing import __version__
from briefing.ingest.decode import decode_bytes, looks_like_html
from briefing.ingest.feeds import HTML_TYPES, content_doc, entry_content, entry_date, entry_meta, is_feed
from briefing.ingest.fetch_cache import FetchCache, cache_key
from briefing.models import RawDoc
from briefing.net import retry_after
from briefing.text import parse_since

FEED_PREFIX = "feed:"
DEFAULT_FEED_LIMIT = 20
FULL_TEXT_WORDS = 150  # a feed entry with at least this many words of content is used as is, without fetching its link
USER_AGENT = f"briefing/{__version__} (policy-brief generator)"

_RETRY_STATUSES = {429, 500, 502, 503, 504}
_BINARY_TYPES = ("image/", "audio/", "video/", "font/", "application/pdf", "application/zip",
                 "application/octet-stream", "application/gzip", "application/x-")
_TAG_RE = re.compile(r"<[^>]+>")


def is_remote(source: str) -> bool:
    """True for sources fetched over the network or read as feeds: http(s) URLs and `feed:` sources."""
    return source.lower().startswith(("http://", "https://", FEED_PREFIX))


@dataclass
class FetchOptions:
    """How hard to try: timeouts, retries and feed selection (tests shrink the waits)."""

    timeout: float = 15.0  # seconds to connect, and between bytes read
    total_timeout: float = 60.0  # seconds for one whole download
    attempts: int = 3  # tries per URL on connection errors, timeouts, 429 and 5xx
    backoff: float = 0.5  # first wait between tries, doubling (with jitter) up to max_backoff
    max_backoff: float = 4.0
    feed_limit: int = DEFAULT_FEED_LIMIT
    since: datetime | None = None  # feed entries dated before this are skipped; undated entries are kept
    workers: int = 6  # feed entry links fetched in parallel


@dataclass
class Fetched:
    """A downloaded body (or the cached one after a 304)."""

    url: str
    body: bytes
    content_type: str
    from_cache: bool = False


class FetchError(Exception):
    """A URL that could not be used; the message names it and says why."""


class _StatusError(Exception):
    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class _TooBig(Exception):
    pass


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, _StatusError):
        return exc.status in _RETRY_STATUSES
    return isinstance(exc, httpx.TransportError)


class Fetcher:
    """Turns URLs and feeds into RawDocs; one HTTP client and cache per batch. Use as a context manager."""

    def __init__(self, max_bytes: int, options: FetchOptions | None = None, cache_dir: Path | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.max_bytes = max_bytes
        self.opts = options or FetchOptions()
        self.client = httpx.Client(timeout=httpx.Timeout(self.opts.timeout), follow_redirects=True,
                                   headers={"User-Agent": USER_AGENT}, transport=transport)
        self.cache = FetchCache(cache_dir / "fetch.sqlite") if cache_dir is not None else None
        self.seen: set[str] = set()
        self._notes = [self.cache.warning] if self.cache is not None and self.cache.warning else []
        self.stats = {"requests": 0, "not_modified": 0, "retries": 0}
        self._stats_lock = threading.Lock()

    def close(self) -> None:
        """Close the HTTP client and the cache."""
        self.client.close()
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load(self, source: str) -> tuple[list[RawDoc], list[str]]:
        """Documents from one URL or feed source, and one warning per skipped page or entry."""
        docs, warnings = self._load(source)
        notes, self._notes = self._notes, []  # e.g. a damaged fetch cache moved aside: said once
        return docs, notes + warnings

    def _load(self, source: str) -> tuple[list[RawDoc], list[str]]:
        if source.lower().startswith(FEED_PREFIX):
            target = source[len(FEED_PREFIX):]
            if target.startswith("//"):  # feed://host/path is the old alias of http://host/path
                target = "http:" + target
            if not self._first_time(target):
                return [], [f"{source}: given twice, skipped"]
            try:
                body = self.get(target).body if is_remote(target) else self._read_local(target)
            except FetchError as e:
                return [], [str(e)]
            return self._feed(target, body)
        if not self._first_time(source):
            return [], [f"{source}: given twice, skipped"]
        try:
            got = self.get(source)
        except FetchError as e:
            return [], [str(e)]
        if is_feed(got.content_type, got.body):
            return self._feed(source, got.body)
        doc, warning = self._to_doc(source, got)
        return ([doc] if doc else []), ([warning] if warning else [])

    def _first_time(self, url: str) -> bool:
        key = cache_key(url) if is_remote(url) else url
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def _read_local(self, path: str) -> bytes:
        try:
            with open(path, "rb") as fh:
                data = fh.read(self.max_bytes + 1)
        except OSError as exc:
            raise FetchError(f"{path}: cannot read feed ({exc.strerror or exc}), skipped") from None
        if len(data) > self.max_bytes:
            raise FetchError(f"{path}: feed is over the {self.max_bytes}-byte limit, skipped")
        return data

    def get(self, url: str) -> Fetched:
        """Download a URL with retries, conditional on the cached validators; raises FetchError naming the URL."""
        cached = self.cache.get(url) if self.cache is not None else None
        headers: dict[str, str] = {}
        if cached is not None:
            if cached[0]:
                headers["If-None-Match"] = cached[0]
            if cached[1]:
                headers["If-Modified-Since"] = cached[1]
        o = self.opts
        backoff = wait_exponential(multiplier=o.backoff, max=o.max_backoff) + wait_random(0, o.backoff / 2)

        def wait(state: RetryCallState) -> float:
            base = float(backoff(state))
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _StatusError) and exc.retry_after:
                base = max(base, exc.retry_after)
            with self._stats_lock:
                self.stats["retries"] += 1
            return min(base, o.max_backoff)

        tries = f"{o.attempts} attempt{'s' if o.attempts != 1 else ''}"
        try:
            for attempt in Retrying(stop=stop_after_attempt(max(1, o.attempts)), wait=wait,
                                    retry=retry_if_exception(_transient), reraise=True):
                with attempt:
                    status, resp_headers, body = self._download(url, headers)
        except httpx.TimeoutException:
            raise FetchError(f"{url}: timed out ({tries}), skipped") from None
        except httpx.TransportError as e:
            raise FetchError(f"{url}: cannot fetch ({type(e).__name__}: {e}; {tries}), skipped") from None
        except httpx.InvalidURL as e:
            raise FetchError(f"{url}: invalid URL ({e}), skipped") from None
        except _StatusError as e:
            after = f" after {tries}" if _transient(e) else ""
            raise FetchError(f"{url}: HTTP {e.status}{after}, skipped") from None
        except _TooBig as e:
            raise FetchError(f"{url}: {e}, over the {self.max_bytes}-byte limit, skipped") from None
        content_type = resp_headers.get("content-type", "")
        if status == 304:
            if cached is None:
                raise FetchError(f"{url}: HTTP 304 without a cached copy, skipped")
            with self._stats_lock:
                self.stats["not_modified"] += 1
            if self.cache is not None:
                self.cache.touch(url)
            return Fetched(url, cached[3], cached[2], from_cache=True)
        etag, modified = resp_headers.get("etag"), resp_headers.get("last-modified")
        if self.cache is not None and (etag or modified):
            self.cache.put(url, etag, modified, content_type, body)
        return Fetched(url, body, content_type)

    def _download(self, url: str, headers: dict[str, str]) -> tuple[int, httpx.Headers, bytes]:
        """One GET, streamed and cut off past max_bytes or the total timeout."""
        with self._stats_lock:
            self.stats["requests"] += 1
        deadline = time.monotonic() + self.opts.total_timeout
        with self.client.stream("GET", url, headers=headers) as r:
            if r.status_code == 304:
                return 304, r.headers, b""
            if r.status_code >= 400:
                raise _StatusError(r.status_code, retry_after(r.headers))
            length = r.headers.get("content-length", "")
            if length.isdigit() and int(length) > self.max_bytes:
                raise _TooBig(f"{length} bytes announced")
            buf = bytearray()
            for chunk in r.iter_bytes():
                buf += chunk
                if len(buf) > self.max_bytes:
                    raise _TooBig(f"more than {self.max_bytes} bytes sent")
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout(f"download took over {self.opts.total_timeout:g}s")
            return r.status_code, r.headers, bytes(buf)

    def _to_doc(self, url: str, got: Fetched, meta: dict[str, Any] | None = None) -> tuple[RawDoc | None, str | None]:
        """Decode a fetched page into a RawDoc (HTML goes to the cleaner's HTML path)."""
        ctype = got.content_type.split(";")[0].strip().lower()
        if ctype.startswith(_BINARY_TYPES):
            return None, f"{url}: unsupported content type {ctype}, skipped"
        if not got.body.strip():
            return None, f"{url}: empty page, skipped"
        text, encoding = _decode(got.body, got.content_type)
        if text is None:
            return None, f"{url}: binary or undecodable page, skipped"
        if not text.strip():
            return None, f"{url}: empty page, skipped"
        is_html = ctype in HTML_TYPES or looks_like_html(text)
        return RawDoc(url, text, hashlib.sha256(got.body).hexdigest(), encoding, is_html, **(meta or {})), None

    def _feed(self, feed_url: str, body: bytes) -> tuple[list[RawDoc], list[str]]:
        """Entries of an RSS/Atom feed (first feed_limit in feed order within the date window), fetched or inline."""
        import feedparser

        # never let feedparser fetch anything itself: it gets bytes, a base URL and an XML content type
        parsed = feedparser.parse(io.BytesIO(body), response_headers={"content-location": feed_url,
                                                                      "content-type": "application/xml"})
        if not parsed.entries:
            why = f" ({parsed.get('bozo_exception')})" if parsed.get("bozo") else ""
            return [], [f"{feed_url}: feed has no entries{why}, skipped"]
        since = self.opts.since
        picked: list[tuple[Any, datetime | None]] = []
        for entry in parsed.entries:
            when = entry_date(entry)
            if since is not None and when is not None and when < since:
                continue
            picked.append((entry, when))
            if len(picked) >= self.opts.feed_limit:
                break
        docs: list[RawDoc | None] = [None] * len(picked)
        warnings: list[str | None] = [None] * len(picked)
        to_fetch: list[tuple[int, str, dict[str, Any]]] = []
        for i, (entry, when) in enumerate(picked):
            meta = entry_meta(entry, when)
            link = str(entry.get("link") or "")
            content, content_type = entry_content(entry)
            words = len(_TAG_RE.sub(" ", content).split())
            if words >= FULL_TEXT_WORDS or not link.startswith(("http://", "https://")):
                if not words:
                    warnings[i] = f"{feed_url}: entry {meta.get('title') or i + 1!r} has no link and no text, skipped"
                    continue
                path = link or f"{feed_url}#{entry.get('id') or i + 1}"
                if not self._first_time(path):
                    warnings[i] = f"{path} (in feed {feed_url}): already loaded, skipped"
                    continue
                docs[i] = content_doc(path, content, content_type, meta)
            elif not self._first_time(link):
                warnings[i] = f"{link} (in feed {feed_url}): already loaded, skipped"
            else:
                to_fetch.append((i, link, meta))

        def fetch_entry(job: tuple[int, str, dict[str, Any]]) -> tuple[int, RawDoc | None, str | None]:
            i, link, meta = job
            try:
                got = self.get(link)
            except FetchError as e:
                return i, None, f"{e} (entry of feed {feed_url})"
            if is_feed(got.content_type, got.body):
                return i, None, f"{link}: a feed, not an article (entry of feed {feed_url}), skipped"
            doc, warning = self._to_doc(link, got, meta)
            return i, doc, warning

        if to_fetch:
            with ThreadPoolExecutor(max_workers=max(1, min(self.opts.workers, len(to_fetch)))) as pool:
                for i, doc, warning in pool.map(fetch_entry, to_fetch):
                    docs[i], warnings[i] = doc, warning
        return [d for d in docs if d is not None], [w for w in warnings if w is not None]


def _decode(body: bytes, content_type: str) -> tuple[str | None, str]:
    """Decode with the declared charset when the bytes are not UTF-8, else as files are decoded."""
    m = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.IGNORECASE)
    if m and m.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = body.decode(m.group(1))
                return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n"), m.group(1).lower()
            except (LookupError, UnicodeDecodeError):
                pass
    decoded = decode_bytes(body)
    return (None, "") if decoded is None else decoded


def make_options(feed_limit: int | None = None, since: str | datetime | None = None,
                 base: FetchOptions | None = None) -> FetchOptions:
    """FetchOptions with the feed limit and date window applied (`since` parsed relative to now)."""
    opts = base or FetchOptions()
    if feed_limit is not None:
        opts = replace(opts, feed_limit=feed_limit)
    if since is not None:
        opts = replace(opts, since=parse_since(since) if isinstance(since, str) else since.astimezone(UTC))
    return opts
