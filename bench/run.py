"""Run the benchmark sections, print one table and write bench/results/latest.json."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # python bench/run.py
    sys.path.insert(0, str(ROOT))

from bench import chunking, cleaner, pipeline  # noqa: E402

SECTIONS = ("chunking", "pipeline", "regeneration", "cleaner")


def _git() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "briefing"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" + uncommitted changes in briefing/" if dirty else "")


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def table(results: dict[str, Any]) -> str:
    """The results as plain-text tables (also pasted into bench/README.md)."""
    lines: list[str] = []

    def rows(head: list[str], body: list[list[Any]]) -> None:
        cells = [head] + [[_fmt(c) for c in r] for r in body]
        widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
        for k, r in enumerate(cells):
            lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths,
                                                                                                    strict=True))))
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))

    if "chunking" in results:
        c = results["chunking"]
        lines.append(f"## Chunking: {c['corpus_mb']} MB, {c['documents']} documents, budget {c['token_budget']} "
                     f"tokens, best of {c['reps']}")
        rows(["chunker", "seconds", "MB/s", "x raw encode"],
             [[r["name"], r.get("seconds"), r.get("mb_s"), r.get("ratio_to_raw")] if "mb_s" in r
              else [r["name"], None, None, "skipped: " + r["skipped"]] for r in c["rows"]])
        lines.append("")
    if "pipeline" in results:
        p = results["pipeline"]
        lines.append(f"## Pipeline: loopback server, latency {p['latency_s']} s + {p['per_token_s']} s per output "
                     f"token, model {p['model']}, our concurrency {p.get('concurrency')}")
        body = []
        for r in p["rows"]:
            o, lc = r["ours"], r["langchain"]
            body.append([f"ours N={r['n']}", o["wall_s"], o["floor"]["seconds"], o["wall_over_floor"],
                         o["requests"], o["prompt_tokens"], o["completion_tokens"], o.get("usd_gpt-4o-mini"),
                         o.get("usd_gpt-4.1"), r["ours_prompt_over_body"], None, None, None])
            cl = r.get("ours_cli")
            if cl:
                body.append([f"ours as a command N={r['n']}", cl["wall_s"], cl["floor"]["seconds"],
                             cl["wall_over_floor"], cl["requests"], cl["prompt_tokens"], cl["completion_tokens"],
                             cl.get("usd_gpt-4o-mini"), cl.get("usd_gpt-4.1"), None, None, None,
                             None if not cl.get("exit") else f"exit {cl['exit']}"])
            if "skipped" in lc:
                body.append([f"langchain N={r['n']}", None, None, None, None, None, None, None, None, None, None,
                             None, "skipped: " + lc["skipped"]])
            else:
                body.append([f"langchain N={r['n']}", lc["wall_s"], None, None, lc["requests"], lc["prompt_tokens"],
                             lc["completion_tokens"], lc.get("usd_gpt-4o-mini"), lc.get("usd_gpt-4.1"),
                             round(lc["prompt_tokens"] / r["body_tokens"], 3), r["speedup_vs_langchain"],
                             r["prompt_tokens_ratio"], r.get("usd_ratio_gpt-4o-mini")])
        rows(["run", "wall s", "floor s", "wall/floor", "requests", "prompt tok", "compl tok", "$ 4o-mini",
              "$ 4.1", "prompt/body tok", "ours faster x", "ours/LC prompt", "ours/LC $"], body)
        for r in p["rows"]:
            st = r["ours"].get("starts") or {}
            lv = r["ours"]["floor"]["levels"]
            lines.append(f"ours N={r['n']}: {st.get('within_0.1s_of_first')} requests reached the server within "
                         f"0.1 s of the first; floor levels: " + ", ".join(
                             f"{x['task']} x{x['calls']} max {x['max_completion_tokens']} tok "
                             f"(longest {x.get('longest_request_s')} s)" for x in lv))
            cl = r.get("ours_cli")
            if cl and cl.get("starts"):
                lines.append(f"ours as a command N={r['n']}: first request {cl['starts']['first_request_after_s']} s "
                             f"after the process started, {cl.get('after_last_answer_s')} s from the last answer to "
                             f"the process' exit, peak RSS {cl.get('peak_rss_mb')} MB; gaps between levels: "
                             + ", ".join(f"{x['task']} {x['started_after_previous_s']} s"
                                         for x in cl["floor"]["levels"][1:]))
            secs = r["ours"].get("sections") or {}
            if secs:
                lines.append(f"ours N={r['n']}: claims/sources cited per section: " + ", ".join(
                    f"{k.removeprefix('theme:')} {v['claims']}/{v['sources']}" for k, v in secs.items()))
            share = r["ours"].get("judge_share")
            if share:
                lines.append(f"model judge at N={r['n']}: {share['prompt']:.0%} of prompt tokens, "
                             f"{share['completion']:.0%} of completion tokens, {share['cost']:.0%} of the cost "
                             f"(+{share['cost_added_vs_no_judge']:.0%} over a run without it; gpt-4o-mini prices)")
        lines.append("body tok = cleaned article text: " + ", ".join(
            f"N={r['n']}: {r['body_tokens']} (raw files {r['raw_tokens']})" for r in p["rows"]))
        lines.append("")
    if "regeneration" in results:
        g = results["regeneration"]
        lines.append("## Regeneration (seeds, unchanged rerun into the same output root)")
        rows(["run", "seconds", "requests"], [["first run", g["first_run_s"], g["first_run_requests"]],
                                              ["unchanged rerun", g["rerun_s"], g["rerun_requests"]]])
        lines.append("")
    if "cleaner" in results:
        c = results["cleaner"]
        lines.append(f"## Cleaner: {c.get('corpus_mb')} MB of raw seeds, {c.get('documents')} documents, "
                     f"best of {c.get('reps')}")
        rows(["cleaner", "seconds", "MB/s", "x ours"],
             [[r["name"], r.get("seconds"), r.get("mb_s"), r.get("ratio_to_ours")] if "mb_s" in r
              else [r["name"], None, None, "skipped: " + r["skipped"]] for r in c.get("rows", [])])
        lines.append("")
    lines.append("## Targets")
    for sec in SECTIONS:
        for name, ok in (results.get(sec, {}).get("targets") or {}).items():
            lines.append(f"- [{ {True: 'PASS', False: 'FAIL', None: 'n/a'}[ok] }] {sec}: {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run the chosen sections, print the table and write the JSON."""
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes (< 60 s): 1 MB corpora, N = 5 and 10")
    ap.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated subset of " + ", ".join(SECTIONS))
    ap.add_argument("--sizes", default=None, help="pipeline N values (default 5,50,200; quick 5,10)")
    ap.add_argument("--langchain-max", type=int, default=50,
                    help="largest N for LangChain map_reduce (default 50; 200 adds about 3 minutes)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions for throughput sections (best of N)")
    ap.add_argument("--chunk-mb", type=float, default=None, help="chunking corpus size in MB (default 10)")
    ap.add_argument("--clean-mb", type=float, default=None, help="cleaner corpus size in MB (default 10)")
    ap.add_argument("--budget", type=int, default=512, help="chunk token budget")
    ap.add_argument("--latency", type=float, default=0.3, help="server seconds per request")
    ap.add_argument("--per-token", type=float, default=0.002, help="server seconds per output token")
    ap.add_argument("--concurrency", type=int, default=64, help="our llm.concurrency in the pipeline section")
    ap.add_argument("--judge", action="store_true", help="pipeline: run ours with the model judge (--judge) and "
                    "report its share of tokens and cost")
    ap.add_argument("--no-peers", action="store_true", help="chunking: skip LangChain/semchunk/chonkie")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.json"))
    args = ap.parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    logging.getLogger("langchain_text_splitters").setLevel(logging.ERROR)
    quick = args.quick
    reps = args.reps or (1 if quick else 3)
    sizes = [int(x) for x in (args.sizes or ("5,10" if quick else "5,50,200")).split(",")]

    def log(msg: str) -> None:
        print(f"[bench] {msg}", file=sys.stderr, flush=True)

    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "quick": quick, "git": _git(),
                               "python": platform.python_version(), "cpus": os.cpu_count(),
                               "argv": ["python", "-m", "bench", *(argv if argv is not None else sys.argv[1:])]}
    t0 = time.perf_counter()
    if "chunking" in sections:
        log("chunking")
        results["chunking"] = chunking.run(args.chunk_mb or (1.0 if quick else 10.0), args.budget, reps,
                                           peers=not args.no_peers)
    if "pipeline" in sections:
        results["pipeline"] = pipeline.run_sizes(sizes, args.latency, args.per_token, args.langchain_max, log,
                                                 args.judge, args.concurrency)
    if "regeneration" in sections:
        log("regeneration")
        results["regeneration"] = pipeline.run_regeneration(args.latency, args.per_token)
    if "cleaner" in sections:
        log("cleaner")
        results["cleaner"] = cleaner.run(args.clean_mb or (0.5 if quick else 10.0), 1 if quick else
                                         (args.reps or 1))
    results["total_s"] = round(time.perf_counter() - t0, 1)
    text = table(results)
    results["table"] = text
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(text)
    prof = results.get("chunking", {}).get("profile")
    if prof:
        print("\nchunker below target; cProfile of briefing.chunk.chunk_text (also in the JSON):\n" + prof)
    print(f"\nwrote {out} in {results['total_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
