"""Stage 4: list one target's functions. Every outcome is a TargetResult; nothing is raised to the caller.

Pages come 50 at a time (Marker / NextMarker) from lambda_api.LambdaLister. Each page has its own retry
budget: after a throttle or a dropped connection the listing resumes from the last good marker, so a retry
never repeats or skips a page. A target that fails keeps no partial rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa

from inventory.credentials import AccountCredentials, AssumeRoleFailed
from inventory.lambda_api import LambdaLister
from inventory.ratelimit import Pacer
from inventory.regions import EnabledRegions, RegionsUnknown
from inventory.retry import Fault, FaultKind, RetryPolicy, classify
from inventory.schema import function_batch
from inventory.targets import Target

CHUNK_FUNCTIONS = 1000  # raw items held per listing before they become compact Arrow rows
log = logging.getLogger(__name__)


class Status(StrEnum):
    OK = "ok"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class TargetResult:
    target: Target
    status: Status
    function_count: int | None  # None (unknown), never 0, when the target did not finish
    functions: tuple[pa.RecordBatch, ...]  # always empty unless ok: a failed target contributes no rows
    pages: int
    retries: int
    duration_s: float
    error_code: str | None = None
    error_message: str | None = None


class _Listing:
    """A resumable walk over one target's pages: a retry starts again from the last marker received."""

    def __init__(self, collector: Collector, target: Target) -> None:
        self._collector = collector
        self._target = target
        self._pacer = Pacer(collector.max_requests_per_second)
        self.marker: str | None = None
        self.items: list[Mapping[str, Any]] = []
        self.batches: list[pa.RecordBatch] = []
        self.count = 0
        self.pages = 0
        self.retries = 0

    def compact(self, at_least: int = 1) -> None:
        """Turn the raw items held so far into Arrow rows (~5x smaller than the dicts) once there are enough."""
        if len(self.items) >= at_least:
            self.batches.append(function_batch(self._target, self._collector.snapshot_time, self.items))
            self.count += len(self.items)
            self.items = []

    def on_retry(self, fault: Fault) -> None:
        self.retries += 1
        log.debug("retrying after %s", fault.code, extra=self._collector.log_fields(self._target))

    async def next_page(self) -> bool:
        """Fetch one page; True while more pages follow."""
        collector, target = self._collector, self._target
        credentials = await collector.credentials.get(target.account)  # cached; refreshed near expiry
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
        self.items.extend(page.functions)
        self.marker = page.next_marker
        return self.marker is not None


@dataclass(frozen=True)
class Collector:
    """Everything a listing needs, shared by every task on the event loop."""

    lister: LambdaLister
    credentials: AccountCredentials
    policy: RetryPolicy
    function_version: str
    snapshot_time: datetime
    max_requests_per_second: float
    regions: EnabledRegions | None = None  # for accounts with `regions: all`

    @staticmethod
    def log_fields(target: Target) -> dict[str, str]:
        return {"account_id": target.account.account_id, "region": target.region}

    async def __call__(self, target: Target) -> TargetResult:
        started = time.monotonic()
        listing = _Listing(self, target)
        try:
            if not await self._enabled(target):
                fault = Fault(FaultKind.NOT_ENABLED, "RegionNotEnabled", "the account's ListRegions does not list it")
                return self._failed(target, listing, started, fault)
            while await self.policy.call_async(listing.next_page, on_retry=listing.on_retry):
                listing.compact(CHUNK_FUNCTIONS)
            listing.compact()
        except AssumeRoleFailed as err:
            fault = err.fault
            message = f"AssumeRole failed: {fault.message}"
            return self._failed(target, listing, started, Fault(fault.kind, fault.code, message))
        except RegionsUnknown as err:
            fault = err.fault
            message = f"could not determine the account's enabled regions (ListRegions): {fault.message}"
            return self._failed(target, listing, started, Fault(FaultKind.FATAL, fault.code, message))
        except Exception as err:  # noqa: BLE001 - errors are data: nothing escapes to the caller
            return self._failed(target, listing, started, classify(err))
        elapsed = time.monotonic() - started
        batches = tuple(listing.batches)
        return TargetResult(target, Status.OK, listing.count, batches, listing.pages, listing.retries, elapsed)

    async def _enabled(self, target: Target) -> bool:
        """False for a region a `regions: all` account has not enabled (it is skipped, never listed)."""
        if not target.account.all_regions or self.regions is None:
            return True
        return target.region in await self.regions.get(target.account)

    def _failed(self, target: Target, listing: _Listing, started: float, fault: Fault) -> TargetResult:
        status = Status.SKIPPED if fault.kind is FaultKind.NOT_ENABLED else Status.FAILED
        message = fault.message
        if status is Status.SKIPPED:
            message = f"region not enabled for this account ({fault.message})"
        elif fault.kind.retryable:
            message = f"gave up after {self.policy.max_attempts} attempts: {fault.message}"
        return TargetResult(
            target,
            status,
            None,
            (),
            listing.pages,
            listing.retries,
            time.monotonic() - started,
            fault.code,
            message,
        )
