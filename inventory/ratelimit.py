"""Pacing requests to one account-region, so the job never crowds the customer's own Lambda control plane.

Lambda's control-plane request quota is shared with the account's deploy tooling, so a listing keeps at
least 1/rate seconds between the starts of its requests (retries included). One target is listed by one
thread at a time, so a pacer needs no lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next = float("-inf")

    def wait(self) -> None:
        """Block until the next request may start, and book that start."""
        now = self._clock()
        if now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self._interval
