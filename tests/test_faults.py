"""Fault matrix (docs/FAULTS.md): each endpoint failure, through the real CLI and openai client, gives one line."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from llm_server import LLMServer

ROOT = Path(__file__).parent.parent
ARTICLES = Path(__file__).parent / "fixtures" / "articles"
FAST = "[llm]\nmax_retries = {retries}\nretry_backoff = 0.01\ntimeout = {timeout}\n"
_PROXY = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def cli(*args: str, cwd: Path, base_url: str, key: str = "test-key", timeout: float = 5.0, retries: int = 2,
        extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`briefing run` in a subprocess with fast retries; no proxy, so nothing can leave the machine."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "BRIEFING_")) and k.lower() not in _PROXY}
    env.update({"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": key, "BRIEFING_MODEL": "test-model",
                **(extra_env or {})})
    cfg = cwd / "fast.toml"
    cfg.write_text(FAST.format(timeout=timeout, retries=retries), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "briefing", "run", "--quiet", "--config", str(cfg), *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def error_line(r: subprocess.CompletedProcess[str]) -> str:
    """The single error line on stderr (and no traceback)."""
    assert "Traceback" not in r.stderr, r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("briefing:")]
    assert len(errors) == 1, r.stderr
    return errors[0]


def articles(tmp_path: Path) -> Path:
    return Path(shutil.copytree(ARTICLES, tmp_path / "in"))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_no_brief(out: Path) -> None:
    assert not (out / "latest").exists()
    runs = [json.loads(line) for line in (out / "runs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert runs and runs[-1]["ok"] is False


# ----- the endpoint cannot be reached, or rejects every request: nothing was done, a rerun starts over -----------

@pytest.mark.parametrize(("row", "url", "cause"), [
    ("connection refused", "http://127.0.0.1:{port}/v1", r"connection to http://127\.0\.0\.1:\d+/v1 failed: .*"
                                                           r"(refused|Connect call failed)"),
    ("DNS failure", "http://nonexistent.invalid/v1", r"connection to http://nonexistent\.invalid/v1 failed: .*"
                                                     r"(Name or service not known|nodename|getaddrinfo|resolution)"),
    ("TLS error", "https://127.0.0.1:{srv}/v1", r"connection to https://127\.0\.0\.1:\d+/v1 failed: .*"
                                                   r"(SSL|ssl|TLS|WRONG_VERSION|record)"),
])
def test_unreachable_endpoint(tmp_path: Path, row: str, url: str, cause: str) -> None:
    folder, out = articles(tmp_path), tmp_path / "out"
    with LLMServer() as srv:
        base = url.format(port=closed_port(), srv=srv.base_url.split(":")[2].split("/")[0])
        r = cli(str(folder), "--out", str(out), cwd=tmp_path, base_url=base)
        assert srv.completions() == []  # the TLS handshake never became an HTTP request
    assert r.returncode == 1, r.stderr
    line = error_line(r)
    assert re.search(r"^briefing: error: source \[\d\] .*: gave up after 3 attempts: " + cause, line), line
    assert_no_brief(out)


@pytest.mark.parametrize(("row", "server", "cause"), [
    ("401", {"api_key": "the-right-key"}, r"authentication failed \(401\) at http://127\.0\.0\.1:\d+/v1: .*"
                                          r"Incorrect API key provided\.; check OPENAI_API_KEY"),
    ("unknown model (404)", {"models": ["other-model"]}, r"model 'test-model' not found at .* \(404\): .*"
                                                         r"check --model / BRIEFING_MODEL"),
    ("400 context length", {"max_context": 100}, r"prompt too long for model 'test-model' \(400\): .*"
                                                 r"maximum context length .*--context-window"),
])
def test_fatal_status_fails_fast_without_retries(tmp_path: Path, row: str, server: dict[str, object],
                                                 cause: str) -> None:
    folder, out = articles(tmp_path), tmp_path / "out"
    with LLMServer(**server) as srv:  # type: ignore[arg-type]
        r = cli(str(folder), "--out", str(out), cwd=tmp_path, base_url=srv.base_url)
        assert len(srv.completions()) <= 3  # one per source, none retried (fails fast: no timing needed)
    assert r.returncode == 1, r.stderr
    line = error_line(r)
    assert re.search(r"^briefing: error: source \[\d\] .*/in/\w+\.txt.*: " + cause, line), line
    assert_no_brief(out)


# ----- the synthesis fails after every summary succeeded: the rerun makes only the synthesis request -------------

ROWS = [
    ("timeout", r"gave up after 3 attempts: timed out after 0\.5s \(llm\.timeout\) at http://127\.0\.0\.1:\d+/v1"),
    ("drop", r"gave up after 3 attempts: connection to http://127\.0\.0\.1:\d+/v1 failed: .*disconnected"),
    ("500", r"gave up after 3 attempts: 500 server error"),
    ("invalid_json", r"gave up after 3 attempts: invalid JSON after a repair retry: invalid JSON: "),
    ("length", r"gave up after 3 attempts: invalid JSON after a repair retry: .*"
               r"\(output truncated: finish_reason length\)"),
    ("empty_choices", r"gave up after 3 attempts: the server answered with no choices"),
    ("html", r"gave up after 3 attempts: bad response body \(not a chat completion, e\.g\. an HTML error page\)"),
    ("refusal", r"the model refused the request: I'm sorry, I cannot assist with that request\."),
    ("refusal_text", r"gave up after 3 attempts: invalid JSON after a repair retry: no JSON object found "
                     r"\(the model answered \"I'm sorry, but I can't help with that\.\"\)"),
]


@pytest.mark.parametrize(("fault", "cause"), ROWS)
def test_synthesis_fault_one_line_and_rerun_resumes(tmp_path: Path, fault: str, cause: str) -> None:
    folder, out = articles(tmp_path), tmp_path / "out"
    with LLMServer(fail_marker="bluf", marker_fault=fault, hang=3.0) as srv:  # "bluf" is in synthesis requests
        r = cli(str(folder), "--out", str(out), cwd=tmp_path, base_url=srv.base_url, timeout=0.5)
        assert r.returncode == 1, r.stderr
        line = error_line(r)
        assert re.fullmatch(r"briefing: error: synthesis: " + cause + r".*", line), line
        tasks = [x.task for x in srv.completions()]
        assert tasks.count("summarize") == 3
        synth = [x for x in srv.completions() if "bluf" in json.dumps(x.body)]
        assert len(synth) <= 6 if fault != "refusal" else len(synth) == 1, [(x.task, x.fault) for x in synth]
        assert_no_brief(out)

        srv.fail_marker = None
        srv.reset()
        again = cli(str(folder), "--out", str(out), cwd=tmp_path, base_url=srv.base_url)
        assert again.returncode == 0, again.stderr
        assert [x.task for x in srv.completions()] == ["synthesize"]  # the summaries and sections came from the cache
    data = json.loads((out / "latest" / "brief.json").read_text(encoding="utf-8"))
    assert data["cache"]["summaries_reused"] == 3


def test_one_source_fails_persistently_rerun_resumes_from_cache(tmp_path: Path) -> None:
    """Source 3's summary fails on every attempt; 1, 2, 4, 5 are cached, and the rerun asks only for 3 + synthesis."""
    folder = Path(shutil.copytree(ROOT / "seeds", tmp_path / "in"))
    third = sorted(folder.iterdir())[2]
    text = third.read_text(encoding="utf-8")  # the marker sits late in the body, where no summary quotes it
    anchor = "As both nations continue"
    assert anchor in text
    third.write_text(text.replace(anchor, "Observers in the region filed report ZZFAILZZ on the consequences of "
                                  "the visit for neighbouring states.\n\n" + anchor), encoding="utf-8")
    out = tmp_path / "out"
    with LLMServer(fail_marker="ZZFAILZZ", marker_fault="503") as srv:
        r = cli(str(folder), "--out", str(out), cwd=tmp_path, base_url=srv.base_url)
        assert r.returncode == 1, r.stderr
        line = error_line(r)
        assert re.fullmatch(rf"briefing: error: source \[3\] {re.escape(str(third))}.*: gave up after 3 attempts: "
                            r"503 server error", line), line
        ok = [x for x in srv.completions() if x.status == 200]
        assert sorted(x.task or "" for x in ok) == ["summarize"] * 4  # the others finished despite the failure
        assert_no_brief(out)

        srv.fail_marker = None
        srv.reset()
        again = cli(str(folder), "--out", str(out), cwd=tmp_path, base_url=srv.base_url)
        assert again.returncode == 0, again.stderr
        recs = srv.completions()
        t = [x.task or "" for x in recs]  # source 3's summary, the sections with its notes, the top of the brief
        assert t.count("summarize") == 1 and t.count("synthesize") == 1 and 1 <= t.count("section") == len(t) - 2
        assert "ZZFAILZZ" in json.dumps(next(x for x in recs if x.task == "summarize").body)
    data = json.loads((out / "latest" / "brief.json").read_text(encoding="utf-8"))
    assert data["cache"]["summaries_reused"] == 4 and len(data["sources"]) == 5


def test_transient_faults_recover_to_exit_0(tmp_path: Path) -> None:
    """Control: the same faults once each (not persistent) are retried away and the brief is written."""
    folder, out = articles(tmp_path), tmp_path / "out"
    script: list[str | None] = ["timeout", "drop", "500", "empty_choices", "html", "invalid_json", "length"]
    with LLMServer(script=script, hang=3.0) as srv:
        r = cli(str(folder), "--out", str(out), cwd=tmp_path, base_url=srv.base_url, timeout=0.5, retries=9,
                extra_env={"BRIEFING_CONCURRENCY": "1"})
        assert r.returncode == 0, r.stderr
        assert srv.script == []
    assert (out / "latest" / "brief.md").is_file()
