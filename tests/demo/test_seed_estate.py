"""The demo organisation's estate around its functions: seeded through the emulator, then read back over HTTP
through boto3, every list one item a page (MaxItems=1), per account and region, and compared with what the
seed says it seeded (Seeded.estate).

moto's state is shared by the session, so this module seeds the demo organisation under account ids of its
own (the demo itself runs in a fresh process: tests/e2e/test_demo.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import seed_members
from support.signed import member_client

from inventory.demo.emulator import Emulator
from inventory.demo.estate import (
    AliasSpec,
    EstateSpec,
    FunctionEstate,
    FunctionEstateSpec,
    InvokeSpec,
    LayerShare,
    LayerSpec,
    MappingSpec,
    RegionEstate,
    SeededAlias,
    SeededInvoke,
    SeededMapping,
    SeededSigning,
    check_estate,
)
from inventory.demo.org import DENIED_ACCOUNT, ORGANIZATION_ID, demo_org
from inventory.demo.seed import Seeded
from inventory.demo.seed_extras import Grant

RENUMBER = {
    "222222222222": "294000000002",
    "333333333333": "294000000003",
    "444444444444": "294000000004",
    DENIED_ACCOUNT: "294000000005",
}
PROD, DATA = RENUMBER["222222222222"], RENUMBER["444444444444"]


@pytest.fixture(scope="module")
def seeded(emulator: Emulator) -> Seeded:
    members = tuple(replace(member, account_id=RENUMBER[member.account_id]) for member in demo_org("s3cr3t"))
    return seed_members(emulator, members)


def _paged(call: Callable[..., dict[str, Any]], member: str, **args: Any) -> list[dict[str, Any]]:
    """Every item of a list read one a page (MaxItems=1); each page holds exactly one, or the only page none."""
    items: list[dict[str, Any]] = []
    marker = None
    while True:
        answer = call(MaxItems=1, **args, **({"Marker": marker} if marker else {}))
        marker, page = answer.get("NextMarker"), answer[member]
        assert len(page) == 1 or (not page and not items and marker is None), (len(items), page, marker)
        items += page
        if marker is None:
            return items


def _policy(call: Callable[..., dict[str, Any]], **args: Any) -> list[dict[str, Any]]:
    """The statements of a resource policy; [] when there is none (ResourceNotFoundException)."""
    try:
        return list(json.loads(call(**args)["Policy"])["Statement"])
    except ClientError as err:
        assert err.response["Error"]["Code"] == "ResourceNotFoundException"
        return []


def _grant(statement: dict[str, Any]) -> Grant:
    principal = statement["Principal"]
    if isinstance(principal, dict):
        principal = next(iter(principal.values())).removeprefix("arn:aws:iam::").removesuffix(":root")
    condition = statement.get("Condition", {})
    return Grant(
        statement["Sid"],
        principal,
        condition.get("ArnLike", {}).get("AWS:SourceArn"),
        condition.get("StringEquals", {}).get("AWS:SourceAccount"),
    )


def _mapping(found: dict[str, Any]) -> SeededMapping:
    return SeededMapping(
        found["UUID"],
        found["FunctionArn"],
        found["EventSourceArn"],
        found["BatchSize"],
        found.get("MaximumBatchingWindowInSeconds"),
        tuple(f["Pattern"] for f in found.get("FilterCriteria", {}).get("Filters", [])),
        found.get("StartingPosition"),
        found.get("MaximumRetryAttempts"),
        found.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"),
    )


def _layer_shares(client: Any, arn: str) -> tuple[LayerShare, ...]:
    name, version = arn.split(":")[-2:]
    statements = _policy(client.get_layer_version_policy, LayerName=name, VersionNumber=int(version))
    assert all(s["Principal"] == "*" and s["Action"] == "lambda:GetLayerVersion" for s in statements)
    return tuple(
        LayerShare(int(version), s["Sid"], s.get("Condition", {}).get("StringEquals", {}).get("aws:PrincipalOrgID"))
        for s in statements
    )


def read_region(client: Any) -> RegionEstate:
    """What the per-account-region reads answer, in the seed's terms (functions: read_function's)."""
    layers = {}
    for layer in _paged(client.list_layers, "Layers"):
        versions = _paged(client.list_layer_versions, "LayerVersions", LayerName=layer["LayerName"])
        assert layer["LatestMatchingVersion"] == versions[0]  # newest first
        layers[layer["LayerName"]] = tuple(v["LayerVersionArn"] for v in reversed(versions))
    shares = {arn: _layer_shares(client, arn) for arns in layers.values() for arn in arns}
    signing = {
        c["CodeSigningConfigArn"]: SeededSigning(
            c["Description"],
            tuple(c["AllowedPublishers"]["SigningProfileVersionArns"]),
            c["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"],
        )
        for c in _paged(client.list_code_signing_configs, "CodeSigningConfigs")
    }
    return RegionEstate(
        mappings=tuple(_mapping(m) for m in _paged(client.list_event_source_mappings, "EventSourceMappings")),
        layers=layers,
        layer_shares={arn: found for arn, found in shares.items() if found},
        code_signing_configs=signing,
    )


def read_function(client: Any, arn: str) -> FunctionEstate:
    """What the per-function reads answer for one function, in the seed's terms."""
    name = arn.rsplit(":", 1)[1]
    aliases = _paged(client.list_aliases, "Aliases", FunctionName=name)
    grants = {a["Name"]: _policy(client.get_policy, FunctionName=name, Qualifier=a["Name"]) for a in aliases}
    invoke = _paged(client.list_function_event_invoke_configs, "FunctionEventInvokeConfigs", FunctionName=name)
    provisioned = _paged(
        client.list_provisioned_concurrency_configs, "ProvisionedConcurrencyConfigs", FunctionName=name
    )
    return FunctionEstate(
        layers=tuple(
            layer["Arn"] for layer in client.get_function(FunctionName=name)["Configuration"].get("Layers", [])
        ),
        aliases={
            a["Name"]: SeededAlias(a["FunctionVersion"], a.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}))
            for a in aliases
        },
        alias_grants={alias: tuple(_grant(s) for s in found) for alias, found in grants.items() if found},
        invoke_configs={
            c["FunctionArn"]: SeededInvoke(
                c.get("MaximumRetryAttempts"),
                c.get("MaximumEventAgeInSeconds"),
                c["DestinationConfig"]["OnSuccess"].get("Destination"),
                c["DestinationConfig"]["OnFailure"].get("Destination"),
            )
            for c in invoke
        },
        provisioned={c["FunctionArn"]: c["RequestedProvisionedConcurrentExecutions"] for c in provisioned},
        code_signing_config_arn=client.get_function_code_signing_config(FunctionName=name)["CodeSigningConfigArn"],
    )


def test_the_demo_org_seeds_every_kind_of_estate(seeded: Seeded) -> None:
    estates = seeded.estate.values()
    assert set(seeded.estate) == set(seeded.functions)  # every seeded region has one, however empty
    functions = [f for e in estates for f in e.functions.values()]
    mappings = [m for e in estates for m in e.mappings]
    assert len(mappings) == 3
    assert any(m.filter_patterns and m.batching_window for m in mappings)
    assert any(m.on_failure and m.starting_position for m in mappings)  # a stream's, with an on-failure queue
    layers = {name: len(arns) for e in estates for name, arns in e.layers.items()}
    assert layers == {"pandas": 3, "dataio": 2}  # night 1: the `otel` layer comes on night 2
    shares = [s for e in estates for found in e.layer_shares.values() for s in found]
    assert sorted((s.sid, s.organization_id or "") for s in shares) == [
        ("anyone", ""),
        ("organization", ORGANIZATION_ID),
    ]
    assert sum(1 for f in functions if f.layers) == 5  # the etl functions
    assert any(len(a.weights) == 1 for f in functions for a in f.aliases.values())  # a canary between two versions
    assert [g for f in functions for found in f.alias_grants.values() for g in found] == [Grant("anyone", "*")]
    assert sorted(n for f in functions for n in f.provisioned.values()) == [10]
    assert sum(len(f.invoke_configs) for f in functions) == 3
    assert sum(len(e.code_signing_configs) for e in estates) == 1
    assert sum(1 for f in functions if f.code_signing_config_arn) == 1


@pytest.mark.parametrize("night", [1, 2])
def test_both_nights_declare_the_same_estate(night: int) -> None:
    assert {m.account_id: m.estate for m in demo_org("s", night)} == {m.account_id: m.estate for m in demo_org("s")}


def test_each_region_reads_back_what_was_seeded(emu: Emulator, seeded: Seeded) -> None:
    for (account, region), want in sorted(seeded.estate.items()):
        got = read_region(member_client("lambda", account, region))
        assert sorted(got.mappings, key=lambda m: m.uuid) == sorted(want.mappings, key=lambda m: m.uuid), account
        assert (got.layers, got.layer_shares) == (want.layers, want.layer_shares), (account, region)
        assert got.code_signing_configs == want.code_signing_configs, (account, region)


def test_each_function_reads_back_what_was_seeded(emu: Emulator, seeded: Seeded) -> None:
    for (account, region), want in sorted(seeded.estate.items()):
        client = member_client("lambda", account, region)
        assert set(want.functions) == seeded.functions[(account, region)]
        for arn, function in sorted(want.functions.items()):
            assert read_function(client, arn) == function, arn


def test_an_alias_policy_leaves_the_function_policy_alone(emu: Emulator, seeded: Seeded) -> None:
    client = member_client("lambda", PROD, "us-east-1")
    assert _policy(client.get_policy, FunctionName="orders-005") == []
    (statement,) = _policy(client.get_policy, FunctionName="orders-005", Qualifier="public")
    assert statement["Resource"] == f"arn:aws:lambda:us-east-1:{PROD}:function:orders-005:public"
    arn = f"arn:aws:lambda:us-east-1:{PROD}:function:orders-005"
    assert (seeded.expected[arn].invoke_principals, seeded.expected[arn].public_invoke) == ((), False)


@pytest.mark.parametrize(
    ("estate", "layers", "problem"),
    [
        (EstateSpec(mappings=(MappingSpec("nope", "sqs:q", 10),)), (), "mapping to nope"),
        (EstateSpec(functions={"f": FunctionEstateSpec(aliases=(AliasSpec("a", "1"),))}), (), "alias a to version 1"),
        (EstateSpec(functions={"f": FunctionEstateSpec(aliases=(AliasSpec("live", "$LATEST"),))}), (), "for a URL"),
        (EstateSpec(functions={"f": FunctionEstateSpec(invoke=(InvokeSpec("a"),))}), (), "invoke config of a"),
        (EstateSpec(functions={"f": FunctionEstateSpec(signing="x")}), (), "code signing config x"),
        (EstateSpec(layers=(LayerSpec("l", 2),)), ("l:3",), "layer version l:3"),
        (EstateSpec(layers=(LayerSpec("l", 1, shares=(LayerShare(2, "s"),)),)), (), "share of l:2"),
    ],
)
def test_an_estate_naming_what_it_does_not_seed_is_refused_before_seeding(
    estate: EstateSpec, layers: tuple[str, ...], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        check_estate("us-east-1", estate, frozenset({"f"}), {"f": {"live"}}, layers)
