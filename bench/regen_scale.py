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
from briefing.ingest.clean import clean_documents
from briefing.ingest.sources import load_raw
from briefing.pipeline import Reporter, run


def edit_body(path: Path) -> None:
    """Edit a sentence inside the article body, so the change survives cleaning: a paragraph the cleaner keeps gets
    a sentence added in its middle (a text appended at the end of the file is dropped as trailing chrome)."""
    raw = path.read_text(encoding="utf-8")
    doc = clean_documents(load_raw([str(path)])[0])[0]
    paras = sorted((p.strip() for p in doc.text.split("\n") if p.strip() in raw and p.count(". ") >= 1),
                   key=len, reverse=True)
    if not paras:
        raise SystemExit(f"{path}: no kept paragraph to edit")
    para = paras[0]
    cut = para.index(". ") + 2
    edited = para[:cut] + "Officials said on Tuesday that 1,250 further troops were expected. " + para[cut:]
    path.write_text(raw.replace(para, edited, 1), encoding="utf-8")
    after = clean_documents(load_raw([str(path)])[0])[0].text
    if "1,250 further troops" not in after:
        raise SystemExit(f"{path}: the edit did not survive cleaning")


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
                    edit_body(src / files[n].name)
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
