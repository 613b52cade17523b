"""The estate's reads (job/estate_reads.py) over real HTTP, through the real enrich stage: what each table gets
from well-formed answers, and which answers are refused (the enrichment failed for the target, its table with no
rows from it, the other enrichments and the listing untouched)."""

from __future__ import annotations

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
    result = _run(monkeypatch, ("layers", "aliases"), listed=())
    layers, aliases = outcome_of(result, "layers"), outcome_of(result, "aliases")
    assert layers.status is Status.OK and layers.calls == 4, "a layer lives without a function: 2 lists, 2 policies"
    assert (aliases.status, aliases.calls) == (Status.OK, 0), "no function: no per-function call"
    assert [row["layer_name"] for row in _tables(result)["layers"]] == ["tools"]


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
