"""Issue 16: per-source summaries through the Batch API (loopback server): resumable, partial failure, expiry, cost."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from llm_server import LLMServer

from briefing.config import Settings, load_settings
from briefing.engines import make_engine
from briefing.engines.llm.batch import BatchLLMEngine, list_batches
from briefing.errors import BudgetExceededError
from briefing.pipeline import Reporter, RunResult, run

ROOT = Path(__file__).parent.parent
SEEDS = ROOT / "seeds"

_PLACES = ["Ottawa", "Seoul", "Pyongyang", "Moscow", "Beijing", "Tokyo", "Vladivostok", "Busan", "Toronto",
           "Incheon", "Sapporo", "Harbin", "Khabarovsk", "Vancouver", "Montreal", "Daegu"]
_ACTORS = ["the defence minister", "a senior diplomat", "the foreign ministry", "an analyst at the institute",
           "the navy spokesperson", "the trade commissioner", "a parliamentary committee", "the envoy"]
_VERBS = ["announced", "warned", "confirmed", "reported", "argued", "denied", "estimated", "acknowledged"]
_OBJECTS = ["new sanctions on shipping firms", "joint naval drills near the coast", "a cyber consultation forum",
            "the transfer of artillery shells", "an agreement on classified information", "additional aid",
            "talks between the Indo-Pacific envoys", "a review of export controls"]


def corpus(folder: Path, n: int, seed: int = 7) -> Path:
    """n distinct synthetic news articles (no sentence repeated across files, so the cleaner keeps them)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    for i in range(n):
        sents = []
        for k in range(9):
            sents.append(f"In {rng.choice(_PLACES)}, {rng.choice(_ACTORS)} {rng.choice(_VERBS)} "
                         f"{rng.choice(_OBJECTS)} worth {rng.randint(2, 900) * 1000 + i} dollars in "
                         f"{rng.randint(2015, 2024)}, according to report {i}-{k}.")
        paras = [" ".join(sents[j:j + 3]) for j in range(0, 9, 3)]
        (folder / f"{i:04d}.txt").write_text(f"Regional security update number {i}\n\n" + "\n\n".join(paras) + "\n",
                                             encoding="utf-8")
    return folder


def settings_for(srv: LLMServer, folder: Path, out: Path, **extra: object) -> Settings:
    return load_settings(None, {"run.sources": [str(folder)], "run.out": str(out), "run.engine": "llm",
                                "llm.base_url": srv.base_url, "llm.api_key": "test-key", "llm.model": "test-model",
                                "llm.batch": True, "llm.batch_poll": 0.02, "llm.batch_poll_max": 0.05,
                                "llm.retry_backoff": 0.0, **extra},
                         environ={}, dotenv_path=None)


def run_ok(settings: Settings, engine: object = None) -> RunResult:
    result = run(settings, Reporter(), engine=engine)  # type: ignore[arg-type]
    assert isinstance(result, RunResult)
    return result


def tasks(srv: LLMServer) -> list[str]:
    return [r.task or "" for r in srv.completions()]


def test_200_sources_in_one_batch(tmp_path: Path) -> None:
    folder = corpus(tmp_path / "in", 200)
    # the synthesis of 200 sources' notes in one request, answered at length by the test server (which, unlike a real
    # model, writes a claim per note): room for it under the answer-size cap that follows llm.max_output_tokens
    big = {"llm.context_window": 1_000_000, "llm.max_output_tokens": 65_536}
    with LLMServer() as srv:
        result = run_ok(settings_for(srv, folder, tmp_path / "out", **big))
        assert srv.uploads == 1 and list(srv.batches) == ["batch_1"]
        assert srv.batches["batch_1"]["request_counts"] == {"total": 200, "completed": 200, "failed": 0}
        live = tasks(srv)  # only the synthesis ran live: the theme sections' parts, then the top of the brief
        assert live.count("synthesize") == 1 and set(live) == {"section", "synthesize"}
        lines = srv.files[srv.batches["batch_1"]["input_file_id"]]["bytes"].splitlines()
        rows = list_batches(tmp_path / "out")
        # A rerun (same endpoint: it is part of the cache key): everything is cached, nothing is submitted or sent.
        srv.reset()
        polls = srv.batch_polls
        run_ok(settings_for(srv, folder, tmp_path / "out", **big))
        assert srv.uploads == 1 and srv.records == [] and srv.batch_polls == polls
    assert [(r["id"], r["status"], r["requests"]) for r in rows] == [("batch_1", "completed", 200)]
    first = json.loads(lines[0])
    assert first["method"] == "POST" and first["url"] == "/v1/chat/completions"
    assert first["body"]["model"] == "test-model" and first["body"]["response_format"]["type"] == "json_schema"
    assert len({json.loads(x)["custom_id"] for x in lines}) == 200
    assert len(result.data["summaries"]) == 200
    assert result.data["usage"]["batch_requests"] == 200 and result.data["usage"]["requests"] == 200 + len(live)
    md = result.brief_md.read_text(encoding="utf-8")
    assert (f"200 of the {200 + len(live)} model calls went through the Batch API at half price; the others ran "
            "live.") in md


def test_brief_identical_to_a_live_run(tmp_path: Path) -> None:
    with LLMServer() as srv:
        live = run_ok(settings_for(srv, SEEDS, tmp_path / "live", **{"llm.batch": False}))
    with LLMServer() as srv:
        batched = run_ok(settings_for(srv, SEEDS, tmp_path / "batch"))
        assert srv.uploads == 1 and set(tasks(srv)) == {"section", "synthesize"} and tasks(srv)[-1] == "synthesize"
    assert batched.data["usage"]["batch_requests"] == 5 and live.data["usage"]["batch_requests"] == 0
    for key in ("sources", "summaries", "claims", "verification", "themes"):
        assert batched.data[key] == live.data[key], key  # type: ignore[literal-required]

    def body(p: Path) -> str:  # the brief without its generation line and method note
        return p.read_text(encoding="utf-8").split("## Method note")[0].split("\n", 3)[3]
    assert body(batched.brief_md) == body(live.brief_md)
    assert live.data["usage"]["prompt_tokens"] == batched.data["usage"]["prompt_tokens"]


def test_failed_lines_are_retried_live(tmp_path: Path) -> None:
    folder = corpus(tmp_path / "in", 40)
    with LLMServer(batch_fail_share=0.1) as srv:
        result = run_ok(settings_for(srv, folder, tmp_path / "out"))
        counts = srv.batches["batch_1"]["request_counts"]
        live = tasks(srv)
    assert counts["failed"] >= 1 and counts["completed"] + counts["failed"] == 40
    assert live.count("summarize") == counts["failed"] and live.count("synthesize") == 1
    assert len(result.data["summaries"]) == 40
    assert result.data["usage"]["batch_requests"] == counts["completed"]


def test_expired_batch_is_resubmitted(tmp_path: Path) -> None:
    folder = corpus(tmp_path / "in", 12)
    with LLMServer(batch_expire=1) as srv:
        result = run_ok(settings_for(srv, folder, tmp_path / "out"))
        b1, b2 = srv.batches["batch_1"], srv.batches["batch_2"]
        assert srv.uploads == 2 and len(srv.batches) == 2
        assert "summarize" not in tasks(srv)  # every summary came from the batch
    assert b1["status"] == "expired" and b1["request_counts"]["completed"] == 6
    assert b2["status"] == "completed" and b2["request_counts"]["total"] == 6  # only what was missing
    assert len(result.data["summaries"]) == 12 and result.data["usage"]["batch_requests"] == 12
    assert [r["status"] for r in list_batches(tmp_path / "out")] == ["completed", "expired"]


def test_split_above_the_request_limit(tmp_path: Path) -> None:
    folder = corpus(tmp_path / "in", 7)
    with LLMServer() as srv:
        settings = settings_for(srv, folder, tmp_path / "out")
        engine = make_engine(settings)
        assert isinstance(engine, BatchLLMEngine)
        engine.max_requests = 3
        result = run_ok(settings, engine)
        assert [b["request_counts"]["total"] for b in srv.batches.values()] == [3, 3, 1]
        assert srv.uploads == 3
    assert len(result.data["summaries"]) == 7


def test_split_above_the_file_size_limit(tmp_path: Path) -> None:
    folder = corpus(tmp_path / "in", 4)
    with LLMServer() as srv:
        settings = settings_for(srv, folder, tmp_path / "out")
        engine = make_engine(settings)
        assert isinstance(engine, BatchLLMEngine)
        engine.max_bytes = 1  # every line is over it: one request per file
        run_ok(settings, engine)
        assert srv.uploads == 4 and all(b["request_counts"]["total"] == 1 for b in srv.batches.values())


def test_dry_run_shows_batch_prices_and_max_cost_applies(tmp_path: Path) -> None:
    with LLMServer() as srv:
        extra = {"llm.model": "gpt-4o-mini"}
        live = run(settings_for(srv, SEEDS, tmp_path / "out", **extra, **{"llm.batch": False}), dry_run=True)
        batch = run(settings_for(srv, SEEDS, tmp_path / "out", **extra), dry_run=True)
        assert srv.records == []
    assert isinstance(live, dict) and isinstance(batch, dict)
    summ, bsumm = live["stages"]["summarize"], batch["stages"]["summarize (batch)"]
    assert bsumm["requests"] == summ["requests"] == 5 and "summarize" not in batch["stages"]
    assert bsumm["prompt_tokens"] == summ["prompt_tokens"]
    assert bsumm["cost_usd"] == pytest.approx(summ["cost_usd"] / 2, abs=2e-6)
    assert batch["stages"]["synthesize"] == live["stages"]["synthesize"]
    assert batch["cost_usd"] < live["cost_usd"]
    # Just under the live estimate: the live run is refused; the batch run starts, and its live synthesis passes
    # the runtime guard (spent so far + the synthesis' worst case, with all 2048 output tokens).
    between = live["cost_usd"] * 0.99
    with LLMServer() as srv:
        with pytest.raises(BudgetExceededError):
            run(settings_for(srv, SEEDS, tmp_path / "out", **extra, **{"llm.batch": False, "llm.max_cost": between}))
        assert srv.records == []
        run_ok(settings_for(srv, SEEDS, tmp_path / "out2", **extra, **{"llm.max_cost": between}))
        assert srv.uploads == 1
    row = list_batches(tmp_path / "out2")[0]  # `briefing batches` shows the cost of its answers at the batch price
    assert row["estimate_usd"] == pytest.approx(bsumm["cost_usd"], rel=0.01)
    assert 0 < row["cost_usd"] < row["estimate_usd"] * 3


def cli_env(srv: LLMServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFING_"))}
    env.update({"OPENAI_BASE_URL": srv.base_url, "OPENAI_API_KEY": "test-key", "BRIEFING_MODEL": "test-model"})
    return env


def test_kill_while_polling_then_rerun_reuses_the_batch(tmp_path: Path) -> None:
    (tmp_path / "briefing.toml").write_text("[llm]\nbatch_poll = 0.05\nbatch_poll_max = 0.1\n", encoding="utf-8")
    folder = corpus(tmp_path / "in", 20)
    args = [sys.executable, "-m", "briefing", "run", str(folder), "--out", str(tmp_path / "out"), "--batch"]
    with LLMServer(batch_delay=3600) as srv:
        proc = subprocess.Popen(args, env=cli_env(srv), cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None and srv.batch_polls < 3:
                time.sleep(0.05)  # until it has polled a few times
            assert proc.poll() is None, proc.communicate()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
            err = proc.communicate()[1].decode()
        assert "waiting for batch batch_1 (20 requests;" in err  # not a terminal: progress lines
        assert "batch batch_1: in_progress, 0/20 answered (0 failed)" in err
        assert srv.uploads == 1 and list(srv.batches) == ["batch_1"]
        assert not (tmp_path / "out" / "latest").exists()
        listed = subprocess.run([sys.executable, "-m", "briefing", "batches", "--out", str(tmp_path / "out")],
                                env=cli_env(srv), cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0 and "batch_1" in listed.stdout and "in_progress" in listed.stdout
        srv.batches["batch_1"]["_done_at"] = 0.0  # the server finishes it meanwhile
        again = subprocess.run([*args, "--quiet"], env=cli_env(srv), cwd=tmp_path, capture_output=True, text=True,
                               timeout=300)
        assert again.returncode == 0, again.stderr
        assert "batch" not in again.stderr  # --quiet: no progress
        assert srv.uploads == 1 and list(srv.batches) == ["batch_1"]  # no second upload, the same batch
        assert "summarize" not in tasks(srv)  # every summary came from the batch
    data = json.loads((Path(again.stdout.strip().splitlines()[-1]).parent / "brief.json").read_text("utf-8"))
    assert len(data["summaries"]) == 20 and data["usage"]["batch_requests"] == 20


def test_batches_cancel(tmp_path: Path) -> None:
    folder = corpus(tmp_path / "in", 3)
    with LLMServer() as srv:
        import openai

        client = openai.OpenAI(base_url=srv.base_url, api_key="test-key")
        f = client.files.create(file=("x.jsonl", b"{}\n", "application/jsonl"), purpose="batch")
        srv.batch_delay = 3600
        b = client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
        assert b.status == "in_progress" and b.request_counts is not None and b.request_counts.total == 1
        r = subprocess.run([sys.executable, "-m", "briefing", "batches", "--out", str(tmp_path / "out"), "cancel",
                            b.id], env=cli_env(srv), cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == f"{b.id}  cancelled"
        assert client.batches.retrieve(b.id).status == "cancelled"
        client.close()
        missing = subprocess.run([sys.executable, "-m", "briefing", "batches", "cancel", "batch_404"],
                                 env=cli_env(srv), cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert missing.returncode == 1 and "batch_404" in missing.stderr and "Traceback" not in missing.stderr
    del folder


@pytest.mark.parametrize("moment", ["file", "batch"])
def test_killed_before_recording_then_rerun_pays_once(tmp_path: Path, moment: str) -> None:
    """SIGKILL the moment the server has stored the upload ("file") or created the batch ("batch"), before the
    client hears back and records it: the rerun finds the upload by its name or the batch by the fingerprint in
    its metadata, so there is one upload and one batch."""
    (tmp_path / "briefing.toml").write_text("[llm]\nbatch_poll = 0.05\nbatch_poll_max = 0.1\n", encoding="utf-8")
    folder = corpus(tmp_path / "in", 12)
    args = [sys.executable, "-m", "briefing", "run", str(folder), "--out", str(tmp_path / "out"), "--batch"]
    procs: list[subprocess.Popen[str]] = []

    def kill() -> None:
        srv.batch_hooks.clear()  # once
        os.kill(procs[0].pid, signal.SIGKILL)
        procs[0].wait(10)

    with LLMServer(batch_hooks={moment: kill}) as srv:
        procs.append(subprocess.Popen(args, env=cli_env(srv), cwd=tmp_path, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, start_new_session=True))
        try:
            procs[0].communicate(timeout=120)
        finally:
            if procs[0].poll() is None:
                procs[0].kill()
        assert procs[0].returncode == -signal.SIGKILL
        assert srv.uploads == 1 and len(srv.batches) == (1 if moment == "batch" else 0)
        assert list_batches(tmp_path / "out") == []  # the killed run recorded nothing
        again = subprocess.run(args, env=cli_env(srv), cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stderr
        assert srv.uploads == 1 and list(srv.batches) == ["batch_1"]  # one upload, one batch: paid once
        assert srv.batches["batch_1"]["input_file_id"] == "file-1"
        assert srv.batches["batch_1"]["metadata"]["fingerprint"]
        assert "summarize" not in tasks(srv)
    rows = list_batches(tmp_path / "out")
    assert [(r["id"], r["status"], r["requests"]) for r in rows] == [("batch_1", "completed", 12)]
    data = json.loads((Path(again.stdout.strip().splitlines()[-1]).parent / "brief.json").read_text("utf-8"))
    assert len(data["summaries"]) == 12 and data["usage"]["batch_requests"] == 12


def test_progress_while_waiting(tmp_path: Path) -> None:
    """Without a live bar: a line at the first and the last check (and at most one per 5 s between), with
    answered/failed/total from the batch's request counts; with one (a terminal): the bar is told of each check."""
    folder = corpus(tmp_path / "in", 20)
    lines: list[str] = []
    with LLMServer(batch_delay=0.5, batch_fail_share=0.25) as srv:
        run(settings_for(srv, folder, tmp_path / "out"), Reporter(info=lines.append))
        counts = srv.batches["batch_1"]["request_counts"]
        polls = srv.batch_polls
    waits = [x for x in lines if x.startswith("batch batch_1:")]
    assert polls >= 5 and len(waits) == 2, lines  # 0.5 s of checks every <= 0.05 s: two lines, not one per check
    assert waits[0].startswith("batch batch_1: in_progress, 0/20 answered (0 failed), ") and "next check in" in waits[0]
    assert waits[1].startswith(f"batch batch_1: completed, 20/20 answered ({counts['failed']} failed), ")
    assert "next check" not in waits[1] and counts["failed"] >= 1
    assert any(x.startswith("waiting for batch batch_1 (20 requests;") for x in lines)
    seen: list[tuple[str, int, int, dict[str, object]]] = []
    with LLMServer(batch_delay=0.3) as srv:
        run(settings_for(srv, folder, tmp_path / "out2"),
            Reporter(progress=lambda stage, k, n, fig: seen.append((stage, k, n, fig))))
    bars = [x for x in seen if x[0] == "batch batch_1"]
    assert len(bars) >= 3 and all(n == 20 for _, _, n, _ in bars)
    assert [(k, f["open"]) for _, k, _, f in bars[:-1]] == [(0, True)] * (len(bars) - 1)
    assert bars[-1][1] == 20 and bars[-1][3]["open"] is False and str(bars[-1][3]["detail"]).startswith("completed")


def test_batches_lists_cost_and_asks_the_server(tmp_path: Path) -> None:
    from briefing.engines.llm.batch import BatchStore, cache_db

    out = tmp_path / "out"

    def batches(srv: LLMServer, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "briefing", "batches", "--out", str(out), *extra],
                              env=cli_env(srv), cwd=tmp_path, capture_output=True, text=True, timeout=60)

    with LLMServer(batch_delay=3600) as srv:
        import openai

        client = openai.OpenAI(base_url=srv.base_url, api_key="test-key")
        lines = b"".join(json.dumps({"custom_id": c, "method": "POST", "url": "/v1/chat/completions", "body": {
            "model": "test-model", "messages": [{"role": "user", "content": "hello"}]}}).encode() + b"\n"
            for c in "ab")
        f = client.files.create(file=("x.jsonl", lines, "application/jsonl"), purpose="batch")
        b = client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
        client.close()
        store = BatchStore(cache_db(out))
        store.record(b.id, "validating", "test-model", srv.base_url, f.id, [("a", "x.txt"), ("b", "y.txt")], "fp",
                     0.0123)
        store.record("batch_old", "completed", "test-model", srv.base_url, "file-0", [("c", "z.txt")], "fp0", 0.5,
                     created=1.0)
        store.set_cost("batch_old", 1000, 200, 0.0004)
        store.close()
        offline = batches(srv, "--offline")
        assert offline.returncode == 0, offline.stderr
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(list_batches(out)[0]["created"]))
        assert [x.split() for x in offline.stdout.splitlines()] == [
            ["batch_1", "validating", "answered=0/2", "cost=~$0.0123", "est.", f"created={created}",
             "model=test-model"],
            ["batch_old", "completed", "answered=0/1", "cost=$0.0004", "created=1970-01-01T00:00:01Z",
             "model=test-model"]]
        assert "status as last recorded by a run (--offline)" in offline.stderr
        polls = srv.batch_polls
        asked = batches(srv)
        assert srv.batch_polls == polls + 1  # only the batch that had not ended is asked about
        assert asked.returncode == 0 and asked.stdout.split()[:3] == ["batch_1", "in_progress", "answered=0/2"]
        assert "last recorded" not in asked.stderr
        srv.batches["batch_1"]["_done_at"] = 0.0
        done = batches(srv, "--json")
        rows = [json.loads(x) for x in done.stdout.splitlines()]
        assert [(r["id"], r["status"], r["completed"], r["failed"]) for r in rows] == [
            ("batch_1", "completed", 2, 0), ("batch_old", "completed", None, None)]
        assert rows[0]["estimate_usd"] == 0.0123 and rows[0]["cost_usd"] is None and rows[1]["cost_usd"] == 0.0004
        store = BatchStore(cache_db(out))
        store.record("batch_9", "in_progress", "test-model", srv.base_url, "file-9", [("d", "w.txt")])
        store.close()
    down = batches(srv)  # the server is gone: the record, said to be
    assert down.returncode == 0 and down.stdout.split()[:4] == ["batch_9", "in_progress", "answered=0/1", "cost=-"]
    assert "status as last recorded by a run: the server could not be asked" in down.stderr
    assert "Traceback" not in down.stderr


def test_batch_all_sends_every_request_through_a_batch(tmp_path: Path) -> None:
    with LLMServer() as srv:
        live = run_ok(settings_for(srv, SEEDS, tmp_path / "live", **{"llm.batch": False}))
    with LLMServer() as srv:
        batched = run_ok(settings_for(srv, SEEDS, tmp_path / "all", **{"llm.batch": "all"}))
        assert srv.completions() == []  # nothing ran live
        sizes = [b["request_counts"]["total"] for b in srv.batches.values()]
        assert sizes[0] == 5 and len(sizes) >= 2 and all(b["status"] == "completed" for b in srv.batches.values())
    usage = batched.data["usage"]
    assert usage["batch_requests"] == usage["requests"] == sum(sizes) == live.data["usage"]["requests"]
    for key in ("summaries", "claims", "verification", "themes"):
        assert batched.data[key] == live.data[key], key  # type: ignore[literal-required]
    md = batched.brief_md.read_text(encoding="utf-8")
    assert f"All {usage['requests']} model calls went through the Batch API at half price." in md
    assert [r["status"] for r in list_batches(tmp_path / "all")] == ["completed"] * len(sizes)


def test_batch_all_groups_parallel_requests(tmp_path: Path) -> None:
    """Requests a stage starts together (here the hierarchical condensing of notes that do not fit one prompt)
    share one batch."""
    folder = corpus(tmp_path / "in", 40)
    small = {"llm.batch": "all", "llm.context_window": 6000, "llm.max_output_tokens": 1024}
    with LLMServer() as srv:
        result = run_ok(settings_for(srv, folder, tmp_path / "out", **small))
        sizes = [b["request_counts"]["total"] for b in srv.batches.values()]
        assert srv.completions() == []
    synth = sizes[1:]  # after the summaries' batch
    assert sizes[0] == 40 and sum(synth) > len(synth), sizes  # some batch carried several synthesis requests
    assert result.data["usage"]["batch_requests"] == result.data["usage"]["requests"] == sum(sizes)


def test_cli_batch_all_and_batch_before_a_folder(tmp_path: Path) -> None:
    def dry(*args: str) -> dict[str, object]:
        with LLMServer() as srv:
            r = subprocess.run([sys.executable, "-m", "briefing", "run", *args, "--dry-run", "--json",
                                "--model", "gpt-4o-mini"], env=cli_env(srv), cwd=tmp_path, capture_output=True,
                               text=True, timeout=120)
            assert srv.records == []
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    live = dry(str(SEEDS))
    summaries = dry("--batch", str(SEEDS))  # a folder after --batch is a source, as before
    every = dry("--batch", "all", str(SEEDS))
    assert list(summaries["stages"]) == ["summarize (batch)", "synthesize"]  # type: ignore[call-overload]
    assert all(k.endswith(" (batch)") for k in every["stages"])  # type: ignore[attr-defined]
    assert every["cost_usd"] == pytest.approx(live["cost_usd"] / 2, abs=2e-6)  # type: ignore[operator]
    assert summaries["cost_usd"] > every["cost_usd"]  # type: ignore[operator]


def test_batch_all_killed_at_the_synthesis_batch_then_rerun(tmp_path: Path) -> None:
    """`--batch all`, killed the moment the server creates the synthesis' (first) batch: the rerun takes the summaries
    from the cache and finds that batch by its fingerprint: no request submitted twice, nothing live."""
    (tmp_path / "briefing.toml").write_text("[llm]\nbatch_poll = 0.05\nbatch_poll_max = 0.1\n", encoding="utf-8")
    folder = corpus(tmp_path / "in", 8)
    args = [sys.executable, "-m", "briefing", "run", str(folder), "--out", str(tmp_path / "out"), "--batch", "all"]
    procs: list[subprocess.Popen[bytes]] = []

    def second_create() -> None:
        if len(srv.batches) == 2:
            srv.batch_hooks.clear()
            os.kill(procs[0].pid, signal.SIGKILL)
            procs[0].wait(10)

    with LLMServer(batch_hooks={"batch": second_create}) as srv:
        procs.append(subprocess.Popen(args, env=cli_env(srv), cwd=tmp_path, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, start_new_session=True))
        try:
            procs[0].communicate(timeout=120)
        finally:
            if procs[0].poll() is None:
                procs[0].kill()
        assert procs[0].returncode == -signal.SIGKILL and len(srv.batches) == 2 and srv.uploads == 2
        again = subprocess.run(args, env=cli_env(srv), cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stderr
        assert srv.batches["batch_2"]["status"] == "completed" and srv.completions() == []
        # a later synthesis step (if the synthesis has one) gets its own batch; nothing is submitted twice
        cids = [json.loads(x)["custom_id"] for b in srv.batches.values()
                for x in srv.files[b["input_file_id"]]["bytes"].splitlines()]
        assert len(cids) == len(set(cids)) and srv.uploads == len(srv.batches)
        later = sum(b["request_counts"]["total"] for b in list(srv.batches.values())[1:])
    data = json.loads((Path(again.stdout.strip().splitlines()[-1]).parent / "brief.json").read_text("utf-8"))
    # the summaries came from the cache: the rerun's calls are the synthesis', all through batches
    assert data["usage"]["batch_requests"] == data["usage"]["requests"] == later


def test_batch_failed_as_a_whole_is_sent_live(tmp_path: Path) -> None:
    """A batch the server rejects at validation (status "failed", no output file) is not resubmitted (it would fail
    again): every request it covered is sent live, and the brief is complete."""
    folder = corpus(tmp_path / "in", 6)
    warned: list[str] = []
    with LLMServer(batch_reject=1) as srv:
        result = run(settings_for(srv, folder, tmp_path / "out"), Reporter(warn=warned.append))
        assert isinstance(result, RunResult)
        assert len(srv.batches) == 1 and srv.batches["batch_1"]["status"] == "failed"
        assert tasks(srv).count("summarize") == 6 and srv.batch_lines == 0
    assert len(result.data["summaries"]) == 6 and result.data["usage"]["batch_requests"] == 0
    assert [r["status"] for r in list_batches(tmp_path / "out")] == ["failed"]
    assert any("batch_1 failed on the server (The batch input file is invalid.)" in w for w in warned), warned


def test_batched_summaries_are_not_capped_below_the_output_limit(tmp_path: Path) -> None:
    """The summary cap serves a live run's critical path; a batched summary asks for llm.max_output_tokens, so an
    answer cut at the cap is not paid for in the batch and again live."""
    folder = corpus(tmp_path / "in", 3)
    with LLMServer() as srv:
        settings = settings_for(srv, folder, tmp_path / "out", **{"llm.summary_output_tokens": 300})
        run_ok(settings)
        lines = [json.loads(ln) for f in srv.files.values() if f["purpose"] == "batch"
                 for ln in f["bytes"].splitlines() if ln.strip()]
    assert len(lines) == 3
    assert {ln["body"]["max_tokens"] for ln in lines} == {settings.llm.max_output_tokens}
