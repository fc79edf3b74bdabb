"""Korean word matching for the support check: particles and verb endings vary, the stem stays."""

from __future__ import annotations

import pytest

from briefing.hangul import korean_stem, same_korean_word


@pytest.mark.parametrize("word, stem", [
    ("캐나다는", "캐나다"), ("정부가", "정부"), ("회의를", "회의"), ("국가", "국가"), ("국가가", "국가"),
    ("오타와에서", "오타와"), ("미사일", "미사일"), ("북한군", "북한군"), ("Canada", "Canada"), ("한국", "한국"),
])
def test_korean_stem(word: str, stem: str) -> None:
    assert korean_stem(word) == stem


def test_same_korean_word() -> None:
    assert same_korean_word("캐나다는", "캐나다가")
    assert same_korean_word("규탄했다", "규탄하고")
    assert not same_korean_word("한국", "중국")
    assert not same_korean_word("Canada", "캐나다")
