"""Cleaner throughput: briefing.ingest.clean.clean_documents vs jusText on the raw seeds repeated to ~10 MB."""

from __future__ import annotations

import html
import time
import warnings
from typing import Any

from bench.common import best_of, skipped
from bench.corpus import raw_seeds
from briefing.ingest.clean import clean_documents
from briefing.ingest.dedup import mark_duplicates
from briefing.models import RawDoc


def _reuse_bench_clean() -> str | None:
    """Name of a measuring function in the cleaner engineer's bench/bench_clean.py, if it has one."""
    try:
        from bench import bench_clean
    except Exception:  # noqa: BLE001
        return None
    for name in ("measure", "bench", "run"):
        if callable(getattr(bench_clean, name, None)):
            return name
    return None


def run(target_mb: float = 10.0, reps: int = 3) -> dict[str, Any]:
    """MB/s of our batch cleaner (batches of the seed set, as a run sees them) and of jusText, same input."""
    reuse = _reuse_bench_clean()
    if reuse:
        from bench import bench_clean

        return {"source": f"bench/bench_clean.py:{reuse}", **getattr(bench_clean, reuse)()}
    raws = raw_seeds()
    size = sum(len(r.text.encode("utf-8")) for r in raws)
    copies = max(1, round(target_mb * 1e6 / size))
    batches = [[RawDoc(f"{r.path}#{i}", r.text, r.sha256) for r in raws] for i in range(copies)]
    mb = copies * size / 1e6
    rows: list[dict[str, Any]] = []
    # "On one core": CPU seconds of this (single-threaded) process, so time stolen by other jobs on a shared
    # machine does not count; jusText is timed the same way.
    best, median = best_of(lambda: [mark_duplicates(clean_documents(b)) for b in batches], reps, time.process_time)
    rows.append({"name": "briefing clean_documents (per seed-set batch)", "seconds": round(best, 4),
                 "median_seconds": round(median, 4), "mb_s": round(mb / best, 3)})
    try:
        import justext
    except ImportError as e:
        rows.append(skipped("jusText", f"not installed ({e.name})"))
    else:
        stop = justext.get_stoplist("English")
        pages = ["<html><body>" + "".join(f"<p>{html.escape(x)}</p>" for x in r.text.split("\n") if x.strip())
                 + "</body></html>" for r in raws]

        def jt() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for _ in range(copies):
                    for p in pages:
                        justext.justext(p, stop)

        best, median = best_of(jt, reps, time.process_time)
        rows.append({"name": "jusText (lines as <p>)", "seconds": round(best, 4), "median_seconds": round(median, 4),
                     "mb_s": round(mb / best, 3)})
    ours = rows[0]["mb_s"]
    for r in rows:
        if "mb_s" in r:
            r["ratio_to_ours"] = round(r["mb_s"] / ours, 3)
    return {"source": "bench/cleaner.py (bench_clean.py has only a printing main())", "clock": "process CPU time",
            "corpus_mb": round(mb, 2),
            "documents": copies * len(raws), "reps": reps, "rows": rows,
            "targets": {"cleaner >= 2 MB/s on one core": ours >= 2.0}}
