"""Cleaner throughput: ours vs jusText on the seeds repeated to ~10 MB (.venv/bin/python bench/bench_clean.py)."""

from __future__ import annotations

import html
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from briefing.ingest.clean import clean_document, clean_documents  # noqa: E402
from briefing.ingest.dedup import mark_duplicates  # noqa: E402
from briefing.ingest.sources import load_raw  # noqa: E402
from briefing.models import RawDoc  # noqa: E402

TARGET = 10 * 1024 * 1024


def main() -> None:
    raws, _ = load_raw([str(ROOT / "seeds")])
    size = sum(len(r.text.encode("utf-8")) for r in raws)
    reps = max(1, TARGET // size)
    batch = [RawDoc(f"{r.path}#{i}", r.text, r.sha256) for i in range(reps) for r in raws]
    mb = reps * size / 1e6

    t = time.perf_counter()
    for r in batch:
        clean_document(r)
    ours = time.perf_counter() - t

    t = time.perf_counter()
    for i in range(0, len(batch), len(raws)):  # batch mode per seed set: cross-file repetition + grouping
        mark_duplicates(clean_documents(batch[i : i + len(raws)]))
    ours_batch = time.perf_counter() - t

    import justext

    stop = justext.get_stoplist("English")
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in batch:
            page = "<html><body>" + "".join(f"<p>{html.escape(x)}</p>" for x in r.text.split("\n") if x.strip())
            justext.justext(page + "</body></html>", stop)
    theirs = time.perf_counter() - t

    print(f"{mb:.1f} MB of text ({len(batch)} documents)")
    print(f"{'cleaner':<34}{'seconds':>10}{'MB/s':>10}")
    print(f"{'briefing clean_document':<34}{ours:>10.2f}{mb / ours:>10.2f}")
    print(f"{'briefing clean_documents (x5)':<34}{ours_batch:>10.2f}{mb / ours_batch:>10.2f}")
    print(f"{'jusText (lines as <p>)':<34}{theirs:>10.2f}{mb / theirs:>10.2f}")


if __name__ == "__main__":
    main()
