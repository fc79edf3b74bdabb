"""Progress of long runs: a few readable lines without a live display, every item to a live display (the CLI bar)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Console

from briefing.cli import _Bar
from briefing.models import Source, Usage
from briefing.pipeline import Reporter, StageProgress


class _Engine:
    usage = Usage(3, 1000, 200, 0.0123)
    in_flight = 7


def _source(i: int) -> Source:
    return Source(id=i, path=f"/data/articles/{i:04d}.txt", text="x", sha256="0", tokens=1)


def test_lines_at_most_every_tenth_without_paths_on_long_runs() -> None:
    lines: list[str] = []
    progress = StageProgress("summarized", Reporter(info=lines.append), _Engine(), every=3600)  # type: ignore[arg-type]
    for k in range(1, 1001):
        progress(k, 1000, _source(k))
    assert 10 <= len(lines) <= 12  # first, one per 10%, last: not one per item
    assert lines[0].startswith("summarized 1/1000") and lines[-1].startswith("summarized 1000/1000")
    assert "ETA" in lines[1] and "1,200 tokens" in lines[1] and "$0.0123" in lines[1]
    assert not any("/data/articles" in line for line in lines)  # no per-file paths in a 1,000-source run


def test_short_runs_name_each_source() -> None:
    lines: list[str] = []
    progress = StageProgress("summarized", Reporter(info=lines.append), _Engine(), every=3600)  # type: ignore[arg-type]
    for k in range(1, 6):
        progress(k, 5, _source(k))
    assert [line.split(",")[0] for line in lines] == [f"summarized {k}/5" for k in range(1, 6)]
    assert "/data/articles/0005.txt" in lines[-1]


def test_live_display_gets_every_item_and_no_lines() -> None:
    lines: list[str] = []
    seen: list[tuple[str, int, int, dict[str, Any]]] = []
    report = Reporter(info=lines.append, progress=lambda *a: seen.append(a))
    progress = StageProgress("summarized", report, _Engine(), every=3600)  # type: ignore[arg-type]
    for k in range(1, 51):
        progress(k, 50, _source(k))
    assert lines == [] and [s[1] for s in seen] == list(range(1, 51))
    assert seen[-1][3] == {"in_flight": 7, "cost_usd": 0.0123, "tokens": 1200}


def test_terminal_bar_shows_counts_and_figures() -> None:
    buf = io.StringIO()
    bar = _Bar(Console(file=buf, force_terminal=True, width=160))
    for k in range(1, 4):
        bar("summarized", k, 3, {"in_flight": 2, "tokens": 12345, "cost_usd": 0.5})
    bar.close()
    out = buf.getvalue()
    assert "summarized" in out and "3/3" in out and "12,345 tokens" in out and "$0.5000" in out and "in flight" in out


def test_progress_ends_at_the_true_total_when_cache_hits_come_after_the_new_source(tmp_path: Path) -> None:
    """Regeneration: the first source is new and the rest are cached, and the engine reports the new summary before
    the rest have been looked up. The progress total was a guess then; the last line says 1/1."""
    from briefing.cache import Cache
    from briefing.config import load_settings
    from briefing.engines import make_engine
    from briefing.summarize import summarize_sources

    settings = load_settings(None, {}, environ={}, dotenv_path=None)
    profile = settings.to_profile()
    texts = [f"Report {i}. The ministry said on Monday that talks number {i} would resume in the spring. "
             f"Officials from both sides met {i} times last year." for i in range(6)]
    sources = [Source(id=i + 1, path=f"{i}.txt", text=t, sha256=str(i), tokens=30) for i, t in enumerate(texts)]
    inner = make_engine(settings)

    class Lazy:  # reports each source's summary as soon as it takes it, like the model engine
        name = "lazy"

        def summarize(self, srcs: Iterable[Source], chunks: object, prof: object,
                      on_summary: Any = None) -> list[Any]:
            out = []
            for s in srcs:
                summary = inner.summarize([s], {}, profile)[0]
                if on_summary is not None:
                    on_summary(summary)
                out.append(summary)
            return out

    with Cache(tmp_path / "c.sqlite") as cache:
        summarize_sources(Lazy(), sources[1:], {}, profile, cache, "e")  # type: ignore[arg-type]
        seen: list[tuple[int, int]] = []
        summarize_sources(Lazy(), iter(sources), {}, profile, cache, "e",  # type: ignore[arg-type]
                          progress=lambda k, n, s: seen.append((k, n)), expected=len(sources))
    assert seen[0] == (1, 6)  # a guess while the cached ones were still to come
    assert seen[-1] == (1, 1)
