"""URL and RSS/Atom sources against a loopback HTTP server: cleaning, retries, timeouts, size cap, feeds, ETag cache."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from briefing.config import load_settings
from briefing.errors import ConfigError
from briefing.ingest.clean import clean_documents
from briefing.ingest.fetch import FetchOptions, is_feed, parse_since
from briefing.ingest.sources import load_raw

ROOT = Path(__file__).parent.parent
ARTICLES = Path(__file__).parent / "fixtures" / "articles"
FAST = FetchOptions(timeout=2.0, attempts=3, backoff=0.01, max_backoff=0.05)


@dataclass
class Reply:
    """One canned response; `etag` makes the server answer 304 to a matching If-None-Match."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    delay: float = 0.0
    etag: str | None = None
    length: bool = True  # send Content-Length (else the body is delimited by closing the connection)


@dataclass
class Site:
    """Routes (path -> replies served in turn, the last one repeating) and a log of (path, headers, status)."""

    port: int = 0
    routes: dict[str, list[Reply]] = field(default_factory=dict)
    log: list[tuple[str, dict[str, str], int]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> list[tuple[dict[str, str], int]]:
        return [(h, s) for p, h, s in self.log if p == path]


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            replies = site.routes.get(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            if not replies:
                reply = Reply(404, b"not found", "text/plain")
            else:
                n = len(site.hits(self.path))
                reply = replies[min(n, len(replies) - 1)]
            status = reply.status
            if reply.etag and headers.get("if-none-match") == reply.etag:
                status = 304
            site.log.append((self.path, headers, status))
            try:
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(status)
                if reply.etag:
                    self.send_header("ETag", reply.etag)
                if status == 304:
                    self.end_headers()
                    return
                self.send_header("Content-Type", reply.content_type)
                if reply.length:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                for i in range(0, len(reply.body), 65536):
                    self.wfile.write(reply.body[i:i + 65536])
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout or size cap): expected in these tests

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base class
            return None

    return Handler


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(s))
    server.daemon_threads = True
    s.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield s
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def page(title: str, paragraphs: list[str]) -> bytes:
    """An HTML article page with navigation and footer boilerplate around it."""
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs)
    return (f"<!DOCTYPE html><html><head><title>{html.escape(title)} | Example News</title></head><body>"
            "<nav><a href='/'>Home</a> <a href='/world'>World</a> <a href='/subscribe'>Subscribe now</a></nav>"
            f"<article><h1>{html.escape(title)}</h1>{body}</article>"
            "<footer>Copyright 2024 Example News. All rights reserved. Privacy policy. Cookie settings.</footer>"
            "</body></html>").encode()


def article(name: str) -> tuple[str, list[str]]:
    """Title and paragraphs of a fixture article."""
    blocks = [b.strip() for b in (ARTICLES / name).read_text(encoding="utf-8").split("\n\n") if b.strip()]
    return blocks[0], blocks[1:]


PARAS = [
    "Defence ministers of South Korea and Canada met in Ottawa on Tuesday and agreed to share classified "
    "military intelligence about North Korean troop deployments to Russia.",
    "The two governments said the arrangement would cover satellite imagery, signals intelligence and "
    "assessments of munitions transfers between Pyongyang and Moscow.",
    "Officials described the talks as the most substantive since the countries upgraded their relationship "
    "to a comprehensive strategic partnership last year.",
]


def rss(items: list[tuple[str, str, datetime | None]], description: str = "") -> bytes:
    """An RSS 2.0 feed of (title, link, published) items."""
    out = []
    for title, link, when in items:
        date = f"<pubDate>{format_datetime(when)}</pubDate>" if when else ""
        out.append(f"<item><title>{html.escape(title)}</title><link>{html.escape(link)}</link>{date}"
                   f"<author>desk@example.org (Jane Roe)</author>"
                   f"<description>{html.escape(description)}</description></item>")
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Example</title>'
            f"<link>http://example.org/</link><description>d</description>{''.join(out)}</channel></rss>").encode()


def atom(entries: list[tuple[str, str, datetime | None, str]]) -> bytes:
    """An Atom feed of (title, link, updated, content html) entries."""
    out = []
    for i, (title, link, when, content) in enumerate(entries):
        date = f"<updated>{when.isoformat()}</updated>" if when else ""
        body = f'<content type="html">{html.escape(content)}</content>' if content else ""
        out.append(f"<entry><id>urn:e:{i}</id><title>{html.escape(title)}</title><link href=\"{html.escape(link)}\"/>"
                   f"{date}<author><name>Kim Min-jun</name></author>{body}</entry>")
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Example</title>'
            f"<id>urn:feed</id><updated>2024-11-05T00:00:00Z</updated>{''.join(out)}</feed>").encode()


NOW = datetime.now(UTC)


def serve_articles(site: Site, n: int = 3) -> list[str]:
    """Serve n article pages; returns their URLs."""
    urls = []
    for i in range(n):
        site.routes[f"/a{i}.html"] = [Reply(body=page(f"Story {i}: ministers meet", [f"Story {i}."] + PARAS))]
        urls.append(site.url(f"/a{i}.html"))
    return urls


def test_html_page_is_fetched_and_cleaned(site: Site, tmp_path: Path) -> None:
    site.routes["/story.html"] = [Reply(body=page("Seoul and Ottawa to share intelligence", PARAS))]
    url = site.url("/story.html")
    raws, warnings = load_raw([url], cache_dir=tmp_path, fetch_options=FAST)
    assert warnings == []
    assert len(raws) == 1 and raws[0].path == url and raws[0].is_html
    doc = clean_documents(raws)[0]
    assert "agreed to share classified military intelligence" in doc.text
    assert "Subscribe now" not in doc.text and "All rights reserved" not in doc.text
    assert doc.title == "Seoul and Ottawa to share intelligence"
    assert doc.url == url


def test_mixed_files_and_urls_keep_input_order(site: Site, tmp_path: Path) -> None:
    urls = serve_articles(site, 1)
    f = tmp_path / "note.txt"
    f.write_text("A local note about the meeting.\n", encoding="utf-8")
    raws, warnings = load_raw([str(f), urls[0], str(ARTICLES)], fetch_options=FAST)
    assert warnings == []
    assert [r.path for r in raws][:2] == [str(f), urls[0]]
    assert len(raws) == 2 + len(list(ARTICLES.iterdir()))


def test_500_then_200_is_retried(site: Site) -> None:
    site.routes["/flaky"] = [Reply(500, b"oops", "text/plain"), Reply(503, b"busy", "text/plain"),
                             Reply(body=page("Recovered", PARAS))]
    site.routes["/gone"] = [Reply(404, b"no", "text/plain")]
    raws, warnings = load_raw([site.url("/flaky"), site.url("/gone")], fetch_options=FAST)
    assert [s for _, s in site.hits("/flaky")] == [500, 503, 200]
    assert len(raws) == 1 and raws[0].path == site.url("/flaky")
    assert len(site.hits("/gone")) == 1  # 404 is not retried
    assert warnings == [f"{site.url('/gone')}: HTTP 404, skipped"]


def test_persistent_5xx_gives_up_after_attempts(site: Site) -> None:
    site.routes["/down"] = [Reply(502, b"bad gateway", "text/plain")]
    raws, warnings = load_raw([site.url("/down")], fetch_options=FAST)
    assert raws == [] and len(site.hits("/down")) == 3
    assert warnings == [f"{site.url('/down')}: HTTP 502 after 3 attempts, skipped"]


def test_timeout_warns_naming_url_and_run_continues(site: Site) -> None:
    site.routes["/slow"] = [Reply(body=page("Slow", PARAS), delay=1.5)]
    urls = serve_articles(site, 1)
    opts = FetchOptions(timeout=0.2, attempts=2, backoff=0.01, max_backoff=0.02)
    raws, warnings = load_raw([site.url("/slow"), urls[0]], fetch_options=opts)
    assert [r.path for r in raws] == [urls[0]]
    assert len(warnings) == 1 and site.url("/slow") in warnings[0] and "timed out" in warnings[0]
    assert len(site.hits("/slow")) == 2


def test_connection_refused_warns(site: Site) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/x"  # bound, not listening: connection refused
        raws, warnings = load_raw([dead], fetch_options=FAST)
    assert raws == [] and len(warnings) == 1 and warnings[0].startswith(dead + ": cannot fetch")


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "streamed"])
def test_oversize_is_skipped_with_warning(site: Site, announced: bool) -> None:
    big = page("Big", PARAS * 4000)  # ~1.7 MB
    site.routes["/big"] = [Reply(body=big, length=announced)]
    raws, warnings = load_raw([site.url("/big")], max_bytes=100_000, fetch_options=FAST)
    assert raws == []
    assert len(warnings) == 1 and warnings[0].startswith(site.url("/big")) and "100000-byte limit" in warnings[0]
    assert len(site.hits("/big")) == 1  # not retried


def test_rss_feed_limit_and_entry_metadata(site: Site) -> None:
    urls = serve_articles(site)
    site.routes["/feed.xml"] = [Reply(body=rss([(f"Story {i}", u, NOW - timedelta(hours=i)) for i, u in
                                                enumerate(urls)]), content_type="application/rss+xml")]
    raws, warnings = load_raw([site.url("/feed.xml")], feed_limit=2, fetch_options=FAST)
    assert warnings == []
    assert [r.path for r in raws] == urls[:2]
    assert not site.hits("/a2.html")  # beyond the limit: never fetched
    assert raws[0].title == "Story 0" and raws[0].published == NOW.date().isoformat()
    assert raws[0].authors == ["Jane Roe"], raws[0].authors  # the name, not the e-mail address
    assert all(r.is_html for r in raws)


def test_atom_feed_limit(site: Site) -> None:
    urls = serve_articles(site)
    site.routes["/atom"] = [Reply(body=atom([(f"Story {i}", u, NOW - timedelta(days=i), "") for i, u in
                                             enumerate(urls)]), content_type="application/atom+xml")]
    raws, warnings = load_raw([site.url("/atom")], feed_limit=2, fetch_options=FAST)
    assert warnings == []
    assert [r.path for r in raws] == urls[:2]
    assert raws[1].authors == ["Kim Min-jun"] and raws[1].published == (NOW - timedelta(days=1)).date().isoformat()


def test_feed_detected_from_generic_xml_and_forced_with_prefix(site: Site, tmp_path: Path) -> None:
    urls = serve_articles(site)
    body = rss([(f"Story {i}", u, None) for i, u in enumerate(urls)])
    site.routes["/rss"] = [Reply(body=body, content_type="text/xml")]
    raws, warnings = load_raw([site.url("/rss")], fetch_options=FAST)
    assert warnings == [] and [r.path for r in raws] == urls
    local = tmp_path / "saved.xml"
    local.write_bytes(body)
    raws, warnings = load_raw([f"feed:{local}"], feed_limit=1, fetch_options=FAST)
    assert warnings == [] and [r.path for r in raws] == urls[:1]
    site.routes["/odd"] = [Reply(body=body, content_type="text/html")]  # mislabelled: feed: forces it
    raws, warnings = load_raw(["feed:" + site.url("/odd")], fetch_options=FAST)
    assert [r.path for r in raws] == urls
    assert is_feed("", b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- c --><feed xmlns='x'>")
    assert not is_feed("text/html", b"<rss>")


def test_since_window_skips_old_entries_keeps_undated(site: Site) -> None:
    urls = serve_articles(site)
    items = [("new", urls[0], datetime(2024, 11, 5, 9, tzinfo=UTC)),
             ("old", urls[1], datetime(2024, 10, 1, tzinfo=UTC)), ("undated", urls[2], None)]
    site.routes["/feed.xml"] = [Reply(body=rss(items), content_type="application/rss+xml")]
    raws, _ = load_raw([site.url("/feed.xml")], since="2024-11-01", fetch_options=FAST)
    assert [r.path for r in raws] == [urls[0], urls[2]]
    assert not site.hits("/a1.html")
    recent = [("today", urls[0], NOW - timedelta(hours=3)), ("last month", urls[1], NOW - timedelta(days=30))]
    site.routes["/recent.xml"] = [Reply(body=rss(recent), content_type="application/rss+xml")]
    raws, _ = load_raw([site.url("/recent.xml")], since="7d", fetch_options=FAST)
    assert [r.path for r in raws] == [urls[0]]


def test_feed_entry_404_warns_and_keeps_others(site: Site) -> None:
    urls = serve_articles(site, 2)
    missing = site.url("/missing.html")
    site.routes["/feed.xml"] = [Reply(body=rss([("a", urls[0], None), ("b", missing, None), ("c", urls[1], None)]),
                                      content_type="application/rss+xml")]
    raws, warnings = load_raw([site.url("/feed.xml")], fetch_options=FAST)
    assert [r.path for r in raws] == urls
    assert len(warnings) == 1 and missing in warnings[0] and "404" in warnings[0]
    assert site.url("/feed.xml") in warnings[0]


def test_full_text_entries_are_used_without_fetching(site: Site) -> None:
    title, paras = article("arctic_patrol.txt")
    content = "".join(f"<p>{html.escape(p)}</p>" for p in paras)
    link = site.url("/never-fetched.html")
    site.routes["/atom"] = [Reply(body=atom([(title, link, datetime(2024, 11, 3, tzinfo=UTC), content),
                                             ("Teaser", site.url("/a0.html"), None, "<p>Short teaser.</p>")]),
                                  content_type="application/atom+xml")]
    serve_articles(site, 1)
    raws, warnings = load_raw([site.url("/atom")], fetch_options=FAST)
    assert warnings == []
    assert [r.path for r in raws] == [link, site.url("/a0.html")]
    assert not site.hits("/never-fetched.html") and len(site.hits("/a0.html")) == 1
    doc = clean_documents(raws[:1])[0]
    assert paras[0][:60] in doc.text
    assert raws[0].title == title and raws[0].published == "2024-11-03" and raws[0].authors == ["Kim Min-jun"]


def test_etag_second_fetch_is_conditional_and_reuses_body(site: Site, tmp_path: Path) -> None:
    site.routes["/e.html"] = [Reply(body=page("Cached story", PARAS), etag='"v1"')]
    first, w1 = load_raw([site.url("/e.html")], cache_dir=tmp_path, fetch_options=FAST)
    second, w2 = load_raw([site.url("/e.html")], cache_dir=tmp_path, fetch_options=FAST)
    assert w1 == w2 == []
    (h1, s1), (h2, s2) = site.hits("/e.html")
    assert "if-none-match" not in h1 and s1 == 200
    assert h2.get("if-none-match") == '"v1"' and s2 == 304
    assert second[0].text == first[0].text and second[0].sha256 == first[0].sha256
    assert "authorization" not in h2
    # without a cache dir nothing is conditional
    load_raw([site.url("/e.html")], fetch_options=FAST)
    assert "if-none-match" not in site.hits("/e.html")[-1][0]


def test_same_url_twice_is_fetched_once(site: Site) -> None:
    urls = serve_articles(site, 1)
    site.routes["/feed.xml"] = [Reply(body=rss([("a", urls[0], None)]), content_type="application/rss+xml")]
    raws, warnings = load_raw([urls[0], site.url("/feed.xml")], fetch_options=FAST)
    assert [r.path for r in raws] == urls and len(site.hits("/a0.html")) == 1
    assert len(warnings) == 1 and "already loaded" in warnings[0]


def test_binary_and_empty_pages_are_skipped(site: Site) -> None:
    site.routes["/img"] = [Reply(body=b"\x89PNG\r\n\x1a\n" + bytes(range(256)), content_type="image/png")]
    site.routes["/empty"] = [Reply(body=b"  \n", content_type="text/html")]
    site.routes["/notfeed"] = [Reply(body=b"<?xml version='1.0'?><rss><channel></channel></rss>",
                                     content_type="application/rss+xml")]
    raws, warnings = load_raw([site.url("/img"), site.url("/empty"), site.url("/notfeed")], fetch_options=FAST)
    assert raws == []
    assert [w.split(": ")[1] for w in warnings] == ["unsupported content type image/png, skipped",
                                                    "empty page, skipped", "feed has no entries, skipped"]


def test_since_and_feed_limit_settings_are_validated() -> None:
    s = load_settings(overrides={"run.since": "7d", "run.feed_limit": 5}, environ={}, dotenv_path=None)
    assert s.run.since == "7d" and s.run.feed_limit == 5
    with pytest.raises(ConfigError, match="run.since"):
        load_settings(overrides={"run.since": "last tuesday"}, environ={}, dotenv_path=None)
    with pytest.raises(ConfigError, match="run.feed_limit"):
        load_settings(overrides={"run.feed_limit": 0}, environ={}, dotenv_path=None)
    ref = datetime(2024, 11, 10, tzinfo=UTC)
    assert parse_since("7d", ref) == datetime(2024, 11, 3, tzinfo=UTC)
    assert parse_since("12h", ref) == datetime(2024, 11, 9, 12, tzinfo=UTC)
    assert parse_since("2024-11-01") == datetime(2024, 11, 1, tzinfo=UTC)


def test_cli_run_on_feed_lists_urls_as_sources(site: Site, tmp_path: Path) -> None:
    urls = []
    for i, name in enumerate(sorted(p.name for p in ARTICLES.iterdir())):
        title, paras = article(name)
        site.routes[f"/news/{i}.html"] = [Reply(body=page(title, paras), etag=f'"{name}"')]
        urls.append(site.url(f"/news/{i}.html"))
    site.routes["/feed.xml"] = [Reply(body=rss([(f"t{i}", u, NOW - timedelta(hours=i)) for i, u in enumerate(urls)]),
                                      content_type="application/rss+xml")]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFING_"))}
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "briefing", "run", site.url("/feed.xml"), "--out", str(out),
                        "--feed-limit", "5", "--since", "30d"],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    brief = Path(r.stdout.strip().splitlines()[-1])
    md = brief.read_text(encoding="utf-8")
    for u in urls:
        assert u in md
    data = json.loads((brief.parent / "brief.json").read_text(encoding="utf-8"))
    assert sorted(s["path"] for s in data["sources"]) == sorted(urls)
    assert (out / ".cache" / "fetch.sqlite").is_file()
