"""CPU per request of the job's HTTP client (aws/http1.py), of aiohttp as aws/transport.py configured it before
(and still does for a request through a proxy), and of a bare HTTP/1.1 client over asyncio streams, in the same
invocation, against the same local keep-alive server.

    python benchmarks/http_cost.py                  # 20,000 requests each, 64 at a time, 3 rounds
    python benchmarks/http_cost.py --requests 50000 --rounds 5

The server runs in its own process (its CPU is not counted). The bare client is the least an HTTP/1.1 client can
do (a fixed request, Content-Length bodies only, no timeouts, no proxy, no TLS, no error handling): a floor, not
a client to ship.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import time
from collections.abc import Callable, Coroutine
from typing import Any

BODY = b'{"EventSourceMappings":[],"NextMarker":null}'
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-amzn-RequestId: 0f0e\r\n"
    + b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n" % len(BODY)
    + BODY
)
PATH = "/2015-08-31/event-source-mappings/?MaxItems=100"
HEADERS = {  # the size of a signed request's headers (a session token is ~800 characters)
    "User-Agent": "lambda-inventory/bench",
    "Host": "lambda.us-east-1.amazonaws.com",
    "X-Amz-Date": "20261207T000000Z",
    "X-Amz-Security-Token": "t" * 800,
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261207/us-east-1/lambda/aws4_request, "
    + "SignedHeaders=host;user-agent;x-amz-date;x-amz-security-token, Signature="
    + "0" * 64,
}


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while await reader.readuntil(b"\r\n\r\n"):
            writer.write(ANSWER)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _serve(sock: socket.socket) -> None:
    async def main() -> None:
        server = await asyncio.start_server(_answer, sock=sock, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


async def _aiohttp(port: int, requests: int, concurrency: int) -> None:
    import aiohttp  # noqa: PLC0415 - as aws/transport.py imports it
    from yarl import URL  # noqa: PLC0415

    url = URL(f"http://127.0.0.1:{port}{PATH}", encoded=True)
    connector = aiohttp.TCPConnector(limit=concurrency * 4)
    timeout = aiohttp.ClientTimeout(total=30, sock_connect=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as http:
        left = iter(range(requests))

        async def worker() -> None:
            for _ in left:
                async with http.request("GET", url, headers=HEADERS) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(response.status)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _http1(port: int, requests: int, concurrency: int) -> None:
    import ssl  # noqa: PLC0415

    from inventory.aws.http1 import Http1Pool  # noqa: PLC0415 - as aws/transport.py imports it

    pool = Http1Pool(concurrency * 4, ssl.create_default_context(), connect_timeout=10, timeout=30)
    left = iter(range(requests))

    async def worker() -> None:
        for _ in left:
            answer = await pool.request("GET", ("http", "127.0.0.1", port, PATH), HEADERS, b"")
            if answer.status != 200:
                raise RuntimeError(answer.status)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    pool.close()


async def _bare(port: int, requests: int, concurrency: int) -> None:
    fields = "".join(f"{name}: {value}\r\n" for name, value in HEADERS.items())
    head = f"GET {PATH} HTTP/1.1\r\n{fields}\r\n".encode()
    left = iter(range(requests))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in left:
            writer.write(head)
            lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
            if lines[0].split(b" ", 2)[1] != b"200":
                raise RuntimeError(lines[0])
            answered = dict(line.partition(b":")[::2] for line in lines[1:] if line)
            await reader.readexactly(int(answered[b"Content-Length"]))
        writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def _cpu_per_request(client: Callable[[int, int, int], Coroutine[Any, Any, None]], port: int, requests: int) -> float:
    start = time.process_time()
    asyncio.run(client(port, requests, 64))
    return (time.process_time() - start) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sock = socket.create_server(("127.0.0.1", 0), backlog=1024)
    port = sock.getsockname()[1]
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(sock,), daemon=True)
    server.start()
    try:
        clients = {"http1": _http1, "aiohttp": _aiohttp, "bare": _bare}
        found: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(args.rounds):  # alternated, so a change in the machine's load spreads over all
            for name, client in clients.items():
                found[name].append(_cpu_per_request(client, port, args.requests))
    finally:
        server.kill()
    job, aio, bare = (statistics.median(found[name]) * 1e6 for name in clients)
    print(f"CPU per request, median of {args.rounds} rounds of {args.requests:,} (64 at a time, keep-alive):")
    print(f"  aws/http1.py (the job's client)   {job:6.1f} us   ({job / bare:.2f}x bare)")
    print(f"  aiohttp (through a proxy only)    {aio:6.1f} us   ({aio / bare:.2f}x bare)")
    print(f"  bare HTTP/1.1 over streams        {bare:6.1f} us")


if __name__ == "__main__":
    main()
