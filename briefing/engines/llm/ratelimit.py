"""Async rate limiting: requests- and tokens-per-minute token buckets for calls to a model endpoint."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class _Bucket:
    """A token bucket refilled continuously at `per_minute / 60` per second, holding at most `per_minute`."""

    def __init__(self, per_minute: float, clock: Callable[[], float]) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.level = self.capacity
        self.clock = clock
        self.stamp = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self, amount: float) -> float:
        """Seconds until `amount` is available (amounts above capacity wait for a full bucket)."""
        self._refill()
        need = min(amount, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def take(self, amount: float) -> None:
        """Spend `amount` (may go negative for requests larger than the bucket, which then refills first)."""
        self._refill()
        self.level -= amount


class RateLimiter:
    """Waits so that at most `requests_per_minute` requests and `tokens_per_minute` tokens start per minute."""

    def __init__(self, requests_per_minute: int | None = None, tokens_per_minute: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.requests = _Bucket(requests_per_minute, clock) if requests_per_minute else None
        self.tokens = _Bucket(tokens_per_minute, clock) if tokens_per_minute else None

    async def acquire(self, tokens: int) -> None:
        """Block until one request of `tokens` tokens may start, then account for it.

        No lock: the check and the take run without an await between them, so on one event loop they are atomic;
        the limiter therefore works across several `asyncio.run` calls.
        """
        if self.requests is None and self.tokens is None:
            return
        while True:
            wait = max(self.requests.wait_time(1) if self.requests else 0.0,
                       self.tokens.wait_time(tokens) if self.tokens else 0.0)
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        if self.requests:
            self.requests.take(1)
        if self.tokens:
            self.tokens.take(tokens)
