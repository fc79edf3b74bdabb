"""The brief's message catalogue: headings and fixed phrases per brief language, from messages.toml files."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from briefing.errors import ConfigError, TemplateError

MESSAGES_FILE = "messages.toml"
DEFAULT_LANGUAGE = "en"


class Messages:
    """One language's messages: t.bluf or t["bluf"] is the text; t("generated", time=..., audience=...) fills it in.

    A key missing from the catalogue raises (the brief template's StrictUndefined then names it).
    """

    def __init__(self, language: str, table: dict[str, Any]) -> None:
        self.language = language
        self._table = table

    def __getitem__(self, key: str) -> Any:
        return self._table[key]

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._table[key]
        except KeyError:
            raise AttributeError(key) from None

    def __contains__(self, key: object) -> bool:
        return key in self._table

    def __call__(self, key: str, **values: object) -> str:
        """The message `key` with its {placeholders} filled in."""
        text = self._table[key]
        try:
            return str(text).format(**values)
        except (KeyError, IndexError, ValueError) as e:
            raise TemplateError(f"{MESSAGES_FILE}: [{self.language}] {key}: bad placeholder in {text!r}: {e}") from None

    def lookup(self, table: str, value: str) -> str:
        """value translated through the sub-table `table` (stances, confidence_levels, languages), else as is."""
        sub = self._table.get(table)
        return str(sub.get(value, value)) if isinstance(sub, dict) else value

    def language_name(self, code: str | None) -> str:
        """The name of a source language in the brief's language ("Korean", "coréen", "한국어"), else the code."""
        return self.lookup("languages", code) if code else ""


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


_PARSED: dict[tuple[str, int, int], dict[str, Any]] = {}  # (path, mtime_ns, size) -> parsed file


def _parse(path: Path) -> dict[str, Any]:
    """A catalogue file parsed once per version (the LLM engine asks for language names on every request)."""
    try:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
        if key not in _PARSED:
            _PARSED[key] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise TemplateError(f"{path}: not a valid message catalogue: {e}") from None
    return copy.deepcopy(_PARSED[key])


def catalogue(dirs: list[Path]) -> dict[str, dict[str, Any]]:
    """Every language's table, merged key by key: a file earlier on the search path wins over a later one."""
    merged: dict[str, Any] = {}
    for d in reversed(dirs):
        path = d / MESSAGES_FILE
        if not path.is_file():
            continue
        data = _parse(path)
        for lang, table in data.items():
            if not isinstance(table, dict):
                raise TemplateError(f"{path}: {lang}: expected a table of messages, got {type(table).__name__}")
        merged = _merge(merged, data)
    return merged


def languages(dirs: list[Path]) -> list[str]:
    """Brief languages with a catalogue on the search path."""
    return sorted(catalogue(dirs))


def load(dirs: list[Path], language: str = DEFAULT_LANGUAGE) -> Messages:
    """The messages of `language`, each missing key taken from English."""
    cat = catalogue(dirs)
    if language not in cat:
        raise ConfigError(f"profile.language: no messages for brief language {language!r}; "
                          f"available: {', '.join(sorted(cat)) or 'none'}")
    table = _merge(cat.get(DEFAULT_LANGUAGE, {}), cat[language]) if language != DEFAULT_LANGUAGE else cat[language]
    return Messages(language, table)
