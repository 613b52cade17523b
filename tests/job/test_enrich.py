"""The enrich stage (job/enrich.py) for one listed target, over real HTTP: STS from the emulator, every
enrichment call answered by a local endpoint that scripts each service (tests/support/hostile_lambda.py).

What a user relies on: values land on the right rows; an enrichment that cannot be read is `failed` with its
reason and leaves its columns null, never the listing; "no policy" and "no tags" read as none, not unknown;
calls share the target's request budget; retries, a looping page token and a hang are bounded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pytest
from conftest import make_config
from support.hostile_lambda import HANG, HostileLambda, Reply, Request

from inventory.aws.credentials import AccountCredentials, ClientFactory
from inventory.aws.ratelimit import Pacer
from inventory.aws.retry import RetryPolicy
from inventory.contract.rows import inventory_batch
from inventory.contract.schema import INVENTORY_SCHEMA
from inventory.contract.staged import staged_batch
from inventory.contract.status import Status
from inventory.demo.emulator import Emulator
from inventory.job.collect import TargetResult
from inventory.job.enrich import Enricher, EnrichmentOutcome
from inventory.job.targets import Target, build_targets

ACCOUNT = "230000000001"
REGION = "eu-west-1"
SNAPSHOT = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
PUBLIC = json.dumps(
    {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction", "Resource": "*"}]}
)
ALL = ("tags", "urls", "policy", "concurrency", "usage")


def _json(body: Any, status: int = 200, code: str | None = None) -> Reply:
    headers = {"Content-Type": "application/json", **({"x-amzn-ErrorType": code} if code else {})}
    return Reply(status, json.dumps(body).encode(), headers)


def _denied(operation: str) -> Reply:
    return _json({"Message": f"not authorized to perform {operation}"}, 403, "AccessDeniedException")


def _function(request: Request) -> str:
    return request.path.split("/")[3]


def aws(overrides: dict[str, Callable[[Request], Reply]] | None = None) -> Callable[[int, Request], Reply]:
    """A well-behaved AWS for functions a, b, c: a is tagged, public by URL and policy, reserved 5, invoked."""
    day = datetime(2026, 11, 28, tzinfo=UTC).timestamp()
    answers: dict[str, Callable[[Request], Reply]] = {
        "GetResources": lambda _: _json(
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
        "urls": lambda r: _json({"FunctionUrlConfigs": [{"AuthType": "NONE"}] if _function(r) == "a" else []}),
        "policy": lambda r: (
            _json({"Policy": PUBLIC})
            if _function(r) == "a"
            else _json({"Message": "The resource you requested does not exist."}, 404, "ResourceNotFoundException")
        ),
        "concurrency": lambda r: _json({"ReservedConcurrentExecutions": 5} if _function(r) == "a" else {}),
        "GetMetricData": lambda r: _json(
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


def _target() -> Target:
    config = make_config([{"account_id": ACCOUNT, "name": "member", "regions": [REGION]}])
    (target,) = build_targets(config, lambda _: "aws")
    return target


def _listed(names: list[str], status: Status = Status.OK) -> TargetResult:
    target = _target()
    items = [{"FunctionName": n, "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{n}"} for n in names]
    batch = staged_batch(items)
    if status is not Status.OK:
        return TargetResult(target, status, None, (), 0, 0, 0.1, "AccessDenied", "no")
    return TargetResult(target, Status.OK, len(names), (batch,), 1, 0, 0.1)


def _enrich(
    monkeypatch: pytest.MonkeyPatch,
    server: HostileLambda,
    result: TargetResult,
    names: tuple[str, ...] = ALL,
    *,
    rate: float = 200.0,
    deadline: float = 60.0,
    attempts: int = 3,
) -> TargetResult:
    for variable in ("LAMBDA", "RESOURCE_GROUPS_TAGGING_API", "CLOUDWATCH"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{variable}", server.endpoint)
    clients = ClientFactory.from_environment(4)
    clients.use_timeouts(2.0, 1.0)
    policy = RetryPolicy(attempts, 0.01, 0.05)
    credentials = AccountCredentials(clients.client("sts", "us-east-1"), "enrich-test", 3600, policy)

    async def run() -> TargetResult:
        async with clients.lister() as http:
            enricher = Enricher(http, credentials, policy, names, SNAPSHOT, deadline)
            return await enricher(result, Pacer(rate))

    return asyncio.run(run())


def _rows(result: TargetResult) -> dict[str, dict[str, Any]]:
    table = pa.Table.from_batches([inventory_batch([result], SNAPSHOT)], schema=INVENTORY_SCHEMA)
    return {row["function_name"]: row for row in table.to_pylist()}


def _outcome(result: TargetResult, name: str) -> EnrichmentOutcome:
    (found,) = [e for e in result.enrichments if e.name == name]
    assert isinstance(found, EnrichmentOutcome)
    return found


def test_every_enrichment_lands_on_its_function(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    with HostileLambda(aws()) as server:
        result = _enrich(monkeypatch, server, _listed(["a", "b", "c"]))
    assert result.status is Status.OK and result.function_count == 3
    assert [(e.name, e.status, e.calls) for e in result.enrichments] == [
        ("tags", Status.OK, 1),
        ("urls", Status.OK, 3),
        ("policy", Status.OK, 3),
        ("concurrency", Status.OK, 3),
        ("usage", Status.OK, 1),
    ]
    rows = _rows(result)
    a, b = rows["a"], rows["b"]
    assert a["enriched"] == sorted(ALL)
    assert (a["tags"], b["tags"]) == ([("team", "pay")], [])  # b: read, no tags (absent from the answer)
    assert (a["url_auth_types"], b["url_auth_types"]) == (["NONE"], [])
    assert (a["public_invoke"], a["invoke_principals"]) == (True, ["*"])
    assert (b["public_invoke"], b["invoke_principals"]) == (False, [])  # 404: no policy
    assert (a["reserved_concurrency"], b["reserved_concurrency"]) == (5, None)
    assert (a["invocations_30d"], a["last_invocation_day"]) == (7, date(2026, 11, 28))
    assert (b["invocations_30d"], b["last_invocation_day"]) == (0, None)
    usage = next(r for r in server.requests if r.target and r.target.endswith("GetMetricData")).json
    assert (usage["StartTime"], usage["EndTime"]) == (
        datetime(2026, 11, 1, tzinfo=UTC).timestamp(),
        datetime(2026, 12, 1, tzinfo=UTC).timestamp(),
    )


def test_a_denied_enrichment_fails_alone_and_leaves_its_columns_null(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    with HostileLambda(aws({"policy": lambda _: _denied("lambda:GetPolicy")})) as server:
        result = _enrich(monkeypatch, server, _listed([f"f{i}" for i in range(20)]))
    assert result.status is Status.OK and result.function_count == 20
    policy = _outcome(result, "policy")
    assert policy.status is Status.FAILED
    assert policy.error_code == "AccessDeniedException"
    assert policy.error_message == "policy: not authorized to perform lambda:GetPolicy"
    assert policy.calls <= 4, "not one call per function after a denial"
    assert all(e.status is Status.OK for e in result.enrichments if e.name != "policy")
    for row in _rows(result).values():
        assert "policy" not in row["enriched"] and "tags" in row["enriched"]
        assert row["public_invoke"] is None and row["invoke_principals"] is None
        assert row["url_auth_types"] == []


def test_one_unreadable_function_fails_the_enrichment_for_the_target(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    def urls(request: Request) -> Reply:
        return Reply(200, b"{}") if _function(request) == "b" else _json({"FunctionUrlConfigs": []})

    with HostileLambda(aws({"urls": urls})) as server:
        result = _enrich(monkeypatch, server, _listed(["a", "b", "c"]), ("urls",))
    outcome = _outcome(result, "urls")
    assert (outcome.status, outcome.error_code) == (Status.FAILED, "InvalidResponse")
    assert outcome.error_message is not None and outcome.error_message.startswith("urls: gave up after retries")
    assert all(row["url_auth_types"] is None and row["enriched"] == [] for row in _rows(result).values())


def test_throttled_calls_are_retried(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    seen: dict[str, int] = {}

    def concurrency(request: Request) -> Reply:
        name = _function(request)
        seen[name] = seen.get(name, 0) + 1
        if seen[name] == 1:
            return _json({"message": "Rate exceeded"}, 429, "TooManyRequestsException")
        return _json({"ReservedConcurrentExecutions": 1})

    with HostileLambda(aws({"concurrency": concurrency})) as server:
        result = _enrich(monkeypatch, server, _listed(["a", "b"]), ("concurrency",))
    outcome = _outcome(result, "concurrency")
    assert (outcome.status, outcome.calls, outcome.error_code) == (Status.OK, 4, None)
    assert [row["reserved_concurrency"] for row in _rows(result).values()] == [1, 1]


def test_nothing_to_enrich_when_the_listing_was_not_ok(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    with HostileLambda(aws()) as server:
        result = _enrich(monkeypatch, server, _listed([], Status.FAILED))
    assert server.requests == []
    assert [(e.name, e.status, e.calls) for e in result.enrichments] == [(name, Status.SKIPPED, 0) for name in ALL]
    assert result.status is Status.FAILED and result.error_code == "AccessDenied"


def test_a_target_without_functions_costs_no_call(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    with HostileLambda(aws()) as server:
        result = _enrich(monkeypatch, server, _listed([]))
    assert server.requests == []
    assert all((e.status, e.calls) == (Status.OK, 0) for e in result.enrichments)


def test_no_enrichment_asked_changes_nothing(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    listed = _listed(["a"])
    with HostileLambda(aws()) as server:
        assert _enrich(monkeypatch, server, listed, ()) is listed
    assert server.requests == []


def test_calls_keep_to_the_targets_request_rate(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    with HostileLambda(aws()) as server:
        result = _enrich(monkeypatch, server, _listed([f"f{i}" for i in range(6)]), ("urls", "policy"), rate=10.0)
    assert all(e.status is Status.OK for e in result.enrichments)
    starts = sorted(request.at for request in server.requests)
    assert len(starts) == 12
    # sent 1/10 s apart; seen by the server with a little jitter (the first one also opened the connection)
    assert starts[-1] - starts[0] >= 11 * 0.1 - 0.1
    windows = [sum(1 for t in starts if start <= t < start + 1.0) for start in starts]
    assert max(windows) <= 11


def test_a_page_token_given_twice_fails_the_enrichment(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    looping = _json({"ResourceTagMappingList": [], "PaginationToken": "same"})
    with HostileLambda(aws({"GetResources": lambda _: looping})) as server:
        result = _enrich(monkeypatch, server, _listed(["a"]), ("tags",))
    outcome = _outcome(result, "tags")
    assert (outcome.status, outcome.error_code, outcome.calls) == (Status.FAILED, "RepeatedMarker", 2)


def test_a_hang_is_bounded_by_the_deadline(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    with HostileLambda(aws({"concurrency": lambda _: HANG})) as server:
        result = _enrich(monkeypatch, server, _listed(["a"]), ("concurrency", "tags"), deadline=2.0, attempts=50)
    concurrency = _outcome(result, "concurrency")
    assert (concurrency.status, concurrency.error_code) == (Status.FAILED, "DeadlineExceeded")
    assert _outcome(result, "tags").status is Status.OK, "the next enrichment still runs"


def test_usage_asks_at_most_500_functions_per_call(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    names = [f"f{i:04d}" for i in range(501)]
    with HostileLambda(aws()) as server:
        result = _enrich(monkeypatch, server, _listed(names), ("usage",))
    assert _outcome(result, "usage").calls == 2
    assert [len(r.json["MetricDataQueries"]) for r in server.requests] == [500, 1]
    rows = _rows(result)
    assert (rows["f0000"]["invocations_30d"], rows["f0500"]["invocations_30d"]) == (7, 7)  # first of each call
    assert rows["f0001"]["invocations_30d"] == 0


def test_expired_credentials_are_renewed_and_the_call_retried(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    expired = _json({"message": "The security token included in the request is expired"}, 403, "ExpiredTokenException")
    answers = iter([expired])

    def concurrency(request: Request) -> Reply:
        return next(answers, None) or _json({"ReservedConcurrentExecutions": 2})

    with HostileLambda(aws({"concurrency": concurrency})) as server:
        result = _enrich(monkeypatch, server, _listed(["a"]), ("concurrency",))
    outcome = _outcome(result, "concurrency")
    assert (outcome.status, outcome.calls) == (Status.OK, 2)
    assert [row["reserved_concurrency"] for row in _rows(result).values()] == [2]
    tokens = [r.headers["X-Amz-Security-Token"] for r in server.requests]
    assert tokens[0] != tokens[1], "the second call is signed with newly assumed credentials"
