"""What each enrichment reads for one listed target (job/enrich.py runs them, one after the other): its calls,
how far its pages may go, and what its answers mean for each listed function.

Not believed:
* a tag of any resource but a listed function of this account-region: GetResources' answer is matched on the
  function's full, unqualified ARN `arn:<partition>:lambda:<region>:<account>:function:<name>`; a version's
  ARN (`...:function:name:3`), another account's or region's, or an unlisted function's is ignored;
* a page sequence longer than the target's size makes possible: `page_bound`, then `TooManyPages`;
* the same CloudWatch datapoint twice (one query, one timestamp, on two pages or twice on one): counted once
  when its value is the same, refused (`InvalidResponse`) when it is not.

A per-function call answered 404 "function not found" means the function was deleted after the listing: it
is `gone` (its values stay null), the rest of the target is kept. GetPolicy's other 404 ("The resource you
requested does not exist.") means the function has no resource policy.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import partial
from typing import Any, Protocol, TypeVar

from inventory.aws import enrichment_calls as api
from inventory.aws.policy import PUBLIC_URL_AUTH, evaluate_policy, url_is_public
from inventory.aws.retry import Fault, FaultError, FaultKind, classify
from inventory.contract.results import EnrichmentOutcome, EstateRow, Status
from inventory.contract.target import Target

T = TypeVar("T")
K = TypeVar("K")  # what per_function reads one at a time: a function's name (or a layer's, a version's index)
PER_FUNCTION_IN_FLIGHT = 4  # per-function calls of one target in flight at once (all through its Pacer)
USAGE_DAYS = 30
PAGE_SLACK = 10  # pages allowed beyond twice what the results fill: empty pages that still carry a token
URL_CONFIGS_BOUND = 100  # URL configs paged for one function (its own and one per alias): at most 14 pages
Values = dict[str, dict[str, Any]]  # column -> function name -> value


class Calls(Protocol):
    """One target's calls (job/enrich.py's _Calls): paced, retried, counted."""

    async def __call__(self, request: Callable[[api.Scope], Awaitable[T]]) -> T: ...


@dataclass(frozen=True)
class Reading:
    """What an enrichment reads for: the target, its listed function names (sorted, unique), the usage window."""

    calls: Calls
    target: Target
    functions: tuple[str, ...]
    window: tuple[datetime, datetime]
    earlier: Mapping[str, EnrichmentOutcome] = field(default_factory=dict)  # the target's enrichments read before
    listing: asyncio.Future[tuple[str, ...]] | None = None  # an early read's: its functions, once listed

    async def listed(self) -> tuple[str, ...]:
        """The listed functions: known already, or, for a read started beside the listing, when it ends."""
        return self.functions if self.listing is None else await self.listing


@dataclass(frozen=True)
class Read:
    """An enrichment's values (column -> function -> value) and the listed functions found deleted."""

    values: Values
    gone: frozenset[str] = frozenset()
    tables: Mapping[str, tuple[EstateRow, ...]] = field(default_factory=dict)  # estate table -> rows (estate_reads.py)


@dataclass(frozen=True)
class PageBound:
    pages: int
    why: str


def page_bound(items: int, per_page: int, what: str) -> PageBound:
    """The most pages a paged call may take to return `items` results: twice the pages they fill (a page may
    come part-filled; GetResources documents it) plus PAGE_SLACK."""
    filled = math.ceil(items / per_page)
    why = f"2 x the {filled} page(s) {items} {what} fill at {per_page} a page, + {PAGE_SLACK}"
    return PageBound(2 * filled + PAGE_SLACK, why)


async def paged(
    calls: Calls, page: Callable[[api.Scope, str | None], Awaitable[api.Paged]], what: str, bound: PageBound
) -> list[Any]:
    """Every page of a paged call, in order. A token given twice fails it (the listing would never end), and so
    does a token after `bound.pages` pages."""
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
        if len(pages) >= bound.pages:
            message = f"{what} still gave a page token after {bound.pages} pages, the most allowed ({bound.why})"
            raise FaultError(Fault(FaultKind.FATAL, "TooManyPages", message))
        seen.add(token)


def is_gone(err: BaseException, operation: str) -> bool:
    """Whether a per-function call's error says the function does not exist: 404 ResourceNotFoundException, which
    for GetPolicy must say `Function not found: <arn>` (its other 404 means "no policy")."""
    fault = classify(err)
    if fault.code != "ResourceNotFoundException":
        return False
    return operation != "GetPolicy" or fault.message.startswith("Function not found")


async def per_function(
    functions: Sequence[K], read: Callable[[K], Awaitable[T]], operation: str
) -> tuple[dict[K, T], frozenset[K]]:
    """read(name) for every function, PER_FUNCTION_IN_FLIGHT at a time: the values, and the functions found
    gone (is_gone). Any other failure cancels the rest and is the enrichment's reason."""
    found: dict[K, T] = {}
    gone: set[K] = set()
    if not functions:  # most account-regions' layers and configs: no task group to open and close
        return found, frozenset(gone)
    queue = iter(functions)

    async def worker() -> None:
        for name in queue:
            try:
                found[name] = await read(name)
            except Exception as err:
                if not is_gone(err, operation):
                    raise
                gone.add(name)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(PER_FUNCTION_IN_FLIGHT, len(functions))):
                group.create_task(worker())
    except ExceptionGroup as group:  # the first failure is the enrichment's reason
        raise group.exceptions[0] from None
    return found, frozenset(gone)


def function_arn(target: Target, name: str) -> str:
    """A listed function's unqualified ARN; the partition is the account role's (aws, aws-cn, ...)."""
    fields = target.account.role_arn.split(":")
    partition = fields[1] if len(fields) > 2 and fields[0] == "arn" and fields[1] else "aws"
    return f"arn:{partition}:lambda:{target.region}:{target.account.account_id}:function:{name}"


async def tags(job: Reading) -> Read:
    """GetResources once per target (100 per page). A listed function absent from a successful answer has no
    tags: GetResources returns only resources that have, or had, tags. One ARN given two different sets of
    tags is refused."""
    arns = {function_arn(job.target, name): name for name in job.functions}
    bound = page_bound(len(job.functions), api.TAGS_PAGE_SIZE, "listed functions")
    found: dict[str, dict[str, str]] = {}
    for page in await paged(job.calls, api.tags_page, "GetResources", bound):
        for arn, pairs in page.items():
            if arn in arns and found.setdefault(arn, pairs) != pairs:
                raise api.invalid("GetResources", f"two different sets of tags for {arn[-60:]}")
    values: dict[str, Any] = {name: [] for name in job.functions}
    values.update({arns[arn]: sorted(pairs.items()) for arn, pairs in found.items()})
    return Read({"tags": values})


async def urls(job: Reading) -> Read:
    """ListFunctionUrlConfigs per function: the AuthTypes of its URLs (its own and its aliases'), and whether one
    answers anyone (`public_url`: `_url_exposure`, completed with the policy by judge_urls)."""
    bound = page_bound(URL_CONFIGS_BOUND, api.URL_PAGE_SIZE, "URL configs of one function")

    async def read(name: str) -> list[api.UrlConfig]:
        url_page = partial(api.url_configs_page, name=name)
        pages = await paged(job.calls, url_page, "ListFunctionUrlConfigs", bound)
        return [config for page in pages for config in page]

    found, gone = await per_function(job.functions, read, "ListFunctionUrlConfigs")
    values: Values = {
        "url_auth_types": {name: sorted({config.auth_type for config in configs}) for name, configs in found.items()},
        "public_url": {name: _url_exposure(configs) for name, configs in found.items()},
    }
    return Read(values, gone)


def _url_exposure(configs: Sequence[api.UrlConfig]) -> bool | None:
    """Whether one of a function's URLs answers anyone, as far as its URL configs tell: False without a URL whose
    AuthType is NONE; True with an alias's (the alias's own policy is not read: it leans public); None when only
    the function's own URL is NONE, which its policy decides (judge_urls)."""
    none = [config.qualifier for config in configs if config.auth_type == PUBLIC_URL_AUTH]
    if any(qualifier != "" for qualifier in none):
        return True
    return None if none else False


async def policy(job: Reading) -> Read:
    async def read(name: str) -> str | None:
        try:
            return await job.calls(lambda scope: api.policy_text(scope, name))
        except Exception as err:
            if classify(err).code == "ResourceNotFoundException" and not is_gone(err, "GetPolicy"):
                return None  # the function exists and has no resource policy
            raise

    texts, gone = await per_function(job.functions, read, "GetPolicy")
    verdicts = {name: evaluate_policy(text, job.target.account.account_id) for name, text in texts.items()}
    values: Values = {
        "public_invoke": {name: verdict.public_invoke for name, verdict in verdicts.items()},
        "invoke_principals": {name: list(verdict.principals) for name, verdict in verdicts.items()},
        "public_actions": {name: list(verdict.public_actions) for name, verdict in verdicts.items()},
    }
    return Read(values, gone)


def judge_urls(outcomes: Sequence[EnrichmentOutcome]) -> tuple[EnrichmentOutcome, ...]:
    """The target's outcomes, with `public_url` judged where only the function's policy could say (its own URL is
    NONE): url_is_public with the policy's public_actions, when the policy was read for that function; else it
    stays null (not judged)."""
    found = {outcome.name: outcome for outcome in outcomes if outcome.status is Status.OK}
    urls_read, policy_read = found.get("urls"), found.get("policy")
    if urls_read is None or policy_read is None:
        return tuple(outcomes)
    actions = policy_read.values.get("public_actions", {})
    judged = {
        name: url_is_public(PUBLIC_URL_AUTH, actions[name]) if verdict is None and name in actions else verdict
        for name, verdict in urls_read.values.get("public_url", {}).items()
    }
    values = {**urls_read.values, "public_url": judged}
    return tuple(replace(outcome, values=values) if outcome is urls_read else outcome for outcome in outcomes)


async def concurrency(job: Reading) -> Read:
    async def read(name: str) -> int | None:
        return await job.calls(lambda scope: api.reserved_concurrency(scope, name))

    found, gone = await per_function(job.functions, read, "GetFunctionConcurrency")
    return Read({"reserved_concurrency": dict(found)}, gone)


async def usage(job: Reading) -> Read:
    """GetMetricData, METRIC_QUERIES functions per call: daily Invocations sums over the usage window."""
    totals: dict[str, int] = {}
    last: dict[str, date | None] = {}
    for start in range(0, len(job.functions), api.METRIC_QUERIES):
        chunk = job.functions[start : start + api.METRIC_QUERIES]
        bound = page_bound(len(chunk) * (USAGE_DAYS + 1), api.METRIC_PAGE_POINTS, "daily datapoints")
        call = partial(api.invocations_page, names=chunk, window=job.window)
        pages = await paged(job.calls, call, "GetMetricData", bound)
        for index, name in enumerate(chunk):
            points = _daily(name, [page[index] for page in pages if index in page])
            totals[name] = sum(points.values())
            if totals[name] >= api.COUNT_LIMIT:
                raise api.invalid("GetMetricData", f"Invocations of {name[:60]} that sum past an int64")
            days = [stamp for stamp, count in points.items() if count > 0]
            last[name] = datetime.fromtimestamp(max(days), job.window[1].tzinfo).date() if days else None
    return Read({"invocations_30d": totals, "last_invocation_day": last})


def _daily(name: str, parts: Sequence[api.Series]) -> dict[float, int]:
    """One query's datapoints by timestamp, each counted once: the same datapoint again (on another page, or
    twice on one) with the same value is one; with another value it is refused."""
    points: dict[float, int] = {}
    for part in parts:
        for stamp, value in part.points():
            if points.setdefault(stamp, int(value)) != int(value):
                raise api.invalid("GetMetricData", f"two values for one datapoint of {name[:60]}")
    return points


READERS: dict[str, Callable[[Reading], Awaitable[Read]]] = {
    "tags": tags,
    "urls": urls,
    "policy": policy,
    "concurrency": concurrency,
    "usage": usage,
}
