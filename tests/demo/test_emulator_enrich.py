"""The emulator's side of the job's enrichments, over real HTTP: ListFunctionUrlConfigs (which stock moto
does not answer), the test knobs that deny, throttle or break those reads, and the request log that tells
how many requests an account-region saw in any second."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import seed_members
from support.emulator_faults import BrokenFunctions, DeniedOperations, UrlPageLimit
from support.signed import MONITORING, TAGGING, JsonCaller, member_client, member_credentials

from inventory.demo.emulator import Emulator
from inventory.demo.emulator_extras import ENRICH_OPERATIONS, RequestLog
from inventory.demo.seed import FunctionSpec, MemberSpec
from inventory.demo.seed_extras import Extras

ACCOUNT = "290000000001"  # only this module uses it
OTHER = "290000000002"
REGION, SECOND = "us-east-1", "eu-west-1"
URLS = (("", "NONE"), ("live", "AWS_IAM"), ("beta", "AWS_IAM"))  # fn-000: its own URL and two aliases'


@pytest.fixture(scope="module")
def seeded(emulator: Emulator) -> None:
    family = (FunctionSpec("fn", 3, tags={"team": "search"}),)
    seed_members(
        emulator,
        [
            MemberSpec(ACCOUNT, "enrich", {REGION: family, SECOND: family}, {(REGION, "fn-000"): Extras(urls=URLS)}),
            MemberSpec(OTHER, "other", {REGION: family}),
        ],
    )


@pytest.fixture
def lam(emu: Emulator, seeded: None) -> Iterator[Any]:
    yield member_client("lambda", ACCOUNT, REGION)


def _urls(client: Any, function: str, **paging: Any) -> list[dict[str, Any]]:
    page = client.list_function_url_configs(FunctionName=function, **paging)
    return list(page["FunctionUrlConfigs"])


def _error(call: Any, **kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def test_url_configs_are_listed_page_by_page(lam: Any) -> None:
    pages: list[list[dict[str, Any]]] = []
    marker: str | None = None
    while True:
        paging = {"MaxItems": 1, **({"Marker": marker} if marker else {})}
        page = lam.list_function_url_configs(FunctionName="fn-000", **paging)
        pages.append(page["FunctionUrlConfigs"])
        marker = page.get("NextMarker")
        if marker is None:
            break
    assert [len(page) for page in pages] == [1, 1, 1]
    configs = [config for page in pages for config in page]
    base = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn-000"
    assert [(c["FunctionArn"], c["AuthType"]) for c in configs] == [
        (base, "NONE"),
        (f"{base}:beta", "AWS_IAM"),
        (f"{base}:live", "AWS_IAM"),
    ]
    assert len({c["FunctionUrl"] for c in configs}) == 3
    assert all(".lambda-url.us-east-1.on.aws" in c["FunctionUrl"] for c in configs)
    assert all({"CreationTime", "LastModifiedTime"} <= c.keys() for c in configs)
    whole = lam.list_function_url_configs(FunctionName="fn-000")
    assert whole["FunctionUrlConfigs"] == configs and "NextMarker" not in whole


def test_a_function_without_url_lists_none_and_an_unknown_one_is_404(lam: Any) -> None:
    assert _urls(lam, "fn-001") == []
    status, code, message = _error(lam.list_function_url_configs, FunctionName="no-such-function")
    assert (status, code) == (404, "ResourceNotFoundException")
    assert f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:no-such-function" in message


def test_url_configs_belong_to_the_calling_account_and_region(emu: Emulator, seeded: None) -> None:
    """fn-000 exists in three places; only ACCOUNT's us-east-1 copy has URLs."""
    assert _urls(member_client("lambda", ACCOUNT, SECOND), "fn-000") == []
    assert _urls(member_client("lambda", OTHER, REGION), "fn-000") == []


def test_bad_paging_parameters_are_refused(lam: Any) -> None:
    for paging in ({"Marker": "nonsense"}, {"MaxItems": 51}):
        status, code, _ = _error(lam.list_function_url_configs, FunctionName="fn-000", **paging)
        assert (status, code) == (400, "InvalidParameterValueException")


def test_url_page_limit_caps_a_page_below_max_items(emu: Emulator, lam: Any) -> None:
    emu.app.behaviour.faults.append(UrlPageLimit(emu.app.urls, 2))
    first = lam.list_function_url_configs(FunctionName="fn-000", MaxItems=50)
    assert len(first["FunctionUrlConfigs"]) == 2 and first["NextMarker"]
    rest = lam.list_function_url_configs(FunctionName="fn-000", MaxItems=50, Marker=first["NextMarker"])
    assert len(rest["FunctionUrlConfigs"]) == 1 and "NextMarker" not in rest


def test_alias_url_configs_can_be_created_read_and_deleted(lam: Any) -> None:
    create = lam.create_function_url_config
    assert _error(create, FunctionName="fn-002", Qualifier="nope", AuthType="NONE")[:2] == (
        404,
        "ResourceNotFoundException",
    )
    lam.create_alias(FunctionName="fn-002", Name="blue", FunctionVersion="$LATEST")
    made = lam.create_function_url_config(FunctionName="fn-002", Qualifier="blue", AuthType="AWS_IAM")
    assert made["FunctionArn"].endswith(":function:fn-002:blue")
    assert _error(create, FunctionName="fn-002", Qualifier="blue", AuthType="NONE")[1] == "ResourceConflictException"
    lam.update_function_url_config(FunctionName="fn-002", Qualifier="blue", AuthType="NONE")
    assert lam.get_function_url_config(FunctionName="fn-002", Qualifier="blue")["AuthType"] == "NONE"
    assert [c["AuthType"] for c in _urls(lam, "fn-002")] == ["NONE"]
    lam.delete_function_url_config(FunctionName="fn-002", Qualifier="blue")
    assert _urls(lam, "fn-002") == []


def _wire(account: str, region: str) -> JsonCaller:
    """The job's wire for tagging and CloudWatch: JSON 1.1 / 1.0 (the test environment names the endpoint)."""
    return JsonCaller(os.environ["AWS_ENDPOINT_URL"], member_credentials(account), region)


def _tags(account: str, region: str) -> tuple[int, str]:
    reply = _wire(account, region).call(TAGGING, "GetResources", {"ResourceTypeFilters": ["lambda:function"]})
    return reply.status, reply.error_code


def _usage(account: str, region: str) -> tuple[int, str]:
    metric = {"Namespace": "AWS/Lambda", "MetricName": "Invocations"}
    query = {"Id": "m0", "MetricStat": {"Metric": metric, "Period": 86400, "Stat": "Sum"}}
    payload = {"MetricDataQueries": [query], "StartTime": 1_700_000_000, "EndTime": 1_700_086_400}
    reply = _wire(account, region).call(MONITORING, "GetMetricData", payload)
    return reply.status, reply.error_code


def test_denied_operations_answer_403_for_that_account_and_region_only(emu: Emulator, lam: Any) -> None:
    denied = {
        (ACCOUNT, REGION, "GetResources"),
        (ACCOUNT, "*", "GetMetricData"),
        (ACCOUNT, REGION, "ListFunctionUrlConfigs"),
        (ACCOUNT, REGION, "GetPolicy"),
        (ACCOUNT, REGION, "GetFunctionConcurrency"),
    }
    emu.app.behaviour.faults.append(DeniedOperations(denied))
    assert _tags(ACCOUNT, REGION) == (403, "AccessDeniedException")
    assert _tags(ACCOUNT, SECOND) == (200, "")  # only REGION's is denied
    assert _tags(OTHER, REGION) == (200, "")
    assert _usage(ACCOUNT, REGION) == _usage(ACCOUNT, SECOND) == (403, "AccessDeniedException")  # "*": every region
    assert _usage(OTHER, REGION) == (200, "")
    for call in (lam.list_function_url_configs, lam.get_policy, lam.get_function_concurrency):
        status, code, message = _error(call, FunctionName="fn-000")
        assert (status, code) == (403, "AccessDeniedException")
        assert "is not authorized to perform: lambda:" in message
    assert lam.list_functions()["Functions"], "ListFunctions is not an enrichment: never denied by these"
    other = member_client("lambda", ACCOUNT, SECOND)
    assert other.get_function_concurrency(FunctionName="fn-000").get("ReservedConcurrentExecutions") is None


def test_a_denial_reaches_a_cbor_client_as_access_denied(emu: Emulator, seeded: None) -> None:
    """boto3 speaks RPC v2 CBOR to CloudWatch: the denial comes back in CBOR, with its code."""
    denied = {(ACCOUNT, REGION, "GetMetricData"), (ACCOUNT, REGION, "GetResources")}
    emu.app.behaviour.faults.append(DeniedOperations(denied))
    cloudwatch = member_client("cloudwatch", ACCOUNT, REGION)
    status, code, message = _error(cloudwatch.get_metric_data, MetricDataQueries=[], StartTime=0, EndTime=60)
    assert (status, code) == (403, "AccessDeniedException")
    assert "cloudwatch:GetMetricData" in message
    tagging = member_client("resourcegroupstaggingapi", ACCOUNT, REGION)
    assert _error(tagging.get_resources)[1] == "AccessDeniedException"


def test_throttled_operations_answer_each_service_s_throttling_error(emu: Emulator, lam: Any) -> None:
    emu.app.behaviour.throttle_rate = 1.0
    emu.app.behaviour.throttle_operations = {"GetPolicy", "GetResources", "GetMetricData"}
    assert _error(lam.get_policy, FunctionName="fn-000")[:2] == (429, "TooManyRequestsException")
    assert _tags(ACCOUNT, REGION) == (400, "ThrottledException")
    assert _usage(ACCOUNT, REGION) == (400, "Throttling")
    assert lam.get_function_concurrency(FunctionName="fn-000").get("ReservedConcurrentExecutions") is None
    assert emu.app.stats.throttled == 3


def test_a_broken_function_answers_500_every_time(emu: Emulator, lam: Any) -> None:
    emu.app.behaviour.faults.append(BrokenFunctions({(ACCOUNT, "fn-001", "GetPolicy")}))
    for _ in range(3):
        assert _error(lam.get_policy, FunctionName="fn-001")[:2] == (500, "ServiceException")
    assert _error(lam.get_policy, FunctionName="fn-002")[:2] == (404, "ResourceNotFoundException")  # no policy
    assert _urls(lam, "fn-001") == []


def test_every_request_is_logged_with_its_operation(emu: Emulator, lam: Any) -> None:
    emu.app.reset_stats()
    lam.list_functions()
    lam.list_function_url_configs(FunctionName="fn-000")
    lam.get_function_concurrency(FunctionName="fn-000")
    _error(lam.get_policy, FunctionName="fn-000")
    _tags(ACCOUNT, REGION)
    _usage(ACCOUNT, REGION)
    member_client("cloudwatch", ACCOUNT, REGION).get_metric_data(MetricDataQueries=[], StartTime=0, EndTime=60)  # CBOR
    log = emu.app.stats.requests
    assert {op for op in ENRICH_OPERATIONS if log.count(ACCOUNT, REGION, operation=op)} == ENRICH_OPERATIONS
    assert log.count(ACCOUNT, REGION, "monitoring", "GetMetricData") == 2
    assert log.count(ACCOUNT, REGION, "lambda") == 4
    assert log.count(ACCOUNT, REGION) == 7
    assert emu.app.stats.list_calls[(ACCOUNT, REGION)] == 1  # the ListFunctions counter still counts
    assert log.max_in_window(ACCOUNT, REGION, window=600) == 7
    assert 1 <= log.max_in_window(ACCOUNT, REGION) <= 7
    assert log.max_rates(window=600)[(ACCOUNT, REGION)] == 7
    assert log.max_in_window(ACCOUNT, REGION, window=600, services={"tagging"}) == 1


def test_the_densest_window_is_counted_half_open() -> None:
    log = RequestLog()
    for at in (0.0, 0.1, 0.5, 0.99, 1.0, 1.5, 3.0):
        log.add("a", "r", "lambda", "GetPolicy", at=at)
    for at in (0.2, 0.3):
        log.add("a", "r", "tagging", "GetResources", at=at)
        log.add("b", "r", "lambda", "GetPolicy", at=at)
    assert log.max_in_window("a", "r") == 6  # [0, 1): 0, .1, .2, .3, .5, .99 -- 1.0 is out
    assert log.max_in_window("a", "r", services={"lambda"}) == 4
    assert log.max_in_window("a", "r", window=0.009) == 1  # .99 and 1.0 are .01 apart
    assert log.max_in_window("a", "other") == 0
    assert log.max_rates() == {("a", "r"): 6, ("b", "r"): 2}
    assert log.count("a") == 9 and log.count("a", "r", "tagging") == 2
