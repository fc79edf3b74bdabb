"""Regeneration at scale: N sources cached, then one source added (and one changed): requests and prompt tokens.

    .venv/bin/python -m bench.regen_scale [N]     # default 200; server 0.3 s + 2 ms/token, concurrency 64
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.corpus import write_articles
from bench.pipeline import BenchServer, _counters, _settings
from briefing.pipeline import Reporter, run


def measure(n: int, latency: float = 0.3, per_token: float = 0.002) -> dict[str, Any]:
    """Full run on n articles, unchanged rerun, +1 article, then that article edited: requests/tokens of each."""
    out: dict[str, Any] = {"n": n}
    with tempfile.TemporaryDirectory(prefix="briefing-regen-") as tmp:
        pool = write_articles(n + 1, Path(tmp) / "pool")
        files = sorted(pool.iterdir())
        src = Path(tmp) / "src"
        src.mkdir()
        for f in files[:n]:
            shutil.copy(f, src / f.name)
        with BenchServer(latency=latency, per_token=per_token) as srv:
            settings = _settings(src, Path(tmp) / "out", srv.base_url, 64)
            before = _counters(srv)
            for step in ("full run", "unchanged rerun", "one source added", "one source changed"):
                if step == "one source added":
                    shutil.copy(files[n], src / files[n].name)
                elif step == "one source changed":
                    p = src / files[n].name
                    p.write_text(p.read_text(encoding="utf-8") + "\nA further paragraph was added to this report "
                                 "on the following day, with new details on the talks.\n", encoding="utf-8")
                t = time.perf_counter()
                run(settings, Reporter())
                after = _counters(srv)
                out[step] = {"wall_s": round(time.perf_counter() - t, 2),
                             **{k: after[k] - before[k] for k in ("requests", "prompt_tokens", "completion_tokens")}}
                before = after
    full = out["full run"]["prompt_tokens"]
    for step in ("one source added", "one source changed"):
        out[step]["share_of_full_prompt"] = round(out[step]["prompt_tokens"] / full, 3)
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 200), indent=1))
