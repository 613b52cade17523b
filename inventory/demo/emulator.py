"""An AWS emulator for the demo and the tests: moto's server, in-process, plus what stock moto lacks.

moto's ListFunctions ignores MaxItems/Marker, it does not enforce trust policies, it never throttles, it
has no Account API ListRegions and no ListFunctionUrlConfigs.
This WSGI layer in front of it adds those behaviours on the emulator's side of the wire, so the job's own
code runs unmodified over real HTTP:

* ListFunctions is paged like real Lambda: at most 50 per page (or MaxItems), with NextMarker.
* AssumeRole is denied (403 AccessDenied) for the role ARNs in `deny_roles`.
* Lambda answers 403 UnrecognizedClientException for (account, region) pairs in `disabled`, as real
  Lambda does in an opt-in region the account has not enabled.
* A share of ListFunctions calls (`throttle_rate`) is answered 429 TooManyRequestsException.
* With `expire_after`, every access key is honoured for that many ListFunctions calls and then answered
  ExpiredTokenException, as if its lifetime had run out.
* The Account API's ListRegions answers for the calling account: every region botocore lists for Lambda
  in the `aws` partition, DISABLED where (account, region) is in `disabled`, ENABLED for the opt-in regions,
  ENABLED_BY_DEFAULT for the rest; honouring RegionOptStatusContains, paged by MaxResults (at most 50) and
  NextToken. It is denied (403 AccessDeniedException) for the accounts in `deny_list_regions`, and the first
  `throttle_list_regions` calls of each account are answered 429 TooManyRequestsException.
* Lambda's ListFunctionUrlConfigs answers from moto's state for the calling account and region, plus the
  alias URL configs moto cannot keep (emulator_urls.py), paged by MaxItems (at most `url_page_limit`).
* Glue's UpdateTable honours VersionId (optimistic locking, emulator_glue.py): a commit based on an older
  version of an Iceberg table is refused with ConcurrentModificationException, as real Glue refuses it.
* The job's enrichment reads (tag:GetResources, lambda:ListFunctionUrlConfigs, lambda:GetPolicy,
  lambda:GetFunctionConcurrency, cloudwatch:GetMetricData), and any other operation, can be denied
  (403 AccessDeniedException) per account and region (`deny_operations`), throttled (`throttle_operations`
  at `throttle_rate`), or broken for one function (`broken_functions`: 500 ServiceException, every time).

It counts requests per (account, region) so tests can prove pagination and the AssumeRole count, and
ListRegions requests per account; and it logs every signed request with its arrival time, account, region,
service and operation (`stats.requests`: counts, and the most requests any account-region saw in a second).
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import botocore.session
from moto.iam.models import get_account_id_from
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from inventory.demo.emulator_extras import (
    PER_FUNCTION_OPERATIONS,
    Refusal,
    RequestLog,
    broken,
    denial,
    function_of,
    is_denied,
    operation_of,
    throttling,
)
from inventory.demo.emulator_glue import GlueLocking
from inventory.demo.emulator_regions import OPT_IN_REGIONS, REGION_OPT_STATUSES, opt_status, regions_page
from inventory.demo.emulator_urls import URLS_PAGE_LIMIT, UrlConfigs
from inventory.demo.emulator_wire import (
    StartResponse,
    error_for,
    json_error,
    json_reply,
    read_body,
    s3_error,
    xml_error,
)

__all__ = ["OPT_IN_REGIONS", "PAGE_LIMIT", "Behaviour", "Emulator", "EmulatorApp", "Stats"]

_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/")
_MARKER = "emulator-page:"
PAGE_LIMIT = 50


@dataclass
class Behaviour:
    """What the emulator does beyond stock moto. Mutable on purpose: tests adjust it between runs.

    The demo sets deny_roles, disabled and throttle_rate; the rest are faults only tests inject (they sit in
    the same request handlers, under the same lock, as the demo's: see the module docstring).
    """

    deny_roles: set[str] = field(default_factory=set)
    disabled: set[tuple[str, str]] = field(default_factory=set)  # (account_id, region)
    throttle_rate: float = 0.0
    expire_after: int | None = None  # tests only
    deny_list_regions: set[str] = field(default_factory=set)  # tests only: account ids whose ListRegions is denied
    throttle_list_regions: int = 0  # tests only: the first N ListRegions calls of each account are answered 429
    # tests only: (account_id, region or "*" for every region, operation) answered 403 AccessDeniedException,
    # e.g. ("222222222222", "*", "GetMetricData"); operation names as in emulator_extras.ENRICH_OPERATIONS.
    deny_operations: set[tuple[str, str, str]] = field(default_factory=set)
    # tests only: operations besides ListFunctions that `throttle_rate` applies to (e.g. {"GetPolicy"}).
    throttle_operations: set[str] = field(default_factory=set)
    # tests only: (account_id, function name, operation) answered 500 ServiceException every time, for the
    # per-function reads (ListFunctionUrlConfigs, GetPolicy, GetFunctionConcurrency).
    broken_functions: set[tuple[str, str, str]] = field(default_factory=set)
    url_page_limit: int = URLS_PAGE_LIMIT  # tests only: at most this many URL configs per page
    # tests only: S3 writes (PUT, POST) to a path containing one of these answered 403 AccessDenied, as a
    # bucket policy denying s3:PutObject on part of a prefix would (e.g. {"/inv/targets/"}).
    deny_s3_writes: set[str] = field(default_factory=set)
    seed: int = 7


@dataclass
class Stats:
    list_calls: Counter[tuple[str, str]] = field(default_factory=Counter)  # (account, region) -> requests
    assume_calls: Counter[str] = field(default_factory=Counter)  # role arn -> requests
    assume_requests: list[dict[str, str]] = field(default_factory=list)  # the AssumeRole parameters seen
    list_regions_calls: Counter[str] = field(default_factory=Counter)  # account -> ListRegions requests
    requests: RequestLog = field(default_factory=RequestLog)  # every signed request, timed
    throttled: int = 0
    expired: int = 0


class EmulatorApp:
    """WSGI middleware in front of moto's dispatcher."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.stats = Stats()
        self.urls = UrlConfigs()
        self.glue = GlueLocking()
        self._moto = DomainDispatcherApplication(create_backend_app)
        self._lock = threading.Lock()
        self._random = random.Random(behaviour.seed)
        self._key_uses: Counter[str] = Counter()
        self._accounts: dict[str, str] = {}  # access key -> account id (a key never changes account)
        self._regions = tuple(sorted(botocore.session.Session().get_available_regions("lambda")))

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = Stats()
            self._key_uses.clear()
            self._random.seed(self.behaviour.seed)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if not scope:
            return self._forward(environ, start_response)
        key, region, service = scope.groups()
        account = self._account(key)
        operation = operation_of(environ, service)
        self.stats.requests.add(account, region, service, operation)
        if service == "sts":
            return self._sts(environ, start_response)
        if service == "lambda" and operation == "ListFunctions":
            return self._list_functions(environ, start_response, key, region)
        is_post = environ.get("REQUEST_METHOD") == "POST"
        if service == "account" and is_post and environ.get("PATH_INFO") == "/listRegions":
            return self._list_regions(environ, start_response, account)
        if service == "s3" and self._s3_write_denied(environ):
            return s3_error(start_response, "AccessDenied", "Access Denied")
        if service == "glue" and operation == "UpdateTable":
            return self.glue.update_table(environ, start_response, (account, region), self._forward)
        refusal = self._refusal(environ, account, region, service, operation)
        if refusal is not None:
            return error_for(environ, start_response, refusal.status, refusal.code, refusal.message)
        if service == "lambda" and self.urls.answers(environ, operation):
            where = (account, region)
            return self.urls.handle(environ, start_response, where, operation, self.behaviour.url_page_limit)
        return self._forward(environ, start_response)

    def _s3_write_denied(self, environ: dict[str, Any]) -> bool:
        path = environ.get("PATH_INFO", "")
        writes = environ.get("REQUEST_METHOD") in {"PUT", "POST"}
        return writes and any(part in path for part in self.behaviour.deny_s3_writes)

    def _account(self, key: str) -> str:
        if key not in self._accounts:
            self._accounts[key] = get_account_id_from(key)
        return self._accounts[key]

    def _forward(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body: Iterable[bytes] = self._moto(environ, start_response)
        return body

    def _refusal(
        self, environ: dict[str, Any], account: str, region: str, service: str, operation: str
    ) -> Refusal | None:
        """The error a test asked this request to get, if any: denied, throttled, or a broken function."""
        behaviour = self.behaviour
        if is_denied(behaviour.deny_operations, account, region, operation):
            return denial(account, service, operation)
        if operation in behaviour.throttle_operations:
            with self._lock:
                throttled = self._random.random() < behaviour.throttle_rate
                self.stats.throttled += throttled
            if throttled:
                return throttling(service)
        function = function_of(environ)
        if operation in PER_FUNCTION_OPERATIONS and (account, function, operation) in behaviour.broken_functions:
            return broken(function)
        return None

    def _sts(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        form = parse_qs(read_body(environ).decode())
        if form.get("Action") == ["AssumeRole"]:
            role = form.get("RoleArn", [""])[0]
            with self._lock:
                self.stats.assume_calls[role] += 1
                self.stats.assume_requests.append({k: v[0] for k, v in form.items() if k != "Action"})
            if role in self.behaviour.deny_roles:
                return xml_error(
                    start_response,
                    "AccessDenied",
                    f"hub is not authorized to perform: sts:AssumeRole on resource: {role}",
                )
        return self._forward(environ, start_response)

    def _list_functions(
        self, environ: dict[str, Any], start_response: StartResponse, key: str, region: str
    ) -> Iterable[bytes]:
        account = self._account(key)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        with self._lock:
            self.stats.list_calls[(account, region)] += 1
        if (account, region) in self.behaviour.disabled:
            return json_error(start_response, 403, "UnrecognizedClientException", "The security token is invalid.")
        with self._lock:
            self._key_uses[key] += 1
            expired = self.behaviour.expire_after is not None and self._key_uses[key] > self.behaviour.expire_after
            throttled = not expired and self._random.random() < self.behaviour.throttle_rate
            self.stats.throttled += throttled
            self.stats.expired += expired
        if expired:
            return json_error(start_response, 403, "ExpiredTokenException", "The security token has expired.")
        if throttled:
            return json_error(start_response, 429, "TooManyRequestsException", "Rate exceeded")
        environ["QUERY_STRING"] = "&".join(f"FunctionVersion={v}" for v in query.get("FunctionVersion", []))
        return self._page(environ, start_response, query)

    def _page(
        self, environ: dict[str, Any], start_response: StartResponse, query: dict[str, list[str]]
    ) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"], captured["headers"] = status, headers

        body = b"".join(self._forward(environ, capture))
        if not captured["status"].startswith("200"):
            start_response(captured["status"], captured["headers"])
            return [body]
        functions = json.loads(body)["Functions"]
        functions.sort(key=lambda f: (f["FunctionName"], f.get("Version", "")))
        start = int(query.get("Marker", [_MARKER + "0"])[0].removeprefix(_MARKER))
        limit = min(int(query.get("MaxItems", [PAGE_LIMIT])[0]), PAGE_LIMIT)
        page: dict[str, Any] = {"Functions": functions[start : start + limit]}
        if start + limit < len(functions):
            page["NextMarker"] = f"{_MARKER}{start + limit}"
        return json_reply(start_response, "200 OK", page)

    def _list_regions(self, environ: dict[str, Any], start_response: StartResponse, account: str) -> Iterable[bytes]:
        body = read_body(environ)
        request = json.loads(body) if body else {}
        with self._lock:
            self.stats.list_regions_calls[account] += 1
            throttled = self.stats.list_regions_calls[account] <= self.behaviour.throttle_list_regions
            self.stats.throttled += throttled
        if account in self.behaviour.deny_list_regions:
            return json_error(
                start_response,
                403,
                "AccessDeniedException",
                f"User: arn:aws:sts::{account}:assumed-role/member is not authorized to perform: account:ListRegions",
            )
        if throttled:
            return json_error(start_response, 429, "TooManyRequestsException", "Rate exceeded")
        statuses = [(name, opt_status(self.behaviour.disabled, account, name)) for name in self._regions]
        wanted = set(request.get("RegionOptStatusContains") or REGION_OPT_STATUSES)
        return regions_page(start_response, [s for s in statuses if s[1] in wanted], request)


class Emulator:
    """moto's server with EmulatorApp in front, on 127.0.0.1 and a free port, in a daemon thread."""

    def __init__(self, behaviour: Behaviour | None = None, port: int = 0) -> None:
        self.app = EmulatorApp(behaviour or Behaviour())
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", port, self.app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="emulator", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> Emulator:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request is noise
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
