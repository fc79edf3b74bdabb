"""Scale: `briefing run` on N articles as a separate process under /usr/bin/time -v: wall, peak RSS, requests, and
which sources each theme section cites (the bench server in this process, so its memory is not counted).

    .venv/bin/python -m bench.scale 1000 [--concurrency 64]     # server 0.3 s + 2 ms/token, like the pipeline bench
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.corpus import ROOT, write_articles
from bench.pipeline import BenchServer, _counters, floor


def measure(n: int, concurrency: int = 64, latency: float = 0.3, per_token: float = 0.002) -> dict[str, Any]:
    """One CLI run on n articles; its /usr/bin/time -v figures and the brief's per-section citations."""
    with tempfile.TemporaryDirectory(prefix="briefing-scale-") as tmp:
        articles = write_articles(n, Path(tmp) / "in")
        (Path(tmp) / "briefing.toml").write_text("", encoding="utf-8")  # hermetic
        out = Path(tmp) / "out"
        with BenchServer(latency=latency, per_token=per_token) as srv:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFING_"))}
            env.update({"OPENAI_BASE_URL": srv.base_url, "OPENAI_API_KEY": "x", "BRIEFING_MODEL": "gpt-4o-mini",
                        "BRIEFING_CONCURRENCY": str(concurrency), "PYTHONPATH": str(ROOT)})
            t = time.perf_counter()
            proc = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "briefing", "run", str(articles),
                                   "--out", str(out), "--quiet"], capture_output=True, text=True, env=env, cwd=tmp,
                                  timeout=3600)
            wall = time.perf_counter() - t
            counters = _counters(srv)
            fl = floor(srv.records, latency, per_token)
            tasks: dict[str, int] = {}
            for r in srv.completions():
                if r.status == 200:
                    tasks[r.task or "other"] = tasks.get(r.task or "other", 0) + 1
            biggest = max((r.prompt_tokens for r in srv.completions()), default=0)
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        result: dict[str, Any] = {"n": n, "exit": proc.returncode, "wall_s": round(wall, 2),
                                  "peak_rss_mb": round(int(rss.group(1)) / 1024, 1) if rss else None,
                                  **counters, "requests_by_task": tasks, "largest_prompt_tokens": biggest,
                                  "floor_s": fl["seconds"], "floor_levels": fl["levels"]}
        if proc.returncode != 0:
            result["stderr"] = proc.stderr[-2000:]
            return result
        data = json.loads((out / "latest" / "brief.json").read_text(encoding="utf-8"))
        sections: dict[str, dict[str, int]] = {}
        for c in data["claims"]:
            if c["section"].startswith("source_summary"):
                continue
            row = sections.setdefault(c["section"], {"claims": 0, "sources": 0})
            row["claims"] += 1
            row.setdefault("_ids", set()).update(c["source_ids"])  # type: ignore[attr-defined]
        for row in sections.values():
            row["sources"] = len(row.pop("_ids"))  # type: ignore[arg-type]
        result["sections"] = sections
        result["themes_citing_sources"] = sum(1 for k, v in sections.items() if k.startswith("theme:")
                                              and v["sources"] > 0)
        result["themes"] = len(data["themes"])
    return result


def main() -> None:
    """Parse N and --concurrency, print the figures as JSON."""
    ap = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, nargs="?", default=1000)
    ap.add_argument("--concurrency", type=int, default=64)
    args = ap.parse_args()
    print(json.dumps(measure(args.n, args.concurrency), indent=1))


if __name__ == "__main__":
    main()
