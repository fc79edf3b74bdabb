"""Secret redaction in one place: every message, stderr line and log record passes through redact() before it leaves.

Removed: the configured API key(s) (registered with add_secret), anything shaped like an OpenAI-style secret
(`sk-...`), `Bearer` tokens, the user:password@ part of URLs and the values of credential-like query parameters
(api_key=, apikey=, key=, token=, access_token=, secret=, password=, sig=...).
"""

from __future__ import annotations

import re
import threading

MASK = "***"

_SECRETS: set[str] = set()
_lock = threading.Lock()

_USERINFO = re.compile(r"(?<=://)[^/@\s?#]*@")
_SK = re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]{8,}")
_QUERY = re.compile(
    r"(?i)([?&;]|\b)((?:api[_-]?key|apikey|key|token|access[_-]?token|auth[_-]?token|secret|client[_-]?secret|"
    r"password|passwd|pwd|sig|signature|x-api-key)=)([^&#\s\"'<>]+)")


def add_secret(value: str | None) -> None:
    """Register a secret (the configured API key) so redact() removes it wherever it appears."""
    if value and len(value) >= 6 and value != "not-needed":
        with _lock:
            _SECRETS.add(value)


def redact(text: object) -> str:
    """The text with every known or secret-shaped credential replaced by ***."""
    s = str(text)
    with _lock:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in s:
            s = s.replace(secret, MASK)
    s = _USERINFO.sub("", s)
    s = _SK.sub("sk-" + MASK, s)
    s = _BEARER.sub(lambda m: m.group(1) + MASK, s)
    return _QUERY.sub(lambda m: m.group(1) + m.group(2) + MASK, s)


def redact_json(value: object) -> object:
    """A JSON-like value with every string redacted (keys included)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(k) if isinstance(k, str) else k: redact_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_json(v) for v in value]
    return value
