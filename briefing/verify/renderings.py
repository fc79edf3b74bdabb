"""Cross-language checks: a model's rendering of a cited sentence must keep its numbers, dates and Latin names."""

from __future__ import annotations

import re
from collections.abc import Iterator

from briefing.figures import numbers

_LATIN_NAME = re.compile(r"(?<![A-Za-z])(?:[A-Z][A-Z0-9&-]*[A-Z0-9]|[A-Z][a-z]+(?:[A-Z][a-z]+)*)(?![A-Za-z])")


def _values(text: str) -> set[float]:
    return {round(v, 6) for _, v in numbers(text)}


def _latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(c.isascii() or "\u00c0" <= c <= "\u024f" for c in letters) / len(letters) if letters else 1.0


def _names(text: str) -> Iterator[str]:
    """Latin-script acronyms and names (ICBM, MSMT, NEON, G7) of a text mostly in another script."""
    for m in _LATIN_NAME.finditer(text):
        yield m.group(0)


def check_rendering(original: str, rendering: str) -> list[str]:
    """Problems with a rendering of `original` in another language: a figure or date the original does not have
    (a changed number), a quantity or year of the original left out, a Latin-script name of a non-Latin original
    (ICBM, NEON) missing. Small figures of the original (days, months) may be reworded and are not required."""
    problems: list[str] = []
    have = _values(original)
    for shown, v in numbers(rendering):
        if round(v, 6) not in have:
            problems.append(f"rendering has {shown!r}, which the original does not")
    got = _values(rendering)
    for shown, v in numbers(original):
        if v >= 100 and round(v, 6) not in got and not any(abs(g - v) < 1e-6 * v for g in got):
            problems.append(f"rendering leaves out {shown!r} of the original")
    if _latin_share(original) < 0.5:
        missing = sorted({n for n in _names(original) if n not in rendering})
        if missing:
            problems.append(f"rendering leaves out the name(s) {', '.join(missing)} of the original")
    return problems


def figure_problems(claim: str, evidence: str) -> list[str]:
    """Figures of a claim written with CJK/Korean units or non-English scale words ("1만5천", "3,5 млн", "1.2万")
    whose value the evidence lacks (figures in plain digits are left to the support check)."""
    have = _values(evidence)
    return [f"number {shown} not in cited evidence" for shown, v in numbers(claim)
            if not shown.isascii() and round(v, 6) not in have]
