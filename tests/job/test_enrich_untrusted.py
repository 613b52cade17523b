"""Enrichment answers the job must not believe (issue 19), fed over real HTTP to the real enrich stage, and what
the user then sees: the enrichment's status element, and the values or nulls on the target's rows.

CloudWatch values no Sum of Invocations can be, a datapoint given twice, tags of ARNs that are not a listed
function of this account-region, a tag key given twice, pages without end, and functions deleted between the
listing and their per-function reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from support.enrich_aws import (
    ACCOUNT,
    PUBLIC,
    REGION,
    aws,
    enrich,
    function_of,
    json_reply,
    listed_result,
    outcome_of,
    rows_of,
)
from support.hostile_lambda import HostileLambda, Reply, Request

from inventory.contract.results import Status
from inventory.demo.emulator import Emulator

DAY = datetime(2026, 11, 28, tzinfo=UTC).timestamp()  # in the usage window of the snapshot (2026-11-30)
USAGE = ("invocations_30d", "last_invocation_day")


def _metrics(points: Callable[[int], list[tuple[float, Any]]], token: str | None = None) -> Callable[[Request], Reply]:
    """GetMetricData answering `points(query index)` for each query asked, and `token` as NextToken."""

    def answer(request: Request) -> Reply:
        results = [
            {
                "Id": query["Id"],
                "Timestamps": [stamp for stamp, _ in points(index)],
                "Values": [value for _, value in points(index)],
                "StatusCode": "Complete",
            }
            for index, query in enumerate(request.json["MetricDataQueries"])
        ]
        return json_reply({"MetricDataResults": results, **({"NextToken": token} if token else {})})

    return answer


def _usage_rows(monkeypatch: pytest.MonkeyPatch, answer: Callable[[Request], Reply]) -> tuple[Any, dict[str, Any]]:
    with HostileLambda(aws({"GetMetricData": answer})) as server:
        result = enrich(monkeypatch, server, listed_result(["a", "b"]), ("usage", "concurrency"))
    return outcome_of(result, "usage"), rows_of(result)


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        ([2**63], "9223372036854775808"),  # past int64: it used to fail the whole run (OverflowError, exit 5)
        ([1e19], "1e+19"),
        ([-12], "-12"),  # a negative count, once stored as invocations_30d = -12
        ([-0.4, 0.4], "-0.4"),  # once 0 invocations with a last_invocation_day
        ([1.5], "1.5"),  # a Sum of Invocations is a whole number
    ],
)
def test_a_metric_value_that_is_not_a_count_fails_usage_for_the_target_alone(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator, values: list[Any], refused: str
) -> None:
    answer = _metrics(lambda index: [(DAY - 86400 * day, v) for day, v in enumerate(values)] if index == 0 else [])
    usage, rows = _usage_rows(monkeypatch, answer)
    assert (usage.status, usage.error_code) == (Status.FAILED, "InvalidResponse")
    assert usage.error_message is not None and f"a Sum of Invocations of {refused}, not a count" in usage.error_message
    for row in rows.values():
        assert [row[column] for column in USAGE] == [None, None] and row["enriched"] == ["concurrency"]


def test_a_datapoint_outside_the_asked_window_is_refused(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    usage, rows = _usage_rows(monkeypatch, _metrics(lambda _: [(1e300, 3)]))
    assert (usage.status, usage.error_code) == (Status.FAILED, "InvalidResponse")
    assert usage.error_message is not None and "outside the asked window" in usage.error_message
    assert all(row["invocations_30d"] is None for row in rows.values())


def test_the_same_datapoint_on_two_pages_is_counted_once(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    first = _metrics(lambda index: [(DAY, 7)] if index == 0 else [], token="page-2")
    again = _metrics(lambda index: [(DAY, 7.0), (DAY - 86400, 3)] if index == 0 else [])
    usage, rows = _usage_rows(monkeypatch, lambda r: again(r) if r.json.get("NextToken") else first(r))
    assert (usage.status, usage.calls) == (Status.OK, 2)
    assert (rows["a"]["invocations_30d"], rows["a"]["last_invocation_day"]) == (10, date(2026, 11, 28))
    assert (rows["b"]["invocations_30d"], rows["b"]["last_invocation_day"]) == (0, None)


def test_one_datapoint_with_two_values_is_refused(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    usage, rows = _usage_rows(monkeypatch, _metrics(lambda index: [(DAY, 7), (DAY, 9)] if index == 0 else []))
    assert (usage.status, usage.error_code) == (Status.FAILED, "InvalidResponse")
    assert usage.error_message is not None and "two values for one datapoint of a" in usage.error_message
    assert all(row["invocations_30d"] is None for row in rows.values())


def _tagged(arn: str, **tags: str) -> dict[str, Any]:
    return {"ResourceARN": arn, "Tags": [{"Key": key, "Value": value} for key, value in tags.items()]}


def test_tags_land_only_on_the_listed_function_of_this_account_region(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    own = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"
    mappings = [
        _tagged(f"{own}:a", team="pay"),
        _tagged(f"{own}:b:3", team="version-3"),  # a version's ARN: not the function
        _tagged(f"arn:aws:lambda:{REGION}:999999999999:function:c", team="other-account"),
        _tagged(f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:c", team="other-region"),
        _tagged(f"arn:aws-cn:lambda:{REGION}:{ACCOUNT}:function:c", team="other-partition"),
        _tagged(f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:c", team="a-layer"),
        _tagged("c", team="not-an-arn"),
    ]
    answer = json_reply({"ResourceTagMappingList": mappings})
    with HostileLambda(aws({"GetResources": lambda _: answer})) as server:
        result = enrich(monkeypatch, server, listed_result(["a", "b", "c"]), ("tags",))
    assert outcome_of(result, "tags").status is Status.OK
    rows = rows_of(result)
    assert [rows[name]["tags"] for name in ("a", "b", "c")] == [[("team", "pay")], [], []]


@pytest.mark.parametrize(
    ("mappings", "why"),
    [
        ([{"ResourceARN": "arn:x", "Tags": [{"Key": "team", "Value": "a"}, {"Key": "team", "Value": "b"}]}], "twice"),
        (
            [
                _tagged(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:a", team="pay"),
                _tagged(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:a", team="ops"),
            ],
            "two different sets of tags",
        ),
    ],
)
def test_a_tag_key_or_a_function_given_twice_is_refused(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator, mappings: list[dict[str, Any]], why: str
) -> None:
    answer = json_reply({"ResourceTagMappingList": mappings})
    with HostileLambda(aws({"GetResources": lambda _: answer})) as server:
        result = enrich(monkeypatch, server, listed_result(["a", "b"]), ("tags", "concurrency"))
    tags = outcome_of(result, "tags")
    assert (tags.status, tags.error_code) == (Status.FAILED, "InvalidResponse")
    assert tags.error_message is not None and why in tags.error_message
    assert all(row["tags"] is None and row["enriched"] == ["concurrency"] for row in rows_of(result).values())


def _endless(key: str, body: dict[str, Any]) -> Callable[[Request], Reply]:
    """Empty pages, each with a fresh page token (`key`), for ever."""
    counter = iter(range(10**6))
    return lambda _: json_reply({**body, key: f"token-{next(counter)}"})


Endless = tuple[str, str, dict[str, Any], int, str]  # operation, its page token, an empty page, calls, bound
ENDLESS: dict[str, Endless] = {
    "tags": ("GetResources", "PaginationToken", {"ResourceTagMappingList": []}, 12, "1 page(s) 1 listed functions"),
    "urls": ("urls", "NextMarker", {"FunctionUrlConfigs": []}, 14, "2 page(s) 100 URL configs of one function"),
    "usage": ("GetMetricData", "NextToken", {"MetricDataResults": []}, 12, "1 page(s) 31 daily datapoints"),
}


@pytest.mark.parametrize("enrichment", sorted(ENDLESS))
def test_pages_without_end_stop_at_what_the_target_makes_possible(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator, enrichment: str
) -> None:
    operation, key, empty, calls, bound = ENDLESS[enrichment]
    with HostileLambda(aws({operation: _endless(key, empty)})) as server:
        result = enrich(monkeypatch, server, listed_result(["a"]), (enrichment,))
    outcome = outcome_of(result, enrichment)
    assert (outcome.status, outcome.error_code, outcome.calls) == (Status.FAILED, "TooManyPages", calls)
    assert outcome.error_message is not None
    assert f"still gave a page token after {calls} pages, the most allowed (2 x the {bound}" in outcome.error_message
    assert len(server.requests) == calls


def _not_found(message: str) -> Reply:
    return json_reply({"Type": "User", "Message": message}, 404, "ResourceNotFoundException")


def _deleted(name: str, then: Callable[[Request], Reply]) -> Callable[[Request], Reply]:
    """Answers for function `name` as Lambda does once it is deleted; `then` for the others."""
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    return lambda r: _not_found(f"Function not found: {arn}") if function_of(r) == name else then(r)


def test_a_function_deleted_after_the_listing_is_null_and_the_rest_kept(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    def policy(request: Request) -> Reply:  # c exists and has no policy: the other 404
        if function_of(request) == "c":
            return _not_found("The resource you requested does not exist.")
        return json_reply({"Policy": PUBLIC})

    overrides = {
        "urls": _deleted("b", lambda _: json_reply({"FunctionUrlConfigs": [{"AuthType": "AWS_IAM"}]})),
        "policy": _deleted("b", policy),
        "concurrency": _deleted("b", lambda _: json_reply({"ReservedConcurrentExecutions": 2})),
    }
    names = ("urls", "policy", "concurrency", "tags")
    with HostileLambda(aws(overrides)) as server:
        result = enrich(monkeypatch, server, listed_result(["a", "b", "c"]), names)
    for name in ("urls", "policy", "concurrency"):
        outcome = outcome_of(result, name)
        assert (outcome.status, outcome.error_code, outcome.gone) == (Status.OK, "FunctionNotFound", frozenset({"b"}))
        assert outcome.error_message == f"{name}: 1 of 3 functions not found, deleted since the listing: b"
    assert outcome_of(result, "tags").error_code is None
    rows = rows_of(result)
    a, b, c = rows["a"], rows["b"], rows["c"]
    assert b["enriched"] == ["tags"] and a["enriched"] == c["enriched"] == ["concurrency", "policy", "tags", "urls"]
    assert [b[column] for column in ("url_auth_types", "public_invoke", "invoke_principals")] == [None] * 3
    assert b["reserved_concurrency"] is None and b["tags"] == []
    assert (a["url_auth_types"], a["public_invoke"], a["reserved_concurrency"]) == (["AWS_IAM"], True, 2)
    assert (c["public_invoke"], c["invoke_principals"]) == (False, [])  # exists, no policy


def test_every_function_deleted_leaves_no_row_enriched(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    gone = _not_found(f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:x")
    with HostileLambda(aws({"concurrency": lambda _: gone})) as server:
        result = enrich(monkeypatch, server, listed_result([f"f{i}" for i in range(7)]), ("concurrency",))
    outcome = outcome_of(result, "concurrency")
    assert (outcome.status, outcome.calls, len(outcome.gone)) == (Status.OK, 7, 7)
    assert outcome.error_message == (
        "concurrency: 7 of 7 functions not found, deleted since the listing: f0, f1, f2, f3, f4 (+2 more)"
    )
    assert all(row["enriched"] == [] and row["reserved_concurrency"] is None for row in rows_of(result).values())
