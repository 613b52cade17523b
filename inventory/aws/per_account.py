"""Once per account: a value asked of AWS one time per member account, however many regions ask for it.

Used from the event loop by aws/credentials.py (AssumeRole) and aws/enabled_regions.py (ListRegions). A
per-account asyncio lock makes the regions of one account wait for the one call, which the caller runs (with
its retries) in a worker thread because it goes through botocore. A failure is remembered too, as its Fault,
so a denied account costs one call, not one per region.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeGuard, TypeVar

from inventory.aws.retry import Fault, classify

T = TypeVar("T")


class AccountFault(Exception):
    """A per-account call failed, and the failure is remembered for the run; the Fault says why."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(f"{fault.code}: {fault.message}")
        self.fault = fault


class PerAccount(Generic[T]):
    """Account id -> a value, or the Fault of the one call that failed to give it.

    `usable(value)` says whether a cached value may still be handed out (credentials near expiry may not:
    the next get() makes the call again). A failed call is raised as `failure(fault)` now and on every
    later get(). An AccountFault raised by `make` (one remembered elsewhere, e.g. AssumeRole's) passes
    through unchanged and is not remembered here.
    """

    def __init__(self, failure: Callable[[Fault], AccountFault], usable: Callable[[T], bool] | None = None) -> None:
        self._failure = failure
        self._usable = usable
        self._locks: dict[str, asyncio.Lock] = {}
        self._cache: dict[str, T | Fault] = {}

    def _ready(self, cached: T | Fault | None) -> TypeGuard[T]:
        if cached is None or isinstance(cached, Fault):
            return False
        return self._usable is None or self._usable(cached)

    def cached(self, account_id: str) -> T | None:
        """The account's value if one is held and usable: no coroutine, no lock (every request asks)."""
        cached = self._cache.get(account_id)
        return cached if self._ready(cached) else None

    async def get(self, account_id: str, make: Callable[[], Awaitable[T]]) -> T:
        """The account's value; `make` is awaited at most once at a time per account, and only when needed."""
        cached = self._cache.get(account_id)
        if self._ready(cached):
            return cached  # the common case: no lock, no thread
        async with self._locks.setdefault(account_id, asyncio.Lock()):
            cached = self._cache.get(account_id)
            if isinstance(cached, Fault):
                raise self._failure(cached)
            if self._ready(cached):
                return cached
            try:
                value = await make()
            except AccountFault:
                raise
            except Exception as err:  # every failure becomes data for the account's targets
                fault = classify(err)
                self._cache[account_id] = fault
                raise self._failure(fault) from err
            self._cache[account_id] = value
            return value

    def forget(self, account_id: str, stale: T) -> None:
        """Drop `stale` if it is still the account's value, so that the next get() makes the call again."""
        if self._cache.get(account_id) is stale:
            del self._cache[account_id]
