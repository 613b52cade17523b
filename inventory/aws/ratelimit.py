"""Pacing requests to one account-region, so the job never crowds the customer's own Lambda control plane.

Lambda's control-plane request quota is shared with the account's deploy tooling, so a listing keeps at
least 1/rate seconds between the starts of its requests (retries included). One target is listed by one
task at a time, so a pacer needs no lock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Pacer:
    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next = float("-inf")

    def book(self) -> float:
        """Book the next request's start; returns how long to wait before sending it."""
        now = self._clock()
        start = max(now, self._next)
        self._next = start + self._interval
        return start - now

    async def wait(self) -> None:
        """Wait (without blocking the event loop) until the next request may start, and book that start."""
        delay = self.book()
        if delay > 0:
            await self._sleep(delay)
