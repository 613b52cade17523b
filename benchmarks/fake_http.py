"""The fake's HTTP/1.1: a hand-rolled server over asyncio streams with keep-alive (standard library only, cheaper
than any framework), and the replies every service shares: request ids, STS's XML errors, REST-JSON errors."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate

from fake_enrich import Response

Dispatch = Callable[[str, str, dict[str, str], bytes], Awaitable[Response]]  # (method, target, headers, body)


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, dispatch: Dispatch) -> None:
    """Answer the requests of one connection in turn, until the client closes it or asks to."""
    date = HttpDate()
    try:
        while True:
            request = await read_request(reader, writer)
            if request is None:
                break
            method, target, version, headers, body = request
            status, extra, payload = await dispatch(method, target, headers, body)
            keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
            head = [
                f"HTTP/1.1 {status}",
                f"Date: {date.now()}",
                f"Content-Length: {len(payload)}",
                f"Connection: {'keep-alive' if keep else 'close'}",
                *(f"{k}: {v}" for k, v in extra),
                "",
                "",
            ]
            writer.write("\r\n".join(head).encode("latin-1") + payload)
            await writer.drain()
            if not keep:
                break
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        writer.close()


async def read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> tuple[str, str, str, dict[str, str], bytes] | None:
    """The next request, (method, target, version, headers, body); None when the connection is done."""
    line = await reader.readline()
    while line in (b"\r\n", b"\n"):
        line = await reader.readline()
    if not line:
        return None
    try:
        method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    except ValueError:
        return None
    headers: dict[str, str] = {}
    while True:
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    body = b""
    length = int(headers.get("content-length") or 0)
    if length:
        body = await reader.readexactly(length)
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    return method, target, version, headers, body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readline()


class HttpDate:
    """The Date header, formatted once per second."""

    def __init__(self) -> None:
        self._date = ("", 0)

    def now(self) -> str:
        now = int(time.time())
        if self._date[1] != now:
            self._date = (formatdate(now, usegmt=True), now)
        return self._date[0]


class Replies:
    """Request ids (one counter for the fake's life) and the errors the services share."""

    def __init__(self) -> None:
        self._count = 0

    def request_id(self) -> str:
        self._count += 1
        n = self._count
        return f"{n >> 16 & 0xFFFFFFFF:08x}-fa4e-4{n >> 4 & 0xFFF:03x}-8000-{n & 0xFFFFFFFFFFFF:012x}"

    def xml_headers(self) -> list[tuple[str, str]]:
        return [("Content-Type", "text/xml"), ("x-amzn-RequestId", self.request_id())]

    def xml_error(self, status: str, code: str, message: str) -> Response:
        xml = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>{self.request_id()}</RequestId>"
            "</ErrorResponse>"
        )
        return status, self.xml_headers(), xml.encode()

    def json_error(self, code: int, reason: str, error_type: str, message: str) -> Response:
        body = json.dumps({"Type": "User", "message": message}).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("x-amzn-RequestId", self.request_id()),
            ("x-amzn-ErrorType", error_type),
        ]
        return f"{code} {reason}", headers, body
