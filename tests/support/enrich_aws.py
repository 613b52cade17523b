"""A scripted AWS for the enrich stage (job/enrich.py), over real HTTP: STS from the emulator, every enrichment
call answered by a local endpoint (support/hostile_lambda.py) that a test scripts per operation.

`aws(overrides)` is a well-behaved AWS for the listed functions (override one operation's answer by its name:
GetResources, urls, policy, concurrency, GetMetricData); `enrich(...)` runs the real Enricher over one listed
target against it; `rows_of(result)` makes the target's inventory rows as the job writes them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from conftest import make_config

from inventory.aws.clients import ClientFactory
from inventory.aws.credentials import AccountCredentials
from inventory.aws.lambda_api import Timeouts
from inventory.aws.ratelimit import Pacer
from inventory.aws.retry import RetryPolicy
from inventory.contract.results import EnrichmentOutcome, Status, TargetResult
from inventory.contract.rows import inventory_batch
from inventory.contract.schema import INVENTORY_SCHEMA
from inventory.contract.staged import staged_batch
from inventory.contract.target import Target
from inventory.job.enrich import Enricher
from inventory.job.targets import build_targets
from support.hostile_lambda import HostileLambda, Reply, Request

ACCOUNT = "230000000001"
REGION = "eu-west-1"
SNAPSHOT = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
PUBLIC = json.dumps(  # what the console grants for a URL with AuthType NONE: anyone may call it
    {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction", "Resource": "*"},
            {"Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunctionUrl", "Resource": "*"},
        ]
    }
)
ALL = ("tags", "urls", "policy", "concurrency", "usage")


def json_reply(body: Any, status: int = 200, code: str | None = None) -> Reply:
    headers = {"Content-Type": "application/json", **({"x-amzn-ErrorType": code} if code else {})}
    return Reply(status, json.dumps(body).encode(), headers)


def url_config(function: str, auth_type: str, alias: str | None = None) -> dict[str, str]:
    """One ListFunctionUrlConfigs entry: the function's own URL, or its alias's."""
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}" + (f":{alias}" if alias else "")
    return {"FunctionUrl": f"https://{function}.lambda-url.{REGION}.on.aws/", "FunctionArn": arn, "AuthType": auth_type}


def denied(operation: str) -> Reply:
    return json_reply({"Message": f"not authorized to perform {operation}"}, 403, "AccessDeniedException")


def function_of(request: Request) -> str:
    return request.path.split("/")[3]


def aws(overrides: dict[str, Callable[[Request], Reply]] | None = None) -> Callable[[int, Request], Reply]:
    """A well-behaved AWS for functions a, b, c: a is tagged, public by URL and policy (its own URL NONE, its policy
    letting anyone invoke and call it), reserved 5, invoked."""
    day = datetime(2026, 11, 28, tzinfo=UTC).timestamp()
    answers: dict[str, Callable[[Request], Reply]] = {
        "GetResources": lambda _: json_reply(
            {
                "ResourceTagMappingList": [
                    {
                        "ResourceARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:a",
                        "Tags": [{"Key": "team", "Value": "pay"}],
                    },
                    {
                        "ResourceARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:gone",
                        "Tags": [{"Key": "t", "Value": "x"}],
                    },
                ]
            }
        ),
        "urls": lambda r: json_reply(
            {"FunctionUrlConfigs": [url_config("a", "NONE")] if function_of(r) == "a" else []}
        ),
        "policy": lambda r: (
            json_reply({"Policy": PUBLIC})
            if function_of(r) == "a"
            else json_reply({"Message": "The resource you requested does not exist."}, 404, "ResourceNotFoundException")
        ),
        "concurrency": lambda r: json_reply({"ReservedConcurrentExecutions": 5} if function_of(r) == "a" else {}),
        "GetMetricData": lambda r: json_reply(
            {
                "MetricDataResults": [
                    {
                        "Id": q["Id"],
                        "Timestamps": [day] if i == 0 else [],
                        "Values": [7.0] if i == 0 else [],
                        "StatusCode": "Complete",
                    }
                    for i, q in enumerate(r.json["MetricDataQueries"])
                ]
            }
        ),
        **(overrides or {}),
    }

    def script(_: int, request: Request) -> Reply:
        key = (request.target or "").rsplit(".", 1)[-1] or request.path.rsplit("/", 1)[-1]
        return answers[key](request)

    return script


def one_target() -> Target:
    config = make_config([{"account_id": ACCOUNT, "name": "member", "regions": [REGION]}])
    (target,) = build_targets(config, lambda _: "aws")
    return target


def listed_result(names: list[str], status: Status = Status.OK) -> TargetResult:
    target = one_target()
    items = [{"FunctionName": n, "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{n}"} for n in names]
    batch = staged_batch(items)
    if status is not Status.OK:
        return TargetResult(target, status, None, (), 0, 0, 0.1, "AccessDenied", "no")
    return TargetResult(target, Status.OK, len(names), (batch,), 1, 0, 0.1)


def enrich(
    monkeypatch: pytest.MonkeyPatch,
    server: HostileLambda,
    result: TargetResult,
    names: tuple[str, ...] = ALL,
    *,
    rate: float = 200.0,
    deadline: float = 60.0,
    attempts: int = 3,
    listing: Callable[[], Awaitable[TargetResult]] | None = None,
) -> TargetResult:
    """`result` enriched as the job enriches a listed target; with `listing` (which returns the result), as the
    pipeline runs it: Enricher.around, the early reads beside that listing."""
    for variable in ("LAMBDA", "RESOURCE_GROUPS_TAGGING_API", "CLOUDWATCH"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{variable}", server.endpoint)
    clients = ClientFactory.from_environment(4, Timeouts(connect=2.0, read=1.0))
    policy = RetryPolicy(attempts, 0.01, 0.05)
    credentials = AccountCredentials(clients.client("sts", "us-east-1"), "enrich-test", 3600, policy)

    async def run() -> TargetResult:
        async with clients.lister() as http:
            enricher = Enricher(http, credentials, policy, names, SNAPSHOT, deadline)
            if listing is not None:
                return await enricher.around(result.target, listing(), Pacer(rate))
            return await enricher(result, Pacer(rate))

    return asyncio.run(run())


def rows_of(result: TargetResult) -> dict[str, dict[str, Any]]:
    table = pa.Table.from_batches([inventory_batch([result], SNAPSHOT)], schema=INVENTORY_SCHEMA)
    return {row["function_name"]: row for row in table.to_pylist()}


def outcome_of(result: TargetResult, name: str) -> EnrichmentOutcome:
    (found,) = [e for e in result.enrichments if e.name == name]
    assert isinstance(found, EnrichmentOutcome)
    return found
