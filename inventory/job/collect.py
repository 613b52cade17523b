"""Collect: list one target's functions. Every outcome is a TargetResult (contract/results.py); nothing is
raised to the caller.

Pages come 50 at a time (Marker / NextMarker) from aws/lambda_api.py's LambdaLister. Each page has its own retry
budget: after a throttle or a dropped connection the listing resumes from the last good marker, so a retry
never repeats or skips a page. A target's items are checked and compacted to Arrow (contract/staged.py) when its
listing ends, together with those of listings that end at about the same time (the Stager, below), or every
CHUNK_FUNCTIONS items; the rows are made later, for many targets at once (contract/rows.py). A target that
fails keeps no partial rows.

A listing cannot hang or lie: a NextMarker seen before in the target (the same one again, or a cycle) fails
it with `RepeatedMarker`; the whole listing, retries and backoff included, runs under the config's
`timeouts.target_seconds` (`DeadlineExceeded`); a malformed item fails it with `InvalidItem` (contract/items.py).
`UnrecognizedClientException` is `skipped` only where the region is provably not enabled: an opt-in region
(aws/regions.py's packaged data) that the account's ListRegions, when the run asked it, does not list as enabled.
Anywhere else it means the credentials were not recognised, and the target fails.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from inventory.aws.credentials import AccountCredentials, AssumeRoleFailed
from inventory.aws.enabled_regions import EnabledRegions, RegionsUnknown
from inventory.aws.lambda_api import LambdaLister
from inventory.aws.ratelimit import Pacer
from inventory.aws.regions import is_opt_in
from inventory.aws.retry import Fault, FaultError, FaultKind, RetryPolicy, classify
from inventory.contract.items import InvalidItem
from inventory.contract.results import Status, TargetResult
from inventory.contract.staged import staged_batch
from inventory.contract.target import Target
from inventory.job.batching import Batcher
from inventory.redact import clean

CHUNK_FUNCTIONS = 1000  # raw items held per listing before they are staged (compact Arrow)
log = logging.getLogger(__name__)


class _Listing:
    """A resumable walk over one target's pages: a retry starts again from the last marker received."""

    def __init__(self, collector: Collector, target: Target, pacer: Pacer) -> None:
        self._collector = collector
        self._target = target
        self._pacer = pacer
        self.marker: str | None = None
        self.seen: set[str] = set()  # every marker this listing has been given: a repeat or a cycle never ends
        self.items: list[Mapping[str, Any]] = []
        self.batches: list[pa.RecordBatch] = []  # staged items
        self.count = 0
        self.pages = 0
        self.retries = 0

    async def finish(self) -> None:
        """Stage the last items, with other listings' when the run has a Stager (the Stager, below)."""
        stager = self._collector.stager
        if stager is None or not self.items:
            self.compact()
            return
        self.batches.append(await stager.stage(self.items))
        self.count += len(self.items)
        self.items = []

    def compact(self, at_least: int = 1) -> None:
        """Stage the raw items held so far (~5x smaller than the dicts) once there are enough. Staging costs
        ~0.2 ms whatever the number of items: once per target, not per page."""
        if len(self.items) >= at_least:
            self.batches.append(staged_batch(self.items))
            self.count += len(self.items)
            self.items = []

    def on_retry(self, fault: Fault) -> None:
        self.retries += 1
        log.debug("retrying after %s", fault.code, extra=self._collector.log_fields(self._target))

    async def next_page(self) -> bool:
        """Fetch one page; True while more pages follow."""
        collector, target = self._collector, self._target
        credentials = collector.credentials.cached(target.account) or await collector.credentials.get(target.account)
        await self._pacer.wait()
        try:
            page = await collector.lister.page(
                target.region, credentials.signing, self.marker, collector.function_version == "ALL"
            )
        except Exception as err:
            if classify(err).kind is FaultKind.EXPIRED:
                collector.credentials.expire(target.account, credentials)
            raise
        self.pages += 1
        marker = page.next_marker
        if marker is not None and marker in self.seen:
            shown = marker if len(marker) <= 40 else f"{marker[:40]}..."
            message = f"ListFunctions page {self.pages} gave NextMarker {shown!r}, already given: the listing loops"
            raise FaultError(Fault(FaultKind.FATAL, "RepeatedMarker", message))
        self.items.extend(page.functions)
        self.marker = marker
        if marker is not None:
            self.seen.add(marker)
        return marker is not None


@dataclass(frozen=True)
class Collector:
    """Everything a listing needs, shared by every task on the event loop."""

    lister: LambdaLister
    credentials: AccountCredentials
    policy: RetryPolicy
    function_version: str
    max_requests_per_second: float
    regions: EnabledRegions | None = None  # for accounts with `regions: all`
    target_seconds: float = 1800.0  # the deadline for one target's whole listing, retries included
    opt_in: Callable[[str], bool] = is_opt_in  # region -> not enabled unless the account opted in
    stager: Stager | None = None  # stages finished listings together (the Stager, below); None: one by one

    @staticmethod
    def log_fields(target: Target) -> dict[str, str]:
        return {"account_id": target.account.account_id, "region": target.region}

    async def __call__(self, target: Target, pacer: Pacer | None = None) -> TargetResult:
        """List the target. `pacer` is the target's request budget, shared with its enrichments' calls."""
        started = time.monotonic()
        listing = _Listing(self, target, pacer or Pacer(self.max_requests_per_second))
        try:
            async with asyncio.timeout(self.target_seconds):
                return await self._list(target, listing, started)
        except TimeoutError:
            message = (
                f"the listing did not finish within timeouts.target_seconds ({self.target_seconds:g}s): "
                f"{listing.pages} pages, {listing.retries} retries so far"
            )
            return self._failed(target, listing, started, Fault(FaultKind.FATAL, "DeadlineExceeded", message))

    async def _list(self, target: Target, listing: _Listing, started: float) -> TargetResult:
        try:
            if not await self._enabled(target):
                fault = Fault(FaultKind.NOT_ENABLED, "RegionNotEnabled", "the account's ListRegions does not list it")
                return self._failed(target, listing, started, fault)
            while await self.policy.call_async(listing.next_page, on_retry=listing.on_retry):
                listing.compact(CHUNK_FUNCTIONS)
            await listing.finish()
        except AssumeRoleFailed as err:
            fault = err.fault
            message = f"AssumeRole failed: {fault.message}"
            return self._failed(target, listing, started, Fault(fault.kind, fault.code, message))
        except RegionsUnknown as err:
            fault = err.fault
            message = f"could not determine the account's enabled regions (ListRegions): {fault.message}"
            return self._failed(target, listing, started, Fault(FaultKind.FATAL, fault.code, message))
        except InvalidItem as err:  # a malformed item fails the target, named; never a silent gap
            return self._failed(target, listing, started, Fault(FaultKind.FATAL, "InvalidItem", str(err)))
        except Exception as err:  # noqa: BLE001 - errors are data: nothing escapes to the caller
            fault = classify(err)
            if fault.kind is FaultKind.NOT_ENABLED:
                fault = self._not_recognised(target, fault)
            return self._failed(target, listing, started, fault)
        elapsed = time.monotonic() - started
        batches = tuple(listing.batches)
        return TargetResult(target, Status.OK, listing.count, batches, listing.pages, listing.retries, elapsed)

    async def _enabled(self, target: Target) -> bool:
        """False for a region a `regions: all` account has not enabled (it is skipped, never listed)."""
        if not target.account.all_regions or self.regions is None:
            return True
        return target.region in await self.regions.get(target.account)

    def _not_recognised(self, target: Target, fault: Fault) -> Fault:
        """UnrecognizedClientException: NOT_ENABLED (skipped) only where the region is provably not enabled."""
        region = target.region
        if target.account.all_regions and self.regions is not None:
            why = "a region the account's ListRegions reports enabled"  # else _enabled() had skipped it
        elif self.opt_in(region):
            return Fault(FaultKind.NOT_ENABLED, fault.code, f"{region} is an opt-in region: {fault.message}")
        else:
            why = "a region enabled by default"
        message = f"{fault.code} in {region}, {why}: the credentials were not recognised (bad or revoked token)"
        return Fault(FaultKind.FATAL, fault.code, f"{message}: {fault.message}")

    def _failed(self, target: Target, listing: _Listing, started: float, fault: Fault) -> TargetResult:
        status = Status.SKIPPED if fault.kind is FaultKind.NOT_ENABLED else Status.FAILED
        message = fault.message
        if status is Status.SKIPPED:
            message = f"region not enabled for this account ({fault.message})"
        elif fault.kind.retryable:
            message = f"{self.policy.gave_up(fault)}: {fault.message}"
        return TargetResult(
            target,
            status,
            None,
            (),
            listing.pages,
            listing.retries,
            time.monotonic() - started,
            fault.code,
            clean(message),
        )


# --- staging many listings at once ---------------------------------------------------------------------
#
# Staging for many listings at once: the items of listings that end close together are checked and compacted
# to Arrow (contract/staged.py's `staged_batch`) in one call, and each listing gets its own rows back.
#
# `staged_batch` costs ~0.3 ms per call before the first item (Arrow builds a converter for the ~35 nested
# fields of an item), and most listings are small: at 2,000 accounts x 17 regions, 8,461 listings with functions,
# 22 at the median. A listing that ends waits up to `window_s` (or until `max_items` are waiting) for others;
# then one call stages them all. An item that fails the check fails only its own listing: the pending listings
# are then staged one by one, so each gets its own rows or its own InvalidItem, exactly as without batching.

WINDOW_S = 0.02  # how long a finished listing waits for others (its slot stays taken meanwhile)
MAX_ITEMS = 2000  # staged at once when this many items wait


class Stager(Batcher[Sequence[Mapping[str, Any]], pa.RecordBatch]):
    """One per run, on the event loop: `await stage(items)` is `staged_batch(items)`, made with others'."""

    def __init__(self, window_s: float = WINDOW_S, max_items: int = MAX_ITEMS) -> None:
        super().__init__(_staged, window_s, max_items)

    async def stage(self, items: Sequence[Mapping[str, Any]]) -> pa.RecordBatch:
        """The items as `staged_batch` makes them; raises InvalidItem as it does."""
        return await self.submit(items, len(items))


def _staged(pending: list[Sequence[Mapping[str, Any]]]) -> list[pa.RecordBatch | Exception]:
    """Each listing's items staged: in one call, or one by one when an item fails (each its own InvalidItem)."""
    try:
        batch = staged_batch([item for items in pending for item in items])
    except Exception:  # noqa: BLE001 - InvalidItem (or worse): each listing gets its own answer
        return [_one(items) for items in pending]
    offsets = itertools.accumulate((len(items) for items in pending), initial=0)
    return [batch.slice(offset, len(items)) for offset, items in zip(offsets, pending, strict=False)]


def _one(items: Sequence[Mapping[str, Any]]) -> pa.RecordBatch | Exception:
    try:
        return staged_batch(items)
    except Exception as err:  # noqa: BLE001 - InvalidItem, raised in that listing
        return err
