"""An AWS emulator for the demo and the tests: moto's server, in-process, plus what stock moto lacks.

moto's ListFunctions ignores MaxItems/Marker, it does not enforce trust policies, it never throttles, it
has no Account API ListRegions and no ListFunctionUrlConfigs.
This WSGI layer in front of it adds those behaviours on the emulator's side of the wire, so the job's own
code runs unmodified over real HTTP:

* ListFunctions is paged like real Lambda: at most 50 per page (or MaxItems), with NextMarker.
* AssumeRole is denied (403 AccessDenied) for the role ARNs in `deny_roles`.
* Lambda answers 403 UnrecognizedClientException for (account, region) pairs in `disabled`, as real
  Lambda does in an opt-in region the account has not enabled.
* A share of ListFunctions calls (`throttle_rate`) is answered 429 TooManyRequestsException, and as large a
  share of the operations in `throttle_operations` (the demo names the enrichments' reads) with each
  service's own throttling error.
* The Account API's ListRegions answers for the calling account: every region botocore lists for Lambda
  in the `aws` partition, DISABLED where (account, region) is in `disabled`, ENABLED for the opt-in regions,
  ENABLED_BY_DEFAULT for the rest; honouring RegionOptStatusContains, paged by MaxResults (at most 50) and
  NextToken.
* Lambda's ListFunctionUrlConfigs answers from moto's state for the calling account and region, plus the
  alias URL configs moto cannot keep (emulator_urls.py), paged by MaxItems (at most 50).
* The Lambda estate around the functions (emulator_estate.py): event source mappings, layers and aliases
  paged from moto's state; alias-qualified and layer version policies, event invoke configs, provisioned
  concurrency and code signing configs kept by the emulator, per account and region, paged like real Lambda.
* Glue's UpdateTable honours VersionId (optimistic locking, emulator_glue.py): a commit based on an older
  version of an Iceberg table is refused with ConcurrentModificationException, as real Glue refuses it.

One extension point lets a caller answer requests itself (`faults`, see Fault): each signed request, parsed
into a Call, is shown to them in order, under the emulator's lock, after its own access checks (deny_roles,
disabled) and before its throttle draw; the first answer given replaces moto's.

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
from typing import Any, Protocol
from urllib.parse import parse_qs

import botocore.session
from moto.iam.models import get_account_id_from
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from inventory.demo.emulator_estate import Estate
from inventory.demo.emulator_extras import Answer, Call, RequestLog, function_of, operation_of, throttling
from inventory.demo.emulator_glue import GlueLocking
from inventory.demo.emulator_regions import OPT_IN_REGIONS, REGION_OPT_STATUSES, opt_status, regions_page
from inventory.demo.emulator_urls import UrlConfigs
from inventory.demo.emulator_wire import StartResponse, json_error, json_reply, read_body, xml_error

__all__ = ["OPT_IN_REGIONS", "PAGE_LIMIT", "Behaviour", "Emulator", "EmulatorApp", "Fault", "Stats"]

_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/")
_MARKER = "emulator-page:"
PAGE_LIMIT = 50


@dataclass
class Stats:
    list_calls: Counter[tuple[str, str]] = field(default_factory=Counter)  # (account, region) -> requests
    assume_calls: Counter[str] = field(default_factory=Counter)  # role arn -> requests
    assume_requests: list[dict[str, str]] = field(default_factory=list)  # the AssumeRole parameters seen
    list_regions_calls: Counter[str] = field(default_factory=Counter)  # account -> ListRegions requests
    requests: RequestLog = field(default_factory=RequestLog)  # every signed request, timed
    throttled: int = 0
    faults: Counter[str] = field(default_factory=Counter)  # what Behaviour.faults counted, by names they chose


class Fault(Protocol):
    """A caller's own answer to some requests (Behaviour.faults).

    Called for every signed request, in the order of Behaviour.faults and under the emulator's lock, after
    the emulator's access checks (deny_roles, disabled) and before its throttle draw. It returns the answer
    to give instead of the emulator's (a Refusal, or any WSGI answer, called outside the lock), or None to
    let the request through; it may count what it does in `stats` (a new Stats after reset_stats).
    """

    def __call__(self, call: Call, stats: Stats) -> Answer | None: ...


@dataclass
class Behaviour:
    """What the emulator does beyond stock moto. Mutable on purpose: tests adjust it between runs."""

    deny_roles: set[str] = field(default_factory=set)
    disabled: set[tuple[str, str]] = field(default_factory=set)  # (account_id, region)
    throttle_rate: float = 0.0
    # operations besides ListFunctions that `throttle_rate` applies to (e.g. emulator_extras.ENRICH_OPERATIONS)
    throttle_operations: set[str] = field(default_factory=set)
    faults: list[Fault] = field(default_factory=list)  # consulted in order; the first answer wins
    seed: int = 7


class EmulatorApp:
    """WSGI middleware in front of moto's dispatcher."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.stats = Stats()
        self.urls = UrlConfigs()
        self.estate = Estate()
        self.glue = GlueLocking()
        self._moto = DomainDispatcherApplication(create_backend_app)
        self._lock = threading.Lock()
        self._random = random.Random(behaviour.seed)
        self._accounts: dict[str, str] = {}  # access key -> account id (a key never changes account)
        self._regions = tuple(sorted(botocore.session.Session().get_available_regions("lambda")))

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = Stats()
            self._random.seed(self.behaviour.seed)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if not scope:
            return self._forward(environ, start_response)
        call = self._call(environ, *scope.groups())
        self.stats.requests.add(call.account, call.region, call.service, call.operation)
        if call.service == "sts":
            return self._sts(environ, start_response, call)
        if call.service == "lambda" and call.operation == "ListFunctions":
            return self._list_functions(environ, start_response, call)
        if call.service == "account" and call.method == "POST" and call.path == "/listRegions":
            return self._list_regions(environ, start_response, call)
        with self._lock:
            answer = self._faulted(call)
        if answer is not None:
            return answer(environ, start_response)
        if call.service == "glue" and call.operation == "UpdateTable":
            return self.glue.update_table(environ, start_response, (call.account, call.region), self._forward)
        if call.operation in self.behaviour.throttle_operations and self._throttled():
            return throttling(call.service)(environ, start_response)
        if call.service == "lambda" and self.urls.answers(environ, call.operation):
            return self.urls.handle(environ, start_response, (call.account, call.region), call.operation)
        if call.service == "lambda" and self.estate.answers(environ, call.operation):
            return self.estate.handle(environ, start_response, (call.account, call.region), call.operation)
        return self._forward(environ, start_response)

    def _call(self, environ: dict[str, Any], key: str, region: str, service: str) -> Call:
        if key not in self._accounts:
            self._accounts[key] = get_account_id_from(key)
        method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        operation = operation_of(environ, service)
        return Call(service, operation, self._accounts[key], region, key, function_of(environ), method, path)

    def _faulted(self, call: Call) -> Answer | None:
        """The first answer Behaviour.faults give (the caller holds the lock)."""
        for fault in self.behaviour.faults:
            answer = fault(call, self.stats)
            if answer is not None:
                return answer
        return None

    def _throttled(self) -> bool:
        """One draw of `throttle_rate`, counted."""
        with self._lock:
            throttled = self._random.random() < self.behaviour.throttle_rate
            self.stats.throttled += throttled
        return throttled

    def _forward(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body: Iterable[bytes] = self._moto(environ, start_response)
        return body

    def _sts(self, environ: dict[str, Any], start_response: StartResponse, call: Call) -> Iterable[bytes]:
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
        with self._lock:
            answer = self._faulted(call)
        return self._forward(environ, start_response) if answer is None else answer(environ, start_response)

    def _list_functions(self, environ: dict[str, Any], start_response: StartResponse, call: Call) -> Iterable[bytes]:
        where = (call.account, call.region)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        with self._lock:
            self.stats.list_calls[where] += 1
        if where in self.behaviour.disabled:
            return json_error(start_response, 403, "UnrecognizedClientException", "The security token is invalid.")
        with self._lock:
            answer = self._faulted(call)
        if answer is not None:
            return answer(environ, start_response)
        if self._throttled():
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

    def _list_regions(self, environ: dict[str, Any], start_response: StartResponse, call: Call) -> Iterable[bytes]:
        body = read_body(environ)
        request = json.loads(body) if body else {}
        with self._lock:
            self.stats.list_regions_calls[call.account] += 1
            answer = self._faulted(call)
        if answer is not None:
            return answer(environ, start_response)
        statuses = [(name, opt_status(self.behaviour.disabled, call.account, name)) for name in self._regions]
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
