"""Korean words for matching: a noun keeps its meaning when its particle changes (캐나다는 / 캐나다가 / 캐나다와)."""

from __future__ import annotations

import re

_HANGUL_WORD = re.compile(r"^[\uac00-\ud7a3]+$")
# Case and topic particles and common particle compounds, longest first (stripped only from words of 3+ syllables,
# so that 국가 "nation" or 회의 "meeting" keep their last syllable).
_PARTICLES = sorted("""에서는 에게서 으로서 으로써 으로는 에서도 이라고 까지 부터 에서 에게
    한테 으로 로서 로써 처럼 보다 만큼 라고 하고 와의 과의 에는 에도
    의 은 는 이 가 을 를 에 와 과 도 만 로 께""".split(), key=len, reverse=True)


def is_hangul(word: str) -> bool:
    """Whether a word is written in Hangul syllables only."""
    return bool(_HANGUL_WORD.match(word))


def korean_stem(word: str) -> str:
    """A Hangul word without its trailing particle (캐나다는 -> 캐나다, 정부가 -> 정부); other words unchanged."""
    if len(word) < 3 or not is_hangul(word):
        return word
    for p in _PARTICLES:
        if word.endswith(p) and len(word) - len(p) >= 2:
            return word[: -len(p)]
    return word


def same_korean_word(a: str, b: str) -> bool:
    """Two Hangul words with the same stem, or sharing their first two syllables when both have three or more
    (규탄했다 / 규탄하고, inflected verbs)."""
    if not (is_hangul(a) and is_hangul(b)):
        return False
    sa, sb = korean_stem(a), korean_stem(b)
    if sa == sb:
        return True
    return min(len(a), len(b)) >= 3 and a[:2] == b[:2]
