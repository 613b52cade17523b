"""The demo organisation's owners and exposure: seeded through the emulator, then read back the way the job's
enrichments read them (tags via GetResources, URL configs, resource policies, reserved concurrency,
Invocations via GetMetricData, over boto3 and over the job's JSON wire) and compared with Seeded.expected.

moto's state is shared by the session, so this module seeds the demo organisation under account ids of its
own (the demo itself runs in a fresh process: tests/e2e/test_demo.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import seed_members
from support.signed import MONITORING, JsonCaller, member_client, member_credentials

from inventory.demo.emulator import Emulator
from inventory.demo.org import DENIED_ACCOUNT, TEAMS, demo_org
from inventory.demo.seed import FunctionSpec, MemberSpec, Seeded, function_name
from inventory.demo.seed_extras import INVOKE_ACTIONS, USAGE_DAYS, Expected, Extras

RENUMBER = {
    "222222222222": "291000000002",
    "333333333333": "291000000003",
    "444444444444": "291000000004",
    DENIED_ACCOUNT: "291000000005",
}
PROD, DEV = RENUMBER["222222222222"], RENUMBER["333333333333"]


@pytest.fixture(scope="module")
def seeded(emulator: Emulator) -> Seeded:
    members = tuple(replace(member, account_id=RENUMBER[member.account_id]) for member in demo_org("s3cr3t"))
    return seed_members(emulator, members)


@pytest.fixture
def org(emu: Emulator, seeded: Seeded) -> Iterator[Seeded]:
    yield seeded


def _targets(seeded: Seeded) -> list[tuple[str, str]]:
    return sorted(seeded.functions)


def _named(seeded: Seeded, name: str) -> Expected:
    (found,) = [e for arn, e in seeded.expected.items() if arn.endswith(f":function:{name}")]
    return found


def test_the_demo_org_has_owners_exposure_and_unused_functions(seeded: Seeded) -> None:
    expected = seeded.expected
    assert len(expected) == seeded.total == 158
    assert set(seeded.owners().values()) == set(TEAMS)
    assert 0 < sum(1 for e in expected.values() if not e.tags) < len(expected) / 2  # most are tagged, not all
    urls = [("AWS_IAM",), ("NONE",), ("NONE",)]  # one NONE URL answers anyone, the other 403
    assert sorted(e.url_auth_types for e in expected.values() if e.url_auth_types) == urls
    assert [e.invoke_principals for e in expected.values() if e.public_invoke] == [("*",), ("*",)]
    assert sorted(e.public_actions for e in expected.values() if e.public_actions) == [
        ("lambda:GetFunction",),  # anyone may download the code: public, not invocable
        ("lambda:InvokeFunction",),
        ("lambda:InvokeFunction", "lambda:InvokeFunctionUrl"),  # the public URL's grants
    ]
    assert sum(e.public_url for e in expected.values()) == 1
    principals = {p for e in expected.values() for p in e.invoke_principals}
    assert principals == {"*", "apigateway.amazonaws.com", "s3.amazonaws.com"}
    assert sorted(e.reserved_concurrency for e in expected.values() if e.reserved_concurrency is not None) == [5, 100]
    assert len(seeded.publicly_invocable) == 2
    assert sum(1 for e in expected.values() if e.invocations_30d > 0) > len(expected) / 2
    for unused in ("reports-000", "reports-001", "dev-java-000"):  # python3.8, java8: deprecated, never invoked
        assert (_named(seeded, unused).invocations_30d, _named(seeded, unused).last_invocation_day) == (0, None)


def test_usage_edges_are_seeded(seeded: Seeded) -> None:
    day = seeded.day
    assert day is not None
    etl, ingest, image = _named(seeded, "etl-000"), _named(seeded, "ingest-000"), _named(seeded, "dev-image-000")
    assert (etl.invocations_30d, etl.last_invocation_day) == (72, day - timedelta(days=1))  # two datapoints on day 1
    assert (ingest.invocations_30d, ingest.last_invocation_day) == (7, day - timedelta(days=10))  # day 2 had 0
    assert (image.invocations_30d, image.last_invocation_day) == (0, None)  # invoked 40 days ago only


def _tags_by_get_resources(account: str, region: str) -> dict[str, dict[str, str]]:
    client = member_client("resourcegroupstaggingapi", account, region)
    found: dict[str, dict[str, str]] = {}
    token = ""
    while True:
        page = client.get_resources(
            ResourceTypeFilters=["lambda:function"], ResourcesPerPage=100, PaginationToken=token
        )
        for mapping in page["ResourceTagMappingList"]:
            found[mapping["ResourceARN"]] = {tag["Key"]: tag["Value"] for tag in mapping["Tags"]}
        token = page.get("PaginationToken", "")
        if not token:
            return found


def test_tags_are_read_through_get_resources(org: Seeded) -> None:
    for account, region in _targets(org):
        want = {arn: dict(org.expected[arn].tags) for arn in org.functions[(account, region)] if org.expected[arn].tags}
        assert _tags_by_get_resources(account, region) == want, (account, region)


def _principal(statement: dict[str, Any]) -> str:
    principal = statement["Principal"]
    return principal if isinstance(principal, str) else str(next(iter(principal.values())))


def _policy(client: Any, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(sorted principals granted an invoke action, sorted actions granted to "*" with no condition) of the
    function's policy, each statement one action as the seeder grants them; ((), ()) when it has none."""
    try:
        statements = json.loads(client.get_policy(FunctionName=name)["Policy"])["Statement"]
    except ClientError as err:
        assert err.response["Error"]["Code"] == "ResourceNotFoundException"
        return (), ()
    public = {s["Action"] for s in statements if _principal(s) == "*" and "Condition" not in s}
    invoking = {_principal(s) for s in statements if s["Action"] in INVOKE_ACTIONS}
    return tuple(sorted(invoking)), tuple(sorted(public))


def test_urls_policies_and_concurrency_are_readable_per_function(org: Seeded) -> None:
    for account, region in _targets(org):
        client = member_client("lambda", account, region)
        for arn in sorted(org.functions[(account, region)]):
            name, want = arn.rsplit(":", 1)[1], org.expected[arn]
            urls = client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]
            assert tuple(sorted({u["AuthType"] for u in urls})) == want.url_auth_types, arn
            assert _policy(client, name) == (want.invoke_principals, want.public_actions), arn
            reserved = client.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
            assert reserved == want.reserved_concurrency, arn
    prod = member_client("lambda", PROD, "us-east-1")
    assert len(prod.list_function_url_configs(FunctionName="orders-001")["FunctionUrlConfigs"]) == 2  # + alias


def _window(day: date) -> tuple[datetime, datetime]:
    end = datetime.combine(day + timedelta(days=1), time(), UTC)
    return end - timedelta(days=USAGE_DAYS), end


def _queries(names: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "Id": f"m{i}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Lambda",
                    "MetricName": "Invocations",
                    "Dimensions": [{"Name": "FunctionName", "Value": name}],
                },
                "Period": 86400,
                "Stat": "Sum",
            },
        }
        for i, name in enumerate(names)
    ]


def _usage(results: list[dict[str, Any]], names: list[str]) -> dict[str, tuple[int, date | None]]:
    """Function name -> (Sum over the window, last day with Invocations > 0), from MetricDataResults."""
    found = {}
    for result in results:
        stamps = [s if isinstance(s, datetime) else datetime.fromtimestamp(s, UTC) for s in result["Timestamps"]]
        used = [
            stamp.astimezone(UTC).date() for stamp, value in zip(stamps, result["Values"], strict=True) if value > 0
        ]
        found[names[int(result["Id"][1:])]] = (int(sum(result["Values"])), max(used, default=None))
    return found


def _read_usage(
    wire: str, account: str, region: str, names: list[str], day: date
) -> dict[str, tuple[int, date | None]]:
    start, end = _window(day)
    if wire == "cbor":  # boto3
        cloudwatch = member_client("cloudwatch", account, region)
        reply = cloudwatch.get_metric_data(MetricDataQueries=_queries(names), StartTime=start, EndTime=end)
        return _usage(reply["MetricDataResults"], names)
    caller = JsonCaller(os.environ["AWS_ENDPOINT_URL"], member_credentials(account), region)  # the job's wire
    payload = {"MetricDataQueries": _queries(names), "StartTime": start.timestamp(), "EndTime": end.timestamp()}
    reply_json = caller.call(MONITORING, "GetMetricData", payload)
    assert reply_json.status == 200, reply_json.body
    return _usage(reply_json.body["MetricDataResults"], names)


@pytest.mark.parametrize("wire", ["cbor", "json"])
def test_invocations_are_read_through_get_metric_data(org: Seeded, wire: str) -> None:
    assert org.day is not None
    for account, region in _targets(org):
        arns = sorted(org.functions[(account, region)])
        names = [arn.rsplit(":", 1)[1] for arn in arns]
        got = _read_usage(wire, account, region, names, org.day)
        want = {
            n: (org.expected[a].invocations_30d, org.expected[a].last_invocation_day)
            for n, a in zip(names, arns, strict=True)
        }
        assert got == want, (account, region)


def test_metrics_land_in_the_member_account_only(org: Seeded) -> None:
    assert org.day is not None
    assert _read_usage("json", PROD, "us-east-1", ["orders-000"], org.day) == {
        "orders-000": (1400, org.day - timedelta(days=1))
    }
    assert _read_usage("json", DEV, "us-east-1", ["orders-000"], org.day) == {"orders-000": (0, None)}


def test_both_nights_seed_the_same_owners_and_exposure() -> None:
    """So that, once the demo asks for enrichments, the diff of its two nights stays NIGHT_TWO_CHANGES."""

    def facts(night: int) -> dict[tuple[str, str, str], tuple[Any, ...]]:
        found = {}
        for member in demo_org("s", night):
            for region, specs in member.functions.items():
                for spec in specs:
                    for i in range(spec.count):
                        name = function_name(spec, i)
                        extras = member.extras.get((region, name), Extras())
                        found[(member.account_id, region, name)] = (dict(spec.tags), spec.invocations, extras)
        return found

    one, two = facts(1), facts(2)
    assert len(one.keys() & two.keys()) == 157
    assert {key: one[key] for key in one.keys() & two.keys()} == {key: two[key] for key in one.keys() & two.keys()}


def test_extras_for_a_function_that_is_not_seeded_are_refused(emu: Emulator) -> None:
    member = MemberSpec(
        "291000000009",
        "typo",
        {"us-east-1": (FunctionSpec("real"),)},
        {("us-east-1", "reel-000"): Extras(reserved_concurrency=1)},
    )
    with pytest.raises(ValueError, match="reel-000"):
        seed_members(emu, [member])
