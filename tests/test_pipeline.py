"""End-to-end runs of the offline pipeline on the seeds and on other articles."""

import json
import re
from pathlib import Path

import pytest

from briefing.config import load_settings
from briefing.errors import NoUsableSourcesError, TemplateError
from briefing.pipeline import Reporter, RunResult, run
from briefing.sentences import split_sentences

ROOT = Path(__file__).parent.parent
SEEDS = ROOT / "seeds"
OTHER = Path(__file__).parent / "fixtures" / "articles"
SECTIONS = ["## Bottom line up front", "## Key judgments", "## Analysis by theme", "## Timeline",
            "## Implications for Canada and South Korea", "## Indicators to watch", "## Source summaries",
            "## Sources", "## Method note"]


def do_run(tmp_path: Path, sources: list[Path], **over: object) -> RunResult:
    overrides = {"run.sources": [str(s) for s in sources], "run.out": str(tmp_path / "out"), "run.engine":
                 "extractive", **over}
    settings = load_settings(None, overrides, environ={}, dotenv_path=None)
    warnings: list[str] = []
    result = run(settings, Reporter(warn=warnings.append))
    assert isinstance(result, RunResult)
    result.data["_warnings"] = warnings
    return result


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return do_run(tmp_path_factory.mktemp("seeds"), [SEEDS])


def check_brief(result: RunResult) -> None:
    md = result.brief_md.read_text(encoding="utf-8")
    data = json.loads(result.brief_json.read_text(encoding="utf-8"))
    # Sections in order.
    positions = [md.index(h) for h in SECTIONS]
    assert positions == sorted(positions)
    # Every [n] in the brief resolves to exactly one entry of the Sources list.
    sources_block = md.split("## Sources", 1)[1].split("\n## ", 1)[0]
    entries = re.findall(r"^\[(\d+)\] ", sources_block, re.MULTILINE)
    assert len(entries) == len(set(entries)) == len(data["sources"])
    body = md.split("## Sources", 1)[0]
    cited = {int(n) for n in re.findall(r"(?<!\\)\[(\d+)\]", body)}
    assert cited and cited <= {int(e) for e in entries}
    # brief.json fields.
    for key in ("engine", "model", "sources", "summaries", "claims", "usage", "timings"):
        assert key in data
    assert set(data["usage"]) >= {"requests", "prompt_tokens", "completion_tokens", "cost_usd"}
    for s in data["sources"]:
        assert set(s) >= {"id", "title", "authors", "publisher", "published", "path", "sha256", "tokens", "flags"}
    ids = {s["id"] for s in data["sources"]}
    texts = {s["id"]: (result.run_dir / s["text_path"]).read_text(encoding="utf-8") for s in data["sources"]}
    assert data["claims"]
    for c in data["claims"]:
        assert set(c) >= {"text", "section", "source_ids", "evidence", "verified"}
        assert c["source_ids"] and set(c["source_ids"]) <= ids
        for ev in c["evidence"]:
            assert ev["quote"] in texts[ev["source_id"]], ev["quote"]  # verbatim in the cleaned text
            if data["engine"] == "extractive":  # its evidence is exactly one sentence of the shared segmentation
                sents = split_sentences(texts[ev["source_id"]])
                assert len(ev["sentence_ids"]) == 1 and sents[ev["sentence_ids"][0] - 1].text == ev["quote"]
        # Every claim in the JSON is rendered in the brief.
        assert c["text"].split()[0].strip("“\"‘'") in md
    # Each analysis section cites at least two distinct sources.
    for sec in {c["section"] for c in data["claims"] if c["section"].startswith("theme:")}:
        cited_here = {i for c in data["claims"] if c["section"] == sec for i in c["source_ids"]}
        assert len(cited_here) >= 2, sec
    assert (result.run_dir.parent / "latest").resolve() == result.run_dir.resolve()


def test_seeds_brief_structure_and_citations(seeds_run: RunResult) -> None:
    check_brief(seeds_run)
    data = seeds_run.data
    assert data["engine"] == "extractive"
    assert len(data["sources"]) == 5
    md = seeds_run.brief_md.read_text(encoding="utf-8")
    assert "offline, without an LLM" in md and "OPENAI_API_KEY" in md


def test_offline_claims_all_verify(seeds_run: RunResult) -> None:
    claims = seeds_run.data["claims"]
    assert all(c["verified"] for c in claims), [c for c in claims if not c["verified"]][:2]
    assert "claims could not be verified" not in seeds_run.brief_md.read_text(encoding="utf-8")


def test_seed_sources_have_titles_and_dates(seeds_run: RunResult) -> None:
    srcs = {Path(s["path"]).name[:3]: s for s in seeds_run.data["sources"]}
    assert srcs["000"]["title"].startswith("Putin and Kim") and srcs["000"]["published"] == "2023-09-13"
    assert srcs["001"]["published"] == "2019-08-28" and srcs["002"]["published"] == "2024-05-23"
    assert srcs["003"]["title"] and srcs["003"]["same_event_as"] == [srcs["004"]["id"]]
    md = seeds_run.brief_md.read_text(encoding="utf-8")
    assert "The Globe and Mail" in md.split("## Sources", 1)[1]


def test_other_articles_work_the_same_way(tmp_path: Path) -> None:
    result = do_run(tmp_path, [OTHER])
    check_brief(result)
    assert len(result.data["sources"]) == len(list(OTHER.glob("*.txt")))


def test_skipped_files_are_named_and_run_continues(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for f in OTHER.glob("*.txt"):
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "empty.txt").write_bytes(b"")
    result = do_run(tmp_path, [folder])
    assert any("empty.txt" in w for w in result.data["_warnings"])
    assert len(result.data["sources"]) == 3


def test_nothing_usable_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    with pytest.raises(NoUsableSourcesError):
        do_run(tmp_path, [folder])
    assert not (tmp_path / "out" / "latest").exists()


def test_failed_run_leaves_previous_brief_intact(tmp_path: Path) -> None:
    first = do_run(tmp_path, [OTHER])
    before = first.brief_md.read_bytes()
    broken = tmp_path / "prompts"
    broken.mkdir()
    (broken / "brief.md.j2").write_text("# {{ title }} {{ no_such_variable }}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="no_such_variable"):
        do_run(tmp_path, [OTHER], **{"run.prompts": str(broken)})
    latest = tmp_path / "out" / "latest"
    assert latest.resolve() == first.run_dir.resolve()
    assert (latest / "brief.md").read_bytes() == before
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".tmp")] == []


def test_keep_prunes_old_briefs(tmp_path: Path) -> None:
    for _ in range(3):
        do_run(tmp_path, [OTHER], **{"run.keep": 2})
    runs = sorted(p.name for p in (tmp_path / "out").iterdir()
                  if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    assert len(runs) == 2
    assert (tmp_path / "out" / "latest").resolve().name == runs[-1]


def test_reused_extractive_engine_reindexes_new_texts(tmp_path: Path) -> None:
    from briefing.engines.extractive import ExtractiveEngine
    from briefing.models import Source

    settings = load_settings(None, {}, environ={}, dotenv_path=None)
    engine = ExtractiveEngine(settings)
    profile = settings.to_profile()
    old = "Seoul and Ottawa signed a new agreement on classified military information sharing today in Ottawa."
    new = "Beijing and Moscow announced a joint naval patrol in the Pacific Ocean near the coast of Alaska this week."
    first = engine.summarize([Source(1, "a", old, "h1", 20)], {}, profile)
    second = engine.summarize([Source(1, "a", new, "h2", 20)], {}, profile)
    assert first[0].claims[0].text == old and second[0].claims[0].text == new


def test_high_confidence_needs_two_independent_sources() -> None:
    from briefing.confidence import cap_confidence
    from briefing.models import Claim, Source

    srcs = [Source(1, "a", "t", "h", 1), Source(2, "b", "t", "h", 1, same_event_as=[3]),
            Source(3, "c", "t", "h", 1, same_event_as=[2])]
    same_event = Claim("x", [2, 3], confidence="high", reason="Two reports agree.")
    independent = Claim("y", [1, 2], confidence="high", reason="Two sources agree.")
    cap_confidence([same_event, independent], srcs)
    assert same_event.confidence == "moderate" and "not independent" in (same_event.reason or "")
    assert independent.confidence == "high"

