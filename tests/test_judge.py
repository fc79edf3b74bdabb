"""The optional model judge (--judge): verified claims with only their cited sentences, labelled by the model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from llm_server import LLMServer

from briefing.config import load_settings
from briefing.pipeline import Reporter, RunResult, run

ROOT = Path(__file__).parent.parent
SEEDS = ROOT / "seeds"
ARTICLES = Path(__file__).parent / "fixtures" / "articles"


def brief(srv: LLMServer, out: Path, folder: Path = SEEDS, warn: list[str] | None = None,
          **extra: Any) -> RunResult:
    s = load_settings(None, {"run.sources": [str(folder)], "run.out": str(out), "run.engine": "llm",
                             "llm.base_url": srv.base_url, "llm.api_key": "k", "llm.model": "test-model",
                             "llm.max_retries": 1, "llm.retry_backoff": 0.0, **extra},
                      environ={}, dotenv_path=None)
    result = run(s, Reporter(warn=(warn.append if warn is not None else lambda _: None)))
    assert isinstance(result, RunResult)
    return result


def test_judge_flags_what_the_deterministic_checks_let_through(tmp_path: Path) -> None:
    faulty: dict[str, str] = {}
    flagged_by_judge: list[dict[str, Any]] = []
    sound_flagged = sound = 0
    for folder in (SEEDS, ARTICLES):
        with LLMServer(faults={"planted": 1.0}, plant_share=0.35, seed=1) as srv:
            result = brief(srv, tmp_path / folder.name, folder, **{"verify.judge": True})
            tasks = [r.task for r in srv.completions()]
            planted = {p["text"]: p["kind"] for p in srv.planted}
        faulty.update(planted)
        assert tasks.count("judge") >= 1
        judge = result.data["verification"]["judge"]
        assert judge["error"] is None and judge["judged"] > 0
        for c in result.data["claims"]:
            judged = any(p.startswith("model judge") for p in c["problems"])
            if c["text"] in planted:
                flagged_by_judge += [c] if judged else []
            else:
                sound += 1
                sound_flagged += judged
            if c["verified"]:
                assert c["judge"] in ("supported", "partly") or c["judge"].startswith("partly")
    kinds = {faulty[c["text"]] for c in flagged_by_judge}
    assert {"swapped_name", "negation"} <= kinds, kinds  # the kinds the deterministic checks may miss
    assert all(not c["verified"] and c["judge"].startswith("not supported") for c in flagged_by_judge)
    assert sound_flagged <= 0.02 * sound


def test_unchanged_rerun_sends_no_judge_request_and_dry_run_counts_the_judge(tmp_path: Path) -> None:
    with LLMServer() as srv:
        first = brief(srv, tmp_path / "out", **{"verify.judge": True})
        n_judge = [r.task for r in srv.completions()].count("judge")
        before = srv.requests
        second = brief(srv, tmp_path / "out", **{"verify.judge": True})
        assert srv.requests == before  # summaries, synthesis and verdicts all come from the cache
    assert n_judge >= 1
    assert second.data["verification"]["judge"]["cached"] == first.data["verification"]["judge"]["judged"] > 0
    assert [c["judge"] for c in second.data["claims"]] == [c["judge"] for c in first.data["claims"]]
    with LLMServer() as srv:
        s = load_settings(None, {"run.sources": [str(SEEDS)], "run.out": str(tmp_path / "dry"), "run.engine": "llm",
                                 "llm.base_url": srv.base_url, "llm.api_key": "k", "llm.model": "gpt-4o-mini",
                                 "verify.judge": True}, environ={}, dotenv_path=None)
        est = run(s, Reporter(), dry_run=True)
        assert srv.completions() == []
    assert isinstance(est, dict)
    stage = est["stages"]["judge"]
    assert stage["requests"] >= 1 and stage["prompt_tokens"] > 0 and stage["cost_usd"] > 0
    assert est["cost_usd"] == round(sum(st["cost_usd"] for st in est["stages"].values()), 6)


def test_judge_failure_keeps_the_deterministic_verdicts_and_says_so(tmp_path: Path) -> None:
    with LLMServer() as srv:
        plain = brief(srv, tmp_path / "plain")
    warnings: list[str] = []
    with LLMServer(fail_marker="verdicts", marker_fault="500") as srv:  # every judge request fails
        result = brief(srv, tmp_path / "failing", warn=warnings, **{"verify.judge": True})
        assert [r.task for r in srv.completions() if r.status == 200].count("judge") == 0
    judge = result.data["verification"]["judge"]
    assert judge["error"] and judge["judged"] == 0
    assert any("model judge failed, the deterministic verdicts stand" in w for w in warnings), warnings
    assert [(c["text"], c["verified"]) for c in result.data["claims"]] == [
        (c["text"], c["verified"]) for c in plain.data["claims"]]
    assert all(c["judge"] is None for c in result.data["claims"])


def test_judge_flag_and_setting(tmp_path: Path) -> None:
    (tmp_path / "briefing.toml").write_text("[verify]\njudge = true\njudge_batch = 5\n", encoding="utf-8")
    s = load_settings(tmp_path / "briefing.toml", {}, environ={}, dotenv_path=None)
    assert s.verify.judge and s.verify.judge_batch == 5
    assert not load_settings(tmp_path / "briefing.toml", {"verify.judge": False}, environ={},
                             dotenv_path=None).verify.judge
    (tmp_path / "bad.toml").write_text("[verify]\njudge = \"maybe\"\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFING_"))}
    r = subprocess.run([sys.executable, "-m", "briefing", "run", "--config", str(tmp_path / "bad.toml"),
                        "--dry-run"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 2 and "verify.judge" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "briefing", "run", "--help"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=120)
    assert "--judge / --no-judge" in r.stdout
    with LLMServer() as srv:  # the extractive engine has no model to ask: the judge is skipped, not an error
        s = load_settings(None, {"run.sources": [str(SEEDS)], "run.out": str(tmp_path / "x"),
                                 "run.engine": "extractive", "verify.judge": True}, environ={}, dotenv_path=None)
        result = run(s, Reporter())
        assert srv.completions() == []
    assert isinstance(result, RunResult) and "judge" not in result.data["verification"]
    assert json.loads(result.brief_json.read_text(encoding="utf-8"))["verification"]["verified"] > 0
