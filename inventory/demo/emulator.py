"""An AWS emulator for the demo and the tests: moto's server, in-process, plus what stock moto lacks.

moto's ListFunctions ignores MaxItems/Marker, it does not enforce trust policies, it never throttles, and
it has no Account API ListRegions.
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

It counts requests per (account, region) so tests can prove pagination and the AssumeRole count, and
ListRegions requests per account.
"""

from __future__ import annotations

import io
import json
import logging
import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import botocore.session
from moto.iam.models import get_account_id_from
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

_LIST_PATH = re.compile(r"^/2015-03-31/functions/?$")
_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/")
_MARKER = "emulator-page:"
_REGIONS_TOKEN = "emulator-regions:"
PAGE_LIMIT = 50
REGIONS_PAGE_LIMIT = 50
# Regions AWS ships disabled until the account opts in (ListRegions says ENABLED once it has).
OPT_IN_REGIONS = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-west-1",
        "eu-central-2",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
    }
)
REGION_OPT_STATUSES = ("ENABLED", "ENABLING", "DISABLING", "DISABLED", "ENABLED_BY_DEFAULT")

StartResponse = Callable[..., Any]


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
    seed: int = 7


@dataclass
class Stats:
    list_calls: Counter[tuple[str, str]] = field(default_factory=Counter)  # (account, region) -> requests
    assume_calls: Counter[str] = field(default_factory=Counter)  # role arn -> requests
    assume_requests: list[dict[str, str]] = field(default_factory=list)  # the AssumeRole parameters seen
    list_regions_calls: Counter[str] = field(default_factory=Counter)  # account -> ListRegions requests
    throttled: int = 0
    expired: int = 0


class EmulatorApp:
    """WSGI middleware in front of moto's dispatcher."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.stats = Stats()
        self._moto = DomainDispatcherApplication(create_backend_app)
        self._lock = threading.Lock()
        self._random = random.Random(behaviour.seed)
        self._key_uses: Counter[str] = Counter()
        self._regions = tuple(sorted(botocore.session.Session().get_available_regions("lambda")))

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = Stats()
            self._key_uses.clear()
            self._random.seed(self.behaviour.seed)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if scope and scope.group(3) == "sts":
            return self._sts(environ, start_response)
        is_get = environ.get("REQUEST_METHOD") == "GET"
        if scope and scope.group(3) == "lambda" and is_get and _LIST_PATH.match(environ.get("PATH_INFO", "")):
            return self._list_functions(environ, start_response, scope.group(1), scope.group(2))
        is_post = environ.get("REQUEST_METHOD") == "POST"
        if scope and scope.group(3) == "account" and is_post and environ.get("PATH_INFO") == "/listRegions":
            return self._list_regions(environ, start_response, scope.group(1))
        return self._forward(environ, start_response)

    def _forward(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body: Iterable[bytes] = self._moto(environ, start_response)
        return body

    def _sts(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size else b""
        environ["wsgi.input"] = io.BytesIO(body)
        form = parse_qs(body.decode())
        if form.get("Action") == ["AssumeRole"]:
            role = form.get("RoleArn", [""])[0]
            with self._lock:
                self.stats.assume_calls[role] += 1
                self.stats.assume_requests.append({k: v[0] for k, v in form.items() if k != "Action"})
            if role in self.behaviour.deny_roles:
                return _xml_error(
                    start_response,
                    "AccessDenied",
                    f"hub is not authorized to perform: sts:AssumeRole on resource: {role}",
                )
        return self._forward(environ, start_response)

    def _list_functions(
        self, environ: dict[str, Any], start_response: StartResponse, key: str, region: str
    ) -> Iterable[bytes]:
        account = get_account_id_from(key)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        with self._lock:
            self.stats.list_calls[(account, region)] += 1
        if (account, region) in self.behaviour.disabled:
            return _json_error(start_response, 403, "UnrecognizedClientException", "The security token is invalid.")
        with self._lock:
            self._key_uses[key] += 1
            expired = self.behaviour.expire_after is not None and self._key_uses[key] > self.behaviour.expire_after
            throttled = not expired and self._random.random() < self.behaviour.throttle_rate
            self.stats.throttled += throttled
            self.stats.expired += expired
        if expired:
            return _json_error(start_response, 403, "ExpiredTokenException", "The security token has expired.")
        if throttled:
            return _json_error(start_response, 429, "TooManyRequestsException", "Rate exceeded")
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
        return _json(start_response, "200 OK", page)

    def _list_regions(self, environ: dict[str, Any], start_response: StartResponse, key: str) -> Iterable[bytes]:
        account = get_account_id_from(key)
        size = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(size) or b"{}") if size else {}
        with self._lock:
            self.stats.list_regions_calls[account] += 1
            throttled = self.stats.list_regions_calls[account] <= self.behaviour.throttle_list_regions
            self.stats.throttled += throttled
        if account in self.behaviour.deny_list_regions:
            return _json_error(
                start_response,
                403,
                "AccessDeniedException",
                f"User: arn:aws:sts::{account}:assumed-role/member is not authorized to perform: account:ListRegions",
            )
        if throttled:
            return _json_error(start_response, 429, "TooManyRequestsException", "Rate exceeded")
        statuses = [(name, self._opt_status(account, name)) for name in self._regions]
        wanted = set(request.get("RegionOptStatusContains") or REGION_OPT_STATUSES)
        return _regions_page(start_response, [s for s in statuses if s[1] in wanted], request)

    def _opt_status(self, account: str, region: str) -> str:
        if (account, region) in self.behaviour.disabled:
            return "DISABLED"
        return "ENABLED" if region in OPT_IN_REGIONS else "ENABLED_BY_DEFAULT"


def _regions_page(
    start_response: StartResponse, regions: list[tuple[str, str]], request: dict[str, Any]
) -> list[bytes]:
    """One ListRegions page from MaxResults (1-50, default 50) and NextToken, or a ValidationException."""
    limit = request.get("MaxResults", REGIONS_PAGE_LIMIT)
    token = str(request.get("NextToken") or _REGIONS_TOKEN + "0")
    offset = token.removeprefix(_REGIONS_TOKEN)
    if not isinstance(limit, int) or not 1 <= limit <= REGIONS_PAGE_LIMIT:
        return _json_error(start_response, 400, "ValidationException", "MaxResults must be between 1 and 50.")
    if not token.startswith(_REGIONS_TOKEN) or not offset.isdigit():
        return _json_error(start_response, 400, "ValidationException", "The NextToken is not valid.")
    start = int(offset)
    page: dict[str, Any] = {
        "Regions": [{"RegionName": name, "RegionOptStatus": status} for name, status in regions[start : start + limit]]
    }
    if start + limit < len(regions):
        page["NextToken"] = f"{_REGIONS_TOKEN}{start + limit}"
    return _json(start_response, "200 OK", page)


def _json(
    start_response: StartResponse, status: str, payload: dict[str, Any], extra: Iterable[tuple[str, str]] = ()
) -> list[bytes]:
    data = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *extra])
    return [data]


def _json_error(start_response: StartResponse, code: int, error_type: str, message: str) -> list[bytes]:
    reason = {400: "Bad Request", 403: "Forbidden", 429: "Too Many Requests"}.get(code, "Error")
    return _json(
        start_response, f"{code} {reason}", {"Type": "User", "message": message}, [("x-amzn-ErrorType", error_type)]
    )


def _xml_error(start_response: StartResponse, code: str, message: str) -> list[bytes]:
    data = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>emulator</RequestId></ErrorResponse>"
    ).encode()
    start_response("403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))])
    return [data]


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
