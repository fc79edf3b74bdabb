"""Timing helpers shared by the sections."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def best_of(fn: Callable[[], Any], reps: int, clock: Callable[[], float] = time.perf_counter) -> tuple[float, float]:
    """(best, median) seconds of fn over reps runs: wall time, or CPU time with clock=time.process_time."""
    times = []
    for _ in range(max(1, reps)):
        t = clock()
        fn()
        times.append(clock() - t)
    return min(times), statistics.median(times)


def skipped(name: str, reason: str) -> dict[str, Any]:
    """A row for a peer that could not run, with the reason (shown in the table and the JSON)."""
    return {"name": name, "skipped": reason}
