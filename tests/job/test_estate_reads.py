"""The estate's reads (job/estate_reads.py) over real HTTP, through the real enrich stage: what each table gets
from well-formed answers, and which answers are refused (the enrichment failed for the target, its table with no
rows from it, the other enrichments and the listing untouched)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from support.enrich_aws import (
    ACCOUNT,
    REGION,
    SNAPSHOT,
    aws,
    enrich,
    function_of,
    json_reply,
    listed_result,
    outcome_of,
)
from support.hostile_lambda import HANG, HostileLambda, Reply, Request

from inventory.contract.estate import ESTATE_ENRICHMENTS
from inventory.contract.estate_rows import target_estate
from inventory.contract.results import Status, TargetResult
from inventory.demo.emulator import Emulator

ESTATE = ESTATE_ENRICHMENTS
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"
MAPPING = {"UUID": "m-1", "FunctionArn": f"{FN}:a:live", "EventSourceArn": "arn:aws:sqs:eu-west-1:1:q", "BatchSize": 10}


def _estate(overrides: dict[str, Callable[[Request], Reply]] | None = None) -> dict[str, Callable[[Request], Reply]]:
    """Answers for the estate's calls: a mapping to a's alias, one layer with two versions, an alias, configs."""
    per_function: dict[str, Callable[[Request], Reply]] = {
        "aliases": lambda r: json_reply(
            {"Aliases": [{"AliasArn": f"{FN}:{function_of(r)}:live", "Name": "live", "FunctionVersion": "1"}]}
            if function_of(r) == "a"
            else {"Aliases": []}
        ),
        "list": lambda r: json_reply(
            {
                "FunctionEventInvokeConfigs": [
                    {"FunctionArn": f"{FN}:{function_of(r)}:$LATEST", "MaximumRetryAttempts": 1}
                ]
            }
        ),
        "provisioned-concurrency": lambda r: json_reply({"ProvisionedConcurrencyConfigs": []}),
        "code-signing-config": lambda r: json_reply(
            {
                "CodeSigningConfigArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:code-signing-config:csc-1"
                if function_of(r) == "b"
                else "",
                "FunctionName": function_of(r),
            }
        ),
    }
    return {
        "event-source-mappings": lambda _: json_reply({"EventSourceMappings": [MAPPING]}),
        "layers": lambda _: json_reply(
            {"Layers": [{"LayerName": "tools", "LayerArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:tools"}]}
        ),
        "versions": lambda _: json_reply(
            {
                "LayerVersions": [
                    {"LayerVersionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:tools:{v}", "Version": v}
                    for v in (2, 1)
                ]
            }
        ),
        "code-signing-configs": lambda _: json_reply(
            {"CodeSigningConfigs": [{"CodeSigningConfigArn": "arn:csc-1", "CodeSigningConfigId": "csc-1"}]}
        ),
        **per_function,
        **(overrides or {}),
    }


def _run(
    monkeypatch: pytest.MonkeyPatch,
    names: tuple[str, ...] = ESTATE,
    overrides: Any = None,
    listed: tuple[str, ...] = ("a", "b"),
) -> TargetResult:
    with HostileLambda(aws(_estate(overrides))) as server:
        return enrich(monkeypatch, server, listed_result(list(listed)), names)


def _tables(result: TargetResult) -> dict[str, list[dict[str, Any]]]:
    outcomes, tables = target_estate(result.target, SNAPSHOT, result.enrichments)
    assert all(o.status is Status.OK for o in outcomes), [(o.name, o.error_message) for o in outcomes]
    return {name: table.to_pylist() for name, table in tables}


def test_each_table_gets_what_aws_answered(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    result = _run(monkeypatch)
    assert [(o.name, o.status) for o in result.enrichments] == [(name, Status.OK) for name in ESTATE]
    tables = _tables(result)
    (mapping,) = tables["event_source_mappings"]
    assert (mapping["function_name"], mapping["uuid"], mapping["batch_size"]) == ("a", "m-1", 10)
    assert [(v["layer_name"], v["version"]) for v in tables["layer_versions"]] == [("tools", 2), ("tools", 1)]
    assert [row["layer_name"] for row in tables["layers"]] == ["tools"]
    (alias,) = tables["aliases"]
    assert (alias["function_name"], alias["name"]) == ("a", "live")
    assert alias["public_invoke"] is True and alias["public_actions"] == [
        "lambda:InvokeFunction",
        "lambda:InvokeFunctionUrl",
    ]
    assert [(v["public_actions"], v["principals"]) for v in tables["layer_versions"]] == [([], []), ([], [])]
    assert sorted(c["function_name"] for c in tables["event_invoke_configs"]) == ["a", "b"]
    assert "provisioned_concurrency" not in tables  # read, no row: nothing to write
    assert [c["code_signing_config_id"] for c in tables["code_signing_configs"]] == ["csc-1"]
    assert outcome_of(result, "code_signing").values == {
        "code_signing_config_arn": {"a": None, "b": f"arn:aws:lambda:{REGION}:{ACCOUNT}:code-signing-config:csc-1"}
    }
    assert all(isinstance(row["snapshot_time"], datetime) for rows in tables.values() for row in rows)


def test_account_region_lists_are_read_where_no_function_is_listed(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    result = _run(monkeypatch, ("layers", "layer_policies", "aliases"), listed=())
    layers, aliases = outcome_of(result, "layers"), outcome_of(result, "aliases")
    assert layers.status is Status.OK and layers.calls == 2, "a layer lives without a function: 2 lists"
    assert outcome_of(result, "layer_policies").calls == 2, "and its versions' policies: one call each"
    assert (aliases.status, aliases.calls) == (Status.OK, 0), "no function: no per-function call"
    assert [row["layer_name"] for row in _tables(result)["layers"]] == ["tools"]


def _shared(request: Request) -> Reply:
    statement = {"Effect": "Allow", "Principal": "*", "Action": "lambda:GetLayerVersion", "Resource": "*"}
    if request.path.endswith("/versions/2/policy"):
        return json_reply({"Policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})})
    return json_reply({"Message": "The resource you requested does not exist."}, 404, "ResourceNotFoundException")


def test_layer_versions_are_judged_only_when_layer_policies_is_asked(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    """`layers` alone makes no GetLayerVersionPolicy call and leaves the judged columns null (not judged, never
    "not public"); with `layer_policies`, version 2 shared with anyone is public, version 1 (no policy) not."""
    alone = _run(monkeypatch, ("layers",), {"policy": _shared})
    assert outcome_of(alone, "layers").calls == 2
    assert [(v["public_actions"], v["principals"]) for v in _tables(alone)["layer_versions"]] == [(None, None)] * 2
    judged = _run(monkeypatch, ("layers", "layer_policies"), {"policy": _shared})
    assert [(o.name, o.status, o.tables) for o in judged.enrichments][1] == ("layer_policies", Status.OK, {})
    versions = _tables(judged)["layer_versions"]
    assert [(v["version"], v["public_actions"], v["principals"]) for v in versions] == [
        (2, ["lambda:GetLayerVersion"], ["*"]),
        (1, [], []),
    ]


def test_layer_policies_denied_keeps_the_layers_unjudged(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    denied = {"policy": lambda _: json_reply({"Message": "no"}, 403, "AccessDeniedException")}
    result = _run(monkeypatch, ("layers", "layer_policies"), denied)
    policies = outcome_of(result, "layer_policies")
    assert (policies.status, policies.error_code, policies.tables) == (Status.FAILED, "AccessDeniedException", {})
    _, tables = target_estate(result.target, SNAPSHOT, result.enrichments)
    versions = dict(tables)["layer_versions"].to_pylist()
    assert [(v["version"], v["public_actions"]) for v in versions] == [(2, None), (1, None)]


def test_layer_policies_is_skipped_where_layers_was_not_read(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    denied = {"layers": lambda _: json_reply({"Message": "no"}, 403, "AccessDeniedException")}
    result = _run(monkeypatch, ("layers", "layer_policies"), denied)
    policies = outcome_of(result, "layer_policies")
    assert (policies.status, policies.calls) == (Status.SKIPPED, 0)
    assert "layers was not read" in (policies.error_message or "")


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:lambda:eu-west-1:999999999999:function:a",
        "arn:aws:lambda:us-east-1:230000000001:function:a",
        "not-an-arn",
        7,
    ],
)
def test_a_mapping_to_a_function_elsewhere_is_refused(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator, arn: object
) -> None:
    answer = {"event-source-mappings": lambda _: json_reply({"EventSourceMappings": [{**MAPPING, "FunctionArn": arn}]})}
    result = _run(monkeypatch, ("event_source_mappings", "layers"), answer)
    mappings = outcome_of(result, "event_source_mappings")
    assert (mappings.status, mappings.error_code) == (Status.FAILED, "InvalidResponse")
    assert mappings.tables == {} and outcome_of(result, "layers").status is Status.OK


def test_pages_without_end_fail_the_read(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    again = {"layers": lambda _: json_reply({"Layers": [], "NextMarker": "same"})}
    layers = outcome_of(_run(monkeypatch, ("layers",), again), "layers")
    assert (layers.status, layers.error_code) == (Status.FAILED, "RepeatedMarker")


def test_a_denied_read_fails_its_enrichment_alone(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    denied = {"aliases": lambda _: json_reply({"Message": "no"}, 403, "AccessDeniedException")}
    result = _run(monkeypatch, ("aliases", "event_invoke_configs"), denied)
    aliases = outcome_of(result, "aliases")
    assert (aliases.status, aliases.error_code, aliases.tables) == (Status.FAILED, "AccessDeniedException", {})
    assert outcome_of(result, "event_invoke_configs").status is Status.OK


def test_a_value_its_column_cannot_hold_fails_the_table_for_the_target(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    bad = {"event-source-mappings": lambda _: json_reply({"EventSourceMappings": [{**MAPPING, "BatchSize": "ten"}]})}
    result = _run(monkeypatch, ("event_source_mappings",), bad)
    assert outcome_of(result, "event_source_mappings").status is Status.OK  # the answer was well-formed JSON
    outcomes, tables = target_estate(result.target, SNAPSHOT, result.enrichments)
    assert [(o.status, o.error_code) for o in outcomes] == [(Status.FAILED, "InvalidValue")]
    assert tables == ()


def test_a_function_deleted_since_the_listing_is_gone(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    def aliases(request: Request) -> Reply:
        if function_of(request) == "b":
            return json_reply({"Message": f"Function not found: {FN}:b"}, 404, "ResourceNotFoundException")
        return json_reply({"Aliases": []})

    outcome = outcome_of(_run(monkeypatch, ("aliases",), {"aliases": aliases}), "aliases")
    assert (outcome.status, outcome.gone, outcome.error_code) == (Status.OK, frozenset({"b"}), "FunctionNotFound")


def test_a_region_whose_estate_list_hangs_fails_that_read_and_skips_the_rest(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    """A hung ListEventSourceMappings fails on the unanswered budget (Timeout); the estate reads after it are
    skipped with the reason, so the table is never written as "no mappings" and the run does not wait on each."""
    with HostileLambda(aws(_estate({"event-source-mappings": lambda _: HANG}))) as server:
        result = enrich(monkeypatch, server, listed_result(["a"]), ("event_source_mappings", "layers"), attempts=12)
    mappings, layers = outcome_of(result, "event_source_mappings"), outcome_of(result, "layers")
    assert (mappings.status, mappings.error_code, mappings.calls, mappings.tables) == (Status.FAILED, "Timeout", 3, {})
    assert (layers.status, layers.calls) == (Status.SKIPPED, 0)
    assert target_estate(result.target, SNAPSHOT, result.enrichments)[1] == ()


# --- read beside the listing (Enricher.around, as the pipeline runs a target) ----------------------------------


def _around(monkeypatch: pytest.MonkeyPatch, result: TargetResult, names: tuple[str, ...]) -> tuple[TargetResult, Any]:
    """Enrich `result` behind a listing that takes 0.5 s and notes which calls the server had by its end."""
    seen: list[str] = []
    with HostileLambda(aws(_estate())) as server:

        async def listing() -> TargetResult:
            await asyncio.sleep(0.5)
            seen.extend(request.path.split("?")[0].rsplit("/", 1)[-1] for request in server.requests)
            return result

        return enrich(monkeypatch, server, result, names, listing=listing), seen


def test_account_region_lists_are_read_beside_the_listing(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    names = ("event_source_mappings", "layers", "layer_policies", "aliases")
    enriched, seen = _around(monkeypatch, listed_result(["a", "b"]), names)
    assert sorted(set(seen)) == ["event-source-mappings", "layers", "versions"], "read while it listed"
    assert [(o.name, o.status) for o in enriched.enrichments] == [(name, Status.OK) for name in names]
    assert outcome_of(enriched, "aliases").calls == 3  # after the listing: per function, and the alias's policy
    assert [row["layer_name"] for row in _tables(enriched)["layers"]] == ["tools"]


def test_a_listing_that_fails_drops_what_was_read_beside_it(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    """Its early reads are `skipped` (with the calls they made), never written: nothing to enrich."""
    names = ("event_source_mappings", "layers", "aliases")
    enriched, seen = _around(monkeypatch, listed_result([], Status.FAILED), names)
    assert "event-source-mappings" in seen
    assert [(o.name, o.status) for o in enriched.enrichments] == [(name, Status.SKIPPED) for name in names]
    assert outcome_of(enriched, "event_source_mappings").calls == 1 and outcome_of(enriched, "aliases").calls == 0
    assert all(o.tables == {} for o in enriched.enrichments)
