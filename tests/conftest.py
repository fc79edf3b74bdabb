"""Shared fixtures: `llm_server`, an OpenAI-compatible server on loopback (see tests/llm_server.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llm_server import LLMServer


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """A fault-free server; tweak `faults`, `script`, `latency`... on it, or build your own LLMServer(...)."""
    with LLMServer() as srv:
        yield srv
