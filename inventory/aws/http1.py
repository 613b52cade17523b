"""HTTP/1.1 requests over keep-alive connections: how aws/transport.py sends the job's signed calls to AWS.

The job's calls are small GETs and POSTs to a handful of endpoints, tens of thousands a run, from one event loop.
aiohttp's general client spent ~84 us of CPU on each (benchmarks/http_cost.py), ~17% of a run reading the
per-account-region tables; this one does only what these calls need (~36 us), on the standard library's asyncio
transports (TCP, and TLS verified with the context botocore would use) and llhttp's parser (`httptools`, the
parser of Node.js and uvicorn), so an answer's framing (Content-Length, chunked, connection close, 1xx answers)
and every malformed answer is judged by it, not by code of ours.

Not done here: proxies (aws/transport.py sends through aiohttp when one is configured), redirects, cookies,
compression (none is asked for), HTTP/2. Limits: an answer's head 64 KiB, its body 256 MiB. Errors are
`HttpFailure` (a builtin ConnectionError; aws/retry.py: unanswered, retried): a connection refused, reset or
closed mid-answer, a host not found, a TLS failure, an answer that is not HTTP/1.1; `TimeoutError` past the
request's deadline (connect included) or the connect timeout. A connection is reused only after a complete answer
that allows keep-alive, and not after it has been idle for `IDLE_SECONDS` (servers close idle ones; reusing one
as the server closes it would fail a request for nothing). tests/aws/test_http1.py answers it as hostile servers.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httptools

IDLE_SECONDS = 15.0  # aiohttp's keep-alive default; AWS endpoints keep idle connections longer
_MAX_HEAD = 64 * 1024
_MAX_BODY = 256 * 1024 * 1024


class HttpFailure(ConnectionError):
    """No complete HTTP answer: the connection failed, closed early, or the answer was not HTTP/1.1."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # any case of a name finds it (the last of a repeated header)
    body: bytes


class _Headers(dict[str, str]):
    """An answer's headers by name, in any case (stored lower case)."""

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


class _Connection(asyncio.Protocol):
    """One connection: one request at a time, its answer parsed as it arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser: Any = None
        self._waiter: asyncio.Future[Answer] | None = None
        self._start()

    def _start(self) -> None:
        self._headers = _Headers()
        self._body: list[bytes] = []
        self._head = self._size = self._before_body = 0
        self._headers_done = False
        self._problem: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        framed = "content-length" in self._headers or "chunked" in self._headers.get("transfer-encoding", "").lower()
        if self._headers_done and not framed and self._parser is not None:  # a body delimited by the close
            self._answer(self._parser.get_status_code())
            return
        reason = f": {exc}" if exc else ""
        self._fail(HttpFailure(f"the connection closed before the answer was complete{reason}"))

    def data_received(self, data: bytes) -> None:
        if self._parser is None or self._waiter is None or self._waiter.done():
            self.abort()  # bytes nobody asked for: not a connection to send the next request on
            return
        if not self._headers_done:  # over _MAX_HEAD read and the head not done: a line with no end, say
            if self._before_body > _MAX_HEAD:
                self._fail(HttpFailure(f"an answer whose head is over {_MAX_HEAD} bytes"))
                return
            self._before_body += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(HttpFailure("the answer switched protocols"))
        except httptools.HttpParserError as err:  # after a complete answer (more bytes in the same read): dropped
            self._fail(HttpFailure(self._problem or f"an answer that is not HTTP/1.1: {err}"))

    def send(self, request: bytes) -> asyncio.Future[Answer]:
        if self.transport is None:
            raise HttpFailure("the connection is not open")
        self._parser = httptools.HttpResponseParser(self)
        self._waiter = asyncio.get_running_loop().create_future()
        self._start()
        self.transport.write(request)
        return self._waiter

    # --- the parser's callbacks (an exception raised here ends the parse: feed_data raises it as a parser error)

    def on_message_begin(self) -> None:
        if self._waiter is None or self._waiter.done():
            self._problem = "more than one answer to one request"
            raise ValueError(self._problem)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head += len(name) + len(value) + 4
        if self._head > _MAX_HEAD:
            self._problem = f"an answer whose head is over {_MAX_HEAD} bytes"
            raise ValueError(self._problem)
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > _MAX_BODY:
            self._problem = f"an answer whose body is over {_MAX_BODY} bytes"
            raise ValueError(self._problem)
        self._body.append(body)

    def on_message_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # an interim answer (100 Continue, 103 Early Hints): the final one follows
            self._start()
            return
        if not self._parser.should_keep_alive():
            self.closed = True  # closed once the answer is taken: never reused
        self._answer(status)

    # ---

    def _answer(self, status: int) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(Answer(status, self._headers, b"".join(self._body)))

    def _fail(self, err: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(err)
        self.abort()

    def abort(self) -> None:
        self.closed = True
        self._parser = None
        if self.transport is not None:
            self.transport.abort()


class Http1Pool:
    """Keep-alive connections to a few hosts: at most `limit` requests at once, at most `limit` idle connections
    kept (the oldest of the host with the most goes first). One per event loop."""

    def __init__(self, limit: int, tls: ssl.SSLContext, *, connect_timeout: float, timeout: float) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._limit = limit
        self._tls = tls
        self._connect_timeout = connect_timeout
        self._timeout = timeout
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._idle_count = 0

    async def request(
        self, method: str, url: tuple[str, str, int, str], headers: Mapping[str, str], body: bytes
    ) -> Answer:
        """One request to `url` (scheme, host, port, the path and query already encoded); its whole answer."""
        scheme, host, port, target = url
        request = _request(method, target, headers, body)
        key = (scheme, host, port)
        async with self._slots:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._timeout  # the whole request's, connect included
            connection: _Connection | None = None
            try:
                connection = self._reuse(key) or await self._connect(key, deadline)
                waiter = connection.send(request)
                timer = loop.call_at(deadline, _expire, waiter)  # one timer, cheaper than asyncio.timeout's
                try:
                    answer = await waiter
                finally:
                    timer.cancel()
            except BaseException:
                if connection is not None:
                    connection.abort()  # cut short (deadline, cancelled, failed): it may be mid-answer
                raise
            if connection.closed:
                connection.abort()
            else:
                self._keep(key, connection)
            return answer

    def _reuse(self, key: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            if not connection.closed and now - connection.idle_since < IDLE_SECONDS:
                return connection
            connection.abort()
        return None

    def _keep(self, key: tuple[str, str, int], connection: _Connection) -> None:
        if self._idle_count >= self._limit:  # the oldest of the fullest host's idle connections goes
            fullest = max(self._idle.values(), key=len)
            fullest.pop(0).abort()
            self._idle_count -= 1
        connection.idle_since = time.monotonic()
        self._idle.setdefault(key, []).append(connection)
        self._idle_count += 1

    async def _connect(self, key: tuple[str, str, int], deadline: float) -> _Connection:
        scheme, host, port = key
        tls = self._tls if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(min(deadline, loop.time() + self._connect_timeout)):
                _, connection = await loop.create_connection(
                    _Connection, host, port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError:  # an OSError too: the connect timeout, reported as such (transport.py)
            raise
        except OSError as err:  # refused, unreachable, host not found, TLS refused or not verified
            raise HttpFailure(f"cannot connect to {host}:{port}: {err}") from err
        return connection

    def close(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.abort()
        self._idle.clear()
        self._idle_count = 0


def _expire(waiter: asyncio.Future[Answer]) -> None:
    """The request's deadline passed: TimeoutError (the caller then drops the connection, which may be mid-answer)."""
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def _request(method: str, target: str, headers: Mapping[str, str], body: bytes) -> bytes:
    """The request's bytes; ValueError for a target or header that would break out of its line."""
    if " " in target or "\r" in target or "\n" in target:
        raise ValueError(f"the request target {target[:60]!r} cannot be sent: a space or line break in it")
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            raise ValueError(f"the header {name!r} cannot be sent: a line break or colon in it")
        lines.append(f"{name}: {value}")
    if body or method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
