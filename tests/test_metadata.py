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


@pytest.mark.parametrize(
    ("line", "iso"),
    [
        ("입력 2024.11.02 09:15", "2024-11-02"),
        ("송고2024-11-01 17:32", "2024-11-01"),
        ("기사입력 2024년 11월 2일 오전 9시", "2024-11-02"),
        ("2024年11月2日 6時12分", "2024-11-02"),
        ("发布时间：2024/11/02 09:15", "2024-11-02"),
        ("2 ноября 2024, 08:40", "2024-11-02"),
        ("Publié le 2 novembre 2024 à 14 h 05", "2024-11-02"),
        ("1er novembre 2024", "2024-11-01"),
        ("Stand: 2. November 2024", "2024-11-02"),
        ("2 de noviembre de 2024", "2024-11-02"),
        ("2024.13.02", None),
        ("version 2.11.3", None),
        ("no date here", None),
    ],
)
def test_find_date_in_line(line: str, iso: str | None) -> None:
    from briefing.ingest.metadata import find_date_in_line

    assert find_date_in_line(line) == iso


def _dump(header: list[str], body: list[str]) -> str:
    return "\n".join(["Home", "News", "World", "Sport", "Culture", *header, *body, "Related", "Cookie policy"])


def test_cjk_bylines_from_header_and_dateline() -> None:
    ko = _dump(["북한 외무상 모스크바 방문", "입력 2024.11.02 09:15", "이영희 특파원"],
               ["(모스크바=연합뉴스) 이영희 특파원 = 북한 최선희 외무상이 1일 모스크바에서 "
                "러시아 외무장관과 회담을 열고 양국 협력을 논의했다.",
                "러시아 외무부는 두 장관이 지난 6월 체결된 포괄적 전략 동반자 조약의 이행 상황을 점검했다고 밝혔다.",
                "라브로프 장관은 회담 모두발언에서 양국 관계가 새로운 단계에 들어섰다고 말했다.",
                "한국과 미국 등은 북한군의 러시아 파병에 대해 강한 우려를 표명하고 있다."])
    d = clean_document(RawDoc("ko.txt", ko, "h"))
    assert d.authors == ["이영희"] and d.published == "2024-11-02" and d.language == "ko"
    zh = _dump(["中俄外长举行会谈", "2024-11-02 09:15 来源：新华网"],
               ["新华社莫斯科11月1日电（记者 张伟）俄罗斯外长拉夫罗夫1日在莫斯科同朝鲜外务相"
                "崔善姬举行会谈，双方就双边关系交换了意见。",
                "拉夫罗夫表示，俄方愿同朝方继续加强在国际事务中的协调与配合，共同维护地区和平与稳定。",
                "崔善姬说，朝方高度评价两国关系的发展势头，愿同俄方一道落实两国领导人达成的共识。"])
    d = clean_document(RawDoc("zh.txt", zh, "h"))
    assert d.authors == ["张伟"] and d.published == "2024-11-02" and d.title == "中俄外长举行会谈"


def test_title_never_from_cookie_or_licence_text() -> None:
    text = "\n".join([
        "Home", "News", "World", "Sport",
        "This site uses cookies to improve your experience",
        "Content licensed under Creative Commons BY-SA 4.0",
        *["The council voted on Tuesday to extend the ferry service to the northern islands for another year."] * 4,
    ])
    d = clean_document(RawDoc("x.txt", text, "h"))
    assert d.title is None


def test_french_and_russian_bylines() -> None:
    from briefing.ingest.metadata import split_authors

    assert split_authors("Иван Петров") == ["Иван Петров"]
    assert split_authors("Julie Tremblay et Marc Côté".replace(" et ", " and ")) == ["Julie Tremblay", "Marc Côté"]


def test_headlines_about_cookies_privacy_or_subscribers_are_still_titles() -> None:
    body = [
        "The regulator said on Monday that the company had broken the rules on how it tracks visitors to its sites.",
        "The company said it would appeal against the decision and that it had always respected the law in Europe.",
        "Analysts said the fine was small compared with the revenue of the group but that the ruling set a precedent.",
    ]
    for title in ("Netflix subscribers fall for the first time in a decade",
                  "Meta fined 1.2 billion euros over privacy breach", "BBC licence fee to rise by 6.7%"):
        d = clean_document(RawDoc("x.txt", "\n".join(["Home", "News", "Tech", "Money", title, *body]), "h"))
        assert d.title == title
