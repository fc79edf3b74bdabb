"""Offline run on the seeds plus a Korean report of the Canada–South Korea 2+2 meeting: the Korean article is cleaned,
cited verbatim in the relevant themes, verified, marked as Korean, and grouped with the English reports of the event."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from briefing.config import load_settings
from briefing.pipeline import Reporter, RunResult, run

ROOT = Path(__file__).parent.parent
KOREAN = Path(__file__).parent / "fixtures" / "korean" / "hanbit_2plus2.txt"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def brief(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    tmp = tmp_path_factory.mktemp("korean")
    folder = tmp / "in"
    folder.mkdir()
    for p in [*sorted((ROOT / "seeds").glob("*.txt")), KOREAN]:
        shutil.copy(p, folder / p.name)
    s = load_settings(None, {"run.sources": [str(folder)], "run.out": str(tmp / "out"), "run.engine": "extractive"},
                      environ={}, dotenv_path=None)
    result = run(s, Reporter())
    assert isinstance(result, RunResult)
    return result


def _korean(result: RunResult) -> dict:  # type: ignore[type-arg]
    return next(s for s in result.data["sources"] if s["path"].endswith(KOREAN.name))


def test_korean_article_is_cleaned_with_its_metadata(brief: RunResult) -> None:
    src = _korean(brief)
    assert src["language"] == "ko"
    assert src["published"] == "2024-11-02"
    assert src["title"] and "2+2" in src["title"]
    text = (brief.run_dir / src["text_path"]).read_text(encoding="utf-8")
    assert "1만2천 명" in text and "2026년" in text
    assert "많이 본 뉴스" not in text and "무단 전재" not in text and "회사소개" not in text


def test_korean_article_is_cited_verified_and_marked(brief: RunResult) -> None:
    ko = _korean(brief)["id"]
    themes = {c["section"] for c in brief.data["claims"] if ko in c["source_ids"] and c["section"].startswith("theme:")}
    assert themes & {"theme:military_cooperation", "theme:canada_korea_response"}, themes
    citing = [c for c in brief.data["claims"] if ko in c["source_ids"]]
    assert citing and all(c["verified"] for c in citing)
    assert all(HANGUL.search(c["text"]) for c in citing)  # quoted verbatim, in Korean
    md = brief.brief_md.read_text(encoding="utf-8")
    marked = [line for line in md.splitlines() if f"[{ko}]" in line and HANGUL.search(line)]
    assert marked and all("(Korean)" in line for line in marked if line.startswith("- "))


def test_korean_report_is_grouped_with_the_english_reports_of_the_meeting(brief: RunResult) -> None:
    by_path = {Path(s["path"]).name[:3]: s for s in brief.data["sources"]}
    ko = _korean(brief)
    english_2plus2 = {by_path["003"]["id"], by_path["004"]["id"]}
    assert set(ko["same_event_as"]) & english_2plus2
    others = {by_path[k]["id"] for k in ("000", "001", "002")}
    assert not set(ko["same_event_as"]) & others
