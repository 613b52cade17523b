"""An AWS endpoint on 127.0.0.1 that answers what a test scripts: hostile answers over real HTTP.

`HostileLambda(script)` serves every GET (ListFunctions, the Lambda enrichment calls) and POST (the JSON
protocols of tag:GetResources and cloudwatch:GetMetricData; the request's `target` and `json` say which)
from a thread. `script(n, request)` gets the
0-based request number and the request (path, query, headers) and returns a Reply, or HANG to accept the
request and never answer (until the server stops). Point the job at it with AWS_ENDPOINT_URL_LAMBDA.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    at: float = 0.0  # time.monotonic() when it arrived
    raw_query: str = ""  # the query string as sent, still percent-encoded

    @property
    def target(self) -> str | None:
        """X-Amz-Target of a JSON-protocol POST, e.g. GraniteServiceVersion20100801.GetMetricData."""
        return next((v for k, v in self.headers.items() if k.lower() == "x-amz-target"), None)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def marker(self) -> str | None:
        return self.query.get("Marker")


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


HANG = Reply(status=-1)
# How often (seconds) a test server's serve_forever looks for shutdown(); its default, 0.5, made stopping the
# server cost most of half a second, in every test that starts one.
POLL = 0.05
Script = Callable[[int, Request], Reply]


def page(functions: list[dict[str, Any]], marker: str | None = None) -> Reply:
    body: dict[str, Any] = {"Functions": functions}
    if marker is not None:
        body["NextMarker"] = marker
    return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})


def functions(prefix: str, count: int, region: str = "us-east-1") -> list[dict[str, Any]]:
    return [
        {
            "FunctionName": f"{prefix}-{i:03d}",
            "FunctionArn": f"arn:aws:lambda:{region}:111111111111:function:{prefix}-{i:03d}",
            "Runtime": "python3.12",
            "MemorySize": 128,
            "Timeout": 3,
            "LastModified": "2019-10-30T18:27:32.783+0000",
        }
        for i in range(count)
    ]


class HostileLambda:
    """`with HostileLambda(script) as server:` ... `server.endpoint`, `server.requests`."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.requests: list[Request] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(POLL,), daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> HostileLambda:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = Request(url.path, query, dict(self.headers.items()), body, time.monotonic(), url.query)
                with server._lock:
                    n = len(server.requests)
                    server.requests.append(request)
                reply = server._script(n, request)
                if reply is HANG:
                    server._stop.wait(60)
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        return Handler


def sequence(*replies: Reply) -> Script:
    """Answer the replies in order, then the last one forever."""
    items = list(replies)

    def script(n: int, _: Request) -> Reply:
        return items[min(n, len(items) - 1)]

    return script


def by_marker(pages: dict[str | None, Reply]) -> Script:
    """Answer by the request's Marker (None: the first page)."""

    def script(_: int, request: Request) -> Reply:
        return pages[request.marker]

    return script
