"""What the emulator knows about a request beyond moto: its operation, when it came (the request log), the
request as Behaviour.faults see it (Call), and the errors the emulator answers instead of moto (Refusal).

The operation is read the way AWS routes it: the `X-Amz-Target` header for the JSON protocols (the job's
tag:GetResources and cloudwatch:GetMetricData), the `/service/<s>/operation/<op>` path for Smithy RPC v2
CBOR (what boto3 speaks to those services), and the method and path for Lambda's REST API.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote

from inventory.demo.emulator_wire import StartResponse, error_for

# The reads the job's opt-in enrichments make, one per enrichment (tags, urls, policy, concurrency, usage).
ENRICH_OPERATIONS = frozenset(
    {"GetResources", "ListFunctionUrlConfigs", "GetPolicy", "GetFunctionConcurrency", "GetMetricData"}
)
# The reads the estate's enrichments make (job/estate_reads.py): its account-region lists and per-function reads.
ESTATE_OPERATIONS = frozenset(
    {
        "ListEventSourceMappings",
        "ListLayers",
        "ListLayerVersions",
        "ListAliases",
        "ListFunctionEventInvokeConfigs",
        "ListProvisionedConcurrencyConfigs",
        "ListCodeSigningConfigs",
        "ListFunctionsByCodeSigningConfig",
    }
)

_LAMBDA_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("GET", re.compile(r"^/2015-03-31/functions/?$"), "ListFunctions"),
    ("GET", re.compile(r"^/2021-10-31/functions/[^/]+/urls/?$"), "ListFunctionUrlConfigs"),
    ("GET", re.compile(r"^/2015-03-31/functions/[^/]+/policy/?$"), "GetPolicy"),
    ("GET", re.compile(r"^/2019-09-30/functions/[^/]+/concurrency/?$"), "GetFunctionConcurrency"),
    ("GET", re.compile(r"^/2021-10-31/functions/[^/]+/url/?$"), "GetFunctionUrlConfig"),
    ("POST", re.compile(r"^/2021-10-31/functions/[^/]+/url/?$"), "CreateFunctionUrlConfig"),
    ("PUT", re.compile(r"^/2021-10-31/functions/[^/]+/url/?$"), "UpdateFunctionUrlConfig"),
    ("DELETE", re.compile(r"^/2021-10-31/functions/[^/]+/url/?$"), "DeleteFunctionUrlConfig"),
    *(
        (verb, re.compile(f"^/\\d{{4}}-\\d{{2}}-\\d{{2}}/{path}/?$"), op)
        for verb, path, op in (
            ("GET", "functions/[^/]+/aliases", "ListAliases"),
            ("POST", "functions/[^/]+/policy", "AddPermission"),
            ("DELETE", "functions/[^/]+/policy/[^/]+", "RemovePermission"),
            ("GET", "event-source-mappings", "ListEventSourceMappings"),
            ("GET", "layers", "ListLayers"),
            ("GET", "layers/[^/]+/versions", "ListLayerVersions"),
            ("GET", "layers/[^/]+/versions/[^/]+/policy", "GetLayerVersionPolicy"),
            ("POST", "layers/[^/]+/versions/[^/]+/policy", "AddLayerVersionPermission"),
            ("DELETE", "layers/[^/]+/versions/[^/]+/policy/[^/]+", "RemoveLayerVersionPermission"),
            ("GET", "code-signing-configs", "ListCodeSigningConfigs"),
            ("POST", "code-signing-configs", "CreateCodeSigningConfig"),
            ("GET", "code-signing-configs/[^/]+", "GetCodeSigningConfig"),
            ("GET", "code-signing-configs/[^/]+/functions", "ListFunctionsByCodeSigningConfig"),
            ("GET", "functions/[^/]+/code-signing-config", "GetFunctionCodeSigningConfig"),
            ("PUT", "functions/[^/]+/code-signing-config", "PutFunctionCodeSigningConfig"),
            ("DELETE", "functions/[^/]+/code-signing-config", "DeleteFunctionCodeSigningConfig"),
            ("GET", "functions/[^/]+/event-invoke-config/list", "ListFunctionEventInvokeConfigs"),
            ("GET", "functions/[^/]+/event-invoke-config", "GetFunctionEventInvokeConfig"),
            ("PUT", "functions/[^/]+/event-invoke-config", "PutFunctionEventInvokeConfig"),
            ("POST", "functions/[^/]+/event-invoke-config", "UpdateFunctionEventInvokeConfig"),
            ("DELETE", "functions/[^/]+/event-invoke-config", "DeleteFunctionEventInvokeConfig"),
            # the same path lists them all with List=ALL in the query (operation_of)
            ("GET", "functions/[^/]+/provisioned-concurrency", "GetProvisionedConcurrencyConfig"),
            ("PUT", "functions/[^/]+/provisioned-concurrency", "PutProvisionedConcurrencyConfig"),
            ("DELETE", "functions/[^/]+/provisioned-concurrency", "DeleteProvisionedConcurrencyConfig"),
        )
    ),
)
_CBOR_PATH = re.compile(r"^/service/[^/]+/operation/([^/]+)$")
_FUNCTION = re.compile(r"^/\d{4}-\d{2}-\d{2}/functions/([^/]+)")
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
        found = next((op for verb, route, op in _LAMBDA_ROUTES if verb == method and route.match(path)), "")
        if found == "GetProvisionedConcurrencyConfig" and "List" in parse_qs(environ.get("QUERY_STRING", "")):
            return "ListProvisionedConcurrencyConfigs"
        return found
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


class Call(NamedTuple):
    """A signed request as the emulator parsed it: what Behaviour.faults are shown."""

    service: str  # the SigV4 signing name
    operation: str  # "" when not identified (see operation_of)
    account: str
    region: str
    key: str  # the access key id that signed it
    function: str  # the function name (or ARN) in a Lambda path, "" when there is none
    method: str
    path: str


# An answer given instead of moto's: called like a WSGI application, (environ, start_response) -> the body.
Answer = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Refusal:
    """An error the emulator answers instead of moto, in the protocol the request spoke (an Answer)."""

    status: int
    code: str
    message: str

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        return error_for(environ, start_response, self.status, self.code, self.message)


def throttling(service: str) -> Refusal:
    status, code = _THROTTLE.get(service, (429, "TooManyRequestsException"))
    return Refusal(status, code, "Rate exceeded")
