#!/usr/bin/env python3
"""A fast, low-CPU stand-in for STS, Lambda and the enrichments' calls, on the real wire protocols, for benchmarks.

The unmodified job (or any boto3 program) runs against it with `AWS_ENDPOINT_URL=http://127.0.0.1:PORT`.
botocore sends every service to that one URL, so services are told apart by the SigV4 credential scope in
the `Authorization` header (`Credential=AKID/date/REGION/SERVICE/aws4_request`). Signatures are not checked.

Standard library only; a hand-rolled HTTP/1.1 server on `asyncio.start_server` with keep-alive (fake_http.py).
Here: the routing, ListFunctions, every member call's counting and throttling, the control endpoints and the
flags; STS is fake_sts.py, the enrichments fake_enrich.py, the population and its pages fake_population.py and
fake_items.py, the counts fake_stats.py. Run it in its own process so its CPU is never counted as the job's:

    python benchmarks/fake_aws.py --port 0 --accounts 300 --regions 17 --latency-ms 50 --jitter-ms 10 \
        --throttle-rate 0.0 --seed 1 --port-file /tmp/fake.port

What it serves
--------------
* STS `POST /` `Action=AssumeRole` (and `GetCallerIdentity`): the real XML. The returned AccessKeyId is
  `ASIA` + the 12-digit member account id + a 4-character counter, so Lambda calls made with it are
  attributed to the account. A role in an account outside the population is denied (403 AccessDenied).
* Lambda `GET /2015-03-31/functions/?MaxItems=..&Marker=..[&FunctionVersion=ALL]`: rest-json
  `{"Functions": [...], "NextMarker": "..."}`, at most min(MaxItems, 50) per page, realistic
  FunctionConfiguration items of about 1.2 KB each. Page bodies are prebuilt at startup (or, above
  --prebuild-max-functions, built on first use from a string template and kept in a bounded LRU cache).
  FunctionVersion=ALL is accepted and lists the same items (the population has no published versions).
  A key that is not one of ours gets 403 UnrecognizedClientException, as real Lambda answers.
* The enrichments' calls (fake_enrich.py: tag:GetResources, lambda:ListFunctionUrlConfigs, GetPolicy,
  GetFunctionConcurrency, cloudwatch:GetMetricData), answered from each function's data in fake_truth.py.
  Member calls are attributed to the account by the access key id, whatever the service.
* The estate reads (fake_estate.py: ListEventSourceMappings, ListLayers, ListLayerVersions,
  ListCodeSigningConfigs, ListFunctionsByCodeSigningConfig per config, and per function ListAliases,
  ListFunctionEventInvokeConfigs, ListProvisionedConcurrencyConfigs), paged by MaxItems / Marker -> NextMarker,
  answered from each account-region's estate in fake_estate_truth.py.
* Every response is delayed latency +- jitter ms (asyncio.sleep; nothing blocks).
* --throttle-rate (member-account calls, every service) / --sts-throttle-rate: that share of calls is
  answered with the service's throttling error (Lambda 429 TooManyRequestsException, tagging 400
  ThrottledException, CloudWatch 400 Throttling, STS 400 Throttling), decided by a hash of (seed, operation,
  account, region, page or function, attempt), so the same attempts are throttled whatever the scheduling.
  --enforce-rps N additionally throttles any (account, region) that exceeds N requests (all services) in a
  sliding second, as real Lambda would.

Population
----------
Accounts are `--first-account + i` for i in 0..N-1 (default 100000000000, 100000000001, ...); regions are the
first R of REGIONS. About 75% of account-regions are empty, most others hold 1-30 functions, a few hundreds.
The counts are then scaled to exactly --total-functions (default: --functions-per-account-region-mean
x N x R, mean 12.75, i.e. 65,025 for 300 x 17). Everything is a pure function of --seed.

Control endpoints (no auth)
---------------------------
* `GET /__stats`: request counts by op, per-(account, region) requests, peak in-flight and peak requests
  in any 1-second window per (account, region) (every member call's arrival time is kept, all services
  together, and the window slid over them sorted), AssumeRoles per account, throttles served, total
  functions, the minimum number of calls (accounts + sum of max(1, ceil(n / 50))), connections accepted,
  the fake's own CPU time, and its lag (p50/p99/max ms a member call took beyond the injected latency).
* `GET /__enrichment_min_calls`: the fewest calls each enrichment (the estate's too) needs over the org (reads,
  and keeps, every function's enrichment data, ~2 KB each, and every estate; --enrichments does it at start-up).
* `GET /__population`: `{account: {region: count}}` for every account-region (zeros included).
* `POST /__reset`: clear the stats (the population and page cache stay).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import re
import signal
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fake_enrich import THROTTLED, EnrichAnswers, Request, Response, service_error
from fake_estate import EstateAnswers
from fake_http import Replies, serve_connection
from fake_population import DEFAULT_MEAN, PAGE_LIMIT, Population, offset_of, unit_hash
from fake_stats import Stats, snapshot
from fake_sts import StsAnswers
from fake_truth import REGIONS

LIST_PATH = re.compile(r"^/2015-03-31/functions/?$")
SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_JSON = [("Content-Type", "application/json")]


class FakeAws(StsAnswers, EnrichAnswers, EstateAnswers):
    """The fake's services (STS in fake_sts.py, the enrichments in fake_enrich.py, the estate reads in
    fake_estate.py, ListFunctions here) behind one dispatch, and its control endpoints."""

    def __init__(self, args: argparse.Namespace, population: Population) -> None:
        self.args = args
        self.pop = population
        self.stats = Stats()
        self.replies = Replies()
        self.init_estate()
        self.init_enrichments()
        if args.enrichments:
            self.min_estate_calls()
        self._jitter = random.Random(args.seed + 1)
        self._key_counter = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        await serve_connection(reader, writer, self.dispatch)

    async def _delay(self) -> float:
        """Sleep the latency +- jitter; the seconds meant to sleep."""
        ms: float = self.args.latency_ms + self._jitter.uniform(-self.args.jitter_ms, self.args.jitter_ms)
        if ms > 0:
            await asyncio.sleep(ms / 1000.0)
        return max(0.0, ms / 1000.0)

    async def dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        url = urlsplit(target)
        if url.path.startswith("/__"):
            return self.control(method, url.path)
        scope = SCOPE.search(headers.get("authorization", ""))
        service = scope.group(3) if scope else ""
        stats = self.stats
        if stats.first_request is None:
            stats.first_request = time.monotonic()
        stats.in_flight += 1
        stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)
        try:
            if service == "sts":
                return await self.sts(body, url.query)
            if scope:
                request = Request(method, url.path, url.query, headers, body, service, scope.group(1), scope.group(2))
                answer = await self._member_request(request)
                if answer is not None:
                    return answer
            return await self._unknown(service, method, url.path)
        finally:
            stats.in_flight -= 1
            stats.last_response = time.monotonic()

    async def _member_request(self, request: Request) -> Response | None:
        """ListFunctions, an enrichment call or an estate read; None for anything else."""
        if request.service == "lambda" and request.method == "GET" and LIST_PATH.match(request.path):
            return await self.list_functions(request)
        answer = await self.enrichment(request)
        return answer if answer is not None else await self.estate_read(request)

    async def _unknown(self, service: str, method: str, path: str) -> Response:
        self.stats.ops["Other"] += 1
        await self._delay()
        if service == "lambda":
            return self.replies.json_error(400, "Bad Request", "UnknownOperationException", "Unknown operation (fake)")
        return self.replies.xml_error(
            "400 Bad Request", "InvalidAction", f"unsupported request to the fake: {method} {path}"
        )

    async def list_functions(self, request: Request) -> Response:
        region = request.region
        params = {k: v[-1] for k, v in parse_qs(request.query).items()}
        try:
            limit = min(int(params.get("MaxItems", PAGE_LIMIT)), PAGE_LIMIT)
        except ValueError:
            limit = 0
        marker = params.get("Marker")
        offset = offset_of(marker) if marker else 0

        def answer(account: str) -> Response:
            if limit < 1 or offset is None:
                self.stats.errors["ListFunctions:InvalidParameter"] += 1
                return self.replies.json_error(
                    400, "Bad Request", "InvalidParameterValueException", "Invalid MaxItems or Marker (fake)"
                )
            body = self.pop.page(account, region, offset, limit)
            return (
                "200 OK",
                [("Content-Type", "application/json"), ("x-amzn-RequestId", self.replies.request_id())],
                body,
            )

        part = offset if offset is not None else -1
        return await self.member_call("ListFunctions", request, part, answer)

    async def member_call(self, op: str, request: Request, part: object, answer: Callable[[str], Response]) -> Response:
        """One call to a member account-region: attributed to the account by its key id, counted with its
        arrival time, delayed, maybe throttled (by the seeded hash of (op, account, region, part, attempt),
        or by --enforce-rps), then answer(account)."""
        stats = self.stats
        stats.ops[op] += 1
        key_id, service = request.key_id, request.service
        account = key_id[4:16]
        known = key_id.startswith("ASIA") and account in self.pop.account_index
        if not known:
            account = "unknown"
        target = stats.targets[(account, request.region)]
        arrived = time.monotonic()
        in_window = target.arrive(arrived)
        try:
            throttle = self._throttled((op, account, request.region, part), in_window)
            meant = await self._delay()
            stats.lag.append(time.monotonic() - arrived - meant)
            if not known:
                stats.errors[f"{op}:UnrecognizedClient"] += 1
                message = "The security token included in the request is invalid."
                return service_error(service, 403, "UnrecognizedClientException", message)
            if throttle:
                stats.throttles[op] += 1
                return service_error(service, *THROTTLED[service], "Rate exceeded")
            return answer(account)
        finally:
            target.in_flight -= 1

    def _throttled(self, attempt_key: tuple[str, str, str, object], in_window: int) -> bool:
        """This attempt is throttled: by the seeded hash at --throttle-rate, or above --enforce-rps."""
        self.stats.attempts[attempt_key] += 1
        rate = self.args.throttle_rate
        throttle = rate > 0 and unit_hash(self.args.seed, *attempt_key, self.stats.attempts[attempt_key]) < rate
        return bool(throttle or (self.args.enforce_rps > 0 and in_window > self.args.enforce_rps))

    def control(self, method: str, path: str) -> Response:
        if path == "/__stats":
            return "200 OK", list(_JSON), json.dumps(self.snapshot()).encode()
        if path == "/__enrichment_min_calls":
            every = {**self.min_calls_by_enrichment(), **self.min_estate_calls()}
            return "200 OK", list(_JSON), json.dumps(every).encode()
        if path == "/__population":
            return "200 OK", list(_JSON), json.dumps(self.pop.counts).encode()
        if path == "/__reset" and method == "POST":
            self.stats = Stats()
            return "200 OK", list(_JSON), b'{"reset":true}'
        return self.replies.json_error(404, "Not Found", "NotFound", f"no control endpoint {method} {path}")

    def snapshot(self) -> dict[str, Any]:
        known = None if self._min_calls is None else {**self._min_calls, **(self._estate_min_calls or {})}
        return snapshot(self.stats, self.pop, self.args, known)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Fake STS + Lambda (ListFunctions) for benchmarks.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (see --port-file)")
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--accounts", type=int, default=300)
    p.add_argument("--regions", type=int, default=17, help=f"the first R of {len(REGIONS)} commercial regions")
    p.add_argument("--first-account", type=int, default=100000000000, help="account ids are this + 0..N-1")
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--jitter-ms", type=float, default=10.0)
    p.add_argument("--throttle-rate", type=float, default=0.0, help="share of ListFunctions answered 429")
    p.add_argument("--sts-throttle-rate", type=float, default=0.0, help="share of AssumeRole answered Throttling")
    p.add_argument("--enforce-rps", type=int, default=0, help="429 when an account-region exceeds N req/s (0: off)")
    p.add_argument(
        "--metric-points-per-page",
        type=int,
        default=100_800,
        help="GetMetricData datapoints per page before NextToken (CloudWatch's own limit: 100,800)",
    )
    p.add_argument(
        "--estate-page-items",
        type=int,
        default=100,
        help="the most items a page of an estate list holds, below each operation's own cap (50; 100 for "
        "ListEventSourceMappings) and MaxItems",
    )
    p.add_argument(
        "--enrichments",
        action="store_true",
        help="read every function's enrichment data and every account-region's estate at start-up (~2 KB a "
        "function), not on a target's first call",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--total-functions", type=int, default=None, help="exact total (overrides the mean)")
    p.add_argument("--functions-per-account-region-mean", type=float, default=DEFAULT_MEAN)
    p.add_argument("--empty-share", type=float, default=0.75, help="share of account-regions with no functions")
    p.add_argument("--prebuild-max-functions", type=int, default=250_000, help="above this, build pages lazily")
    p.add_argument("--cache-mb", type=int, default=256, help="page cache budget when pages are built lazily")
    args = p.parse_args(argv)
    if not 1 <= args.regions <= len(REGIONS):
        p.error(f"--regions must be 1..{len(REGIONS)}")
    if args.accounts < 1 or args.first_account + args.accounts > 999_999_999_999:
        p.error("--accounts out of range")
    return args


async def serve(args: argparse.Namespace) -> None:
    started = time.monotonic()
    population = Population(args)
    fake = FakeAws(args, population)
    gc.collect()
    gc.freeze()  # the population (and the enrichment data) stay: a full collection must not walk them mid-run
    server = await asyncio.start_server(fake.handle, args.host, args.port, backlog=2048, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    print(
        f"fake_aws: listening on http://{args.host}:{port} - {len(population.accounts)} accounts x "
        f"{len(population.regions)} regions, {population.total} functions "
        f"(~{population.bytes_per_function:.0f} B each), min calls {population.min_calls}, "
        f"pages {'prebuilt' if population.prebuilt else 'lazy'} in {time.monotonic() - started:.1f}s",
        file=sys.stderr,
        flush=True,
    )
    if args.port_file:
        tmp = f"{args.port_file}.tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, args.port_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
