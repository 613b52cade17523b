"""The enrich stage (job/enrich.py) for one listed target, over real HTTP: STS from the emulator, every
enrichment call answered by a local endpoint that scripts each service (tests/support/hostile_lambda.py).

What a user relies on: values land on the right rows; an enrichment that cannot be read is `failed` with its
reason and leaves its columns null, never the listing; "no policy" and "no tags" read as none, not unknown;
calls share the target's request budget; retries, a looping page token and a hang are bounded."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from support.enrich_aws import (
    ACCOUNT,
    ALL,
    aws,
    denied,
    enrich,
    function_of,
    json_reply,
    listed_result,
    outcome_of,
    rows_of,
    url_config,
)
from support.hostile_lambda import HANG, HostileLambda, Reply, Request

from inventory.contract.results import Status
from inventory.demo.emulator import Emulator


def test_every_enrichment_lands_on_its_function(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    with HostileLambda(aws()) as server:
        result = enrich(monkeypatch, server, listed_result(["a", "b", "c"]))
    assert result.status is Status.OK and result.function_count == 3
    assert [(e.name, e.status, e.calls) for e in result.enrichments] == [
        ("tags", Status.OK, 1),
        ("urls", Status.OK, 3),
        ("policy", Status.OK, 3),
        ("concurrency", Status.OK, 3),
        ("usage", Status.OK, 1),
    ]
    rows = rows_of(result)
    a, b = rows["a"], rows["b"]
    assert a["enriched"] == sorted(ALL)
    assert (a["tags"], b["tags"]) == ([("team", "pay")], [])  # b: read, no tags (absent from the answer)
    assert (a["url_auth_types"], b["url_auth_types"]) == (["NONE"], [])
    assert (a["public_invoke"], a["invoke_principals"]) == (True, ["*"])
    assert (a["public_actions"], a["public_url"]) == (["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"], True)
    assert (b["public_invoke"], b["invoke_principals"]) == (False, [])  # 404: no policy
    assert (b["public_actions"], b["public_url"]) == ([], False)
    assert (a["reserved_concurrency"], b["reserved_concurrency"]) == (5, None)
    assert (a["invocations_30d"], a["last_invocation_day"]) == (7, date(2026, 11, 28))
    assert (b["invocations_30d"], b["last_invocation_day"]) == (0, None)
    usage = next(r for r in server.requests if r.target and r.target.endswith("GetMetricData")).json
    assert (usage["StartTime"], usage["EndTime"]) == (
        datetime(2026, 11, 1, tzinfo=UTC).timestamp(),
        datetime(2026, 12, 1, tzinfo=UTC).timestamp(),
    )


def _policy(*statements: dict[str, Any]) -> Reply:
    return json_reply({"Policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})})


def _anyone(action: str, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": "*", "Action": action, **extra}


NO_POLICY = json_reply({"Message": "The resource you requested does not exist."}, 404, "ResourceNotFoundException")
# function -> (its URL configs, its policy): each a way issue 20 judges exposure
EXPOSURE: dict[str, tuple[list[dict[str, str]], Reply]] = {
    "code": ([], _policy(_anyone("lambda:GetFunction"))),  # anyone may download the code: not invocable
    "url-403": ([url_config("url-403", "NONE")], _policy(_anyone("lambda:InvokeFunction"))),  # no URL grant
    "url-open": ([url_config("url-open", "NONE")], _policy(_anyone("lambda:InvokeFunctionUrl"))),
    "alias-url": ([url_config("alias-url", "NONE", "live")], NO_POLICY),  # the alias's policy is not read
    "signed-url": ([url_config("signed-url", "AWS_IAM")], _policy(_anyone("lambda:InvokeFunctionUrl"))),
    "numeric": (
        [],
        _policy(
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "lambda:InvokeFunction",
                "Condition": {"StringEquals": {"AWS:SourceAccount": int(ACCOUNT)}},  # a JSON number
            },
            {**_anyone("lambda:*"), "Effect": "Deny", "Condition": {"StringNotEquals": {"aws:SourceAccount": ACCOUNT}}},
        ),
    ),
}


def _exposure_aws(policy: bool = True) -> Any:
    urls = {"urls": lambda r: json_reply({"FunctionUrlConfigs": EXPOSURE[function_of(r)][0]})}
    policies = {"policy": lambda r: EXPOSURE[function_of(r)][1] if policy else denied("lambda:GetPolicy")}
    return aws({**urls, **policies})


def test_exposure_is_judged_by_actions_and_urls_by_their_policy(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    with HostileLambda(_exposure_aws()) as server:
        result = enrich(monkeypatch, server, listed_result(sorted(EXPOSURE)), ("urls", "policy"))
    assert [(e.name, e.status) for e in result.enrichments] == [("urls", Status.OK), ("policy", Status.OK)]
    rows = rows_of(result)
    got = {name: (row["public_actions"], row["public_invoke"], row["public_url"]) for name, row in rows.items()}
    assert got == {
        "code": (["lambda:GetFunction"], False, False),
        "url-403": (["lambda:InvokeFunction"], True, False),  # its NONE URL answers 403
        "url-open": (["lambda:InvokeFunctionUrl"], True, True),
        "alias-url": ([], False, True),  # leans public until the alias's own policy is read
        "signed-url": (["lambda:InvokeFunctionUrl"], True, False),  # callers sign: not anyone
        "numeric": ([], False, False),  # read, not a failure: S3 confined to the account, the rest denied
    }
    assert rows["numeric"]["invoke_principals"] == ["s3.amazonaws.com"]


def test_a_url_the_policy_must_judge_stays_null_without_the_policy(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    with HostileLambda(_exposure_aws(policy=False)) as server:
        result = enrich(monkeypatch, server, listed_result(sorted(EXPOSURE)), ("urls", "policy"))
    assert outcome_of(result, "policy").status is Status.FAILED
    rows = rows_of(result)
    assert all(row["enriched"] == ["urls"] and row["public_actions"] is None for row in rows.values())
    assert {name: row["public_url"] for name, row in rows.items()} == {
        "code": False,  # no NONE URL: no policy needed
        "url-403": None,  # its own NONE URL: only its policy could say
        "url-open": None,
        "alias-url": True,
        "signed-url": False,
        "numeric": False,
    }


def test_a_denied_enrichment_fails_alone_and_leaves_its_columns_null(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    with HostileLambda(aws({"policy": lambda _: denied("lambda:GetPolicy")})) as server:
        result = enrich(monkeypatch, server, listed_result([f"f{i}" for i in range(20)]))
    assert result.status is Status.OK and result.function_count == 20
    policy = outcome_of(result, "policy")
    assert policy.status is Status.FAILED
    assert policy.error_code == "AccessDeniedException"
    assert policy.error_message == "policy: not authorized to perform lambda:GetPolicy"
    assert policy.calls <= 4, "not one call per function after a denial"
    assert all(e.status is Status.OK for e in result.enrichments if e.name != "policy")
    for row in rows_of(result).values():
        assert "policy" not in row["enriched"] and "tags" in row["enriched"]
        assert row["public_invoke"] is None and row["invoke_principals"] is None and row["public_actions"] is None
        assert row["url_auth_types"] == [] and row["public_url"] is False  # no URL: no policy needed to say so


def test_one_unreadable_function_fails_the_enrichment_for_the_target(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    def urls(request: Request) -> Reply:
        return Reply(200, b"{}") if function_of(request) == "b" else json_reply({"FunctionUrlConfigs": []})

    with HostileLambda(aws({"urls": urls})) as server:
        result = enrich(monkeypatch, server, listed_result(["a", "b", "c"]), ("urls",))
    outcome = outcome_of(result, "urls")
    assert (outcome.status, outcome.error_code) == (Status.FAILED, "InvalidResponse")
    assert outcome.error_message is not None and outcome.error_message.startswith("urls: gave up after retries")
    assert all(row["url_auth_types"] is None and row["enriched"] == [] for row in rows_of(result).values())


def test_throttled_calls_are_retried(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    seen: dict[str, int] = {}

    def concurrency(request: Request) -> Reply:
        name = function_of(request)
        seen[name] = seen.get(name, 0) + 1
        if seen[name] == 1:
            return json_reply({"message": "Rate exceeded"}, 429, "TooManyRequestsException")
        return json_reply({"ReservedConcurrentExecutions": 1})

    with HostileLambda(aws({"concurrency": concurrency})) as server:
        result = enrich(monkeypatch, server, listed_result(["a", "b"]), ("concurrency",))
    outcome = outcome_of(result, "concurrency")
    assert (outcome.status, outcome.calls, outcome.error_code) == (Status.OK, 4, None)
    assert [row["reserved_concurrency"] for row in rows_of(result).values()] == [1, 1]


def test_nothing_to_enrich_when_the_listing_was_not_ok(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    with HostileLambda(aws()) as server:
        result = enrich(monkeypatch, server, listed_result([], Status.FAILED))
    assert server.requests == []
    assert [(e.name, e.status, e.calls) for e in result.enrichments] == [(name, Status.SKIPPED, 0) for name in ALL]
    assert result.status is Status.FAILED and result.error_code == "AccessDenied"


def test_a_target_without_functions_costs_no_call(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    with HostileLambda(aws()) as server:
        result = enrich(monkeypatch, server, listed_result([]))
    assert server.requests == []
    assert all((e.status, e.calls) == (Status.OK, 0) for e in result.enrichments)


def test_no_enrichment_asked_changes_nothing(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    listed = listed_result(["a"])
    with HostileLambda(aws()) as server:
        assert enrich(monkeypatch, server, listed, ()) is listed
    assert server.requests == []


def test_calls_keep_to_the_targets_request_rate(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    with HostileLambda(aws()) as server:
        result = enrich(monkeypatch, server, listed_result([f"f{i}" for i in range(6)]), ("urls", "policy"), rate=10.0)
    assert all(e.status is Status.OK for e in result.enrichments)
    starts = sorted(request.at for request in server.requests)
    assert len(starts) == 12
    # sent 1/10 s apart; seen by the server with a little jitter (the first one also opened the connection)
    assert starts[-1] - starts[0] >= 11 * 0.1 - 0.1
    windows = [sum(1 for t in starts if start <= t < start + 1.0) for start in starts]
    assert max(windows) <= 11


def test_a_page_token_given_twice_fails_the_enrichment(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    looping = json_reply({"ResourceTagMappingList": [], "PaginationToken": "same"})
    with HostileLambda(aws({"GetResources": lambda _: looping})) as server:
        result = enrich(monkeypatch, server, listed_result(["a"]), ("tags",))
    outcome = outcome_of(result, "tags")
    assert (outcome.status, outcome.error_code, outcome.calls) == (Status.FAILED, "RepeatedMarker", 2)


def test_a_hang_is_bounded_by_the_deadline(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    with HostileLambda(aws({"concurrency": lambda _: HANG})) as server:
        result = enrich(monkeypatch, server, listed_result(["a"]), ("concurrency", "tags"), deadline=2.0, attempts=50)
    concurrency = outcome_of(result, "concurrency")
    assert (concurrency.status, concurrency.error_code) == (Status.FAILED, "DeadlineExceeded")
    assert outcome_of(result, "tags").status is Status.OK, "the next enrichment still runs"


def test_a_region_that_stops_answering_costs_one_enrichment_not_all(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    """Issue 19: a region hung after its listing fails the first enrichment on its small unanswered budget (3
    attempts of read_seconds each); the later ones are skipped with the reason, not each waited for in turn."""
    with HostileLambda(
        aws({"urls": lambda _: HANG, "concurrency": lambda _: HANG, "GetResources": lambda _: HANG})
    ) as server:
        result = enrich(monkeypatch, server, listed_result(["a"]), ("tags", "urls", "concurrency"), attempts=12)
        requests = len(server.requests)
    tags, urls, concurrency = (outcome_of(result, name) for name in ("tags", "urls", "concurrency"))
    assert (tags.status, tags.error_code, tags.calls) == (Status.FAILED, "Timeout", 3), tags
    assert tags.error_message is not None and "gave up after retries" in tags.error_message
    for skipped in (urls, concurrency):
        assert (skipped.status, skipped.calls) == (Status.SKIPPED, 0), skipped
        assert skipped.error_message == (
            f"{skipped.name}: not read: the account-region stopped answering (tags got no answer)"
        )
    assert requests == 3, "no request for the skipped enrichments"
    assert rows_of(result)["a"]["tags"] is None and rows_of(result)["a"]["url_auth_types"] is None


def test_an_enrichment_that_answers_again_after_one_hung_keeps_the_rest(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    """Only an unanswered failure skips the rest: a denied enrichment leaves the next one to run."""
    with HostileLambda(aws({"GetResources": lambda _: denied("tag:GetResources")})) as server:
        result = enrich(monkeypatch, server, listed_result(["a"]), ("tags", "concurrency"))
    assert outcome_of(result, "tags").status is Status.FAILED
    assert outcome_of(result, "concurrency").status is Status.OK


def test_usage_asks_at_most_500_functions_per_call(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    names = [f"f{i:04d}" for i in range(501)]
    with HostileLambda(aws()) as server:
        result = enrich(monkeypatch, server, listed_result(names), ("usage",))
    assert outcome_of(result, "usage").calls == 2
    assert [len(r.json["MetricDataQueries"]) for r in server.requests] == [500, 1]
    rows = rows_of(result)
    assert (rows["f0000"]["invocations_30d"], rows["f0500"]["invocations_30d"]) == (7, 7)  # first of each call
    assert rows["f0001"]["invocations_30d"] == 0


def test_expired_credentials_are_renewed_and_the_call_retried(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    expired = json_reply(
        {"message": "The security token included in the request is expired"}, 403, "ExpiredTokenException"
    )
    answers = iter([expired])

    def concurrency(request: Request) -> Reply:
        return next(answers, None) or json_reply({"ReservedConcurrentExecutions": 2})

    with HostileLambda(aws({"concurrency": concurrency})) as server:
        result = enrich(monkeypatch, server, listed_result(["a"]), ("concurrency",))
    outcome = outcome_of(result, "concurrency")
    assert (outcome.status, outcome.calls) == (Status.OK, 2)
    assert [row["reserved_concurrency"] for row in rows_of(result).values()] == [2]
    tokens = [r.headers["X-Amz-Security-Token"] for r in server.requests]
    assert tokens[0] != tokens[1], "the second call is signed with newly assumed credentials"
