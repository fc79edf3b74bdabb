"""Shared fixtures: `llm_server`, an OpenAI-compatible server on loopback (see tests/llm_server.py), and
`article_server`, a plain HTTP server on loopback serving one article."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from llm_server import LLMServer

ARTICLES = Path(__file__).parent / "fixtures" / "articles"


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """A fault-free server; tweak `faults`, `script`, `latency`... on it, or build your own LLMServer(...)."""
    with LLMServer() as srv:
        yield srv


@pytest.fixture
def article_server() -> Iterator[str]:
    """A plain HTTP server on loopback serving one article at any path (it ignores credentials and queries)."""
    body = (ARTICLES / "arctic_patrol.txt").read_bytes()

    class H(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
