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
