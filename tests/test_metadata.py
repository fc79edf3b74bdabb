"""Tests for metadata extraction: seeds, republication notes, dates (absolute, partial, relative), unknowns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from briefing.ingest.clean import clean_document, clean_documents
from briefing.ingest.metadata import parse_date, split_authors
from briefing.ingest.sources import load_raw
from briefing.models import CleanedDoc, RawDoc

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="module")
def docs() -> dict[str, CleanedDoc]:
    raws, _ = load_raw([str(SEEDS)])
    return {Path(d.path).name[:3]: d for d in clean_documents(raws)}


def test_seed_000(docs: dict[str, CleanedDoc]) -> None:
    d = docs["000"]
    assert d.title and d.title.startswith("Putin and Kim")
    assert d.authors == ["Aurel Braun"]
    assert d.published == "2023-09-13"
    assert d.original_publisher == "The Globe and Mail"
    assert d.publisher == "Macdonald-Laurier Institute"
    assert d.language == "en"
    assert d.url is None


def test_seed_001(docs: dict[str, CleanedDoc]) -> None:
    d = docs["001"]
    assert d.title and d.title.startswith("Russia and China’s Strategic Marriage of Convenience")
    assert d.authors == ["J. Berkshire Miller", "Benoit Hardy-Chartrand"]
    assert d.published == "2019-08-28"
    assert d.original_publisher == "The National Interest"


def test_seed_002(docs: dict[str, CleanedDoc]) -> None:
    d = docs["002"]
    assert d.published == "2024-05-23"
    assert d.authors == []
    assert d.title is None  # the dump has no headline: nothing is invented
    assert d.original_publisher == "Macdonald-Laurier Institute"


def test_seed_003_004_unknown_dates_stay_unknown(docs: dict[str, CleanedDoc]) -> None:
    assert docs["003"].title == "Joly, Blair Host South Korean Counterparts for Defence Talks"
    assert docs["003"].published is None  # "last Friday" with no known date
    assert docs["004"].published is None
    assert docs["003"].authors == [] and docs["004"].authors == []
    assert docs["004"].language == "en"


def test_source_line_and_copyright_and_url() -> None:
    text = (
        "https://example.org/news/2021/heatwave\n\n"
        "Heatwave grips southern Europe as temperatures pass 45C\n\n"
        "By Maria Rossi and Tom O'Neil | 3 July 2021\n\n"
        + "Temperatures in southern Spain and Italy passed 45C on Friday, and the authorities warned that the heat "
        "would last into next week as hospitals prepared for more patients with heat stroke.\n\n" * 3
        + "Source: The Guardian\n\n© 2021 Example News Ltd. All rights reserved.\n"
    )
    d = clean_document(RawDoc("x.txt", text, "h"))
    assert d.authors == ["Maria Rossi", "Tom O'Neil"]
    assert d.published == "2021-07-03"
    assert d.original_publisher == "The Guardian"
    assert d.publisher == "Example News"
    assert d.url == "https://example.org/news/2021/heatwave"
    assert d.title == "Heatwave grips southern Europe as temperatures pass 45C"


def test_no_byline_no_authors() -> None:
    text = "The committee met on Tuesday. " * 20
    d = clean_document(RawDoc("x.txt", text, "h"))
    assert d.authors == [] and d.published is None and d.publisher is None and d.original_publisher is None


@pytest.mark.parametrize(
    ("expr", "ref", "iso"),
    [
        ("September 13, 2023", None, "2023-09-13"),
        ("Sept. 13, 2023", None, "2023-09-13"),
        ("13 September 2023", None, "2023-09-13"),
        ("Friday, May 23, 2025", None, "2025-05-23"),
        ("2019-08-28", None, "2019-08-28"),
        ("May 16-17", dt.date(2024, 5, 23), "2024-05-16"),
        ("May 16-17", None, None),
        ("December 30", dt.date(2024, 1, 5), "2023-12-30"),
        ("last Friday", dt.date(2024, 11, 6), "2024-11-01"),
        ("last Friday", None, None),
        ("yesterday", dt.date(2024, 3, 1), "2024-02-29"),
        ("next Monday", dt.date(2024, 11, 6), "2024-11-11"),
        ("February 30, 2023", None, None),
        ("not a date", None, None),
    ],
)
def test_parse_date(expr: str, ref: dt.date | None, iso: str | None) -> None:
    assert parse_date(expr, ref) == iso


def test_split_authors_rejects_non_names() -> None:
    expected = ["J. Berkshire Miller", "Benoit Hardy-Chartrand"]
    assert split_authors("J. Berkshire Miller and Benoit Hardy-Chartrand") == expected
    assert split_authors("continuing to browse you agree") == []
    assert split_authors("Anna Kowalski, Europe correspondent") == ["Anna Kowalski"]


def test_html_metadata() -> None:
    raws, _ = load_raw([str(Path(__file__).parent / "fixtures" / "html" / "article.html")])
    d = clean_documents(raws)[0]
    assert d.authors == ["Lena Ortiz"]
    assert d.publisher == "Harbour Herald"
    assert d.language == "en"
