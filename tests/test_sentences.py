"""Sentence segmentation: ids, spans, abbreviations, quotes, decimals, initials, CJK/Korean, lower-cased text."""

from __future__ import annotations

from pathlib import Path

import pytest

from briefing.ingest.clean import clean_documents
from briefing.ingest.sources import load_raw
from briefing.models import Source
from briefing.sentences import Sentence, split_sentences

ROOT = Path(__file__).resolve().parent.parent


def texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr. Putin met Mr. Kim in the U.S. zone. They agreed.",
         ["Mr. Putin met Mr. Kim in the U.S. zone.", "They agreed."]),
        ("J. Berkshire Miller wrote it. Dr. Lee agreed.", ["J. Berkshire Miller wrote it.", "Dr. Lee agreed."]),
        ("Prices rose 3.5 percent to $4.2 billion. Exports fell.",
         ["Prices rose 3.5 percent to $4.2 billion.", "Exports fell."]),
        ('He said "we will win." Then he left.', ['He said "we will win."', "Then he left."]),
        ("“Is it over?” she asked. “No,” he said.", ["“Is it over?” she asked.", "“No,” he said."]),
        ("Talks ended. “We are ready,” Kim said.", ["Talks ended.", "“We are ready,” Kim said."]),
        ("It was No. 5 on the list. Gen. Smith left.", ["It was No. 5 on the list.", "Gen. Smith left."]),
        ("Troops left the U.S. The base closed.", ["Troops left the U.S.", "The base closed."]),
        ("The U.S. President spoke.", ["The U.S. President spoke."]),
        ("It opened on Sept. 5 in Seoul. Then it closed.", ["It opened on Sept. 5 in Seoul.", "Then it closed."]),
        ("Wait… What happened? Nobody knows!", ["Wait…", "What happened?", "Nobody knows!"]),
        ("Seoul agreed (with reservations). Ottawa did too.", ["Seoul agreed (with reservations).", "Ottawa did too."]),
        ("북한은 미사일을 발사했다. 한국 정부는 이를 규탄했다.",
         ["북한은 미사일을 발사했다.", "한국 정부는 이를 규탄했다."]),
        ("中国外交部表示反对。美国也表示关切！是吗？", ["中国外交部表示反对。", "美国也表示关切！", "是吗？"]),
        ("「会谈结束了。」他说", ["「会谈结束了。」", "他说"]),
        ("first line without stop\nSecond line. Third one", ["first line without stop", "Second line.", "Third one"]),
        ("A paragraph ends\n\nand another begins", ["A paragraph ends", "and another begins"]),
    ],
)
def test_split(text: str, expected: list[str]) -> None:
    assert texts(text) == expected


def test_lower_cased_text_is_segmented_without_capitals() -> None:
    text = ("the talks failed on monday , officials said . mr. kim left the u.s. on tuesday. he said no progress "
            "was made. prices rose 3.5 percent in the u.s. the talks resume in june.")
    assert texts(text) == [
        "the talks failed on monday , officials said .",
        "mr. kim left the u.s. on tuesday.",
        "he said no progress was made.",
        "prices rose 3.5 percent in the u.s.",
        "the talks resume in june.",
    ]


def test_lowercase_after_stop_does_not_split_cased_text() -> None:
    assert texts("Costs were approx. three times higher. Etc. and so on.") == [
        "Costs were approx. three times higher.", "Etc. and so on."]


def test_ids_and_spans() -> None:
    text = "  One sentence here.  Two sentences here!\n\n   Three? "
    sents = split_sentences(text)
    assert [s.id for s in sents] == [1, 2, 3]
    for s in sents:
        assert text[s.start : s.end] == s.text == s.text.strip()
    assert sents[2] == Sentence(3, text.index("Three"), text.index("Three") + 6, "Three?")


def test_empty_and_blank() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\n \t") == []


def test_ids_stable_and_local() -> None:
    """Same text, same ids; editing a later paragraph keeps the earlier ids."""
    a = "Alpha one. Alpha two.\nBeta one. Beta two."
    b = "Alpha one. Alpha two.\nBeta one changed. Beta two. Beta three."
    assert split_sentences(a) == split_sentences(a)
    assert split_sentences(a)[:2] == split_sentences(b)[:2]


def test_source_sentences_cached_and_follow_text() -> None:
    src = Source(id=1, path="x", text="One here. Two here.", sha256="", tokens=0)
    first = src.sentences
    assert [s.text for s in first] == ["One here.", "Two here."]
    assert src.sentences is first  # computed once
    assert src.sentence(2) == first[1] and src.sentence(3) is None and src.sentence(0) is None
    src.text = "Changed. Entirely."
    assert [s.text for s in src.sentences] == ["Changed.", "Entirely."]
    assert "_sentences" not in src.to_json()


def test_seed_sentences_cover_the_text() -> None:
    """Every non-space character of a cleaned seed belongs to exactly one sentence, in order."""
    docs, _ = load_raw(sorted(str(p) for p in (ROOT / "seeds").glob("*.txt")))
    for doc in clean_documents(docs):
        sents = split_sentences(doc.text)
        assert len(sents) > 5
        covered = "".join(doc.text[s.start : s.end] for s in sents)
        assert covered.replace(" ", "") == "".join(doc.text.split())
        assert all(a.end <= b.start for a, b in zip(sents, sents[1:], strict=False))
