"""What the emulator knows about a request beyond moto: its operation, when it came (the request log), and
whether a test asked for it to be refused (denied, throttled or broken: see Behaviour in emulator.py).

The operation is read the way AWS routes it: the `X-Amz-Target` header for the JSON protocols (the job's
tag:GetResources and cloudwatch:GetMetricData), the `/service/<s>/operation/<op>` path for Smithy RPC v2
CBOR (what boto3 speaks to those services), and the method and path for Lambda's REST API.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import unquote

# The reads the job's opt-in enrichments make, one per enrichment (tags, urls, policy, concurrency, usage).
ENRICH_OPERATIONS = frozenset(
    {"GetResources", "ListFunctionUrlConfigs", "GetPolicy", "GetFunctionConcurrency", "GetMetricData"}
)
PER_FUNCTION_OPERATIONS = frozenset({"ListFunctionUrlConfigs", "GetPolicy", "GetFunctionConcurrency"})
ANY_REGION = "*"

_LAMBDA_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("GET", re.compile(r"^/2015-03-31/functions/?$"), "ListFunctions"),
    ("GET", re.compile(r"^/2021-10-31/functions/[^/]+/urls/?$"), "ListFunctionUrlConfigs"),
    ("GET", re.compile(r"^/2015-03-31/functions/[^/]+/policy/?$"), "GetPolicy"),
    ("GET", re.compile(r"^/2019-09-30/functions/[^/]+/concurrency/?$"), "GetFunctionConcurrency"),
    ("GET", re.compile(r"^/2021-10-31/functions/[^/]+/url/?$"), "GetFunctionUrlConfig"),
    ("POST", re.compile(r"^/2021-10-31/functions/[^/]+/url/?$"), "CreateFunctionUrlConfig"),
    ("PUT", re.compile(r"^/2021-10-31/functions/[^/]+/url/?$"), "UpdateFunctionUrlConfig"),
    ("DELETE", re.compile(r"^/2021-10-31/functions/[^/]+/url/?$"), "DeleteFunctionUrlConfig"),
)
_CBOR_PATH = re.compile(r"^/service/[^/]+/operation/([^/]+)$")
_FUNCTION = re.compile(r"^/\d{4}-\d{2}-\d{2}/functions/([^/]+)")
# IAM action prefix per signing name, for the AccessDenied message.
_ACTION_PREFIX = {"lambda": "lambda", "tagging": "tag", "monitoring": "cloudwatch"}
# How each service says "slow down" (status, error code); botocore retries all three as throttling.
_THROTTLE = {"tagging": (400, "ThrottledException"), "monitoring": (400, "Throttling")}


def operation_of(environ: dict[str, Any], service: str) -> str:
    """The API operation a request calls, or "" when the emulator does not need to know."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return str(target).rsplit(".", 1)[-1]
    path = environ.get("PATH_INFO", "")
    cbor = _CBOR_PATH.match(path)
    if cbor:
        return cbor.group(1)
    if service == "lambda":
        method = environ.get("REQUEST_METHOD", "")
        return next((op for verb, route, op in _LAMBDA_ROUTES if verb == method and route.match(path)), "")
    return ""


def function_of(environ: dict[str, Any]) -> str:
    """The function name (or ARN) in a Lambda path, "" when there is none."""
    found = _FUNCTION.match(environ.get("PATH_INFO", ""))
    return unquote(found.group(1)) if found else ""


class Request(NamedTuple):
    at: float  # time.monotonic() when the emulator received it
    account: str
    region: str
    service: str  # the SigV4 signing name: lambda, tagging, monitoring, sts, ...
    operation: str  # "" when not identified (see operation_of)


class RequestLog:
    """Every signed request the emulator received, for counts and request rates per account-region."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Request] = []

    def add(self, account: str, region: str, service: str, operation: str, at: float | None = None) -> None:
        request = Request(time.monotonic() if at is None else at, account, region, service, operation)
        with self._lock:
            self._requests.append(request)

    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def count(
        self, account: str, region: str | None = None, service: str | None = None, operation: str | None = None
    ) -> int:
        """Requests of the account (and region, service, operation, when given)."""
        return sum(
            1
            for r in self.requests()
            if r.account == account
            and region in (None, r.region)
            and service in (None, r.service)
            and operation in (None, r.operation)
        )

    def max_in_window(
        self, account: str, region: str, window: float = 1.0, services: Collection[str] | None = None
    ) -> int:
        """The most requests to (account, region), all services counted unless `services`, that arrived
        within any `window` seconds (any half-open interval [t, t + window))."""
        times = sorted(
            r.at
            for r in self.requests()
            if (r.account, r.region) == (account, region) and (services is None or r.service in services)
        )
        return _densest(times, window)

    def max_rates(self, window: float = 1.0, services: Collection[str] | None = None) -> dict[tuple[str, str], int]:
        """max_in_window for every (account, region) that received a request."""
        keys = {(r.account, r.region) for r in self.requests()}
        return {key: self.max_in_window(*key, window=window, services=services) for key in sorted(keys)}


def _densest(times: Iterable[float], window: float) -> int:
    ordered = list(times)
    best, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@dataclass(frozen=True)
class Refusal:
    """An error the emulator answers instead of moto."""

    status: int
    code: str
    message: str


def denial(account: str, service: str, operation: str) -> Refusal:
    action = f"{_ACTION_PREFIX.get(service, service)}:{operation}"
    return Refusal(
        403,
        "AccessDeniedException",
        f"User: arn:aws:sts::{account}:assumed-role/member/job is not authorized to perform: {action} "
        f"because no identity-based policy allows the {action} action",
    )


def throttling(service: str) -> Refusal:
    status, code = _THROTTLE.get(service, (429, "TooManyRequestsException"))
    return Refusal(status, code, "Rate exceeded")


def broken(function: str) -> Refusal:
    return Refusal(500, "ServiceException", f"The service could not read function {function} (emulator fault)")


def is_denied(deny: Collection[tuple[str, str, str]], account: str, region: str, operation: str) -> bool:
    """(account, region, operation) or (account, "*", operation) is in `deny`."""
    return (account, region, operation) in deny or (account, ANY_REGION, operation) in deny
