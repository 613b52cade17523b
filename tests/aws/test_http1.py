"""The job's HTTP/1.1 client (aws/http1.py) against servers that answer well, oddly and with hostility: framing,
keep-alive, truncation, resets, garbage, oversize answers, silence, TLS verification, header injection."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from inventory.aws import http1
from inventory.aws.http1 import Http1Pool, HttpFailure
from inventory.aws.retry import FaultKind, classify

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
HEADERS = {"Host": "lambda.test", "User-Agent": "t", "X-Amz-Date": "20261207T000000Z"}


def _ok(body: bytes = b'{"Functions":[]}', extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + extra
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )


async def _head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


class Server:
    """A local server: `handler` serves each connection; `connections` counts them."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler, self.tls = handler, tls
        self.connections = 0

    async def __aenter__(self) -> Server:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
                pass
            finally:
                writer.close()

        self._server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()


def _pool(timeout: float = 5.0, tls: ssl.SSLContext | None = None) -> Http1Pool:
    return Http1Pool(4, tls or ssl.create_default_context(), connect_timeout=timeout, timeout=timeout)


def _run(handler: Handler, *, requests: int = 1, timeout: float = 5.0) -> tuple[list[Any], Server]:
    """`requests` GETs one after another through one pool; each answer, or the exception it raised."""

    async def go() -> tuple[list[Any], Server]:
        async with Server(handler) as server:
            pool = _pool(timeout)
            results: list[Any] = []
            for _ in range(requests):
                try:
                    results.append(
                        await pool.request("GET", ("http", "127.0.0.1", server.port, "/p?a=1"), HEADERS, b"")
                    )
                except Exception as err:  # noqa: BLE001 - the result under test
                    results.append(err)
                await asyncio.sleep(0.05)  # a server's close reaches the client between requests
            pool.close()
            return results, server

    return asyncio.run(go())


def test_keep_alive_one_connection_for_many_requests_and_the_request_as_signed() -> None:
    heads: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            heads.append(await _head(reader))
            writer.write(_ok(extra=b"x-amzn-RequestId: r1\r\n"))

    results, server = _run(handler, requests=3)
    assert [(r.status, r.body, r.headers.get("X-Amzn-RequestId")) for r in results] == [
        (200, b'{"Functions":[]}', "r1")
    ] * 3
    assert server.connections == 1
    assert (
        heads
        == [b"GET /p?a=1 HTTP/1.1\r\nHost: lambda.test\r\nUser-Agent: t\r\nX-Amz-Date: 20261207T000000Z\r\n\r\n"] * 3
    )


def test_a_post_carries_its_body_and_length() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await _head(reader)
        seen.append(head + await reader.readexactly(7))
        writer.write(_ok())

    async def go() -> None:
        async with Server(handler) as server:
            pool = _pool()
            await pool.request("POST", ("http", "127.0.0.1", server.port, "/"), HEADERS, b'{"a":1}')
            pool.close()

    asyncio.run(go())
    assert seen[0].endswith(b'Content-Length: 7\r\n\r\n{"a":1}')


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
        b"HTTP/1.0 200 OK\r\n\r\nhello world",  # delimited by the close
    ],
    ids=["chunked", "interim-100", "close-delimited"],
)
def test_framing_chunked_interim_and_close_delimited(answer: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        for start in range(0, len(answer), 7):  # in small pieces
            writer.write(answer[start : start + 7])
            await writer.drain()
        if answer.startswith(b"HTTP/1.0"):
            writer.close()

    results, _ = _run(handler)
    assert results[0].status == 200 and results[0].body == b"hello world"


def test_connection_close_and_an_idle_close_are_not_reused() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(_ok(extra=b"Connection: close\r\n"))
        await writer.drain()

    results, server = _run(handler, requests=2)
    assert [r.status for r in results] == [200, 200] and server.connections == 2

    async def closes_when_idle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(_ok())  # keep-alive allowed, then the server closes it anyway
        await writer.drain()

    results, server = _run(closes_when_idle, requests=2)
    assert [r.status for r in results] == [200, 200] and server.connections == 2


def test_a_connection_idle_too_long_is_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http1, "IDLE_SECONDS", 0.01)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await _head(reader)
            writer.write(_ok())

    results, server = _run(handler, requests=2)
    assert [r.status for r in results] == [200, 200] and server.connections == 2


async def _truncated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
    await writer.drain()


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _head(reader)
    writer.transport.abort()


def _answers(data: bytes) -> Handler:
    """A server that answers `data` to the first request and then holds the connection open."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(data)
        await writer.drain()
        await asyncio.sleep(1)

    return handler


_garbage = _answers(b"SSH-2.0-OpenSSH_9.0\r\n\r\n")
_bad_chunk = _answers(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
_huge_head = _answers(b"HTTP/1.1 200 OK\r\nX-Filler: " + b"a" * 70_000 + b"\r\nContent-Length: 0\r\n\r\n")


async def _endless_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nX-Endless: ")
    for _ in range(200):  # 200 KB of one header line that never ends
        writer.write(b"a" * 1024)
        await writer.drain()
    await asyncio.sleep(1)


_switch = _answers(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")


@pytest.mark.parametrize(
    ("handler", "said"),
    [
        (_truncated, "closed before the answer was complete"),
        (_reset, "closed before the answer was complete"),
        (_garbage, "not HTTP/1.1"),
        (_bad_chunk, "not HTTP/1.1"),
        (_huge_head, "head is over 65536 bytes"),
        (_endless_line, "head is over 65536 bytes"),
        (_switch, "switched protocols"),
    ],
    ids=["truncated", "reset", "garbage", "bad-chunk", "huge-head", "endless-line", "upgrade"],
)
def test_a_broken_answer_is_an_unanswered_failure_and_the_connection_is_dropped(handler: Handler, said: str) -> None:
    results, server = _run(handler, requests=2)
    for result in results:
        assert isinstance(result, HttpFailure) and said in str(result), result
        fault = classify(result)
        assert fault.kind is FaultKind.UNANSWERED and fault.code == "HttpFailure"
    assert server.connections == 2  # never reused


def test_a_body_past_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http1, "_MAX_BODY", 1000)
    results, _ = _run(_answers(_ok(b"x" * 5000)))
    assert isinstance(results[0], HttpFailure) and "body is over 1000 bytes" in str(results[0])


def test_silence_and_a_trickle_time_out_within_the_deadline_and_nothing_is_reused() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        await asyncio.sleep(10)

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n")
        for _ in range(50):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.05)

    for handler in (silent, trickle):
        results, server = _run(handler, requests=2, timeout=0.5)
        assert all(isinstance(result, TimeoutError) for result in results), results
        assert classify(results[0]).kind is FaultKind.UNANSWERED
        assert server.connections == 2


def test_nothing_listening_is_an_unanswered_failure() -> None:
    async def go() -> Exception:
        pool = _pool()
        try:
            await pool.request("GET", ("http", "127.0.0.1", 9, "/"), HEADERS, b"")
        except Exception as err:  # noqa: BLE001 - the result under test
            return err
        raise AssertionError("answered")

    err = asyncio.run(go())
    assert isinstance(err, HttpFailure) and "cannot connect to 127.0.0.1:9" in str(err)
    assert classify(err).kind is FaultKind.UNANSWERED


def test_a_header_with_a_line_break_is_never_sent() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(_ok())

    async def go() -> Server:
        async with Server(handler) as server:
            pool = _pool()
            for name, value in (("X-Amz-Security-Token", "t\r\nX-Injected: 1"), ("Bad\nName", "v"), ("A:B", "v")):
                with pytest.raises(ValueError, match="cannot be sent"):
                    await pool.request("GET", ("http", "127.0.0.1", server.port, "/"), {**HEADERS, name: value}, b"")
            pool.close()
            return server

    assert asyncio.run(go()).connections == 0  # refused before connecting
    with pytest.raises(ValueError, match="request target"):
        http1._request("GET", "/p HTTP/1.0\r\nX-Injected: 1", HEADERS, b"")


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def test_tls_is_verified_against_the_bundle_given_and_refused_otherwise(tmp_path: Path) -> None:
    cert_file, key_file = _certificate(tmp_path)
    served = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    served.load_cert_chain(cert_file, key_file)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await _head(reader)
            writer.write(_ok())

    async def go(trusted: ssl.SSLContext, host: str) -> Any:
        async with Server(handler, tls=served) as server:
            pool = _pool(tls=trusted)
            try:
                return await pool.request("GET", ("https", host, server.port, "/"), HEADERS, b"")
            except Exception as err:  # noqa: BLE001 - the result under test
                return err
            finally:
                pool.close()

    bundle = ssl.create_default_context(cafile=str(cert_file))
    assert asyncio.run(go(bundle, "localhost")).status == 200
    untrusted = asyncio.run(go(ssl.create_default_context(), "localhost"))
    assert isinstance(untrusted, HttpFailure) and "certificate verify failed" in str(untrusted)
    wrong_name = asyncio.run(go(bundle, "127.0.0.1"))  # the certificate names localhost only
    assert isinstance(wrong_name, HttpFailure) and "certificate" in str(wrong_name).lower()


def test_a_tls_handshake_that_never_comes_times_out_on_connect() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)  # accepts TCP, never speaks TLS

    async def go() -> Any:
        async with Server(handler) as server:
            pool = Http1Pool(4, ssl.create_default_context(), connect_timeout=0.3, timeout=5.0)
            try:
                await pool.request("GET", ("https", "127.0.0.1", server.port, "/"), HEADERS, b"")
            except Exception as err:  # noqa: BLE001 - the result under test
                return err
            finally:
                pool.close()

    assert isinstance(asyncio.run(asyncio.wait_for(go(), 3)), TimeoutError)


@pytest.mark.parametrize("later", [False, True], ids=["same-read", "while-idle"])
def test_bytes_nobody_asked_for_drop_the_connection(later: bool) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        extra = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"  # one answer too many
        writer.write(_ok() + (b"" if later else extra))
        await writer.drain()
        if later:
            await asyncio.sleep(0.01)
            writer.write(extra)
        await asyncio.sleep(1)

    results, server = _run(handler, requests=2)
    assert [r.status for r in results] == [200, 200] and server.connections == 2
