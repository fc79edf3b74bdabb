"""Property tests: cleaner, chunker, verifier and renderer never raise anything but BriefingError on arbitrary input."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from briefing.chunk import chunk_text
from briefing.ingest.clean import clean_documents
from briefing.ingest.decode import decode_bytes
from briefing.messages import load as load_messages
from briefing.models import Claim, Evidence, RawDoc, Source
from briefing.render import md_escape, render_brief
from briefing.templates import search_path
from briefing.verify.claims import verify_claim

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# text with the characters that matter to Markdown, HTML, citations and the cleaner's line logic
NASTY = st.text(alphabet=st.sampled_from(list("ab Z19.,:;!?\n\t#*_[]()<>`|~\\&!-+=\"'/✓⚠") + ["\u200b", "\ufeff",
                                                                                            "\u2028", "é", "한"]),
                max_size=300)
TEXT = st.one_of(st.text(max_size=400), NASTY)


def _raw(text: str, is_html: bool) -> RawDoc:
    return RawDoc("fuzz.txt", text, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), "utf-8", is_html)


@FUZZ
@given(texts=st.lists(TEXT, min_size=1, max_size=3), is_html=st.booleans())
def test_cleaner_never_crashes(texts: list[str], is_html: bool) -> None:
    docs = clean_documents([_raw(t, is_html) for t in texts])
    assert [d.path for d in docs] == ["fuzz.txt"] * len(texts)
    for d in docs:
        assert isinstance(d.text, str)
        assert "cleaner_failed" not in d.flags and "cross_file_check_failed" not in d.flags  # no hidden crash


@FUZZ
@given(data=st.binary(max_size=600))
def test_decoder_and_cleaner_on_arbitrary_bytes(data: bytes) -> None:
    decoded = decode_bytes(data)
    if decoded is None:
        return
    text, _ = decoded
    assert "\r" not in text and not text.startswith("\ufeff")  # line endings and BOM normalised
    (doc,) = clean_documents([_raw(text, False)])
    assert "cleaner_failed" not in doc.flags


@FUZZ
@given(text=TEXT, budget=st.integers(min_value=4, max_value=60))
def test_chunker_respects_budget_and_offsets(text: str, budget: int) -> None:
    chunks = chunk_text(text, budget)
    for c in chunks:
        assert c.tokens <= budget
        assert text[c.start:c.end] == c.text
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    assert "".join("".join(c.text.split()) for c in chunks) == "".join(text.split())  # nothing lost or repeated


@st.composite
def claims_and_sources(draw: st.DrawFn) -> tuple[Claim, dict[int, Source]]:
    texts = draw(st.lists(TEXT, min_size=0, max_size=3))
    sources = {i + 1: Source(id=i + 1, path=f"s{i}.txt", text=t, sha256="0" * 64, tokens=len(t))
               for i, t in enumerate(texts)}
    ids = draw(st.lists(st.integers(min_value=-2, max_value=5), max_size=3))
    quotes = []
    for _ in range(draw(st.integers(0, 3))):
        sid = draw(st.integers(min_value=-1, max_value=5))
        src = sources.get(sid)
        if src and src.text and draw(st.booleans()):  # a real substring, sometimes
            a = draw(st.integers(0, len(src.text) - 1))
            quotes.append(Evidence(sid, src.text[a:a + draw(st.integers(1, 200))]))
        else:
            quotes.append(Evidence(sid, draw(TEXT)))
    return Claim(draw(TEXT), ids, quotes), sources


@FUZZ
@given(case=claims_and_sources())
def test_verifier_never_crashes_and_always_decides(case: tuple[Claim, dict[int, Source]]) -> None:
    claim, sources = case
    out = verify_claim(claim, sources)
    assert out.verified is (not out.problems)
    assert not any(p.startswith("could not be checked") for p in out.problems), out.problems  # no hidden crash
    if not claim.source_ids or any(i not in sources for i in claim.source_ids):
        assert out.verified is False and out.problems


@FUZZ
@given(text=TEXT)
def test_md_escape_is_inert(text: str) -> None:
    s = md_escape(text)
    assert "\n" not in s
    assert not re.search(r"(?<!\\)<[A-Za-z/!?]", s)
    assert not re.search(r"(?<!\\)\]\(", s) and not re.search(r"(?<!\\)!\[", s)
    assert not re.match(r"\s*(#|>|[-+*=]\s|\d+[.)])", s)


TEMPLATE = Path(__file__).parent.parent / "prompts" / "brief.md.j2"
THEMES = ["Military cooperation", "China's role"]
TITLE = "Fuzz brief"
IMPLICATIONS = "Implications for Canada and South Korea"


def _heading_lines() -> set[str]:
    """The template's fixed headings, with headings from the message catalogue ({{ t.KEY }}) filled in."""
    t = load_messages(search_path(None), "en")
    out = set()
    for line in TEMPLATE.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"\{\{ t\.(\w+) \}\}", lambda m: str(t[m.group(1)]), line)
        if line.startswith("#") and "{{" not in line:
            out.add(line.rstrip())
    return out | {f"# {TITLE}", f"## {IMPLICATIONS}"} | {f"### {md_escape(t)}" for t in THEMES}


HEADINGS = _heading_lines()


def _claim(text: str, date: str | None, verified: bool, problem: str) -> Claim:
    return Claim(text, [1], [Evidence(1, text)], confidence="moderate", reason=problem, date=date,
                 verified=verified, problems=[] if verified else [problem])


@FUZZ
# an escaped backtick (a date of "`") before a code span on the same line: CommonMark opens no span at "\`"
@example(texts=[""], title="", path="0<?", author="", dates=["`", None, None, None, None, None], flags=[False] * 6)
@given(texts=st.lists(TEXT, min_size=1, max_size=6), title=TEXT, path=TEXT, author=TEXT,
       dates=st.lists(st.one_of(st.none(), TEXT), min_size=6, max_size=6), flags=st.lists(st.booleans(), min_size=6,
                                                                                          max_size=6))
def test_full_brief_render_is_inert(texts: list[str], title: str, path: str, author: str, dates: list[str | None],
                                    flags: list[bool]) -> None:
    claims = [_claim(t, dates[i % 6], flags[i % 6], t[::-1]) for i, t in enumerate(texts)]
    src: dict[str, Any] = {"id": 1, "path": path, "title": title, "authors": [author], "publisher": author,
                           "original_publisher": title, "published": dates[0], "url": None, "flags": [],
                           "same_event_as": [], "sha256": "0" * 64, "tokens": 1, "language": "en"}
    context: dict[str, Any] = {
        "title": TITLE, "audience": "analysts", "generated_at": "2024-01-01T00:00:00Z", "engine": "llm",
        "model": "m", "offline": False, "coverage": {"n_sources": 1, "date_from": None, "date_to": None},
        "bluf": claims, "judgments": claims, "themes": [{"key": f"k{i}", "title": t, "claims": claims,
                                                         "question": "q"} for i, t in enumerate(THEMES)],
        "timeline": claims, "implications": claims, "indicators": claims, "implications_heading": IMPLICATIONS,
        "summaries": [{"source": src, "stance": "news report", "claims": claims}], "sources": [src],
        "unverified": [c for c in claims if not c.verified],
        "method": {"requests": 1, "prompt_tokens": 1, "completion_tokens": 1, "cost_usd": 0.0, "verified": 0,
                   "total_claims": len(claims), "policy": "flag", "flagged_sources": [], "skipped": texts},
        "changes": {"previous": "x", "added": [path], "removed": [path], "updated": [path],
                    "judgments_added": texts, "judgments_removed": texts},
        "attribution": lambda c: "",
    }
    md = render_brief(context, search_path(None))  # must render: a template that always failed would fail here
    assert md.startswith(f"# {TITLE}\n")
    outside_code = re.sub(r"(?<!\\)`[^`\n]*`", "", md)
    assert not re.search(r"(?<!\\)<[A-Za-z/!?]", outside_code)
    assert not re.search(r"(?<!\\)\]\(", outside_code)
    for line in md.splitlines():
        if line.lstrip().startswith("#"):
            assert line.rstrip() in HEADINGS, line
