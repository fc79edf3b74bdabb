"""Periodic regeneration: cache, what-changed, schedule, locking and crash safety (issue 6)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from llm_server import LLMServer

from briefing.config import load_settings
from briefing.pipeline import Reporter, RunResult, run

ROOT = Path(__file__).parent.parent
SEEDS = ROOT / "seeds"
OTHER = Path(__file__).parent / "fixtures" / "articles"


def llm_run(srv: LLMServer, folder: Path, out: Path) -> RunResult:
    settings = load_settings(None, {"run.sources": [str(folder)], "run.out": str(out), "run.engine": "llm",
                                    "llm.base_url": srv.base_url, "llm.api_key": "test-key", "llm.model": "test-model"},
                             environ={}, dotenv_path=None)
    result = run(settings, Reporter())
    assert isinstance(result, RunResult)
    return result


def tasks(srv: LLMServer) -> list[str]:
    return [r.task or "" for r in srv.completions()]


def copy_dir(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_unchanged_rerun_makes_no_requests_and_reproduces_the_brief(tmp_path: Path) -> None:
    folder = copy_dir(SEEDS, tmp_path / "in")
    with LLMServer() as srv:
        first = llm_run(srv, folder, tmp_path / "out")
        assert tasks(srv).count("summarize") >= 5 and "synthesize" in tasks(srv)
        srv.reset()
        second = llm_run(srv, folder, tmp_path / "out")
        assert srv.completions() == []
    assert second.data["usage"]["requests"] == 0
    assert second.data["cache"] == {"summaries_reused": 5, "synthesis_reused": True}
    strip = [c["text"] for c in first.data["claims"]]
    assert [c["text"] for c in second.data["claims"]] == strip
    body = lambda p: p.read_text(encoding="utf-8").split("## Method note")[0].split("\n", 3)[3]  # noqa: E731
    assert body(first.brief_md) == body(second.brief_md)
    assert second.data["changes"]["added"] == second.data["changes"]["updated"] == []


def test_changing_one_source_resummarises_only_it(tmp_path: Path) -> None:
    folder = copy_dir(SEEDS, tmp_path / "in")
    with LLMServer() as srv:
        llm_run(srv, folder, tmp_path / "out")
        srv.reset()
        target = sorted(folder.iterdir())[2]
        lines = target.read_text(encoding="utf-8").split("\n")
        body = next(i for i, line in enumerate(lines) if len(line) > 300)  # a body paragraph, not page chrome
        lines[body] += " The ministers also agreed to meet again in Seoul next spring for further talks."
        target.write_text("\n".join(lines), encoding="utf-8")
        result = llm_run(srv, folder, tmp_path / "out")
        t = tasks(srv)  # its summary, the sections with its notes (the others' parts are cached), the top
        assert t[0] == "summarize" and t[-1] == "synthesize" and 1 <= t.count("section") == len(t) - 2 <= 4
        assert all("- (3." in r.body["messages"][1]["content"] for r in srv.completions() if r.task == "section")
    assert result.data["changes"]["updated"] == [str(target)]
    md = result.brief_md.read_text(encoding="utf-8")
    changed = md.split("### What changed since the last brief", 1)[1]
    assert f"Source updated: `{target}`" in changed


def test_added_and_removed_sources_are_reported(tmp_path: Path) -> None:
    folder = copy_dir(OTHER, tmp_path / "in")
    out = tmp_path / "out"
    with LLMServer() as srv:
        llm_run(srv, folder, out)
        removed = sorted(folder.iterdir())[0]
        removed.unlink()
        added = folder / "zz_new.txt"
        added.write_text((SEEDS / sorted(os.listdir(SEEDS))[3]).read_text(encoding="utf-8"), encoding="utf-8")
        srv.reset()
        result = llm_run(srv, folder, out)
        t = tasks(srv)  # the new summary, the sections the added or removed source was in, the top
        assert t[0] == "summarize" and t[-1] == "synthesize" and 1 <= t.count("section") == len(t) - 2 <= 4
    assert result.data["changes"]["added"] == [str(added)]
    assert result.data["changes"]["removed"] == [str(removed)]


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFING_"))}
    return subprocess.Popen([sys.executable, "-m", "briefing", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**base, **(env or {})}, cwd=cwd or ROOT)


def test_schedule_every_2s_three_runs(tmp_path: Path) -> None:
    p = cli("schedule", str(OTHER), "--out", str(tmp_path / "out"), "--every", "2s", "--max-runs", "3", cwd=tmp_path)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    briefs = [d for d in (tmp_path / "out").iterdir() if (d / "brief.md").is_file() and not d.is_symlink()]
    assert len(briefs) == 3
    log = [json.loads(line) for line in (tmp_path / "out" / "runs.jsonl").read_text().splitlines()]
    assert [r["ok"] for r in log] == [True, True, True]


def test_schedule_prints_cron_and_systemd(tmp_path: Path) -> None:
    p = cli("schedule", "seeds", "--every", "6h", "--print", "cron")
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0 and out.startswith("0 */6 * * * ") and "briefing run" in out and "--every" not in out
    p = cli("schedule", "--cron", "0 7 * * 1-5", "--print", "systemd")
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0 and "OnCalendar=Mon..Fri *-*-* 07:00:00" in out


def test_two_concurrent_runs_on_one_output_root(tmp_path: Path) -> None:
    out = tmp_path / "out"
    procs = [cli("run", str(SEEDS), "--out", str(out), cwd=tmp_path) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1] for r in results]
    briefs = sorted(d for d in out.iterdir() if d.is_dir() and not d.is_symlink() and not d.name.startswith("."))
    assert len(briefs) == 2
    for d in briefs:
        json.loads((d / "brief.json").read_text(encoding="utf-8"))
        assert (d / "brief.md").read_text(encoding="utf-8").startswith("# ")
    assert (out / "latest").resolve() in [b.resolve() for b in briefs]


def test_sigkill_mid_synthesis_keeps_latest(tmp_path: Path) -> None:
    folder = copy_dir(OTHER, tmp_path / "in")
    out = tmp_path / "out"
    with LLMServer() as srv:
        first = llm_run(srv, folder, out)
        (folder / "extra.txt").write_text((SEEDS / sorted(os.listdir(SEEDS))[3]).read_text(encoding="utf-8"),
                                          encoding="utf-8")
        srv.reset()
        srv.latency = 30.0  # every request now hangs long enough to be killed in flight
        env = {"OPENAI_BASE_URL": srv.base_url, "OPENAI_API_KEY": "test-key", "BRIEFING_MODEL": "test-model"}
        p = cli("run", str(folder), "--out", str(out), "--engine", "llm", env=env, cwd=tmp_path)
        deadline = time.time() + 60
        while time.time() < deadline and not srv.completions():
            time.sleep(0.05)
        assert srv.completions(), "the run never reached the model"
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=30)
        assert (out / "latest").resolve() == first.run_dir.resolve()
        json.loads((out / "latest" / "brief.json").read_text(encoding="utf-8"))
        srv.latency = 0.0
        srv.reset()
        again = llm_run(srv, folder, out)
    assert len(again.data["sources"]) == 4
    assert (out / "latest").resolve() == again.run_dir.resolve()


def test_malformed_previous_brief_does_not_block_later_runs(tmp_path: Path) -> None:
    from briefing.store import changes_since

    assert changes_since({"claims": None, "sources": [{"x": 1}, "junk", {"path": None}],
                          "generated_at": "<img src=x>"}, [], [])["added"] == []
    out = tmp_path / "out"
    first = llm_free_run(OTHER, out)
    (first.run_dir / "brief.json").write_text('{"claims": null, "sources": [{"path": null}], '
                                              '"generated_at": "<img src=x onerror=alert(1)>"}', encoding="utf-8")
    second = llm_free_run(OTHER, out)
    md = second.brief_md.read_text(encoding="utf-8")
    assert "<img" not in md.replace("\\<img", "")


def llm_free_run(folder: Path, out: Path) -> RunResult:
    settings = load_settings(None, {"run.sources": [str(folder)], "run.out": str(out), "run.engine": "extractive"},
                             environ={}, dotenv_path=None)
    result = run(settings, Reporter())
    assert isinstance(result, RunResult)
    return result


def test_summary_cache_key_covers_what_the_prompt_shows() -> None:
    from briefing.models import Profile, Source
    from briefing.summarize import summary_key

    profile = Profile("t", "a", [])
    a = Source(1, "a.txt", "same text", "h1", 3, publisher="X", flags=[])
    b = Source(7, "b.txt", "same text", "h1", 3, publisher="X", flags=[])
    c = Source(1, "a.txt", "same text", "h1", 3, publisher="X", flags=["machine_translated"])
    assert summary_key("e", a, profile) == summary_key("e", b, profile)  # id and path are not in the prompt
    assert summary_key("e", a, profile) != summary_key("e", c, profile)


def test_schedule_survives_a_failed_run_and_skips_missed_slots() -> None:
    from datetime import UTC, datetime, timedelta

    import briefing.schedule as sched

    calls: list[int] = []

    def flaky(settings: object, report: object) -> None:
        calls.append(1)
        raise RuntimeError("disk full")

    warnings: list[str] = []
    original = sched.run
    sched.run = flaky  # type: ignore[assignment]
    try:
        failed = sched.run_schedule(load_settings(None, {}, environ={}, dotenv_path=None), "1s", None, 2,
                                    Reporter(warn=warnings.append), sleep=lambda s: None)
    finally:
        sched.run = original
    assert failed == 2 and len(calls) == 2 and "disk full" in warnings[0]
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert sched.next_due("1m", None, now - timedelta(minutes=5), now) == now  # no replay of missed slots
    assert sched.next_due("1m", None, now, now) == now + timedelta(minutes=1)


def test_print_cron_refuses_inexact_intervals_and_escapes_percent() -> None:
    import pytest

    from briefing.errors import ConfigError
    from briefing.schedule import print_entry

    line = print_entry("cron", ["https://x/a%20b"], "15m", None, Path("/w"))
    assert line.startswith("*/15 * * * * ") and "a\\%20b" in line and "/w/briefing-schedule.log" in line
    with pytest.raises(ConfigError, match="--cron"):
        print_entry("cron", [], "25h", None, Path("/w"))


def test_drop_policy_removes_unverified_claims_from_the_brief(tmp_path: Path) -> None:
    with LLMServer(faults={"planted": 1.0}, plant_share=0.35, seed=1) as srv:
        settings = load_settings(None, {"run.sources": [str(SEEDS)], "run.out": str(tmp_path), "run.engine": "llm",
                                        "run.verify_policy": "drop", "llm.base_url": srv.base_url,
                                        "llm.api_key": "test-key", "llm.model": "test-model"},
                                 environ={}, dotenv_path=None)
        result = run(settings, Reporter())
    assert isinstance(result, RunResult)
    failed = [c for c in result.data["claims"] if not c["verified"]]
    assert failed, "the server planted no detectable fault"
    md = result.brief_md.read_text(encoding="utf-8")
    assert "unverified" not in md and "Claims that could not be verified" not in md
    # Section by section, only the verified claims are rendered (the test server repeats texts across sections,
    # so count bullets rather than search for texts).
    headings = {"bluf": "\n## Bottom line up front", "implications": "\n## Implications for Canada and South Korea",
                "indicators": "\n## Indicators to watch"}
    for section, heading in headings.items():
        block = md.split(heading, 1)[1].split("\n## ", 1)[0]
        bullets = [line for line in block.splitlines() if line.startswith("- ")]
        ok = [c for c in result.data["claims"] if c["section"] == section and c["verified"]]
        assert len(bullets) == max(1, len(ok)), section  # an emptied section renders one "none" line
    assert any(c["section"] in ("bluf", "implications", "indicators") for c in failed)


def test_editing_one_stage_prompt_rebills_only_that_stage(tmp_path: Path) -> None:
    """A user prompt override re-runs the requests that use it and nothing upstream (summaries stay cached)."""
    folder = copy_dir(SEEDS, tmp_path / "in")
    prompts = tmp_path / "prompts"
    prompts.mkdir()

    def run_with_prompts() -> RunResult:
        settings = load_settings(None, {"run.sources": [str(folder)], "run.out": str(tmp_path / "out"),
                                        "run.engine": "llm", "run.prompts": str(prompts), "llm.base_url": srv.base_url,
                                        "llm.api_key": "test-key", "llm.model": "test-model"},
                                 environ={}, dotenv_path=None)
        result = run(settings, Reporter())
        assert isinstance(result, RunResult)
        return result

    packaged = ROOT / "prompts"
    with LLMServer() as srv:
        run_with_prompts()
        n_summaries = tasks(srv).count("summarize")
        assert n_summaries >= 5
        # The HTML brief template is rendering only: no request at all.
        (prompts / "brief.html.j2").write_text((packaged / "brief.html.j2").read_text(encoding="utf-8")
                                               + "\n{# a comment #}\n", encoding="utf-8")
        srv.reset()
        run_with_prompts()
        assert srv.completions() == []
        # The section prompt: the sections and the top re-run, no summary does.
        (prompts / "section.system.j2").write_text((packaged / "section.system.j2").read_text(encoding="utf-8")
                                                   + "\nBe brief.\n", encoding="utf-8")
        srv.reset()
        run_with_prompts()
        t = tasks(srv)
        assert "section" in t and "synthesize" in t and "summarize" not in t
        # The summary prompt: every summary re-runs.
        (prompts / "summarize.system.j2").write_text((packaged / "summarize.system.j2").read_text(encoding="utf-8")
                                                     + "\nBe exact.\n", encoding="utf-8")
        srv.reset()
        run_with_prompts()
        assert tasks(srv).count("summarize") == n_summaries


def test_synthesis_cache_key_from_summaries_serialised_as_they_came_is_the_same_key(tmp_path: Path) -> None:
    """The synthesis key is assembled from each summary's JSON made when it came in; it is the key digest() gives over
    the summaries themselves (so an upgrade keeps every cached synthesis)."""
    from dataclasses import asdict
    from typing import Any

    from briefing.cache import digest
    from briefing.engines import make_engine
    from briefing.pipeline import load_sources
    from briefing.summarize import source_meta, summarize_sources
    from briefing.synthesize import synthesize

    settings = load_settings(None, {"run.sources": [str(SEEDS)], "run.out": str(tmp_path / "out"),
                                    "run.engine": "extractive"}, environ={}, dotenv_path=None)
    sources, _ = load_sources([str(SEEDS)], settings, Reporter())
    engine, profile = make_engine(settings), settings.to_profile()
    serialized: dict[int, str] = {}
    summaries, _ = summarize_sources(engine, sources, {}, profile, serialized=serialized)
    assert sorted(serialized) == [s.id for s in sources]

    class Keys:
        seen: list[str] = []

        def get(self, kind: str, key: str) -> None:
            self.seen.append(key)

        def put(self, kind: str, key: str, value: Any) -> None:
            return None

    expected = digest("synthesis", "eid", asdict(profile), [(s.id, s.same_event_as, source_meta(s)) for s in sources],
                      [asdict(s) for s in summaries])
    for given in (serialized, None):
        keys = Keys()
        synthesize(engine, sources, summaries, profile, keys, "eid", serialized=given)  # type: ignore[arg-type]
        assert keys.seen[-1] == expected
