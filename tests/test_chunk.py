"""Chunker: budget never exceeded, offsets exact, paragraph/sentence cuts, overlap (speed lives in bench/)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from briefing.chunk import MIN_TOKENS, chunk_text
from briefing.tokens import count_tokens

WORDS = st.sampled_from(["the", "Kim", "Putin", "2024", "troops", "Seoul", "missile", "é", "한국", "中国", "🙂",
                        "x" * 30, "회담했다", "外交部", "ロシア", "「", "」"])
SEPS = st.sampled_from([" ", " ", " ", ". ", "! ", ".\n", "\n\n", "\n \n", "  ", "\t", "\r\n", "。", "", "\n\n\n ",
                        "。」", "！", "？", "，", "、", ".", ", ", "다.", "요. "])
PROSE = st.lists(st.tuples(WORDS, SEPS), max_size=200).map(lambda xs: "".join(w + s for w, s in xs))
TEXT = st.one_of(st.text(max_size=400), PROSE, st.text(alphabet=st.characters(codec="utf-8"), max_size=300))


def check(text: str, budget: int, overlap: int = 0) -> list:
    chunks = chunk_text(text, budget, overlap=overlap, source_id=3)
    for i, c in enumerate(chunks):
        assert c.text == text[c.start:c.end]
        assert c.tokens == count_tokens(c.text) <= budget
        assert c.index == i and c.source_id == 3 and c.end > c.start
    if chunks:
        assert chunks[0].start == 0 and chunks[-1].end == len(text)
        for a, b in zip(chunks, chunks[1:], strict=False):
            assert b.start <= a.end and b.start > a.start  # contiguous, or overlapping backwards; always progressing
            if overlap == 0:
                assert b.start == a.end
    else:
        assert text == ""
    return chunks


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, st.integers(min_value=MIN_TOKENS, max_value=120))
def test_budget_never_exceeded_and_offsets_exact(text: str, budget: int) -> None:
    check(text, budget)


@settings(max_examples=150, deadline=None)
@given(PROSE, st.integers(min_value=MIN_TOKENS, max_value=80), st.integers(min_value=1, max_value=40))
def test_overlap_keeps_budget_and_progress(text: str, budget: int, overlap: int) -> None:
    check(text, budget, overlap)


def test_small_budget_rejected() -> None:
    with pytest.raises(ValueError):
        chunk_text("abc", MIN_TOKENS - 1)


def test_cuts_at_paragraphs_then_sentences() -> None:
    paras = [f"Paragraph {i} starts here. It has a second sentence. And a third one." for i in range(6)]
    text = "\n\n".join(paras)
    per = count_tokens(paras[0] + "\n\n")
    chunks = check(text, per * 2 + 1)
    assert [c.text.rstrip("\n") for c in chunks] == ["\n\n".join(paras[i:i + 2]) for i in range(0, 6, 2)]
    # a paragraph over budget is cut at sentence ends, never mid-sentence
    chunks = check(paras[0], count_tokens("Paragraph 0 starts here. It has a second sentence."))
    assert [c.text for c in chunks] == ["Paragraph 0 starts here. It has a second sentence.", " And a third one."]


def test_overlap_repeats_trailing_sentences() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(20))
    chunks = check(text, 40, overlap=12)
    assert len(chunks) > 2
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:], strict=False))


def test_counts_are_additive_at_cut_points() -> None:
    seeds = sorted(Path(__file__).resolve().parents[2].joinpath("shared", "seeds").glob("*.txt"))
    text = "\n\n".join(p.read_text(encoding="utf-8") for p in seeds) or "A sentence. " * 5000
    for budget in (16, 100, 700, 3000):
        chunks = check(text, budget)
        assert sum(c.tokens for c in chunks) >= count_tokens(text)


ZH = ["中国外交部发言人表示，中方对朝俄合作持开放态度。", "双方领导人在北京举行了会谈。", "会谈持续了三个小时！",
      "各方是否满意？", "他说：“我们将继续保持沟通。”"]
JA = ["北朝鮮の金正恩総書記はロシアを訪問した。", "プーチン大統領と会談し、軍事協力について協議した。",
      "両首脳は「包括的戦略パートナーシップ条約」に署名した。", "日本政府は懸念を表明した！", "今後はどうなるのか？"]
KO = ["한국과 캐나다는 서울에서 외교·국방 2+2 회의를 열었다.", "양측은 북한의 미사일 발사를 강력히 규탄했다.",
      "양국은 국방 협력을 강화하기로 했어요.", "다음 회의는 언제 열리나요?", "외교부는 “긴밀히 협의하겠다”고 밝혔다."]


@pytest.mark.parametrize("sentences, sep", [(ZH, ""), (JA, ""), (KO, " "), (KO, "")])
def test_cjk_and_korean_cut_at_sentence_ends(sentences: list[str], sep: str) -> None:
    text = sep.join(sentences * 4)
    longest = max(count_tokens(s + sep) for s in sentences)
    ends = {i for i in range(len(text) + 1)
            if text[:i].rstrip().endswith(("。", "！", "？", "”", "」", "다.", "요.", "요?"))}
    for budget in (longest, longest + 7, 2 * longest, 3 * longest + 5):
        chunks = check(text, budget)
        assert len(chunks) > 1
        for c in chunks[:-1]:
            assert c.end in ends, (budget, c.text[-12:])  # never mid-sentence when every sentence fits


def test_cjk_sentence_over_budget_cut_at_clause_marks() -> None:
    clauses = ("中方表示，", "双方在北京举行了会谈，", "讨论了朝鲜半岛局势、乌克兰问题以及双边经贸合作。")
    sentence = "".join(clauses)
    budget = max(count_tokens(p) for p in clauses) + 1
    chunks = check(sentence * 2, budget)
    assert all(c.text.endswith(("，", "、", "。")) for c in chunks)


def test_korean_sentence_over_budget_cut_between_words() -> None:
    sentence = ("조태열 외교부 장관과 김용현 국방부 장관은 멜라니 졸리 외교부 장관 및 빌 블레어 국방부 장관과 "
                "회의를 열었다.")
    chunks = check(sentence, 12)
    assert len(chunks) > 2
    assert all(c.text.endswith("다.") or text_after_is_space(sentence, c.end) for c in chunks)


def text_after_is_space(text: str, end: int) -> bool:
    """The cut falls right before a space between two words."""
    return end < len(text) and text[end] == " "
