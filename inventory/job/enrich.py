"""Enrich: after a target's listing is ok, read the enrichments the run asked for (`enrich:` in the config);
the account-region lists that need nothing from the listing (estate_reads.py's EARLY) are read while it runs
(`Enricher.around`), and their outcome is dropped for `skipped` when the listing is not ok.

Each enrichment is all-or-nothing per target: an EnrichmentOutcome (contract/results.py) is `ok` with a value
for every listed function, or `failed` with the first error (its columns then stay null on the target's rows),
or `skipped` when the listing itself was not ok. The one exception: a function a per-function call finds
deleted since the listing is `gone` (its values null, its rows not naming the enrichment in `enriched`), and
the enrichment is still `ok` for the rest, with error_code `FunctionNotFound` and a message saying how many
(and which). Nothing is raised to the caller, and a failed enrichment never changes the listing's status.

Every call goes through the target's Pacer, shared with its ListFunctions pages, so the job never sends more
than `max_requests_per_second` requests to one account-region in total, whatever the service; and through
the one retry layer (aws/retry.py), one request per attempt. Per-function calls run a few at a time
(enrichments.py's PER_FUNCTION_IN_FLIGHT), still paced. Each enrichment of a target runs under
`timeouts.target_seconds`. What each enrichment calls, and which answers it refuses: job/enrichments.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import TypeVar

from inventory.aws import enrichment_calls as api
from inventory.aws.credentials import AccountCredentials
from inventory.aws.ratelimit import Pacer
from inventory.aws.retry import Fault, FaultKind, RetryPolicy, classify
from inventory.aws.transport import SignedHttp
from inventory.contract.estate import ENRICHMENT_ORDER, NEEDS
from inventory.contract.results import EnrichmentOutcome, Status, TargetResult
from inventory.contract.staged import function_names
from inventory.contract.target import Target
from inventory.job.enrichments import READERS, USAGE_DAYS, Read, Reading, judge_urls
from inventory.job.estate_reads import ALWAYS_READ, EARLY, ESTATE_READERS, judge_layers
from inventory.redact import clean

T = TypeVar("T")
GONE_CODE = "FunctionNotFound"  # an ok enrichment's error_code when some functions were deleted since the listing
GONE_SHOWN = 5  # names of gone functions the message shows
_READERS = {**READERS, **ESTATE_READERS}
_Outcome = tuple[EnrichmentOutcome, bool]  # an enrichment's outcome, and whether it failed for want of an answer


class _Calls:
    """One target's calls: credentials (refreshed on expiry), the shared Pacer, the retry layer, a count."""

    def __init__(self, enricher: Enricher, target: Target, pacer: Pacer) -> None:
        self._enricher = enricher
        self.target = target
        self._pacer = pacer
        self.count = 0

    async def __call__(self, request: Callable[[api.Scope], Awaitable[T]]) -> T:
        async def attempt() -> T:  # a coroutine function, as RetryPolicy.call_async (aws/retry.py) awaits
            return await self._once(request)

        return await self._enricher.policy.call_async(attempt)

    async def _once(self, request: Callable[[api.Scope], Awaitable[T]]) -> T:
        enricher, account = self._enricher, self.target.account
        credentials = enricher.credentials.cached(account) or await enricher.credentials.get(account)
        await self._pacer.wait()
        self.count += 1
        try:
            return await request(api.Scope(enricher.http, self.target.region, credentials.signing))
        except Exception as err:
            if classify(err).kind is FaultKind.EXPIRED:
                enricher.credentials.expire(account, credentials)
            raise


_Started = tuple["asyncio.Task[_Outcome]", "_Calls"]  # an EARLY read in flight beside the listing, and its calls


@dataclass(frozen=True)
class Enricher:
    """The enrichments asked for, read for one target at a time."""

    http: SignedHttp
    credentials: AccountCredentials
    policy: RetryPolicy
    names: tuple[str, ...]  # put in the order they run (contract/estate.py's ENRICHMENT_ORDER)
    snapshot_time: datetime
    target_seconds: float = 1800.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(name for name in ENRICHMENT_ORDER if name in self.names))

    async def __call__(self, result: TargetResult, pacer: Pacer) -> TargetResult:
        """The result with its enrichments read (unchanged when none was asked); contract/rows.py sets their values
        on the target's rows."""
        return await self._enrich(result, pacer, {})

    async def around(self, target: Target, listing: Awaitable[TargetResult], pacer: Pacer) -> TargetResult:
        """`listing` (the target's Collector call) and then its enrichments; those that need nothing from the
        listing (EARLY: the account-region lists) are read while it runs, through the same pacer. Where the listing
        is not ok, they are cancelled and `skipped` like the rest (with the calls they had made)."""
        listed: asyncio.Future[tuple[str, ...]] = asyncio.get_running_loop().create_future()
        early = {name: self._start(name, target, pacer, listed) for name in self.names if name in EARLY}
        try:
            result = await listing
        except BaseException:
            await _stop(early)
            raise
        if result.status is not Status.OK:
            await _stop(early)
            return _skipped(result, self.names, {name: calls.count for name, (_, calls) in early.items()})
        return await self._enrich(result, pacer, early, listed)

    def _start(
        self, name: str, target: Target, pacer: Pacer, listed: asyncio.Future[tuple[str, ...]]
    ) -> tuple[asyncio.Task[_Outcome], _Calls]:
        calls = _Calls(self, target, pacer)
        return asyncio.create_task(self._one(name, calls, (), (), listed)), calls

    async def _enrich(
        self,
        result: TargetResult,
        pacer: Pacer,
        early: Mapping[str, _Started],
        listed: asyncio.Future[tuple[str, ...]] | None = None,
    ) -> TargetResult:
        if not self.names:
            return result
        if result.status is not Status.OK:
            return _skipped(result, self.names, {})
        functions = sorted(set(function_names(result.functions)))
        if listed is not None:
            listed.set_result(tuple(functions))  # the early reads waiting for them (Reading.listed)
        outcomes: list[EnrichmentOutcome] = []
        silent: str | None = None  # the enrichment after which the account-region stopped answering
        for name in self.names:
            if name in early:  # read beside the listing: its own answer, whatever came before it
                outcome, unanswered = await early[name][0]
            elif (why := _not_read(name, silent, {outcome.name: outcome for outcome in outcomes})) is not None:
                outcomes.append(EnrichmentOutcome(name, Status.SKIPPED, 0, error_message=why))
                continue
            else:
                calls = _Calls(self, result.target, pacer)
                outcome, unanswered = await self._one(name, calls, functions, tuple(outcomes))
            outcomes.append(outcome)
            if unanswered:
                silent = name
        return replace(result, enrichments=judge_layers(judge_urls(outcomes)))

    async def _one(
        self,
        name: str,
        calls: _Calls,
        functions: Sequence[str],
        earlier: Sequence[EnrichmentOutcome],
        listed: asyncio.Future[tuple[str, ...]] | None = None,
    ) -> _Outcome:
        """The enrichment's outcome, and whether it failed for want of an answer (timeouts, no connection)."""
        if not functions and name not in ALWAYS_READ:  # nothing to enrich: no call at all
            return EnrichmentOutcome(name, Status.OK, 0), False
        target = calls.target
        window, before = self.usage_window(), {o.name: o for o in earlier}
        reading = Reading(calls, target, tuple(functions), window, before, listed)
        try:
            async with asyncio.timeout(self.target_seconds):
                read = await _READERS[name](reading)
        except TimeoutError:
            message = f"{name} did not finish within timeouts.target_seconds ({self.target_seconds:g}s)"
            return _failed(name, calls.count, Fault(FaultKind.FATAL, "DeadlineExceeded", message)), False
        except Exception as err:  # noqa: BLE001 - errors are data: nothing escapes to the caller
            fault = getattr(err, "fault", None)
            fault = fault if isinstance(fault, Fault) else classify(err)
            return _failed(name, calls.count, fault), fault.kind is FaultKind.UNANSWERED
        return _ok(name, calls.count, read, len(functions)), False

    def usage_window(self) -> tuple[datetime, datetime]:
        """The USAGE_DAYS UTC days ending with the snapshot day: [midnight - 29 days, next midnight)."""
        return _usage_window(self.snapshot_time)


@lru_cache(maxsize=4)
def _usage_window(snapshot_time: datetime) -> tuple[datetime, datetime]:
    """Enricher.usage_window's, made once per run's snapshot time (every enrichment of every target asks)."""
    end = datetime.combine(snapshot_time.date() + timedelta(days=1), time(), snapshot_time.tzinfo)
    return end - timedelta(days=USAGE_DAYS), end


async def _stop(early: Mapping[str, _Started]) -> None:
    """Cancel the early reads (the listing failed, or was cancelled) and wait for them to end."""
    for task, _ in early.values():
        task.cancel()
    await asyncio.gather(*(task for task, _ in early.values()), return_exceptions=True)


def _skipped(result: TargetResult, names: Sequence[str], made: Mapping[str, int]) -> TargetResult:
    """Every enrichment skipped: the listing was not ok (`made`: the calls an early read had made by then)."""
    reason = "the listing was not ok: nothing to enrich"
    skipped = (EnrichmentOutcome(name, Status.SKIPPED, made.get(name, 0), error_message=reason) for name in names)
    return replace(result, enrichments=tuple(skipped))


def _not_read(name: str, silent: str | None, earlier: Mapping[str, EnrichmentOutcome]) -> str | None:
    """Why `name` is skipped for the target, if it is: the account-region stopped answering (a hung region costs
    one enrichment's unanswered budget, not every one's), or what it judges was not read (contract's NEEDS)."""
    if silent is not None:
        return f"{name}: not read: the account-region stopped answering ({silent} got no answer)"
    needed = NEEDS.get(name)
    if needed is not None and (needed not in earlier or earlier[needed].status is not Status.OK):
        return f"{name}: not read: it judges what {needed} reads, and {needed} was not read"
    return None


def _failed(name: str, calls: int, fault: Fault) -> EnrichmentOutcome:
    message = fault.message
    if fault.kind.retryable:
        message = f"gave up after retries: {message}"
    text = clean(f"{name}: {message}")  # the Fault's message was masked; this keeps it one line of <= 300
    return EnrichmentOutcome(name, Status.FAILED, calls, error_code=fault.code, error_message=text)


def _ok(name: str, calls: int, read: Read, listed: int) -> EnrichmentOutcome:
    """An ok outcome; with functions gone, it says how many and names the first GONE_SHOWN."""
    if not read.gone:
        return EnrichmentOutcome(name, Status.OK, calls, read.values, tables=read.tables)
    names = sorted(read.gone)
    shown = ", ".join(names[:GONE_SHOWN]) + (f" (+{len(names) - GONE_SHOWN} more)" if len(names) > GONE_SHOWN else "")
    text = clean(f"{name}: {len(names)} of {listed} functions not found, deleted since the listing: {shown}")
    return EnrichmentOutcome(name, Status.OK, calls, read.values, GONE_CODE, text, frozenset(names), read.tables)
