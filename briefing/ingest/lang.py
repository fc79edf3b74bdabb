"""Language of a text (script counts, then jusText stopword hits) and the jusText stoplists; a leaf module."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from functools import lru_cache

from briefing.text import WORD_RE

_LANGS = {
    "English": "en", "French": "fr", "German": "de", "Spanish": "es", "Italian": "it",
    "Portuguese": "pt", "Dutch": "nl", "Russian": "ru", "Polish": "pl",
}  # fmt: skip

HANGUL_RE = re.compile(r"[\uac00-\ud7a3]")
KANA_RE = re.compile(r"[\u3040-\u30ff]")
HAN_RE = re.compile(r"[\u4e00-\u9fff]")
NON_SPACED_RE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7a3]")  # scripts written without spaces
_NONALPHA_RE = re.compile(r"[\W\d_]+")
_LETTER_RE = re.compile(r"[^\W\d_]")


@lru_cache(maxsize=32)
def stoplist(language: str) -> frozenset[str]:
    """jusText stoplist for a language name (empty when unknown)."""
    import justext

    try:
        return frozenset(justext.get_stoplist(language))
    except (ValueError, OSError, KeyError):
        return frozenset()


@lru_cache(maxsize=1)
def _stopword_languages() -> dict[str, tuple[str, ...]]:
    """Map each stopword of the candidate languages to the languages (in _LANGS order) whose stoplist has it."""
    table: dict[str, list[str]] = defaultdict(list)
    for name in _LANGS:
        for w in stoplist(name):
            table[w].append(name)
    return {w: tuple(names) for w, names in table.items()}


def detect_language(text: str) -> tuple[str | None, str | None]:
    """Guess (ISO 639-1 code, jusText stoplist name) from script and stopword hits; (None, None) if unsure."""
    sample = "\n".join(sorted(text[:200000].split("\n"), key=len, reverse=True)[:12])[:3000]
    if not _LETTER_RE.search(sample):
        return None, None
    if NON_SPACED_RE.search(sample):  # script counts matter only when some CJK is present
        letters = len(_NONALPHA_RE.sub("", sample))
        hangul = len(HANGUL_RE.findall(sample))
        kana = len(KANA_RE.findall(sample))
        han = len(HAN_RE.findall(sample))
        if hangul > 0.3 * letters:
            return "ko", "Korean"
        if kana > 0.1 * letters:
            return "ja", None
        if han > 0.3 * letters:
            return "zh", None
    words = WORD_RE.findall(sample.lower())
    if len(words) < 5:
        return None, None
    hits: Counter[str] = Counter()
    table = _stopword_languages()
    for w, c in Counter(words).items():
        for name in table.get(w, ()):
            hits[name] += c
    best, best_hits = None, 0
    for name in _LANGS:
        if hits[name] > best_hits:
            best, best_hits = name, hits[name]
    if best is None or best_hits < 0.15 * len(words):
        return None, None
    return _LANGS[best], best
