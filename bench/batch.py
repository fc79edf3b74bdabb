"""Batch API path at scale: N articles through `run --batch` on the loopback server, the client in its own process;
requests per batch, batches, the client's wall time without the server's completion delay, CPU time, peak RSS."""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.corpus import ROOT, write_articles

RSS_LIMIT_MB = 500.0
MODEL = "gpt-4o-mini"

_PLACES = ["Ottawa", "Seoul", "Pyongyang", "Moscow", "Beijing", "Tokyo", "Vladivostok", "Busan", "Toronto", "Incheon",
           "Sapporo", "Harbin", "Khabarovsk", "Vancouver", "Montreal", "Daegu", "Halifax", "Gwangju", "Calgary"]
_ACTORS = ["the defence minister", "a senior diplomat", "the foreign ministry", "an analyst at the institute",
           "the navy spokesperson", "the trade commissioner", "a parliamentary committee", "the envoy",
           "the coast guard", "a customs official", "the central bank", "a ruling-party lawmaker"]
_VERBS = ["announced", "warned about", "confirmed", "reported", "criticised", "denied", "estimated", "acknowledged",
          "proposed", "welcomed"]
_OBJECTS = ["new sanctions on shipping firms", "joint naval drills near the coast", "a cyber consultation forum",
            "the transfer of artillery shells", "an agreement on classified information", "additional aid",
            "talks between the Indo-Pacific envoys", "a review of export controls", "a ban on ship-to-ship transfers",
            "satellite launches", "a rise in rail freight across the border", "a fund for reconstruction"]


def write_distinct(n: int, dest: Path, seed: int = 11) -> Path:
    """n distinct synthetic news articles of ~24 sentences (~700 tokens) each; no sentence repeats across files, so
    the cleaner keeps them and near-duplicate grouping does not merge them (a backfill of many different stories)."""
    rng = random.Random(seed)
    dest.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sents = [f"In {rng.choice(_PLACES)}, {rng.choice(_ACTORS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} worth "
                 f"{rng.randint(2, 900) * 1000 + i:,} dollars in {rng.randint(2015, 2024)}, according to "
                 f"{rng.choice(_ACTORS)} quoted in report {i}-{k}." for k in range(24)]
        paras = [" ".join(sents[j:j + 4]) for j in range(0, 24, 4)]
        (dest / f"{i:04d}.txt").write_text(f"Regional security update number {i} from {rng.choice(_PLACES)}\n\n"
                                           + "\n\n".join(paras) + "\n", encoding="utf-8")
    return dest


def _settings(sources: Path, out: Path, base_url: str, mode: str) -> Any:
    from briefing.config import load_settings

    return load_settings(None, {"run.sources": [str(sources)], "run.out": str(out), "run.engine": "llm",
                                "llm.base_url": base_url, "llm.api_key": "bench", "llm.model": MODEL,
                                "llm.batch": "all" if mode == "all" else True, "llm.batch_poll": 0.2,
                                "llm.batch_poll_max": 1.0,
                                "llm.concurrency": 64, "llm.retry_backoff": 0.0},
                         environ={}, dotenv_path=None)


def child(sources: Path, out: Path, base_url: str, mode: str) -> dict[str, Any]:
    """One `run --batch` in this process (the parent measures its RSS and CPU); the figures as a dict."""
    from briefing.engines import make_engine
    from briefing.engines.llm.batch import BatchLLMEngine
    from briefing.pipeline import Reporter, RunResult, run

    t0 = time.perf_counter()
    settings = _settings(sources, out, base_url, mode)
    engine = make_engine(settings, call_log=out / "calls.jsonl")
    assert isinstance(engine, BatchLLMEngine)
    stage = ["start"]
    peaks: dict[str, int] = {}
    stop = threading.Event()

    def sample() -> None:  # peak RSS per stage, from /proc (Linux); the parent's getrusage gives the overall peak
        while not stop.is_set():
            try:
                kb = next(int(x.split()[1]) for x in Path("/proc/self/status").read_text().splitlines()
                          if x.startswith("VmRSS:"))
            except (OSError, StopIteration, ValueError):
                return
            peaks[stage[0]] = max(peaks.get(stage[0], 0), kb // 1024)
            stop.wait(0.05)

    def info(msg: str) -> None:
        for prefix, name in (("reading", "ingest"), ("summarizing", "summarize"), ("synthesizing", "synthesize"),
                             ("wrote", "written")):
            if msg.startswith(prefix):
                stage[0] = name

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = run(settings, Reporter(info=info), engine=engine)
    stop.set()
    sampler.join()
    assert isinstance(result, RunResult)
    wall = time.perf_counter() - t0
    usage = result.data["usage"]
    return {"wall_s": round(wall, 3), "server_wait_s": round(engine.server_wait, 3),
            "client_s": round(wall - engine.server_wait, 3), "timings": result.data["timings"],
            "summaries": len(result.data["summaries"]), "requests": usage["requests"],
            "batch_requests": usage["batch_requests"], "cost_usd": usage["cost_usd"],
            "batches": len(engine.submitted) + len(engine.resumed), "rss_mb_by_stage": peaks}


def run_batch(n: int, delay: float = 5.0, mode: str = "summaries", max_requests: int | None = None,
              corpus: str = "distinct") -> dict[str, Any]:
    """N articles through the batch path; the server finishes each batch `delay` s after it is created."""
    sys.path.insert(0, str(ROOT / "tests"))
    from bench.pipeline import BenchServer

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp, BenchServer(batch_delay=delay) as srv:
        work = Path(tmp)
        articles = (write_distinct if corpus == "distinct" else write_articles)(n, work / "articles")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        args = [sys.executable, "-m", "bench.batch", "--child", str(articles), str(work / "out"), srv.base_url, mode]
        if max_requests:
            args += ["--max-requests", str(max_requests)]
        t0 = time.perf_counter()
        proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=3600)
        outer = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise RuntimeError(f"batch bench child failed: {proc.stderr.strip()[-2000:]}")
        figures = json.loads(proc.stdout.strip().splitlines()[-1])
        sizes = [b["request_counts"]["total"] for b in srv.batches.values()]
        upload_mb = sum(len(f["bytes"]) for f in srv.files.values() if f["purpose"] == "batch") / 1e6
        live = srv.completions()
    return {"n": n, "corpus": corpus, "mode": mode, "delay_s": delay, "batches": len(sizes),
            "requests_per_batch": sizes, "live_requests": len(live), "upload_mb": round(upload_mb, 2),
            "process_wall_s": round(outer, 3), "cpu_s": round((after.ru_utime - before.ru_utime)
                                                               + (after.ru_stime - before.ru_stime), 3),
            "peak_rss_mb": round(after.ru_maxrss / 1024, 1), **figures}


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a plain-text table."""
    head = ["N", "batches", "requests/batch", "live req", "upload MB", "wall s", "server wait s", "client s",
            "client CPU s", "peak RSS MB"]
    body = [[str(r["n"]), str(r["batches"]), ",".join(map(str, r["requests_per_batch"])), str(r["live_requests"]),
             f"{r['upload_mb']:.1f}", f"{r['wall_s']:.1f}", f"{r['server_wait_s']:.1f}", f"{r['client_s']:.1f}",
             f"{r['cpu_s']:.1f}", f"{r['peak_rss_mb']:.0f}"] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(head, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    for r in rows:
        t = r["timings"]
        lines.append(f"N={r['n']}: stages s " + ", ".join(f"{k} {v}" for k, v in t.items())
                     + "; peak RSS MB by stage " + ", ".join(f"{k} {v}" for k, v in r["rss_mb_by_stage"].items())
                     + f"; {r['summaries']} summaries, {r['batch_requests']} of {r['requests']} requests batched; "
                     f"peak RSS {'<=' if r['peak_rss_mb'] <= RSS_LIMIT_MB else '>'} {RSS_LIMIT_MB:.0f} MB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """python -m bench.batch [--sizes 1000] [--delay 5]"""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000", help="comma-separated N (default 1000)")
    ap.add_argument("--delay", type=float, default=5.0, help="server's completion delay per batch, seconds")
    ap.add_argument("--mode", default="summaries", help="llm.batch: summaries or all")
    ap.add_argument("--max-requests", type=int, default=None, help="split batches at this many requests")
    ap.add_argument("--corpus", default="distinct", choices=["distinct", "variants"],
                    help="distinct synthetic stories (default), or variants of the seeds (bench.corpus)")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON too")
    ap.add_argument("--child", nargs=4, metavar=("SOURCES", "OUT", "BASE_URL", "MODE"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        sources, out, base_url, mode = a.child
        if a.max_requests:
            from briefing.engines.llm import batch

            batch.MAX_REQUESTS = a.max_requests
        print(json.dumps(child(Path(sources), Path(out), base_url, mode)))
        return 0
    rows = [run_batch(int(n), a.delay, a.mode, a.max_requests, a.corpus) for n in a.sizes.split(",")]
    print(table(rows))
    if a.json:
        print(json.dumps(rows, indent=2))
    return 0 if all(r["peak_rss_mb"] <= RSS_LIMIT_MB for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
