#!/usr/bin/env python3
"""A fast, low-CPU stand-in for STS, Lambda and the enrichments' calls, on the real wire protocols, for benchmarks.

The unmodified job (or any boto3 program) runs against it with `AWS_ENDPOINT_URL=http://127.0.0.1:PORT`.
botocore sends every service to that one URL, so services are told apart by the SigV4 credential scope in
the `Authorization` header (`Credential=AKID/date/REGION/SERVICE/aws4_request`). Signatures are not checked.

Standard library only; a hand-rolled HTTP/1.1 server on `asyncio.start_server` with keep-alive. Run it in
its own process so its CPU is never counted as the job's:

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
* `GET /__enrichment_min_calls`: the fewest calls each enrichment needs over the org (reads, and keeps,
  every function's enrichment data, ~2 KB each; --enrichments does it at start-up).
* `GET /__population`: `{account: {region: count}}` for every account-region (zeros included).
* `POST /__reset`: clear the stats (the population and page cache stay).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import gc
import hashlib
import json
import math
import os
import random
import re
import resource
import signal
import sys
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fake_enrich import THROTTLED, EnrichAnswers, Request, Response, service_error
from fake_truth import REGIONS, function_hashes, mix64, name_parts

PAGE_LIMIT = 50
DEFAULT_MEAN = 12.75  # functions per account-region: 65,025 for 300 x 17
LIST_PATH = re.compile(r"^/2015-03-31/functions/?$")
SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)$")


def unit_hash(*parts: object) -> float:
    """A deterministic number in [0, 1) from any parts."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


# --------------------------------------------------------------------------------------------- population


def generate_counts(
    accounts: int, regions: int, *, seed: int, total: int | None, mean: float, empty_share: float
) -> list[list[int]]:
    """counts[i][j]: functions in account i, region j. Shape: mostly empty, mostly small, a few heavy."""
    rng = random.Random(seed)
    counts = [[0] * regions for _ in range(accounts)]
    for row in counts:
        for j in range(regions):
            if rng.random() < empty_share:
                continue
            kind = rng.random()
            if kind < 0.85:
                row[j] = rng.randint(1, 30)
            elif kind < 0.97:
                row[j] = rng.randint(31, 200)
            else:
                row[j] = rng.randint(200, 800)
    if not any(any(row) for row in counts):
        counts[0][0] = 1
    target = total if total is not None else round(mean * accounts * regions)
    return _scale(counts, target)


def _scale(counts: list[list[int]], target: int) -> list[list[int]]:
    """Scale the non-empty cells to sum to exactly `target` (largest remainder; non-empty cells keep >= 1)."""
    cells = [(i, j) for i, row in enumerate(counts) for j, n in enumerate(row) if n]
    raw = sum(counts[i][j] for i, j in cells)
    if target <= 0:
        return [[0] * len(row) for row in counts]
    while len(cells) > target:  # fewer functions than non-empty cells: empty some
        i, j = cells.pop()
        counts[i][j] = 0
    factor = target / raw
    exact = {(i, j): counts[i][j] * factor for i, j in cells}
    for i, j in cells:
        counts[i][j] = max(1, math.floor(exact[(i, j)]))
    diff = target - sum(counts[i][j] for i, j in cells)
    by_remainder = sorted(cells, key=lambda c: exact[c] - math.floor(exact[c]), reverse=True)
    k = 0
    while diff > 0:
        i, j = by_remainder[k % len(by_remainder)]
        counts[i][j] += 1
        diff -= 1
        k += 1
    by_size = sorted(cells, key=lambda c: counts[c[0]][c[1]], reverse=True)
    k = 0
    while diff < 0:
        i, j = by_size[k % len(by_size)]
        if counts[i][j] > 1:
            counts[i][j] -= 1
            diff += 1
        k += 1
    return counts


# ------------------------------------------------------------------------------------ function items

# (runtime, handler, package type)
_RUNTIMES = (
    ("python3.12", "app.lambda_handler", "Zip"),
    ("python3.11", "handler.main", "Zip"),
    ("nodejs20.x", "index.handler", "Zip"),
    ("nodejs18.x", "dist/index.handler", "Zip"),
    ("java21", "com.example.orders.Handler::handleRequest", "Zip"),
    ("provided.al2023", "bootstrap", "Zip"),
    ("dotnet8", "Orders::Orders.Function::FunctionHandler", "Zip"),
    ("python3.9", "lambda_function.lambda_handler", "Zip"),
    ("ruby3.3", "function.handler", "Zip"),
    (None, None, "Image"),
)
_DESCRIPTIONS = (
    "Handles inbound webhook events and forwards them to the processing queue",
    "Nightly export of order data to the analytics bucket",
    "",
    "Resizes uploaded images into thumbnails and web renditions",
    "API Gateway authorizer validating JWTs issued by the identity provider",
    "Consumes the change stream and keeps the search index in sync with the primary table",
    "Scheduled cleanup of expired sessions",
    "Managed by Terraform - do not edit in the console",
)
_TIMEOUTS = (3, 10, 15, 30, 60, 120, 300, 900)
_MEMORY = (128, 256, 512, 1024, 1536, 2048, 3008, 10240)
_EPOCH_2019 = 1546300800
_SPAN_S = 7 * 365 * 86400


def function_json(account: str, region: str, index: int, seed: int) -> str:
    """One FunctionConfiguration as compact JSON text (~1.2 KB), a pure function of its arguments."""
    h, h2 = function_hashes(account, region, index, seed)
    team, app, stage = name_parts(h)
    name = f"{team}-{app}-{stage}-{index:05d}"
    runtime, handler, package = _RUNTIMES[(h >> 12) % len(_RUNTIMES)]
    arch = "arm64" if (h >> 16) % 3 == 0 else "x86_64"
    in_vpc = (h >> 18) % 5 < 2
    moment = _EPOCH_2019 + (h2 % _SPAN_S)
    millis = (h2 >> 32) % 1000
    last_modified = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{millis:03d}+0000"
    sha = base64.b64encode(h.to_bytes(8, "big") + h2.to_bytes(8, "big") + mix64(h2).to_bytes(8, "big") * 2).decode()
    rev = (
        f"{h2 & 0xFFFFFFFF:08x}-{(h2 >> 32) & 0xFFFF:04x}-4{(h2 >> 48) & 0xFFF:03x}"
        f"-a{h & 0xFFF:03x}-{h >> 16 & 0xFFFFFFFFFFFF:012x}"
    )
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    parts = [
        f'{{"FunctionName":"{name}","FunctionArn":"{arn}"',
    ]
    if package == "Zip":
        parts.append(f',"Runtime":"{runtime}"')
    parts.append(f',"Role":"arn:aws:iam::{account}:role/service-role/{name}-role-{h2 & 0xFFFFFFFF:08x}"')
    if package == "Zip":
        parts.append(f',"Handler":"{handler}"')
    parts.append(
        f',"CodeSize":{1024 + h2 % 52_428_800},"Description":"{_DESCRIPTIONS[(h >> 20) % len(_DESCRIPTIONS)]}"'
        f',"Timeout":{_TIMEOUTS[(h >> 24) % 8]},"MemorySize":{_MEMORY[(h >> 27) % 8]}'
        f',"LastModified":"{last_modified}","CodeSha256":"{sha}","Version":"$LATEST"'
    )
    if in_vpc:
        sub = h2 & 0xFFFFFFFFFFFFFF
        parts.append(
            f',"VpcConfig":{{"SubnetIds":["subnet-0{sub:016x}","subnet-0{mix64(sub) & 0xFFFFFFFFFFFFFFFF:016x}"]'
            f',"SecurityGroupIds":["sg-0{(h >> 8) & 0xFFFFFFFFFFFFFFFF:016x}"],"VpcId":"vpc-0{sub >> 4:014x}"'
            ',"Ipv6AllowedForDualStack":false}'
        )
    else:
        parts.append(',"VpcConfig":{"SubnetIds":[],"SecurityGroupIds":[],"VpcId":"","Ipv6AllowedForDualStack":false}')
    parts.append(
        f',"Environment":{{"Variables":{{"LOG_LEVEL":"INFO","STAGE":"{stage}"'
        f',"TABLE_NAME":"{team}-{app}-{stage}","POWERTOOLS_SERVICE_NAME":"{team}-{app}"}}}}'
        f',"TracingConfig":{{"Mode":"{"Active" if (h >> 30) % 4 == 0 else "PassThrough"}"}}'
        f',"RevisionId":"{rev}","ConfigSha256":"{sha}"'
    )
    if package == "Zip" and (h >> 32) % 3 == 0:
        parts.append(
            f',"Layers":[{{"Arn":"arn:aws:lambda:{region}:{account}:layer:{team}-common:{1 + (h >> 36) % 40}"'
            f',"CodeSize":{4096 + (h >> 40) % 9_000_000}'
            + (  # some layers are signed (code signing): both ARNs, as ListFunctions returns them
                f',"SigningProfileVersionArn":"arn:aws:signer:{region}:{account}'
                f':/signing-profiles/{team}/{h2 >> 40:010x}"'
                f',"SigningJobArn":"arn:aws:signer:{region}:{account}:/signing-jobs/{h2 & 0xFFFFFFFF:08x}"'
                if (h >> 37) % 4 == 0
                else ""
            )
            + "}]"
        )
    if package == "Image":
        parts.append(
            ',"ImageConfigResponse":{"ImageConfig":{"EntryPoint":["/lambda-entrypoint.sh"]'
            f',"Command":["{handler or "app.handler"}"],"WorkingDirectory":"/var/task"}}}}'
        )
    if in_vpc and (h >> 46) % 8 == 0:
        parts.append(
            f',"FileSystemConfigs":[{{"Arn":"arn:aws:elasticfilesystem:{region}:{account}'
            f':access-point/fsap-0{h2 >> 4 & 0xFFFFFFFFFFFFFFFF:016x}"'
            f',"LocalMountPath":"/mnt/{app}"}}]'
        )
    if (h >> 50) % 20 == 0:
        parts.append(',"DurableConfig":{"RetentionPeriodInDays":14,"ExecutionTimeout":86400}')
    if (h >> 55) % 50 == 0:
        parts.append(',"TenancyConfig":{"TenantIsolationMode":"PER_TENANT"}')
    if (h >> 44) % 10 == 0:
        parts.append(f',"DeadLetterConfig":{{"TargetArn":"arn:aws:sqs:{region}:{account}:{team}-{app}-dlq"}}')
    parts.append(
        f',"PackageType":"{package}","Architectures":["{arch}"],"EphemeralStorage":{{"Size":512}}'
        ',"SnapStart":{"ApplyOn":"None","OptimizationStatus":"Off"}'
        f',"LoggingConfig":{{"LogFormat":"Text","LogGroup":"/aws/lambda/{name}"}}}}'
    )
    return "".join(parts)


def marker_for(offset: int) -> str:
    return f"v1.{offset}.{mix64(offset) & 0xFFFFFFFF:08x}"


def offset_of(marker: str) -> int | None:
    try:
        version, offset, _check = marker.split(".")
        return int(offset) if version == "v1" and int(offset) >= 0 else None
    except ValueError:
        return None


class Population:
    """The organisation: function counts, and page bodies (prebuilt, or built lazily into an LRU cache)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.seed = args.seed
        self.regions = REGIONS[: args.regions]
        self.accounts = [f"{args.first_account + i:012d}" for i in range(args.accounts)]
        counts = generate_counts(
            args.accounts,
            len(self.regions),
            seed=args.seed,
            total=args.total_functions,
            mean=args.functions_per_account_region_mean,
            empty_share=args.empty_share,
        )
        self.counts: dict[str, dict[str, int]] = {
            account: dict(zip(self.regions, row, strict=True))
            for account, row in zip(self.accounts, counts, strict=True)
        }
        self.account_index = {a: i for i, a in enumerate(self.accounts)}
        self.total = sum(sum(row) for row in counts)
        self.min_calls = len(self.accounts) + sum(max(1, math.ceil(n / PAGE_LIMIT)) for row in counts for n in row)
        self.prebuilt = self.total <= args.prebuild_max_functions
        self._cache: OrderedDict[tuple[str, str, int, int], bytes] = OrderedDict()
        self._cache_bytes = 0
        self._cache_limit = args.cache_mb * 1024 * 1024
        self.pages_built = 0
        self.bytes_per_function = 0.0
        started = time.process_time()
        if self.prebuilt:
            for account, row in self.counts.items():
                for region, n in row.items():
                    for offset in range(0, n, PAGE_LIMIT):
                        self.page(account, region, offset, PAGE_LIMIT)
        self.build_cpu_s = time.process_time() - started
        sample = next(((a, r) for a, row in self.counts.items() for r, n in row.items() if n), None)
        if sample:
            body = self.page(sample[0], sample[1], 0, PAGE_LIMIT)
            items = json.loads(body)["Functions"]  # the template must produce valid JSON
            self.bytes_per_function = len(body) / max(1, len(items))

    def count(self, account: str, region: str) -> int:
        return self.counts.get(account, {}).get(region, 0)

    def page(self, account: str, region: str, offset: int, limit: int) -> bytes:
        key = (account, region, offset, limit)
        body = self._cache.get(key)
        if body is not None:
            if not self.prebuilt:
                self._cache.move_to_end(key)
            return body
        n = self.count(account, region)
        end = min(n, offset + limit)
        items = ",".join(function_json(account, region, k, self.seed) for k in range(offset, end))
        tail = f',"NextMarker":"{marker_for(end)}"}}' if end < n else "}"
        body = f'{{"Functions":[{items}]{tail}'.encode()
        self.pages_built += 1
        if self.prebuilt and limit == PAGE_LIMIT and offset % PAGE_LIMIT == 0:
            self._cache[key] = body
        elif not self.prebuilt:
            self._cache[key] = body
            self._cache_bytes += len(body)
            while self._cache_bytes > self._cache_limit and self._cache:
                _, old = self._cache.popitem(last=False)
                self._cache_bytes -= len(old)
        return body


# -------------------------------------------------------------------------------------------- stats


@dataclass
class TargetStats:
    requests: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    peak_rps: int = 0
    window: deque[float] | None = None
    arrivals: list[float] = field(default_factory=list)

    def arrive(self, now: float) -> int:
        """Count one arrival (any service); return how many arrived in the last second (this one included)."""
        self.requests += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        self.arrivals.append(now)
        if self.window is None:
            self.window = deque()
        window = self.window
        window.append(now)
        while window[0] <= now - 1.0:
            window.popleft()
        self.peak_rps = max(self.peak_rps, len(window))
        return len(window)


def peak_in_window(times: list[float], width: float = 1.0) -> int:
    """The most arrivals within any window of `width` seconds: (t - width, t] slid over the sorted times."""
    ordered = sorted(times)
    best, lo = 0, 0
    for hi, now in enumerate(ordered):
        while ordered[lo] <= now - width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class Stats:
    def __init__(self) -> None:
        self.started = time.time()
        self.ops: Counter[str] = Counter()
        self.targets: dict[tuple[str, str], TargetStats] = collections.defaultdict(TargetStats)
        self.assume_role: Counter[str] = Counter()
        self.throttles: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.attempts: Counter[tuple[str, str, str, object]] = Counter()  # (op, account, region, part) -> tries
        self.in_flight = 0
        self.peak_in_flight = 0
        self.lag: list[float] = []  # per member call: seconds beyond the injected latency (the fake's own delay)
        self.connections = 0
        self.first_request: float | None = None
        self.last_response: float | None = None


# ------------------------------------------------------------------------------------------- server


class FakeAws(EnrichAnswers):
    def __init__(self, args: argparse.Namespace, population: Population) -> None:
        self.args = args
        self.pop = population
        self.stats = Stats()
        self.init_enrichments()
        self._jitter = random.Random(args.seed + 1)
        self._key_counter = 0
        self._date = ("", 0)

    # --- http plumbing

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                if line in (b"\r\n", b"\n"):
                    continue
                try:
                    method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
                except ValueError:
                    break
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
                status, extra, payload = await self.dispatch(method, target, headers, body)
                keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
                head = [
                    f"HTTP/1.1 {status}",
                    f"Date: {self._http_date()}",
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

    def _http_date(self) -> str:
        now = int(time.time())
        if self._date[1] != now:
            self._date = (formatdate(now, usegmt=True), now)
        return self._date[0]

    async def _delay(self) -> float:
        """Sleep the latency +- jitter; the seconds meant to sleep."""
        ms: float = self.args.latency_ms + self._jitter.uniform(-self.args.jitter_ms, self.args.jitter_ms)
        if ms > 0:
            await asyncio.sleep(ms / 1000.0)
        return max(0.0, ms / 1000.0)

    async def dispatch(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        url = urlsplit(target)
        if url.path.startswith("/__"):
            return self.control(method, url.path)
        scope = SCOPE.search(headers.get("authorization", ""))
        service = scope.group(3) if scope else ""
        stats = self.stats
        now = time.monotonic()
        if stats.first_request is None:
            stats.first_request = now
        stats.in_flight += 1
        stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)
        try:
            if service == "sts":
                return await self.sts(body, url.query)
            if scope:
                request = Request(method, url.path, url.query, headers, body, service, scope.group(1), scope.group(2))
                if service == "lambda" and method == "GET" and LIST_PATH.match(url.path):
                    return await self.list_functions(request)
                answer = await self.enrichment(request)
                if answer is not None:
                    return answer
            stats.ops["Other"] += 1
            await self._delay()
            if service == "lambda":
                return _json_error(400, "Bad Request", "UnknownOperationException", "Unknown operation (fake)")
            return _xml_error(
                "400 Bad Request", "InvalidAction", f"unsupported request to the fake: {method} {url.path}"
            )
        finally:
            stats.in_flight -= 1
            stats.last_response = time.monotonic()

    # --- STS

    async def sts(self, body: bytes, query: str) -> tuple[str, list[tuple[str, str]], bytes]:
        form = {k: v[0] for k, v in parse_qs(body.decode() or query).items()}
        action = form.get("Action", "")
        stats = self.stats
        stats.ops[action or "Unknown"] += 1
        if action == "GetCallerIdentity":
            await self._delay()
            xml = (
                '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
                "<Arn>arn:aws:iam::111111111111:user/hub</Arn><UserId>AIDAHUBHUBHUBHUBHUBHU</UserId>"
                "<Account>111111111111</Account></GetCallerIdentityResult>"
                f"<ResponseMetadata><RequestId>{_request_id()}</RequestId></ResponseMetadata>"
                "</GetCallerIdentityResponse>"
            )
            return "200 OK", _xml_headers(), xml.encode()
        if action != "AssumeRole":
            await self._delay()
            return _xml_error("400 Bad Request", "InvalidAction", f"Could not find operation {action} (fake)")
        role_arn = form.get("RoleArn", "")
        match = ROLE_ARN.match(role_arn)
        account = match.group(1) if match else "?"
        stats.assume_role[account] += 1
        attempt_key = ("AssumeRole", account, "", 0)
        stats.attempts[attempt_key] += 1
        throttle = (
            self.args.sts_throttle_rate > 0
            and unit_hash(self.args.seed, *attempt_key, stats.attempts[attempt_key]) < self.args.sts_throttle_rate
        )
        await self._delay()
        if throttle:
            stats.throttles["AssumeRole"] += 1
            return _xml_error("400 Bad Request", "Throttling", "Rate exceeded")
        if not match or account not in self.pop.account_index:
            stats.errors["AssumeRole:AccessDenied"] += 1
            return _xml_error(
                "403 Forbidden",
                "AccessDenied",
                f"User: arn:aws:iam::111111111111:user/hub is not authorized to perform: sts:AssumeRole on resource: "
                f"{role_arn} (not in the fake population)",
            )
        self._key_counter += 1
        key_id = f"ASIA{account}{_base36(self._key_counter % 36**4):0>4}"
        session = form.get("RoleSessionName", "session")
        duration = int(form.get("DurationSeconds") or 3600)
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + duration))
        secret = base64.b64encode(hashlib.sha256(key_id.encode()).digest()).decode()[:40]
        token = base64.b64encode(hashlib.sha512(key_id.encode()).digest() * 6).decode()
        role_name = match.group(2)
        xml = (
            '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>'
            f"<Credentials><AccessKeyId>{key_id}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>"
            f"<SessionToken>{token}</SessionToken><Expiration>{expires}</Expiration></Credentials>"
            f"<AssumedRoleUser><AssumedRoleId>AROA{account}X0FAKE:{session}</AssumedRoleId>"
            f"<Arn>arn:aws:sts::{account}:assumed-role/{role_name}/{session}</Arn></AssumedRoleUser>"
            "</AssumeRoleResult>"
            f"<ResponseMetadata><RequestId>{_request_id()}</RequestId></ResponseMetadata></AssumeRoleResponse>"
        )
        return "200 OK", _xml_headers(), xml.encode()

    # --- Lambda

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
                return _json_error(
                    400, "Bad Request", "InvalidParameterValueException", "Invalid MaxItems or Marker (fake)"
                )
            body = self.pop.page(account, region, offset, limit)
            return "200 OK", [("Content-Type", "application/json"), ("x-amzn-RequestId", _request_id())], body

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
            attempt_key = (op, account, request.region, part)
            stats.attempts[attempt_key] += 1
            rate = self.args.throttle_rate
            throttle = rate > 0 and unit_hash(self.args.seed, *attempt_key, stats.attempts[attempt_key]) < rate
            throttle = throttle or (self.args.enforce_rps > 0 and in_window > self.args.enforce_rps)
            meant = await self._delay()
            stats.lag.append(time.monotonic() - arrived - meant)
            if not known:
                stats.errors[f"{op}:UnrecognizedClient"] += 1
                return service_error(
                    service,
                    403,
                    "UnrecognizedClientException",
                    "The security token included in the request is invalid.",
                )
            if throttle:
                stats.throttles[op] += 1
                return service_error(service, *THROTTLED[service], "Rate exceeded")
            return answer(account)
        finally:
            target.in_flight -= 1

    # --- control

    def control(self, method: str, path: str) -> tuple[str, list[tuple[str, str]], bytes]:
        if path == "/__stats":
            return "200 OK", [("Content-Type", "application/json")], json.dumps(self.snapshot()).encode()
        if path == "/__enrichment_min_calls":
            body = json.dumps(self.min_calls_by_enrichment()).encode()
            return "200 OK", [("Content-Type", "application/json")], body
        if path == "/__population":
            return "200 OK", [("Content-Type", "application/json")], json.dumps(self.pop.counts).encode()
        if path == "/__reset" and method == "POST":
            self.stats = Stats()
            return "200 OK", [("Content-Type", "application/json")], b'{"reset":true}'
        return _json_error(404, "Not Found", "NotFound", f"no control endpoint {method} {path}")

    def snapshot(self) -> dict[str, Any]:
        s = self.stats
        per_target = {f"{a}/{r}": t for (a, r), t in sorted(s.targets.items())}
        rps = {k: peak_in_window(t.arrivals) for k, t in per_target.items()}  # all services together
        peak_rps = max(rps.items(), key=lambda kv: kv[1], default=(None, 0))
        peak_conc = max(per_target.items(), key=lambda kv: kv[1].peak_in_flight, default=(None, TargetStats()))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        assume = dict(sorted(s.assume_role.items()))
        accounts = self.pop.accounts
        return {
            "requests_total": sum(s.ops.values()),
            "requests_by_op": dict(s.ops),
            "throttles": dict(s.throttles),
            "throttles_total": sum(s.throttles.values()),
            "errors": dict(s.errors),
            "assume_role_by_account": assume,
            "assume_role_per_account_max": max((assume.get(a, 0) for a in accounts), default=0),
            "assume_role_per_account_min": min((assume.get(a, 0) for a in accounts), default=0),
            "requests_by_target": {k: t.requests for k, t in per_target.items()},
            "peak_concurrency_by_target": {k: t.peak_in_flight for k, t in per_target.items()},
            "peak_rps_by_target": rps,
            "max_peak_rps": {"target": peak_rps[0], "rps": peak_rps[1]},
            "max_peak_concurrency": {"target": peak_conc[0], "in_flight": peak_conc[1].peak_in_flight},
            "last_target": _last_target(per_target, s.first_request),
            "peak_in_flight_overall": s.peak_in_flight,
            "fake_lag_ms": _percentiles(s.lag),
            "connections": s.connections,
            "busy_seconds": (s.last_response - s.first_request) if s.first_request and s.last_response else 0.0,
            "total_functions": self.pop.total,
            "accounts": len(accounts),
            "regions": list(self.pop.regions),
            "account_regions": len(accounts) * len(self.pop.regions),
            "min_calls": self.pop.min_calls,
            "min_calls_by_enrichment": self._min_calls,  # None until /__enrichment_min_calls or --enrichments
            "page_limit": PAGE_LIMIT,
            "bytes_per_function": round(self.pop.bytes_per_function, 1),
            "pages_prebuilt": self.pop.prebuilt,
            "pages_built": self.pop.pages_built,
            "fake_cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "fake_maxrss_mib": round(usage.ru_maxrss / 1024, 1),
            "config": {
                "latency_ms": self.args.latency_ms,
                "jitter_ms": self.args.jitter_ms,
                "throttle_rate": self.args.throttle_rate,
                "sts_throttle_rate": self.args.sts_throttle_rate,
                "enforce_rps": self.args.enforce_rps,
                "metric_points_per_page": self.args.metric_points_per_page,
                "seed": self.args.seed,
            },
        }


def _last_target(per_target: dict[str, TargetStats], origin: float | None) -> dict[str, Any] | None:
    """The account-region whose last request came last: when its first and last requests arrived (seconds
    after the first request of the run) and how many it got. What a long run waits for at its end."""
    busy = [(t.arrivals[-1], key, t) for key, t in per_target.items() if t.arrivals]
    if not busy or origin is None:
        return None
    _, key, t = max(busy)
    first, last = t.arrivals[0] - origin, t.arrivals[-1] - origin
    return {"target": key, "first_s": round(first, 2), "last_s": round(last, 2), "requests": t.requests}


def _percentiles(values: list[float]) -> dict[str, float]:
    """p50 / p99 / max of seconds, in ms."""
    if not values:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": pick(0.5), "p99": pick(0.99), "max": round(1000 * ordered[-1], 1)}


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


_REQUEST_COUNTER = [0]


def _request_id() -> str:
    _REQUEST_COUNTER[0] += 1
    n = _REQUEST_COUNTER[0]
    return f"{n >> 16 & 0xFFFFFFFF:08x}-fa4e-4{n >> 4 & 0xFFF:03x}-8000-{n & 0xFFFFFFFFFFFF:012x}"


def _base36(n: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _xml_headers() -> list[tuple[str, str]]:
    return [("Content-Type", "text/xml"), ("x-amzn-RequestId", _request_id())]


def _xml_error(status: str, code: str, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    xml = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>{_request_id()}</RequestId></ErrorResponse>"
    )
    return status, _xml_headers(), xml.encode()


def _json_error(code: int, reason: str, error_type: str, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    body = json.dumps({"Type": "User", "message": message}).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("x-amzn-RequestId", _request_id()),
        ("x-amzn-ErrorType", error_type),
    ]
    return f"{code} {reason}", headers, body


# --------------------------------------------------------------------------------------------- main


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
        "--enrichments",
        action="store_true",
        help="read every function's enrichment data at start-up (~2 KB each), not on a target's first call",
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
