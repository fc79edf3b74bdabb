"""Issue 4 acceptance through the CLI: `briefing run` against an OpenAI-compatible server on loopback."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from llm_server import LLMServer

from briefing.config import Settings, load_settings
from briefing.engines.llm.engine import LLMEngine
from briefing.models import CleanedDoc, RawDoc

ROOT = Path(__file__).parent.parent
SEEDS = ROOT / "seeds"


def cli(srv: LLMServer, *args: str, key: str = "test-key", cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFING_"))}
    env.update({"OPENAI_BASE_URL": srv.base_url, "OPENAI_API_KEY": key, "BRIEFING_MODEL": "test-model"})
    return subprocess.run([sys.executable, "-m", "briefing", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=180)


def test_run_on_seeds_requests_budget_overlap_and_usage(tmp_path: Path) -> None:
    with LLMServer(latency=0.3) as srv:
        r = cli(srv, "run", str(SEEDS), "--out", str(tmp_path / "out"), cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        recs = srv.completions()
        counted = (srv.requests, srv.prompt_tokens, srv.completion_tokens)
    assert "engine: llm" in r.stderr
    assert "summarized 1/5" in r.stderr and "summarized 5/5" in r.stderr  # progress on stderr, per source
    brief = Path(r.stdout.strip().splitlines()[-1])
    data = json.loads((brief.parent / "brief.json").read_text(encoding="utf-8"))
    assert data["engine"] == "llm" and data["model"] == "test-model"
    tasks = [x.task for x in recs]
    written = {c["section"] for c in data["claims"] if c["section"].startswith("theme:")}
    assert tasks.count("summarize") == 5 and tasks.count("synthesize") == 1  # the top of the brief
    assert tasks.count("section") == len(written) >= 2 and len(tasks) == 6 + len(written)  # a section each
    # No request exceeds the prompt budget the engine derives from the model's context window.
    settings = load_settings(None, {"llm.model": "test-model", "llm.base_url": srv.base_url}, environ={},
                             dotenv_path=None)
    limit = LLMEngine(settings).prompt_limit()
    assert max(x.prompt_tokens for x in recs) <= limit
    # Summary requests overlap in time.
    summaries = sorted((x for x in recs if x.task == "summarize"), key=lambda x: x.start)
    assert any(b.start < a.end for a, b in zip(summaries, summaries[1:], strict=False))
    usage = data["usage"]
    assert (usage["requests"], usage["prompt_tokens"], usage["completion_tokens"]) == counted
    # Every citation resolves and the verifier ran.
    ids = {s["id"] for s in data["sources"]}
    assert all(set(c["source_ids"]) <= ids for c in data["claims"] if c["verified"])
    assert data["verification"]["total"] == len(data["claims"]) > 0


def test_dry_run_sends_nothing_and_estimates_within_ten_percent(tmp_path: Path) -> None:
    with LLMServer() as srv:
        r = cli(srv, "run", str(SEEDS), "--out", str(tmp_path / "dry"), "--dry-run", "--json", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert srv.completions() == []
        est = json.loads(r.stdout)
        assert set(est) >= {"requests", "prompt_tokens", "completion_tokens", "cost_usd"}
        real = cli(srv, "run", str(SEEDS), "--out", str(tmp_path / "real"), cwd=tmp_path)
        assert real.returncode == 0, real.stderr
        sent = srv.prompt_tokens
    assert est["requests"] == srv.requests == 6 + [x.task for x in srv.completions()].count("section")
    assert abs(est["prompt_tokens"] - sent) <= 0.10 * sent
    assert not (tmp_path / "dry").exists() or not (tmp_path / "dry" / "latest").exists()


def test_dry_run_table_is_readable(tmp_path: Path) -> None:
    with LLMServer() as srv:
        r = cli(srv, "run", str(SEEDS), "--out", str(tmp_path / "dry"), "--dry-run", cwd=tmp_path)
    assert r.returncode == 0 and "summarize" in r.stdout and "synthesize" in r.stdout and "total" in r.stdout


def test_bad_key_and_unknown_model_fail_fast_with_one_line(tmp_path: Path) -> None:
    with LLMServer(api_key="right-key", models=["test-model"]) as srv:
        r = cli(srv, "run", str(SEEDS), "--out", str(tmp_path / "out"), key="wrong-key", cwd=tmp_path)
        assert r.returncode == 1 and len(srv.completions()) <= 5  # one per source at most, none retried
        lines = [line for line in r.stderr.splitlines() if "error" in line.lower()]
        assert len(lines) == 1 and "Traceback" not in r.stderr and "wrong-key" not in r.stderr
        r = cli(srv, "run", str(SEEDS), "--out", str(tmp_path / "out"), "--model", "no-such-model",
                key="right-key", cwd=tmp_path)
        assert r.returncode == 1 and "no-such-model" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out" / "latest").exists()


def test_thirty_percent_faults_give_the_same_brief(tmp_path: Path) -> None:
    with LLMServer() as srv:
        clean_run = cli(srv, "run", str(SEEDS), "--out", str(tmp_path / "a"), cwd=tmp_path)
    faults = {"429": 0.06, "500": 0.06, "503": 0.05, "timeout": 0.04, "drop": 0.05, "html": 0.04}
    with LLMServer(faults=faults, seed=7, hang=1.5) as srv:
        env_timeout = ["--concurrency", "4"]
        faulty_run = cli(srv, "run", str(SEEDS), "--out", str(tmp_path / "b"), *env_timeout, cwd=tmp_path)
        injected = [x.fault for x in srv.completions() if x.fault]
    assert clean_run.returncode == 0 and faulty_run.returncode == 0, faulty_run.stderr
    assert injected, "the server injected no faults"

    def claims(r: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
        data = json.loads((Path(r.stdout.strip().splitlines()[-1]).parent / "brief.json").read_text("utf-8"))
        return [(c["section"], c["text"]) for c in data["claims"]]

    assert claims(clean_run) == claims(faulty_run)


def test_summaries_are_sent_while_later_sources_are_cleaned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest streams into summarize: a source's summary request goes out as soon as it is cleaned, so the server has
    seen the first one before the last source is cleaned (cleaning everything first would show it none); the
    same-event groups, which need every source, are still in the brief."""
    sys.path.insert(0, str(ROOT))
    from bench.corpus import write_articles
    from briefing import pipeline
    from briefing.ingest import clean

    folder = write_articles(12, tmp_path / "in")  # the seeds, then variants of them
    seen: list[int] = []  # summary requests the server had seen when each source was cleaned
    real = clean.iter_clean_documents

    def spy(raws: list[RawDoc], start: int = 0) -> Iterator[CleanedDoc]:
        for doc in real(raws, start):
            seen.append(sum(r.task == "summarize" for r in srv.completions()))
            yield doc

    monkeypatch.setattr(clean, "iter_clean_documents", spy)  # (in this process: the server's thread rules out fork)
    with LLMServer() as srv:
        settings = load_settings(None, {"run.sources": [str(folder)], "run.out": str(tmp_path / "out"),
                                        "run.engine": "llm", "llm.base_url": srv.base_url, "llm.api_key": "k",
                                        "llm.model": "test-model", "llm.concurrency": 64}, environ={},
                                 dotenv_path=None)
        result = pipeline.run(settings)
        assert isinstance(result, pipeline.RunResult)
    assert len(seen) == 12 and seen[0] == 0
    assert seen[-2] >= 1, seen  # before the last source was cleaned
    assert sum(bool(s["same_event_as"]) for s in result.data["sources"]) >= 2  # variants of one seed: grouped


def test_an_engine_reused_for_a_second_run_verifies_that_runs_claims(tmp_path: Path) -> None:
    """A library user may pass one engine to several runs: the second run's count of verified claims is its own (the
    first run's draft, left in the engine, is not verified in its place), the same as with a fresh engine."""
    from briefing import pipeline

    seeds = sorted(SEEDS.iterdir())
    first, second = tmp_path / "a", tmp_path / "b"
    for folder, files in ((first, seeds), (second, seeds[:2])):
        folder.mkdir()
        for f in files:
            (folder / f.name).write_bytes(f.read_bytes())
    with LLMServer() as srv:
        def settings_for(folder: Path, out: str) -> Settings:
            return load_settings(None, {"run.sources": [str(folder)], "run.out": str(tmp_path / out),
                                        "run.engine": "llm", "llm.base_url": srv.base_url, "llm.api_key": "k",
                                        "llm.model": "test-model"}, environ={}, dotenv_path=None)

        shared = LLMEngine(settings_for(first, "o1"))
        pipeline.run(settings_for(first, "o1"), engine=shared)
        reused = pipeline.run(settings_for(second, "o2"), engine=shared)
        fresh = pipeline.run(settings_for(second, "o3"))
    assert isinstance(reused, pipeline.RunResult) and isinstance(fresh, pipeline.RunResult)
    assert reused.data["verification"] == fresh.data["verification"]


def test_notes_are_routed_as_each_summary_comes_in(tmp_path: Path) -> None:
    """The synthesis' routing of each source's notes is done when its summary is parsed (while the other answers are
    awaited); routing them all afresh gives the same sections."""
    from briefing.pipeline import Reporter, load_sources

    with LLMServer() as srv:
        settings = load_settings(None, {"run.sources": [str(SEEDS)], "run.out": str(tmp_path / "out"),
                                        "run.engine": "llm", "llm.base_url": srv.base_url, "llm.api_key": "k",
                                        "llm.model": "test-model"}, environ={}, dotenv_path=None)
        sources, _ = load_sources([str(SEEDS)], settings, Reporter())
        for s in sources:  # as during a run: a source's near_duplicate flag is set once every source is read,
            s.flags = [f for f in s.flags if f != "near_duplicate"]  # after its summary may have come in
        engine, profile = LLMEngine(settings), settings.to_profile()
        summaries = engine.summarize(sources, {}, profile)
    assert sorted(engine._routes) == [s.id for s in sources]  # routed as they came
    for s in sources[:2]:
        s.flags.append("near_duplicate")  # the source line the sections show grows: its tokens must follow
    early = engine._route(sources, summaries, profile)
    engine._routes.clear()
    fresh = engine._route(sources, summaries, profile)
    assert {k: [(n.source.id, [x.id for x in n.notes], n.tokens) for n in v] for k, v in early.items()} == \
        {k: [(n.source.id, [x.id for x in n.notes], n.tokens) for n in v] for k, v in fresh.items()}
    assert sum(len(v) for v in fresh.values()) >= len(sources)
