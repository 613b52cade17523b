"""Pacing requests to one account-region, so the job never crowds the customer's own Lambda control plane.

Lambda's control-plane request quota is shared with the account's deploy tooling, so every request to one
account-region (its ListFunctions pages and its enrichments' calls, retries included) passes through that
target's Pacer. At rate r (the config's max_requests_per_second, less HEADROOM: 9 a second at the default 10),
it lets at most `burst` = floor(r) + 1 requests go in any `window` of burst / r seconds: 10 in any 1.11 s at
the default. That is the bound one request every 1 / r seconds gives (the pacer's rule before issue 20: at
most floor(r) + 1 in any one second, r a second over time), without the spacing: an account-region's first
calls (its listing and the estate lists read beside it) go at once, and the rest as the window frees up.

Those moments are taken when a request really goes, not booked ahead: a waiter that wakes up late (the event
loop was busy) checks the window again, so requests delayed by a busy loop never go out beyond the count. A
request can still be held up for a moment between leaving the pacer and reaching the wire (a busy loop, a
pooled connection to wait for), which lets the next one catch up with it in the server's count; so the pacer
keeps HEADROOM under the rate, and the window is longer than a second by one interval (1 / r): at 15/s, the
100 x 17 benchmark's server saw 16 in one second without the headroom, 15 with it; a window of one second
plus 20 ms let 11 arrive in a second at 10 (benchmark, GetLayerVersionPolicy 4 at a time). Several tasks may
wait on one pacer (an account-region's concurrent reads); all run on one event loop, so it needs no lock.

`on_wait`, when set, is called once, the first time a request has to wait: job/pipeline.py's `execute` then lets
the next target start in this one's place (a target held back by its own rate does not hold back the others).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

HEADROOM = 0.9  # the pacer's own rate, as a share of the configured one


def window_of(per_second: float) -> tuple[int, float]:
    """(burst, window): at most `burst` requests in any `window` seconds, for a configured rate."""
    rate = per_second * HEADROOM
    burst = math.floor(rate + 1e-9) + 1
    return burst, burst / rate


class Pacer:
    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.burst, self.window = window_of(per_second)
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque(maxlen=self.burst)  # the moments of the last `burst` requests
        self.on_wait: Callable[[], None] | None = None  # called (once) the first time a request must wait

    def take(self) -> float:
        """Let a request go now if fewer than `burst` went in the last window (returns 0.0), else how long to
        wait first."""
        now = self._clock()
        if len(self._sent) == self.burst and (free_at := self._sent[0] + self.window) > now:
            return free_at - now
        self._sent.append(now)  # the oldest drops out (maxlen)
        return 0.0

    async def wait(self) -> None:
        """Wait (without blocking the event loop) until a request may go, and take that moment."""
        while (delay := self.take()) > 0:
            if self.on_wait is not None:
                hook, self.on_wait = self.on_wait, None
                hook()
            await self._sleep(delay)
