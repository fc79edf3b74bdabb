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


def test_korean_paraphrase_is_covered_by_its_sentence() -> None:
    from briefing.verify.support import Cited, check_support

    sentence = ("한국과 캐나다가 1일 캐나다 오타와에서 첫 외교·국방 장관회의를 열고 "
                "북한군의 러시아 파병을 강력히 규탄했다.")
    para = "캐나다와 한국은 오타와에서 열린 첫 외교·국방 장관회의에서 북한군의 러시아 파병을 규탄했다."
    cited = [Cited(1, sentence, sentence, "", "")]
    assert check_support(para, cited).problems == []
    # particles and endings differ from the sentence's (오타와에서 / 오타와, 파병을 / 파병)
    assert check_support("양국 장관들은 오타와 회의에서 북한의 러시아 파병을 비판했다.", cited).problems == []
    unrelated = "일본 정부는 중국과의 무역 협정 체결을 연기했다."
    assert check_support(unrelated, cited).problems != []
