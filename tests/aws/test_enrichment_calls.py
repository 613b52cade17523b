"""The enrichments' calls (aws/enrichment_calls.py) over real HTTP against a local endpoint that answers what each
test scripts: the requests they send (path, JSON protocol, signature scope), the answers they accept, and
the hostile ones they refuse as InvalidResponse (or an error code), never as an empty or zero value."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import botocore.credentials
import botocore.session
import pytest
from botocore.exceptions import ClientError
from conftest import clear_aws_environment
from support.hostile_lambda import HostileLambda, Reply, Request, sequence

from inventory.aws import enrichment_calls as api
from inventory.aws.clients import botocore_config
from inventory.aws.lambda_api import LambdaLister
from inventory.aws.retry import FaultError, FaultKind, classify

REGION = "eu-west-1"
FAKE = botocore.credentials.ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "token")
WINDOW = (datetime(2026, 10, 31, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))


def _json(body: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/x-amz-json-1.1"})


def _call(monkeypatch: pytest.MonkeyPatch, server: HostileLambda, call: Callable[[api.Scope], Awaitable[Any]]) -> Any:
    """Run one call with the real signed-HTTP path against the server (every service's endpoint); the
    answer, or the exception it raised."""
    clear_aws_environment(monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)

    async def one() -> Any:
        async with LambdaLister(botocore.session.Session(), botocore_config(2), 2) as http:
            return await call(api.Scope(http, REGION, FAKE))

    try:
        return asyncio.run(one())
    except Exception as err:  # noqa: BLE001 - the test inspects it
        return err


def _scope_of(request: Request) -> str:
    """The SigV4 credential scope's service: lambda, tagging or monitoring."""
    return request.headers["Authorization"].split("Credential=")[1].split("/")[3]


def test_tags_page_sends_get_resources_and_reads_the_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = {
        "ResourceTagMappingList": [
            {
                "ResourceARN": "arn:aws:lambda:eu-west-1:111111111111:function:a",
                "Tags": [{"Key": "team", "Value": "x"}],
            },
            {"ResourceARN": "arn:aws:lambda:eu-west-1:111111111111:function:b", "Tags": []},
        ],
        "PaginationToken": "next",
    }
    with HostileLambda(sequence(_json(answer))) as server:
        page = _call(monkeypatch, server, lambda scope: api.tags_page(scope, "tok"))
    (request,) = server.requests
    assert request.target == "ResourceGroupsTaggingAPI_20170126.GetResources"
    assert request.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert request.json == {
        "ResourceTypeFilters": ["lambda:function"],
        "ResourcesPerPage": 100,
        "PaginationToken": "tok",
    }
    assert _scope_of(request) == "tagging"
    assert page == api.Paged(
        {
            "arn:aws:lambda:eu-west-1:111111111111:function:a": {"team": "x"},
            "arn:aws:lambda:eu-west-1:111111111111:function:b": {},
        },
        "next",
    )


def test_last_tags_page_has_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    with HostileLambda(sequence(_json({"ResourceTagMappingList": [], "PaginationToken": ""}))) as server:
        page = _call(monkeypatch, server, lambda scope: api.tags_page(scope, None))
    assert page == api.Paged({}, None)
    assert "PaginationToken" not in server.requests[0].json


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b"", "an empty body"),
        (b"<html>", "not JSON"),
        (b"[]", "a JSON list"),
        (b"{}", "ResourceTagMappingList as nothing"),
        (b'{"ResourceTagMappingList": {}}', "ResourceTagMappingList as a dict"),
        (b'{"ResourceTagMappingList": [{"Tags": []}]}', "without ResourceARN"),
        (b'{"ResourceTagMappingList": [{"ResourceARN": "a", "Tags": [{"Key": "k", "Value": 1}]}]}', "Key/Value"),
        (b'{"ResourceTagMappingList": [{"ResourceARN": "a", "Tags": ["k=v"]}]}', "Key/Value"),
        (b'{"ResourceTagMappingList": [], "PaginationToken": 7}', "PaginationToken as a int"),
        (
            b'{"ResourceTagMappingList": [{"ResourceARN": "a", "Tags": [{"Key": "k", "Value": "1"},'
            b' {"Key": "k", "Value": "1"}]}]}',
            "the tag key 'k' twice for a",
        ),
        (
            b'{"ResourceTagMappingList": [{"ResourceARN": "a", "Tags": []},'
            b' {"ResourceARN": "a", "Tags": [{"Key": "k", "Value": "1"}]}]}',
            "two different sets of tags for a",
        ),
    ],
)
def test_a_tags_answer_that_is_not_one_is_invalid(monkeypatch: pytest.MonkeyPatch, body: bytes, what: str) -> None:
    with HostileLambda(sequence(Reply(200, body))) as server:
        err = _call(monkeypatch, server, lambda scope: api.tags_page(scope, None))
    assert isinstance(err, FaultError), err
    assert (err.fault.kind, err.fault.code) == (FaultKind.TRANSIENT, "InvalidResponse")
    assert what in err.fault.message and err.fault.message.startswith("GetResources answered HTTP 200 with")


def test_url_configs_page(monkeypatch: pytest.MonkeyPatch) -> None:
    arn = "arn:aws:lambda:eu-west-1:111111111111:function:my-fn"
    configs = [
        {"AuthType": "NONE", "FunctionUrl": "https://x", "FunctionArn": arn},
        {"AuthType": "AWS_IAM", "FunctionUrl": "https://y", "FunctionArn": f"{arn}:live"},
        {"AuthType": "NONE", "FunctionUrl": "https://z", "FunctionArn": f"{arn}:$LATEST"},
        {"AuthType": "NONE", "FunctionUrl": "https://w"},  # no FunctionArn: what it is on is not known
        {"AuthType": "NONE", "FunctionUrl": "https://v", "FunctionArn": "arn:aws:s3:::bucket"},
    ]
    with HostileLambda(sequence(_json({"FunctionUrlConfigs": configs, "NextMarker": "m2"}))) as server:
        page = _call(monkeypatch, server, lambda scope: api.url_configs_page(scope, "m1", name="my-fn"))
    (request,) = server.requests
    assert request.path == "/2021-10-31/functions/my-fn/urls"
    assert request.query == {"MaxItems": "50", "Marker": "m1"}
    assert _scope_of(request) == "lambda"
    on = ["", "live", "", None, None]
    assert page == api.Paged([api.UrlConfig(c["AuthType"], q) for c, q in zip(configs, on, strict=True)], "m2")


@pytest.mark.parametrize(
    "body",
    [
        b'{"FunctionUrlConfigs": null}',
        b'{"FunctionUrlConfigs": [{"FunctionUrl": "x"}]}',
        b'{"FunctionUrlConfigs": [1]}',
    ],
)
def test_a_url_config_without_auth_type_is_invalid(monkeypatch: pytest.MonkeyPatch, body: bytes) -> None:
    with HostileLambda(sequence(Reply(200, body))) as server:
        err = _call(monkeypatch, server, lambda scope: api.url_configs_page(scope, None, name="f"))
    assert isinstance(err, FaultError) and err.fault.code == "InvalidResponse"


def test_policy_text_and_no_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    missing = _json({"Type": "User", "Message": "The resource you requested does not exist."}, 404)
    missing.headers["x-amzn-ErrorType"] = "ResourceNotFoundException"
    with HostileLambda(sequence(_json({"Policy": policy, "RevisionId": "r"}), missing)) as server:
        text = _call(monkeypatch, server, lambda scope: api.policy_text(scope, "fn"))
        err = _call(monkeypatch, server, lambda scope: api.policy_text(scope, "fn"))
    assert text == policy
    assert server.requests[0].path == "/2015-03-31/functions/fn/policy"
    assert isinstance(err, ClientError)
    assert classify(err).code == "ResourceNotFoundException"
    assert err.operation_name == "GetPolicy"


def test_policy_that_is_not_text_is_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    with HostileLambda(sequence(_json({"Policy": {"Statement": []}}))) as server:
        err = _call(monkeypatch, server, lambda scope: api.policy_text(scope, "fn"))
    assert isinstance(err, FaultError) and "no Policy text" in err.fault.message


@pytest.mark.parametrize(
    ("body", "expected"),
    [({"ReservedConcurrentExecutions": 5}, 5), ({}, None), ({"ReservedConcurrentExecutions": 0}, 0)],
)
def test_reserved_concurrency(monkeypatch: pytest.MonkeyPatch, body: dict[str, Any], expected: int | None) -> None:
    with HostileLambda(sequence(_json(body))) as server:
        value = _call(monkeypatch, server, lambda scope: api.reserved_concurrency(scope, "fn"))
    assert server.requests[0].path == "/2019-09-30/functions/fn/concurrency"
    assert value == expected


@pytest.mark.parametrize("value", ["5", 5.5, True, -1, 2**31, [5]])
def test_reserved_concurrency_that_is_not_a_count_is_invalid(monkeypatch: pytest.MonkeyPatch, value: Any) -> None:
    with HostileLambda(sequence(_json({"ReservedConcurrentExecutions": value}))) as server:
        err = _call(monkeypatch, server, lambda scope: api.reserved_concurrency(scope, "fn"))
    assert isinstance(err, FaultError) and err.fault.code == "InvalidResponse", err


def test_function_names_are_path_quoted(monkeypatch: pytest.MonkeyPatch) -> None:
    with HostileLambda(sequence(_json({}))) as server:
        _call(monkeypatch, server, lambda scope: api.reserved_concurrency(scope, "odd name/../x"))
    assert server.requests[0].path == "/2019-09-30/functions/odd%20name%2F..%2Fx/concurrency"


def _metrics(*results: dict[str, Any], token: str | None = None) -> Reply:
    body: dict[str, Any] = {"MetricDataResults": list(results), "Messages": []}
    if token:
        body["NextToken"] = token
    return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/x-amz-json-1.0"})


def test_invocations_page_asks_one_daily_sum_per_function(monkeypatch: pytest.MonkeyPatch) -> None:
    day = WINDOW[1].timestamp() - 86400
    reply = _metrics(
        {"Id": "m1", "Timestamps": [day], "Values": [7.0], "StatusCode": "Complete"},
        {"Id": "m0", "Timestamps": [], "Values": [], "StatusCode": "Complete"},
        token="t2",
    )
    with HostileLambda(sequence(reply)) as server:
        page = _call(
            monkeypatch, server, lambda scope: api.invocations_page(scope, "t1", names=["a", "b"], window=WINDOW)
        )
    (request,) = server.requests
    assert request.target == "GraniteServiceVersion20100801.GetMetricData"
    assert request.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert _scope_of(request) == "monitoring"
    sent = request.json
    assert (sent["StartTime"], sent["EndTime"], sent["NextToken"]) == (
        WINDOW[0].timestamp(),
        WINDOW[1].timestamp(),
        "t1",
    )
    assert [q["Id"] for q in sent["MetricDataQueries"]] == ["m0", "m1"]
    stat = sent["MetricDataQueries"][1]["MetricStat"]
    assert stat == {
        "Metric": {
            "Namespace": "AWS/Lambda",
            "MetricName": "Invocations",
            "Dimensions": [{"Name": "FunctionName", "Value": "b"}],
        },
        "Period": 86400,
        "Stat": "Sum",
    }
    assert page == api.Paged({0: api.Series((), ()), 1: api.Series((day,), (7.0,))}, "t2")


@pytest.mark.parametrize(
    ("result", "code"),
    [
        ({"Id": "m9", "Timestamps": [], "Values": [], "StatusCode": "Complete"}, "InvalidResponse"),
        ({"Id": "x0", "Timestamps": [], "Values": [], "StatusCode": "Complete"}, "InvalidResponse"),
        ({"Id": "m0", "Timestamps": [1], "Values": [], "StatusCode": "Complete"}, "InvalidResponse"),
        ({"Id": "m0", "Timestamps": [1], "Values": ["7"], "StatusCode": "Complete"}, "InvalidResponse"),
        ({"Id": "m0", "Timestamps": "1", "Values": [1], "StatusCode": "Complete"}, "InvalidResponse"),
        ({"Id": "m0", "Timestamps": [1], "Values": [True], "StatusCode": "Complete"}, "InvalidResponse"),
        ({"Id": "m0", "Timestamps": [], "Values": [], "StatusCode": "InternalError"}, "MetricDataInternalError"),
        ({"Id": "m0", "Timestamps": [], "Values": [], "StatusCode": "Forbidden"}, "MetricDataForbidden"),
        ({"Id": "m0", "Timestamps": [], "Values": []}, "InvalidResponse"),
    ],
)
def test_a_metric_result_that_is_not_one_is_an_error(
    monkeypatch: pytest.MonkeyPatch, result: dict[str, Any], code: str
) -> None:
    with HostileLambda(sequence(_metrics(result))) as server:
        err = _call(monkeypatch, server, lambda scope: api.invocations_page(scope, None, names=["a"], window=WINDOW))
    assert isinstance(err, FaultError), err
    assert err.fault.code == code
    assert err.fault.kind is (FaultKind.FATAL if code == "MetricDataForbidden" else FaultKind.TRANSIENT)


IN_WINDOW = WINDOW[1].timestamp() - 86400


@pytest.mark.parametrize(
    ("stamp", "value", "what"),
    [
        (IN_WINDOW, 2**63, "a Sum of Invocations of 9223372036854775808, not a count"),  # past int64
        (IN_WINDOW, 2**64 - 1, "a Sum of Invocations of 18446744073709551615, not a count"),
        (IN_WINDOW, 1e300, "a Sum of Invocations of 1e+300, not a count"),
        (IN_WINDOW, -12, "a Sum of Invocations of -12, not a count"),
        (IN_WINDOW, -0.4, "a Sum of Invocations of -0.4, not a count"),
        (IN_WINDOW, 0.4, "a Sum of Invocations of 0.4, not a count"),
        (WINDOW[0].timestamp() - 1, 1, "outside the asked window"),
        (WINDOW[1].timestamp(), 1, "outside the asked window"),
    ],
)
def test_a_datapoint_cloudwatch_cannot_send_is_invalid(
    monkeypatch: pytest.MonkeyPatch, stamp: float, value: Any, what: str
) -> None:
    result = {"Id": "m0", "Timestamps": [stamp], "Values": [value], "StatusCode": "Complete"}
    with HostileLambda(sequence(_metrics(result))) as server:
        err = _call(monkeypatch, server, lambda scope: api.invocations_page(scope, None, names=["a"], window=WINDOW))
    assert isinstance(err, FaultError), err
    assert (err.fault.kind, err.fault.code) == (FaultKind.TRANSIENT, "InvalidResponse")
    assert err.fault.message.startswith("GetMetricData answered HTTP 200 with query m0: ")
    assert what in err.fault.message


def test_whole_counts_and_a_query_answered_twice_on_a_page_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    start = WINDOW[0].timestamp()
    reply = _metrics(
        {"Id": "m0", "Timestamps": [start], "Values": [0], "StatusCode": "PartialData"},
        {"Id": "m0", "Timestamps": [IN_WINDOW], "Values": [2.0**53], "StatusCode": "Complete"},
    )
    with HostileLambda(sequence(reply)) as server:
        page = _call(monkeypatch, server, lambda scope: api.invocations_page(scope, None, names=["a"], window=WINDOW))
    assert page == api.Paged({0: api.Series((start, IN_WINDOW), (0, 2.0**53))}, None)


def test_an_error_answer_keeps_its_code_and_operation(monkeypatch: pytest.MonkeyPatch) -> None:
    denied = Reply(400, b'{"__type": "com.amazon.coral.service#AccessDeniedException", "Message": "no"}')
    with HostileLambda(sequence(denied)) as server:
        err = _call(monkeypatch, server, lambda scope: api.tags_page(scope, None))
    assert isinstance(err, ClientError)
    assert err.operation_name == "GetResources"
    assert (classify(err).kind, classify(err).code) == (FaultKind.FATAL, "AccessDeniedException")
