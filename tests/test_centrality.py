"""Offline engine across sources: centrality, corroboration by independent sources, datelines, languages."""

from __future__ import annotations

from pathlib import Path

from briefing.config import load_settings
from briefing.engines.centrality import centrality, similarity
from briefing.engines.extractive import ExtractiveEngine, _after_dateline
from briefing.models import Profile, Source
from briefing.verify.claims import verify_claims

ROOT = Path(__file__).resolve().parent.parent
GENERIC = ROOT / "profiles" / "generic.toml"

FILLER = [
    "The weather in the region was mild for the season, with light winds along the coast in the afternoon.",
    "Local markets opened as usual in the morning and traders reported steady business throughout the day.",
    "A new library branch is scheduled to open in the northern district after several years of planning.",
    "Residents gathered in the central square for an annual music festival that drew large crowds.",
]


def _src(i: int, paras: list[str], same_event_as: list[int] | None = None, language: str = "en") -> Source:
    text = "\n\n".join(paras)
    return Source(id=i, path=f"s{i}.txt", text=text, sha256=f"{i:064x}", tokens=len(text.split()),
                  language=language, same_event_as=list(same_event_as or []))


def _engine() -> ExtractiveEngine:
    return ExtractiveEngine(load_settings(None, {}, environ={}, dotenv_path=None))


def _generic() -> Profile:
    return load_settings(GENERIC, {}, environ={}, dotenv_path=None).to_profile()


# One fact every outlet reports in its own words, and one story a single article repeats three times.
CORROBORATED = [
    "The dam on the Sava river burst on Monday night and flooded four villages downstream of the reservoir.",
    "Four villages were flooded after the Sava river dam burst late on Monday, officials confirmed.",
    "Officials said the burst of the Sava dam on Monday flooded four villages near the reservoir.",
]
REPEATED = [
    "The mayor's cousin opened a bakery selling rye bread with caraway seeds near the station.",
    "The bakery of the mayor's cousin sells rye bread with caraway seeds near the station.",
    "Rye bread with caraway seeds is what the bakery of the mayor's cousin near the station sells.",
]


def _corpus() -> list[Source]:
    return [
        _src(1, [REPEATED[0], FILLER[0], REPEATED[1], CORROBORATED[0], REPEATED[2], FILLER[1]]),
        _src(2, [FILLER[2], CORROBORATED[1], FILLER[3]]),
        _src(3, [FILLER[1].replace("morning", "evening"), CORROBORATED[2], FILLER[0].replace("mild", "cold")]),
    ]


def test_agreement_across_independent_sources_beats_repetition_inside_one_article() -> None:
    eng = _engine()
    eng._index(_corpus())
    score = {s.text: eng._graph.score[s.idx] for s in eng._all}
    agree = {s.text: eng._graph.agree[s.idx] for s in eng._all}
    assert min(score[t] for t in CORROBORATED) > max(score[t] for t in REPEATED)
    assert all(agree[t] == 2 for t in CORROBORATED)  # each is matched by the two other sources
    assert all(agree[t] == 0 for t in REPEATED)  # repetition inside one article is not agreement


def test_bluf_states_the_corroborated_fact_and_cites_the_sources_that_agree() -> None:
    eng = _engine()
    sources = _corpus()
    synthesis = eng.synthesize(sources, eng.summarize(sources, {}, _generic()), _generic())
    first = synthesis.bluf[0]
    assert first.text in CORROBORATED
    assert sorted(first.source_ids) == [1, 2, 3]  # the quoted source and both independent sources agreeing
    assert len(first.evidence) == 3 and all(e.quote in CORROBORATED for e in first.evidence)
    by_id = {s.id: s for s in sources}
    claims = synthesis.bluf + synthesis.judgments + [c for t in synthesis.themes for c in t.claims]
    assert verify_claims(claims, by_id) == (len(claims), len(claims))


def test_near_duplicate_reports_count_once() -> None:
    copy = CORROBORATED[1].replace("officials confirmed", "authorities confirmed")
    independent = _corpus()
    eng = _engine()
    eng._index(independent)
    fact = next(s for s in eng._all if s.text == CORROBORATED[0])
    assert eng._graph.agree[fact.idx] == 2
    # Source 3 is now a copy of source 2's wire story (same event group): together they count as one.
    dup = independent[:2] + [_src(3, [FILLER[2], copy, FILLER[3]], same_event_as=[2])]
    dup[1].same_event_as = [3]
    eng = _engine()
    eng._index(dup)
    fact = next(s for s in eng._all if s.text == CORROBORATED[0])
    assert eng._graph.agree[fact.idx] == 1


def test_key_judgment_prefers_corroborated_statement_and_says_who_agrees() -> None:
    eng = _engine()
    sources = _corpus()
    profile = _generic()
    synthesis = eng.synthesize(sources, [], profile)
    corroborated = [j for j in synthesis.judgments if len(j.source_ids) > 1]
    for j in corroborated:
        others = ", ".join(f"[{i}]" for i in j.source_ids[1:])
        assert others in (j.reason or "") and "independent" in (j.reason or "")
        assert j.confidence == ("high" if len(j.source_ids) >= 3 else "moderate")
    singles = [j for j in synthesis.judgments if len(j.source_ids) == 1]
    assert all(j.confidence == "low" and "not corroborated" in (j.reason or "") for j in singles)


def test_languages_are_ranked_separately() -> None:
    ko = _src(4, ["북한은 월요일 러시아에 병력을 추가로 파견했다고 국방부가 밝혔다.",
                  "국방부는 북한군 약 3000명이 러시아 쿠르스크 지역에 도착했다고 말했다.",
                  "정부는 이번 파병이 유엔 안보리 결의 위반이라고 규탄했다."], language="ko")
    alone = _engine()
    alone._index([ko])
    mixed = _engine()
    mixed._index([*_corpus(), ko])
    assert {s.lang for s in mixed._all} == {"en", "ko"}

    def korean(eng: ExtractiveEngine) -> list[float]:
        return [eng._graph.score[s.idx] for s in eng._all if s.source_id == 4]

    assert len(korean(mixed)) == 3
    # Korean sentences keep their own ranking; a language with fewer sources weighs less than the main one.
    order = sorted(range(3), key=lambda i: korean(alone)[i])
    assert sorted(range(3), key=lambda i: korean(mixed)[i]) == order
    assert max(korean(mixed)) < 1.0 == max(mixed._graph.score)


def test_korean_keywords_match_words_with_particles() -> None:
    from briefing.engines.extractive import index_terms

    assert index_terms("북한이 러시아에 병력을 파견했다.")[:3] == ["북한", "러시아", "병력"]
    assert "중국" in index_terms("中国和俄罗斯") or "中国" in index_terms("中国和俄罗斯")
    assert index_terms("Les ministres ont condamné le déploiement.") == ["ministre", "condamné", "déploiement"]


def test_similarity_matrix_is_cosine() -> None:
    vecs = [{"a": 0.6, "b": 0.8}, {"a": 1.0}, {"c": 1.0}]
    sim = similarity(vecs)
    assert abs(sim[0, 1] - 0.6) < 1e-6 and sim[0, 2] == 0 and sim[0, 0] == 0
    res = centrality(vecs, [1, 2, 3], ["en"] * 3, [1.0, 1.0, 1.0])
    assert max(res.score) == 1.0 and res.score[2] < res.score[0]


def test_empty_corpus() -> None:
    res = centrality([], [], [], [])
    assert res.score == [] and res.agree == []


def test_dateline_is_not_quoted() -> None:
    assert _after_dateline("MANILA, March 4 (Wire) - At least 112 people died.") == len("MANILA, March 4 (Wire) - ")
    assert _after_dateline("Manila, March 4 (Wire) - At least 112 people died.") == len("Manila, March 4 (Wire) - ")
    assert _after_dateline("OTTAWA — The Government of Canada announced sanctions.") == len("OTTAWA — ")
    assert _after_dateline("CALAPAN, Philippines - Maria Dela Cruz has not left.") == len("CALAPAN, Philippines - ")
    assert _after_dateline("NAIROBI, Kenya (AP) _ Two men were charged.") == len("NAIROBI, Kenya (AP) _ ")
    assert _after_dateline("Ferry owner - a family firm - denied it.") == 0
    one_line = "Ferry capsizes off Mindoro, 112 dead MANILA, March 4 (AP) _ At least 112 people died."
    assert one_line[_after_dateline(one_line):] == "At least 112 people died."
    one_line = "Bombing suspects charged NAIROBI, Kenya — Two men were charged on Friday."
    assert one_line[_after_dateline(one_line):] == "Two men were charged on Friday."
    assert _after_dateline("Officials from NATO - and the EU - met on Friday in Brussels.") == 0
    assert _after_dateline("The minister said on Monday - again - that it was over.") == 0
    ko = "(오타와=한빛뉴스) 김민수 특파원 = 한국과 캐나다가 1일 첫 회의를 열었다."
    assert ko[_after_dateline(ko):].startswith("한국과")
    src = _src(1, ["SEOUL, Oct 28 (Wire) - South Korea's defence ministry said on Monday that North Korea has sent "
                   "more than 9,000 containers of munitions to Russia since August 2023."])
    eng = _engine()
    eng._index([src])
    (s,) = eng._all
    assert s.text.startswith("South Korea's defence ministry") and src.text[s.start:s.end] == s.text


def test_mixed_language_folder_quotes_korean_verbatim_and_marks_it(tmp_path: Path) -> None:
    import json
    import shutil

    from briefing.pipeline import Reporter, RunResult, run

    folder = tmp_path / "in"
    folder.mkdir()
    for f in (ROOT / "seeds").glob("*.txt"):
        shutil.copy(f, folder / f.name)
    shutil.copy(ROOT / "tests" / "fixtures" / "korean" / "hanbit_2plus2.txt", folder / "hanbit_2plus2.txt")
    settings = load_settings(None, {"run.sources": [str(folder)], "run.out": str(tmp_path / "out"),
                                    "run.engine": "extractive"}, environ={}, dotenv_path=None)
    result = run(settings, Reporter())
    assert isinstance(result, RunResult)
    data = json.loads(result.brief_json.read_text(encoding="utf-8"))
    ko_id = next(s["id"] for s in data["sources"] if s["path"].endswith("hanbit_2plus2.txt"))
    assert next(s["language"] for s in data["sources"] if s["id"] == ko_id) == "ko"
    texts = {s["id"]: (result.run_dir / s["text_path"]).read_text(encoding="utf-8") for s in data["sources"]}
    korean = [c for c in data["claims"] if c["source_ids"][:1] == [ko_id]]
    themes = {c["section"] for c in korean if c["section"].startswith("theme:")}
    assert {"theme:military_cooperation", "theme:canada_korea_response"} <= themes
    for c in korean:
        assert c["language"] == "ko" and c["verified"] is True
        assert c["text"] in texts[ko_id]  # verbatim, in the source language
    english = [c for c in data["claims"] if c["source_ids"][:1] != [ko_id]]
    assert all(c["language"] == "en" for c in english)
    md = result.brief_md.read_text(encoding="utf-8")
    for c in korean:
        assert f"{c['text']} (Korean) [" in md
    html = result.run_dir / "brief.html"
    if html.exists():  # the default formats include html
        page = html.read_text(encoding="utf-8")
        assert any(f"{c['text']} (Korean)</span>" in page for c in korean if '"' not in c["text"])
    assert data["verification"]["verified"] == data["verification"]["total"]


def test_a_theme_nothing_matches_renders_as_empty(tmp_path: Path) -> None:
    from briefing.pipeline import Reporter, RunResult, run

    questions = [{"key": "news", "title": "News", "question": "What happened?", "keywords": ["ferry"]},
                 {"key": "nothing", "title": "Nothing", "question": "Zyxwv?", "keywords": ["qwertzuiop"]}]
    settings = load_settings(None, {"run.sources": [str(ROOT / "tests" / "fixtures" / "articles")],
                                    "run.out": str(tmp_path / "out"), "run.engine": "extractive",
                                    "profile.focus_questions": questions}, environ={}, dotenv_path=None)
    result = run(settings, Reporter())
    assert isinstance(result, RunResult)
    md = result.brief_md.read_text(encoding="utf-8")
    section = md.split("### Nothing", 1)[1].split("##", 1)[0]
    assert section.strip().startswith("- ") and "[" not in section  # the "nothing found" line, no claim


def test_same_event_reports_by_different_outlets_are_independent_copies_are_not() -> None:
    from briefing.confidence import independent_groups

    docs = ROOT / "bench" / "data" / "clusters" / "ferry" / "docs"
    texts = [(docs / f"a{i}.txt").read_text(encoding="utf-8") for i in (1, 2, 3)]
    # The dedup stage links all three as reports of one event; a2 is a light rewrite of a1's wire story.
    srcs = [_src(i + 1, [t], same_event_as=[j + 1 for j in range(3) if j != i]) for i, t in enumerate(texts)]
    groups = independent_groups(srcs)
    assert groups[1] == groups[2] != groups[3]
