"""The optional model judge (--judge): verified claims with only their cited sentences, labelled by the model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from llm_server import LLMServer
from test_verify_e2e import key, pairs

from briefing.cache import Cache
from briefing.config import load_settings
from briefing.engines.llm.parse import sentence_evidence
from briefing.models import Claim, Source
from briefing.pipeline import Reporter, RunResult, run
from briefing.verify.judge import judge_claims

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
    planted_claims: list[dict[str, Any]] = []
    sound: list[dict[str, Any]] = []
    for folder in (SEEDS, ARTICLES):
        with LLMServer(faults={"planted": 1.0}, plant_share=0.35, seed=1) as srv:
            result = brief(srv, tmp_path / folder.name, folder, **{"verify.judge": True})
            tasks = [r.task for r in srv.completions()]
            planted = {key(p["text"], p["source_ids"], p["sentences"]) for p in srv.planted}
        assert tasks.count("judge") >= 1
        judge = result.data["verification"]["judge"]
        assert judge["error"] is None and judge["judged"] > 0
        for c in result.data["claims"]:
            (planted_claims if key(c["text"], c["source_ids"], pairs(c)) in planted else sound).append(c)
            if c["verified"]:  # every claim that stays verified passed the judge too
                assert c["judge"] == "supported" or c["judge"].startswith("partly"), c
    def by_judge(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [c for c in claims if any(p.startswith("model judge") for p in c["problems"])]

    caught = by_judge(planted_claims)
    assert all(not c["verified"] and c["judge"].startswith("not supported") for c in caught)
    assert sum(not c["verified"] for c in planted_claims) >= 0.95 * len(planted_claims)
    assert len(by_judge(sound)) <= 0.02 * len(sound)


class FakeJudge:
    """An engine whose judge answers from a table (claim text -> label, reason) and records what it was sent."""

    def __init__(self, answers: dict[str, tuple[str, str]]) -> None:
        self.answers = answers
        self.sent: list[dict[str, Any]] = []

    def judge(self, items: list[dict[str, Any]]) -> dict[int, tuple[str, str]]:
        self.sent += items
        return {it["id"]: self.answers[it["text"]] for it in items if it["text"] in self.answers}


def test_verdicts_flag_only_not_supported_and_only_cited_sentences_are_sent(tmp_path: Path) -> None:
    src = Source(1, "a.txt", "Kim met Putin in 2023. They signed a treaty. Markets fell.", "0" * 64, 12)
    sents = src.sentences
    claims = [Claim("Kim met Putin.", [1], sentence_evidence(src, [1])),
              Claim("They signed a defence treaty.", [1], sentence_evidence(src, [2])),
              Claim("Kim and Putin signed nothing.", [1], sentence_evidence(src, [1, 2])),
              Claim("No verdict for me.", [1], sentence_evidence(src, [3])),
              Claim("Already unverified.", [1], [])]
    for c in claims[:4]:
        c.verified = True
    claims[4].verified = False
    fake = FakeJudge({"Kim met Putin.": ("supported", ""),
                      "They signed a defence treaty.": ("partly", "defence is not stated"),
                      "Kim and Putin signed nothing.": ("not supported", "the sentences say they signed")})
    with Cache(tmp_path / "c.sqlite") as cache:
        report = judge_claims(fake, claims, {1: src}, cache, "engine-1")
        assert [it["text"] for it in fake.sent] == [c.text for c in claims[:4]]  # the unverified one is not sent
        assert fake.sent[2]["sentences"] == [{"source_id": 1, "text": sents[0].text},
                                             {"source_id": 1, "text": sents[1].text}]
        assert (report.judged, report.flagged, report.partly, report.missing, report.error) == (3, 1, 1, 1, None)
        assert [c.verified for c in claims] == [True, True, False, True, False]
        assert claims[1].judge == "partly: defence is not stated" and claims[3].judge is None
        assert claims[2].problems == ["model judge: not supported (the sentences say they signed)"]
        again = [Claim(c.text, c.source_ids, c.evidence, verified=True) for c in claims[:3]]
        fake.sent.clear()
        cached = judge_claims(fake, again, {1: src}, cache, "engine-1")
    assert fake.sent == [] and cached.cached == 3 and [c.verified for c in again] == [True, True, False]


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
