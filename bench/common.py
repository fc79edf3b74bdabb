"""Timing helpers shared by the sections."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def best_of(fn: Callable[[], Any], reps: int) -> tuple[float, float]:
    """(best, median) wall seconds of fn over reps runs."""
    times = []
    for _ in range(max(1, reps)):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def skipped(name: str, reason: str) -> dict[str, Any]:
    """A row for a peer that could not run, with the reason (shown in the table and the JSON)."""
    return {"name": name, "skipped": reason}
