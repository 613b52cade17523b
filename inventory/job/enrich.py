"""Enrich: after a target's listing is ok, read the enrichments the run asked for (`enrich:` in the config).

Each enrichment is all-or-nothing per target: an EnrichmentOutcome is `ok` with a value for every listed
function, or `failed` with the first error (its columns then stay null on the target's rows), or `skipped`
when the listing itself was not ok. Nothing is raised to the caller, and a failed enrichment never changes
the listing's status.

Every call goes through the target's Pacer, shared with its ListFunctions pages, so the job never sends more
than `max_requests_per_second` requests to one account-region in total, whatever the service; and through
the one retry layer (aws/retry.py), one request per attempt. Per-function calls run a few at a time
(PER_FUNCTION_IN_FLIGHT), still paced. Each enrichment of a target runs under `timeouts.target_seconds`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any, TypeVar

from inventory.aws import enrich_api as api
from inventory.aws.credentials import AccountCredentials
from inventory.aws.policy import evaluate_policy
from inventory.aws.ratelimit import Pacer
from inventory.aws.retry import Fault, FaultError, FaultKind, RetryPolicy, classify
from inventory.aws.signed import SignedHttp
from inventory.contract.staged import function_names
from inventory.contract.status import Status
from inventory.job.collect import TargetResult
from inventory.job.targets import Target
from inventory.redact import clean

T = TypeVar("T")
PER_FUNCTION_IN_FLIGHT = 4  # per-function calls of one target in flight at once (all through its Pacer)
USAGE_DAYS = 30
Values = dict[str, dict[str, Any]]  # column -> function name -> value


@dataclass(frozen=True)
class EnrichmentOutcome:
    name: str
    status: Status
    calls: int
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)
    error_code: str | None = None
    error_message: str | None = None


class _Calls:
    """One target's calls: credentials (refreshed on expiry), the shared Pacer, the retry layer, a count."""

    def __init__(self, enricher: Enricher, target: Target, pacer: Pacer) -> None:
        self._enricher = enricher
        self._target = target
        self._pacer = pacer
        self.count = 0

    async def __call__(self, request: Callable[[api.Scope], Awaitable[T]]) -> T:
        async def attempt() -> T:  # a coroutine function: tenacity awaits only those
            return await self._once(request)

        return await self._enricher.policy.call_async(attempt)

    async def _once(self, request: Callable[[api.Scope], Awaitable[T]]) -> T:
        enricher, account = self._enricher, self._target.account
        credentials = await enricher.credentials.get(account)
        await self._pacer.wait()
        self.count += 1
        try:
            return await request(api.Scope(enricher.http, self._target.region, credentials.signing))
        except Exception as err:
            if classify(err).kind is FaultKind.EXPIRED:
                enricher.credentials.expire(account, credentials)
            raise


@dataclass(frozen=True)
class Enricher:
    """The enrichments asked for, read for one target at a time."""

    http: SignedHttp
    credentials: AccountCredentials
    policy: RetryPolicy
    names: tuple[str, ...]  # in the order they run (contract/columns.py's ENRICHMENTS)
    snapshot_time: datetime
    target_seconds: float = 1800.0

    async def __call__(self, result: TargetResult, pacer: Pacer) -> TargetResult:
        """The result with its enrichments read (unchanged when none was asked); contract/rows.py sets their values
        on the target's rows."""
        if not self.names:
            return result
        if result.status is not Status.OK:
            reason = "the listing was not ok: nothing to enrich"
            skipped = tuple(EnrichmentOutcome(name, Status.SKIPPED, 0, error_message=reason) for name in self.names)
            return replace(result, enrichments=skipped)
        functions = sorted(set(function_names(result.functions)))
        outcomes = tuple([await self._one(name, result.target, functions, pacer) for name in self.names])
        return replace(result, enrichments=outcomes)

    async def _one(self, name: str, target: Target, functions: Sequence[str], pacer: Pacer) -> EnrichmentOutcome:
        calls = _Calls(self, target, pacer)
        if not functions:  # nothing to enrich: no call at all
            return EnrichmentOutcome(name, Status.OK, 0)
        try:
            async with asyncio.timeout(self.target_seconds):
                values = await _READERS[name](self, calls, target, functions)
        except TimeoutError:
            message = f"{name} did not finish within timeouts.target_seconds ({self.target_seconds:g}s)"
            return _failed(name, calls.count, Fault(FaultKind.FATAL, "DeadlineExceeded", message))
        except Exception as err:  # noqa: BLE001 - errors are data: nothing escapes to the caller
            fault = getattr(err, "fault", None)
            return _failed(name, calls.count, fault if isinstance(fault, Fault) else classify(err))
        return EnrichmentOutcome(name, Status.OK, calls.count, values)

    def usage_window(self) -> tuple[datetime, datetime]:
        """The USAGE_DAYS UTC days ending with the snapshot day: [midnight - 29 days, next midnight)."""
        end = datetime.combine(self.snapshot_time.date() + timedelta(days=1), time(), self.snapshot_time.tzinfo)
        return end - timedelta(days=USAGE_DAYS), end


def _failed(name: str, calls: int, fault: Fault) -> EnrichmentOutcome:
    message = fault.message
    if fault.kind.retryable:
        message = f"gave up after retries: {message}"
    text = clean(f"{name}: {message}")  # the Fault's message was masked; this keeps it one line of <= 300
    return EnrichmentOutcome(name, Status.FAILED, calls, error_code=fault.code, error_message=text)


async def _per_function(functions: Sequence[str], read: Callable[[str], Awaitable[T]]) -> dict[str, T]:
    """read(name) for every function, PER_FUNCTION_IN_FLIGHT at a time; the first failure cancels the rest."""
    found: dict[str, T] = {}
    queue = iter(functions)

    async def worker() -> None:
        for name in queue:
            found[name] = await read(name)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(PER_FUNCTION_IN_FLIGHT, len(functions))):
                group.create_task(worker())
    except ExceptionGroup as group:  # the first failure is the enrichment's reason
        raise group.exceptions[0] from None
    return found


async def _paged(calls: _Calls, page: Callable[[api.Scope, str | None], Awaitable[api.Paged]], what: str) -> list[Any]:
    """Every page of a paged call, in order; a token given twice fails it (the listing would never end)."""
    pages: list[Any] = []
    token: str | None = None
    seen: set[str] = set()
    while True:

        async def one(scope: api.Scope, token: str | None = token) -> api.Paged:
            return await page(scope, token)

        answer = await calls(one)
        pages.append(answer.values)
        token = answer.next_token
        if token is None:
            return pages
        if token in seen:
            raise FaultError(Fault(FaultKind.FATAL, "RepeatedMarker", f"{what} gave a page token it had given before"))
        seen.add(token)


async def _tags(enricher: Enricher, calls: _Calls, target: Target, functions: Sequence[str]) -> Values:
    """GetResources once per target (100 per page). A listed function absent from a successful answer has no
    tags: GetResources returns only resources that have, or had, tags."""
    wanted = set(functions)
    tags: dict[str, Any] = {name: [] for name in functions}
    for page in await _paged(calls, api.tags_page, "GetResources"):
        for arn, pairs in page.items():
            parts = arn.split(":")
            if len(parts) >= 7 and parts[5] == "function" and parts[6] in wanted:
                tags[parts[6]] = sorted(pairs.items())
    return {"tags": tags}


async def _urls(enricher: Enricher, calls: _Calls, target: Target, functions: Sequence[str]) -> Values:
    async def read(name: str) -> list[str]:
        pages = await _paged(calls, partial(api.url_auth_types_page, name=name), "ListFunctionUrlConfigs")
        return sorted({kind for page in pages for kind in page})

    return {"url_auth_types": dict(await _per_function(functions, read))}


async def _policy(enricher: Enricher, calls: _Calls, target: Target, functions: Sequence[str]) -> Values:
    async def read(name: str) -> str | None:
        try:
            return await calls(lambda scope: api.policy_text(scope, name))
        except Exception as err:
            if classify(err).code == "ResourceNotFoundException":  # Lambda's answer for "no policy"
                return None
            raise

    texts = await _per_function(functions, read)
    verdicts = {name: evaluate_policy(text, target.account.account_id) for name, text in texts.items()}
    return {
        "public_invoke": {name: verdict.public_invoke for name, verdict in verdicts.items()},
        "invoke_principals": {name: list(verdict.principals) for name, verdict in verdicts.items()},
    }


async def _concurrency(enricher: Enricher, calls: _Calls, target: Target, functions: Sequence[str]) -> Values:
    found = await _per_function(functions, lambda name: calls(lambda scope: api.reserved_concurrency(scope, name)))
    return {"reserved_concurrency": dict(found)}


async def _usage(enricher: Enricher, calls: _Calls, target: Target, functions: Sequence[str]) -> Values:
    """GetMetricData, METRIC_QUERIES functions per call: daily Invocations sums over the usage window."""
    window = enricher.usage_window()
    totals: dict[str, int] = {}
    last: dict[str, date | None] = {}
    for start in range(0, len(functions), api.METRIC_QUERIES):
        chunk = functions[start : start + api.METRIC_QUERIES]
        pages = await _paged(calls, partial(api.invocations_page, names=chunk, window=window), "GetMetricData")
        for index, name in enumerate(chunk):
            points = [point for page in pages if index in page for point in page[index].points()]
            totals[name] = round(sum(value for _, value in points))
            days = [stamp for stamp, value in points if value > 0]
            last[name] = datetime.fromtimestamp(max(days), window[1].tzinfo).date() if days else None
    return {"invocations_30d": totals, "last_invocation_day": last}


_READERS: dict[str, Callable[[Enricher, _Calls, Target, Sequence[str]], Awaitable[Values]]] = {
    "tags": _tags,
    "urls": _urls,
    "policy": _policy,
    "concurrency": _concurrency,
    "usage": _usage,
}
