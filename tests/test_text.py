from datetime import date

import pytest

from briefing.text import content_words, find_date, sentences


def test_sentences_are_verbatim_spans_and_respect_abbreviations() -> None:
    text = "Mr. Putin met Mr. Kim in the U.S. zone. They agreed.\nA new line starts here. J. Smith wrote it."
    spans = sentences(text)
    got = [text[s:e] for s, e in spans]
    assert got == ["Mr. Putin met Mr. Kim in the U.S. zone.", "They agreed.", "A new line starts here.",
                   "J. Smith wrote it."]


def test_sentences_never_cross_lines() -> None:
    text = "first line without stop\nSecond line. Third one"
    assert [text[s:e] for s, e in sentences(text)] == ["first line without stop", "Second line.", "Third one"]


@pytest.mark.parametrize(
    ("phrase", "published", "expected"),
    [
        ("met on September 13, 2023 in", None, "2023-09-13"),
        ("on 4 November 2024 the", None, "2024-11-04"),
        ("visit to China on May 16-17 signals", date(2024, 5, 23), "2024-05-16"),
        ("visit to China on May 16-17 signals", None, None),
        ("hosted them in Ottawa last Friday for", date(2024, 11, 4), "2024-11-01"),
        ("last Friday", None, None),
        ("the test launch on the 31st of last month", date(2024, 11, 2), "2024-10-31"),
        ("held the ’1st Korea-Canada meeting", date(2024, 11, 2), None),
        ("the Vostok exercises in 2018, which", None, "2018"),
        ("the realities of the 21st century.", date(2024, 5, 23), None),
        ("for the 3rd time", date(2024, 5, 23), None),
        ("Last month, there was", date(2019, 8, 28), "2019-07"),
        ("in December, officials", date(2024, 2, 1), "2023-12"),
    ],
)
def test_find_date(phrase: str, published: date | None, expected: str | None) -> None:
    assert find_date(phrase, published) == expected


def test_content_words_drop_stopwords_and_fold_plurals() -> None:
    assert content_words("The troops and the missiles of Russia’s army") == ["troop", "missile", "russia", "army"]
