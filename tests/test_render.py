"""Rendering: escaping of untrusted text, citations, references, and the golden brief of the seeds."""

import os
import re
from pathlib import Path

import pytest

from briefing.config import load_settings
from briefing.pipeline import Reporter, RunResult, run
from briefing.render import cite, md_escape, reference

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden" / "seeds_brief.md"


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "![x](http://evil.example/pixel.png)",
        "[click](http://evil.example)",
        "# Fake heading",
        "Claim. [2] (verified)",
        "line one\n## injected section\n- item",
        "<img src=x onerror=alert(1)>",
        "**bold** _it_ `code` | table |",
    ],
)
def test_md_escape_makes_text_inert(hostile: str) -> None:
    out = md_escape(hostile)
    assert "\n" not in out
    assert "<" not in out.replace("\\<", "")
    assert not re.search(r"(?<!\\)\[", out)  # no link, image or forged [n] marker survives
    assert not out.lstrip().startswith("#")
    assert "**" not in out.replace("\\*", "")


def test_cite_sorts_and_dedupes() -> None:
    assert cite([3, 1, 3]) == "[1][3]"


def test_reference_says_unknown_and_original_outlet() -> None:
    ref = reference({"id": 1, "authors": [], "title": None, "publisher": None, "original_publisher": None,
                     "published": None, "path": "a.txt"})
    assert ref == 'Unknown author. "Untitled." unknown outlet, date unknown. `a.txt`'
    ref = reference({"id": 2, "authors": ["A B", "C D"], "title": "T", "publisher": "MLI",
                     "original_publisher": "The Globe", "published": "2024-01-02", "path": "b.txt"})
    assert ref == 'A B, C D. "T." MLI (originally in The Globe), 2024-01-02. `b.txt`'


def normalise(md: str) -> str:
    md = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<GENERATED>", md)
    return md.replace(str(ROOT / "seeds"), "seeds")


def test_golden_seeds_brief(tmp_path: Path) -> None:
    settings = load_settings(None, {"run.sources": [str(ROOT / "seeds")], "run.out": str(tmp_path),
                                    "run.engine": "extractive"}, environ={}, dotenv_path=None)
    result = run(settings, Reporter())
    assert isinstance(result, RunResult)
    got = normalise(result.brief_md.read_text(encoding="utf-8"))
    if os.environ.get("BRIEFING_UPDATE_GOLDEN"):
        GOLDEN.write_text(got, encoding="utf-8")
    assert got == GOLDEN.read_text(encoding="utf-8"), "set BRIEFING_UPDATE_GOLDEN=1 to accept an intended change"


def test_implications_heading_and_terms_come_from_the_profile() -> None:
    from briefing.config import Settings
    from briefing.messages import load as load_messages
    from briefing.render import implications_heading
    from briefing.templates import search_path

    en, ko = (load_messages(search_path(None), lang) for lang in ("en", "ko"))
    assert implications_heading(["Canada", "South Korea"], en) == "Implications for Canada and South Korea"
    assert implications_heading(["Japan"], en) == "Implications for Japan"
    assert implications_heading(["Japan", "Australia", "India"], en) == "Implications for Japan, Australia and India"
    assert implications_heading([], en) == "Implications"
    assert implications_heading(["일본"], ko) == "일본에 대한 시사점"
    default = Settings().profile
    assert default.implication_terms() == ["Canada", "South Korea", "Canadian", "Ottawa", "Seoul"]
    japan = Settings.model_validate({"profile": {"implications_for": ["Japan"]}}).profile
    assert japan.implication_terms() == ["Japan"]
    tokyo = Settings.model_validate({"profile": {"implications_for": ["Japan"],
                                                 "implications_keywords": ["Tokyo"]}}).profile
    assert tokyo.implication_terms() == ["Japan", "Tokyo"]


def test_implications_heading_reaches_the_brief(tmp_path: Path) -> None:
    settings = load_settings(None, {"run.sources": [str(ROOT / "seeds")], "run.out": str(tmp_path),
                                    "run.engine": "extractive", "profile.implications_for": ["Japan"]},
                             environ={}, dotenv_path=None)
    result = run(settings, Reporter())
    assert isinstance(result, RunResult)
    md = result.brief_md.read_text(encoding="utf-8")
    assert "\n## Implications for Japan\n" in md and "Implications for Canada and South Korea" not in md
