"""The emulator's side of the Lambda estate, over real HTTP through boto3 (botocore signs and sends each call
as the job will): the lists paged like real Lambda (MaxItems=1 -> one item a page, NextMarker until the last),
what stock moto cannot keep (alias-qualified and layer version policies, event invoke configs, provisioned
concurrency, code signing configs) answered in botocore's shapes, and every answer confined to the calling
account and region."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import seed_members
from support.signed import member_client

from inventory.demo.emulator import Emulator
from inventory.demo.emulator_extras import ESTATE_OPERATIONS
from inventory.demo.estate import (
    AliasSpec,
    EstateSpec,
    FunctionEstateSpec,
    InvokeSpec,
    LayerShare,
    LayerSpec,
    MappingSpec,
    SigningSpec,
)
from inventory.demo.seed import FunctionSpec, MemberSpec, Seeded
from inventory.demo.seed_extras import Extras, Grant

ACCOUNT, OTHER = "293000000001", "293000000002"  # only this module uses them
REGION, SECOND = "us-east-1", "eu-west-1"
ORG = "o-0123456789"
ESTATE = EstateSpec(
    layers=(
        LayerSpec("libs", 3, runtimes=("python3.12",), shares=(LayerShare(2, "anyone"), LayerShare(3, "org", ORG))),
        LayerSpec("tools", 1),
    ),
    mappings=(
        MappingSpec("fn-000", "sqs:q-a", batch_size=10),
        MappingSpec("fn-001", "sqs:q-b", batch_size=20, batching_window=3, filter_patterns=('{"a": [1]}',)),
        MappingSpec("fn-001", "kinesis:s", batch_size=100, starting_position="LATEST", on_failure="sqs:dlq"),
    ),
    signing=(SigningSpec("first", ("p/1",)), SigningSpec("second", ("p/2", "p/3"), untrusted="Enforce")),
    functions={
        "fn-000": FunctionEstateSpec(
            versions=2,
            aliases=(
                AliasSpec("blue", "1", provisioned=3),
                AliasSpec("canary", "1", weights={"2": 0.1}, grants=(Grant("anyone", "*"),)),
                AliasSpec("green", "2", provisioned=4),
            ),
            invoke=(
                InvokeSpec(retry_attempts=1, on_success="sqs:q-a"),
                InvokeSpec("blue", max_event_age=120),
                InvokeSpec("green", retry_attempts=0, on_failure="sqs:dlq"),
            ),
            signing="second",
        ),
        "fn-002": FunctionEstateSpec(versions=1, aliases=(AliasSpec("scratch", "1"),)),  # the tests change it
    },
)
FAMILY = (FunctionSpec("fn", 3, layers=("libs", "tools")),)
PLAIN = (FunctionSpec("fn", 3),)
LISTS: dict[str, tuple[str, str, dict[str, Any]]] = {  # boto3 method -> (member, operation, arguments)
    "list_event_source_mappings": ("EventSourceMappings", "ListEventSourceMappings", {}),
    "list_layers": ("Layers", "ListLayers", {}),
    "list_layer_versions": ("LayerVersions", "ListLayerVersions", {"LayerName": "libs"}),
    "list_code_signing_configs": ("CodeSigningConfigs", "ListCodeSigningConfigs", {}),
    "list_aliases": ("Aliases", "ListAliases", {"FunctionName": "fn-000"}),
    "list_function_event_invoke_configs": (
        "FunctionEventInvokeConfigs",
        "ListFunctionEventInvokeConfigs",
        {"FunctionName": "fn-000"},
    ),
    "list_provisioned_concurrency_configs": (
        "ProvisionedConcurrencyConfigs",
        "ListProvisionedConcurrencyConfigs",
        {"FunctionName": "fn-000"},
    ),
}
COUNTS = {  # what each list holds in ACCOUNT/REGION
    "list_event_source_mappings": 3,
    "list_layers": 2,
    "list_layer_versions": 3,
    "list_code_signing_configs": 2,
    "list_aliases": 3,
    "list_function_event_invoke_configs": 3,
    "list_provisioned_concurrency_configs": 2,
}


@pytest.fixture(scope="module")
def seeded(emulator: Emulator) -> Seeded:
    """The estate in ACCOUNT/REGION only; the same function names, without it, in ACCOUNT/SECOND and OTHER."""
    return seed_members(
        emulator,
        [
            MemberSpec(ACCOUNT, "estate", {REGION: FAMILY, SECOND: PLAIN}, estate={REGION: ESTATE}),
            MemberSpec(OTHER, "other", {REGION: PLAIN}, {(REGION, "fn-000"): Extras(urls=(("live", "AWS_IAM"),))}),
        ],
    )


@pytest.fixture
def clients(emu: Emulator, seeded: Seeded) -> Iterator[Callable[[str, str], Any]]:
    made: dict[tuple[str, str], Any] = {}

    def client(account: str = ACCOUNT, region: str = REGION) -> Any:
        if (account, region) not in made:
            made[(account, region)] = member_client("lambda", account, region)
        return made[(account, region)]

    yield client


def pages(call: Callable[..., dict[str, Any]], member: str, **args: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list, MaxItems=1, following NextMarker."""
    found, marker = [], None
    while True:
        answer = call(MaxItems=1, **args, **({"Marker": marker} if marker else {}))
        found.append(answer[member])
        marker = answer.get("NextMarker")
        if marker is None:
            return found


def _error(call: Callable[..., Any], **args: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call(**args)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


@pytest.mark.parametrize("method", sorted(LISTS))
def test_each_list_is_paged_one_item_a_page(clients: Callable[..., Any], method: str) -> None:
    member, _, args = LISTS[method]
    call = getattr(clients(), method)
    paged = pages(call, member, **args)
    assert [len(page) for page in paged] == [1] * COUNTS[method]
    whole = call(**args)
    assert whole[member] == [item for page in paged for item in page] and "NextMarker" not in whole


@pytest.mark.parametrize("method", sorted(LISTS))
@pytest.mark.parametrize(("account", "region"), [(ACCOUNT, SECOND), (OTHER, REGION)])
def test_each_list_answers_for_its_own_account_and_region(
    clients: Callable[..., Any], method: str, account: str, region: str
) -> None:
    member, _, args = LISTS[method]
    if method == "list_aliases" and account == OTHER:  # OTHER's fn-000 has an alias of its own, for its URL
        assert [a["AliasArn"] for a in clients(account, region).list_aliases(**args)["Aliases"]] == [
            f"arn:aws:lambda:{REGION}:{OTHER}:function:fn-000:live"
        ]
        return
    assert pages(getattr(clients(account, region), method), member, **args) == [[]]


def test_the_other_reads_answer_for_their_own_account_and_region(clients: Callable[..., Any]) -> None:
    for account, region in ((ACCOUNT, SECOND), (OTHER, REGION)):
        client = clients(account, region)
        assert client.get_function_code_signing_config(FunctionName="fn-000")["CodeSigningConfigArn"] == ""
        assert _error(client.get_layer_version_policy, LayerName="libs", VersionNumber=2)[:2] == (
            404,
            "ResourceNotFoundException",
        )
        status, code, message = _error(client.get_policy, FunctionName="fn-000", Qualifier="canary")
        assert (status, code) == (404, "ResourceNotFoundException")
        assert message == f"Function not found: arn:aws:lambda:{region}:{account}:function:fn-000:canary"
    mine = clients().list_code_signing_configs()["CodeSigningConfigs"][0]["CodeSigningConfigArn"]
    other = clients(ACCOUNT, SECOND)
    status, code, _ = _error(other.put_function_code_signing_config, FunctionName="fn-001", CodeSigningConfigArn=mine)
    assert (status, code) == (404, "CodeSigningConfigNotFoundException")
    for account, region in ((ACCOUNT, SECOND), (OTHER, REGION)):  # as Lambda answers a config deleted meanwhile
        listed = clients(account, region).list_functions_by_code_signing_config
        assert _error(listed, CodeSigningConfigArn=mine)[:2] == (404, "ResourceNotFoundException")


def test_lists_refuse_what_real_lambda_refuses(clients: Callable[..., Any]) -> None:
    client = clients()
    assert _error(client.list_layers, MaxItems=51)[:2] == (400, "InvalidParameterValueException")  # at most 50
    assert _error(client.list_aliases, FunctionName="fn-000", Marker="not-a-marker")[:2] == (
        400,
        "InvalidParameterValueException",
    )
    status, code, message = _error(client.list_aliases, FunctionName="nope")
    assert (status, code, message) == (
        404,
        "ResourceNotFoundException",
        f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:nope",
    )
    assert len(client.list_event_source_mappings(MaxItems=10000)["EventSourceMappings"]) == 3  # its bounds: 1-10000


def test_lists_filter_as_real_lambda_filters(clients: Callable[..., Any]) -> None:
    client = clients()
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:q-b"
    assert [
        m["EventSourceArn"] for m in client.list_event_source_mappings(EventSourceArn=queue)["EventSourceMappings"]
    ] == [queue]
    assert len(client.list_event_source_mappings(FunctionName="fn-001")["EventSourceMappings"]) == 2
    assert [a["Name"] for a in client.list_aliases(FunctionName="fn-000", FunctionVersion="2")["Aliases"]] == ["green"]
    assert [v["Version"] for v in client.list_layer_versions(LayerName="libs")["LayerVersions"]] == [3, 2, 1]
    python = client.list_layers(CompatibleRuntime="python3.12")["Layers"]
    assert [(layer["LayerName"], layer["LatestMatchingVersion"]["Version"]) for layer in python] == [("libs", 3)]
    assert client.list_layers(CompatibleRuntime="nodejs20.x")["Layers"] == []


def test_shapes_are_botocores_and_timestamps_as_lambda_sends_them(clients: Callable[..., Any]) -> None:
    client = clients()
    raw: list[dict[str, Any]] = []
    client.meta.events.register("after-call", lambda http_response, **_: raw.append(json.loads(http_response.text)))
    client.list_event_source_mappings()
    client.list_function_event_invoke_configs(FunctionName="fn-000")
    client.list_provisioned_concurrency_configs(FunctionName="fn-000")
    client.list_code_signing_configs()
    mappings, invoke, provisioned, signing = raw
    assert all("Tags" not in m and None not in m.values() for m in mappings["EventSourceMappings"])
    assert all(isinstance(m["LastModified"], float) for m in mappings["EventSourceMappings"])  # a timestamp
    assert all(isinstance(c["LastModified"], float) for c in invoke["FunctionEventInvokeConfigs"])
    assert all(isinstance(c["LastModified"], str) for c in provisioned["ProvisionedConcurrencyConfigs"])  # a string
    assert all(c["CodeSigningConfigId"].startswith("csc-") for c in signing["CodeSigningConfigs"])
    base = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn-000"
    assert {c["FunctionArn"] for c in invoke["FunctionEventInvokeConfigs"]} == {
        f"{base}:$LATEST",
        f"{base}:blue",
        f"{base}:green",
    }
    blue = client.get_function_event_invoke_config(FunctionName="fn-000", Qualifier="blue")
    assert blue["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}} and "MaximumRetryAttempts" not in blue


def test_alias_policies_are_the_aliases_own(clients: Callable[..., Any]) -> None:
    client = clients()
    statement = json.loads(client.get_policy(FunctionName="fn-000", Qualifier="canary")["Policy"])["Statement"]
    assert statement == [
        {
            "Sid": "anyone",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "lambda:InvokeFunction",
            "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn-000:canary",
        }
    ]
    for qualifier in ({}, {"Qualifier": "blue"}, {"Qualifier": "1"}):  # the function's, another alias', a version's
        assert _error(client.get_policy, FunctionName="fn-000", **qualifier)[:2] == (404, "ResourceNotFoundException")
    client.add_permission(
        FunctionName="fn-002",
        Qualifier="scratch",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceAccount=ACCOUNT,
    )
    (added,) = json.loads(client.get_policy(FunctionName="fn-002", Qualifier="scratch")["Policy"])["Statement"]
    assert added["Principal"] == {"Service": "s3.amazonaws.com"}
    assert added["Condition"] == {"StringEquals": {"AWS:SourceAccount": ACCOUNT}}
    client.remove_permission(FunctionName="fn-002", Qualifier="scratch", StatementId="s3")
    assert _error(client.get_policy, FunctionName="fn-002", Qualifier="scratch")[:2] == (
        404,
        "ResourceNotFoundException",
    )


def test_layer_version_policies_are_written_as_lambda_writes_them(clients: Callable[..., Any]) -> None:
    client = clients()
    policies = {v: client.get_layer_version_policy(LayerName="libs", VersionNumber=v)["Policy"] for v in (2, 3)}
    (anyone,), (org,) = (json.loads(policies[v])["Statement"] for v in (2, 3))
    assert (anyone["Principal"], anyone["Action"], "Condition" in anyone) == ("*", "lambda:GetLayerVersion", False)
    assert org["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG}}
    assert org["Resource"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:libs:3"
    assert _error(client.get_layer_version_policy, LayerName="libs", VersionNumber=1)[:2] == (
        404,
        "ResourceNotFoundException",
    )
    again = {"StatementId": "anyone", "Action": "lambda:GetLayerVersion", "Principal": "*"}
    assert _error(client.add_layer_version_permission, LayerName="libs", VersionNumber=2, **again)[:2] == (
        409,
        "ResourceConflictException",
    )


def test_event_invoke_configs_are_kept_per_qualifier(clients: Callable[..., Any]) -> None:
    client = clients()
    client.put_function_event_invoke_config(FunctionName="fn-002", Qualifier="scratch", MaximumRetryAttempts=2)
    client.update_function_event_invoke_config(FunctionName="fn-002", Qualifier="scratch", MaximumEventAgeInSeconds=60)
    got = client.get_function_event_invoke_config(FunctionName="fn-002", Qualifier="scratch")
    assert (got["MaximumRetryAttempts"], got["MaximumEventAgeInSeconds"]) == (2, 60)  # the update merged
    assert _error(client.get_function_event_invoke_config, FunctionName="fn-002")[:2] == (
        404,
        "ResourceNotFoundException",
    )
    too_many = _error(client.put_function_event_invoke_config, FunctionName="fn-002", MaximumRetryAttempts=3)
    assert too_many[:2] == (400, "ValidationException")
    client.delete_function_event_invoke_config(FunctionName="fn-002", Qualifier="scratch")
    assert client.list_function_event_invoke_configs(FunctionName="fn-002")["FunctionEventInvokeConfigs"] == []


def test_provisioned_concurrency_is_allocated_at_once_on_published_qualifiers(clients: Callable[..., Any]) -> None:
    client = clients()
    put = client.put_provisioned_concurrency_config(
        FunctionName="fn-002", Qualifier="1", ProvisionedConcurrentExecutions=2
    )
    assert (put["Status"], put["AllocatedProvisionedConcurrentExecutions"]) == ("IN_PROGRESS", 0)
    got = client.get_provisioned_concurrency_config(FunctionName="fn-002", Qualifier="1")
    assert (got["Status"], got["AvailableProvisionedConcurrentExecutions"]) == ("READY", 2)
    latest = _error(
        client.put_provisioned_concurrency_config,
        FunctionName="fn-002",
        Qualifier="$LATEST",
        ProvisionedConcurrentExecutions=1,
    )
    assert latest[:2] == (400, "InvalidParameterValueException")
    client.delete_provisioned_concurrency_config(FunctionName="fn-002", Qualifier="1")
    gone = _error(client.get_provisioned_concurrency_config, FunctionName="fn-002", Qualifier="1")
    assert gone[:2] == (404, "ProvisionedConcurrencyConfigNotFoundException")


def test_code_signing_configs_and_the_function_using_one(clients: Callable[..., Any]) -> None:
    client = clients()
    configs = {c["Description"]: c for c in client.list_code_signing_configs()["CodeSigningConfigs"]}
    assert configs["second"]["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Enforce"}
    assert configs["first"]["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Warn"}  # the default
    assert (
        client.get_code_signing_config(CodeSigningConfigArn=configs["first"]["CodeSigningConfigArn"])[
            "CodeSigningConfig"
        ]
        == configs["first"]
    )
    used = client.get_function_code_signing_config(FunctionName="fn-000")
    assert used == {**used, "CodeSigningConfigArn": configs["second"]["CodeSigningConfigArn"], "FunctionName": "fn-000"}
    arn, second = configs["first"]["CodeSigningConfigArn"], configs["second"]["CodeSigningConfigArn"]

    def using(config: str) -> list[list[str]]:  # ListFunctionsByCodeSigningConfig, one function a page
        return pages(client.list_functions_by_code_signing_config, "FunctionArns", CodeSigningConfigArn=config)

    fn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"
    assert (using(arn), using(second)) == ([[]], [[f"{fn}:fn-000"]])
    client.put_function_code_signing_config(FunctionName="fn-002", CodeSigningConfigArn=arn)
    client.put_function_code_signing_config(FunctionName=f"{fn}:fn-001", CodeSigningConfigArn=arn)  # by ARN
    assert client.get_function_code_signing_config(FunctionName="fn-002")["CodeSigningConfigArn"] == arn
    assert using(arn) == [[f"{fn}:fn-001"], [f"{fn}:fn-002"]]
    client.delete_function_code_signing_config(FunctionName="fn-002")
    client.delete_function_code_signing_config(FunctionName="fn-001")
    assert client.get_function_code_signing_config(FunctionName="fn-002")["CodeSigningConfigArn"] == ""
    assert using(arn) == [[]]


def test_the_request_log_names_each_estate_operation(emu: Emulator, clients: Callable[..., Any]) -> None:
    client = clients()
    client.list_provisioned_concurrency_configs(FunctionName="fn-000")
    client.get_provisioned_concurrency_config(FunctionName="fn-000", Qualifier="blue")
    client.get_policy(FunctionName="fn-000", Qualifier="canary")
    log = emu.app.stats.requests
    for operation in ("ListProvisionedConcurrencyConfigs", "GetProvisionedConcurrencyConfig", "GetPolicy"):
        assert log.count(ACCOUNT, REGION, "lambda", operation) == 1, operation


def test_each_estate_read_can_be_throttled_as_the_demo_throttles_it(emu: Emulator, clients: Callable[..., Any]) -> None:
    """ESTATE_OPERATIONS names every read the estate's enrichments make: each answers Lambda's 429 when throttled."""
    client = clients()
    reads: dict[str, Callable[[], Any]] = {
        operation: (lambda method=method, args=args: getattr(client, method)(**args))
        for method, (_, operation, args) in LISTS.items()
    }
    signing = client.list_code_signing_configs()["CodeSigningConfigs"][0]["CodeSigningConfigArn"]
    reads["ListFunctionsByCodeSigningConfig"] = lambda: client.list_functions_by_code_signing_config(
        CodeSigningConfigArn=signing
    )
    assert set(reads) == ESTATE_OPERATIONS
    emu.app.behaviour.throttle_rate = 1.0
    emu.app.behaviour.throttle_operations = set(ESTATE_OPERATIONS)
    for operation, read in sorted(reads.items()):
        assert _error(read)[:2] == (429, "TooManyRequestsException"), operation
    assert emu.app.stats.throttled == len(ESTATE_OPERATIONS)
    emu.app.behaviour.throttle_rate = 0.0
    assert all(read() for read in reads.values())  # answered again once not throttled
