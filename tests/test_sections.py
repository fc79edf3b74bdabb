"""The shape of the LLM synthesis: routing notes to sections, stable source groups, the timeline without a model."""

from __future__ import annotations

import random

import pytest

from briefing.config import load_settings
from briefing.engines.llm import sections
from briefing.engines.llm.engine import LLMEngine
from briefing.errors import EngineError
from briefing.models import Claim, Evidence, FocusQuestion, Source, SourceSummary


def src(i: int, path: str | None = None, text: str = "Some text. More text.") -> Source:
    return Source(id=i, path=path or f"in/{i:04d}.txt", text=text, sha256=f"{i:064x}", tokens=10)


def item(i: int, tokens: int = 100) -> sections.SourceNotes:
    s = src(i)
    return sections.SourceNotes(s, [sections.Note(f"{i}.1", "a note", [i], [])], tokens, sections.position(s))


def leaf_sets(tree: sections.Group) -> list[frozenset[int]]:
    return [frozenset(x.source.id for x in g.sources) for g in tree.leaves()]


def test_parts_fit_the_budget_and_one_new_source_changes_one_part() -> None:
    items = [item(i) for i in range(1, 201)]
    tree = sections.split(items, 1000)
    before = leaf_sets(tree)
    assert all(sum(x.tokens for x in g.sources) <= 1000 for g in tree.leaves())
    assert sorted(i for s in before for i in s) == list(range(1, 201))  # every source in exactly one part
    after = leaf_sets(sections.split(items + [item(201)], 1000))
    changed = [s for s in after if s not in before]
    assert 1 <= len(changed) <= 2 and all(201 in s or s < next(b for b in before if s <= b) for s in changed)
    assert len([s for s in before if s not in after]) == 1  # only the part the new source fell in
    shuffled = items[:]
    random.Random(1).shuffle(shuffled)
    assert leaf_sets(sections.split(shuffled, 1000)) == before  # the order sources come in does not matter


def test_a_source_over_the_budget_is_cut_into_pieces() -> None:
    s = src(1)
    notes = [sections.Note(f"1.{k}", "word " * 40, [1], []) for k in range(1, 31)]
    one = sections.SourceNotes(s, notes, sum(sections.note_tokens(n.text, [1]) for n in notes) + 10, 0)
    tree = sections.split([one], 500)
    assert len(tree.leaves()) > 1 and all(g.sources[0].tokens <= 500 for g in tree.leaves())
    assert [n.id for g in tree.leaves() for n in g.sources[0].notes] == [n.id for n in notes]


def test_router_prefers_the_model_tags_then_keywords() -> None:
    qs = [FocusQuestion("mil", "Military", "?", ["troops", "missile", "Kursk"]),
          FocusQuestion("cn", "China", "?", ["China", "Beijing", "Sino-Russian"]),
          FocusQuestion("kr", "Korea", "?", ["South Korea", "대화"])]
    r = sections.Router(qs)
    assert r.tagged(["cn", "unknown", "mil"]) == ["mil", "cn"]
    assert r.by_keywords("Troops and a missile were sent to Kursk via Beijing.") == ["mil"]
    assert r.by_keywords("Beijing watched the Sino-Russian talks with South Korea.") == ["cn"]
    assert r.by_keywords("양국은 대화를 시작했다") == ["kr"]  # a Korean keyword with a particle glued on
    assert r.by_keywords("Nothing relevant here.") == []


def test_timeline_merges_duplicate_events_and_orders_by_date() -> None:
    sources = [src(1), src(2), src(3, text="Autre texte.")]
    sources[2].language = "fr"

    def ev(sid: int, date: str, text: str, translation: str | None = None) -> Claim:
        return Claim(text, [sid], [Evidence(sid, text, None, [1], translation)], date=date)

    summaries = [SourceSummary(1, [], "news report", events=[ev(1, "2024-10", "Troops were sent to Kursk."),
                                                            ev(1, "2019", "A summit was held.")]),
                 SourceSummary(2, [], "news report", events=[ev(2, "2024-10", "Troops were sent to Kursk!")]),
                 SourceSummary(3, [], "news report", events=[ev(3, "2023", "Des troupes.", "Troops moved.")])]
    router = sections.Router([FocusQuestion("mil", "Military", "?", ["troops"])])
    tl = sections.timeline(sources, summaries, router, "en", limit=10)
    assert [c.date for c in tl] == ["2019", "2023", "2024-10"]
    assert tl[2].source_ids == [1, 2] and len(tl[2].evidence) == 2  # one event, reported twice: cited twice
    assert tl[1].text == "Troops moved." and tl[1].language is None  # a French source's rendering
    assert [c.date for c in sections.timeline(sources, summaries, router, "en", limit=2)] == ["2023", "2024-10"]


def test_a_window_where_sections_cannot_be_merged_is_refused_before_any_request() -> None:
    settings = load_settings(None, {"llm.base_url": "http://127.0.0.1:9/v1", "llm.context_window": 2600,
                                    "llm.max_output_tokens": 1000}, environ={}, dotenv_path=None)
    engine = LLMEngine(settings)
    with pytest.raises(EngineError, match="synthesis cannot fit: merging two section parts"):
        engine.chunk_budget()  # the first thing a run (and --dry-run) asks of the engine
