"""The estate's reads (job/estate_reads.py) over real HTTP, through the real enrich stage: what each table gets
from well-formed answers, and which answers are refused (the enrichment failed for the target, its table with no
rows from it, the other enrichments and the listing untouched)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import unquote

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
    rows_of,
)
from support.hostile_lambda import HANG, HostileLambda, Reply, Request

from inventory.contract.estate import ESTATE as TABLES
from inventory.contract.estate import ESTATE_ENRICHMENTS
from inventory.contract.estate_rows import estate_batch, target_estate
from inventory.contract.results import Status, TargetResult
from inventory.demo.emulator import Emulator

ESTATE = ESTATE_ENRICHMENTS
NOT_FOUND = "ResourceNotFoundException"
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"
MAPPING = {"UUID": "m-1", "FunctionArn": f"{FN}:a:live", "EventSourceArn": "arn:aws:sqs:eu-west-1:1:q", "BatchSize": 10}
CSC = f"arn:aws:lambda:{REGION}:{ACCOUNT}:code-signing-config:csc-"
SIGNING = {  # config ARN -> the FunctionArns ListFunctionsByCodeSigningConfig answers: b's, and one created since
    f"{CSC}1": [f"{FN}:b", f"{FN}:created-since-the-listing"],
    f"{CSC}2": [],
}


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
        "code-signing-configs": lambda _: _configs(SIGNING),
        "functions": _signing(SIGNING),  # ListFunctionsByCodeSigningConfig
        **per_function,
        **(overrides or {}),
    }


def _configs(arns: Iterable[str]) -> Reply:
    """ListCodeSigningConfigs listing these configs (by ARN)."""
    return json_reply(
        {"CodeSigningConfigs": [{"CodeSigningConfigArn": a, "CodeSigningConfigId": a[-5:]} for a in arns]}
    )


def _config_of(request: Request) -> str:
    """The code signing config a ListFunctionsByCodeSigningConfig request names (its ARN, decoded)."""
    return unquote(request.path.split("/")[3])


def _signing(functions: dict[str, Any]) -> Callable[[Request], Reply]:
    """ListFunctionsByCodeSigningConfig answering each config's FunctionArns (a Reply as it is; 404 for none)."""

    def answer(request: Request) -> Reply:
        found = functions.get(_config_of(request))
        if found is None:
            return json_reply({"Message": "The resource you requested does not exist."}, 404, NOT_FOUND)
        return found if isinstance(found, Reply) else json_reply({"FunctionArns": found})

    return answer


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
    return {part.table: estate_batch(TABLES[part.table], [part]).to_pylist() for part in tables}


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
    assert [c["code_signing_config_id"] for c in tables["code_signing_configs"]] == ["csc-1", "csc-2"]
    signing = outcome_of(result, "code_signing")
    assert signing.values == {"code_signing_config_arn": {"a": None, "b": f"{CSC}1"}}  # created-since: ignored
    assert (signing.calls, signing.gone, signing.error_code) == (3, frozenset(), None)  # 1 list, 1 per config
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
    (versions,) = (estate_batch(TABLES[p.table], [p]).to_pylist() for p in tables if p.table == "layer_versions")
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


# --- code_signing: which config each function uses, from each config's ListFunctionsByCodeSigningConfig ---------


def _signed(monkeypatch: pytest.MonkeyPatch, functions: dict[str, Any], listed: tuple[str, ...] = ("a", "b")) -> Any:
    """The code_signing outcome (and the target's result) against configs listing `functions`' keys."""
    answers = {
        "code-signing-configs": lambda _: _configs(functions),
        "functions": _signing({arn: found for arn, found in functions.items() if found != "deleted"}),
    }
    result = _run(monkeypatch, ("code_signing",), answers, listed)
    return outcome_of(result, "code_signing"), result


def test_a_qualified_arn_names_its_function_and_paged_lists_are_read_to_the_end(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    pages = {
        f"{CSC}1": None,  # paged below
        f"{CSC}2": [f"{FN}:a:7", f"{FN}:a"],  # one config naming one function twice: that config
    }

    def paged(request: Request) -> Reply:
        if _config_of(request) != f"{CSC}1":
            return json_reply({"FunctionArns": pages[_config_of(request)]})
        if request.marker is None:
            return json_reply({"FunctionArns": [f"{FN}:c"], "NextMarker": "p2"})
        return json_reply({"FunctionArns": [f"{FN}:b"]})

    answers = {
        "code-signing-configs": lambda _: _configs(pages),
        "functions": paged,
    }
    outcome = outcome_of(_run(monkeypatch, ("code_signing",), answers, ("a", "b", "c", "d")), "code_signing")
    assert (outcome.status, outcome.calls) == (Status.OK, 4)  # the configs, then 2 pages + 1
    assert outcome.values == {
        "code_signing_config_arn": {"a": f"{CSC}2", "b": f"{CSC}1", "c": f"{CSC}1", "d": None},
    }


def test_a_function_named_by_two_configs_is_refused(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    outcome, result = _signed(monkeypatch, {f"{CSC}1": [f"{FN}:b"], f"{CSC}2": [f"{FN}:b:live"]})
    assert (outcome.status, outcome.error_code, outcome.values, outcome.tables) == (
        Status.FAILED,
        "InvalidResponse",
        {},
        {},
    )
    assert "the function b named by two code signing configs, csc-1 and csc-2" in str(outcome.error_message)
    row = rows_of(result)["b"]
    assert row["code_signing_config_arn"] is None and "code_signing" not in (row["enriched"] or [])


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:lambda:eu-west-1:999999999999:function:b",  # another account's
        "arn:aws:lambda:us-east-1:230000000001:function:b",  # another region's
        "arn:aws-cn:lambda:eu-west-1:230000000001:function:b",  # another partition's
        "arn:aws:lambda:eu-west-1:230000000001:layer:b",  # not a function
        "arn:aws:lambda:eu-west-1:230000000001:function:",
        "arn:aws:lambda:eu-west-1:230000000001:function:b:1:x",
        "b",
    ],
)
def test_a_function_elsewhere_in_a_configs_list_is_refused(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator, arn: str
) -> None:
    outcome, _ = _signed(monkeypatch, {f"{CSC}1": [f"{FN}:a", arn]})
    assert (outcome.status, outcome.error_code, outcome.tables) == (Status.FAILED, "InvalidResponse", {})
    assert "that is not a function here" in str(outcome.error_message)


def test_a_config_deleted_since_it_was_listed_names_no_function(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    """Lambda deletes only a config no function uses: its 404 is "no function", the enrichment ok, its row kept."""
    outcome, _ = _signed(monkeypatch, {f"{CSC}1": "deleted", f"{CSC}2": [f"{FN}:a"]})
    assert (outcome.status, outcome.error_code, outcome.calls) == (Status.OK, None, 3)
    assert outcome.values == {"code_signing_config_arn": {"a": f"{CSC}2", "b": None}}
    assert [row.item["CodeSigningConfigArn"] for row in outcome.tables["code_signing_configs"]] == [
        f"{CSC}1",
        f"{CSC}2",
    ]


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (json_reply({"Message": "not authorized"}, 403, "AccessDeniedException"), "AccessDeniedException"),
        (json_reply({"FunctionArns": [f"{FN}:a"], "NextMarker": "same"}), "RepeatedMarker"),
        (json_reply({"FunctionArns": [f"{FN}:a", 7]}), "InvalidResponse"),
        (json_reply({"Functions": [f"{FN}:a"]}), "InvalidResponse"),
    ],
)
def test_a_config_list_not_read_fails_the_enrichment_never_no_config(
    monkeypatch: pytest.MonkeyPatch, emu: Emulator, reply: Reply, code: str
) -> None:
    outcome, result = _signed(monkeypatch, {f"{CSC}1": [f"{FN}:b"], f"{CSC}2": reply})
    assert (outcome.status, outcome.error_code, outcome.values, outcome.tables) == (Status.FAILED, code, {}, {})
    assert {name: row["code_signing_config_arn"] for name, row in rows_of(result).items()} == {"a": None, "b": None}
    assert all("code_signing" not in (row["enriched"] or []) for row in rows_of(result).values())


def test_without_a_listed_function_only_the_configs_are_listed(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    outcome, _ = _signed(monkeypatch, {f"{CSC}1": [f"{FN}:b"]}, listed=())
    assert (outcome.status, outcome.calls, outcome.values) == (Status.OK, 1, {"code_signing_config_arn": {}})
    assert len(outcome.tables["code_signing_configs"]) == 1


# --- read beside the listing (Enricher.around, as the pipeline runs a target) ----------------------------------


def _around(
    monkeypatch: pytest.MonkeyPatch, result: TargetResult, names: tuple[str, ...], beside: set[str]
) -> tuple[TargetResult, Any]:
    """Enrich `result` behind a listing that ends once the server has had the calls `beside` (or after 10 s: a
    busy machine must not fail it, nor a fixed wait pass it), and note which calls the server had by its end."""
    seen: list[str] = []
    with HostileLambda(aws(_estate())) as server:

        def calls() -> list[str]:
            return [request.path.split("?")[0].rsplit("/", 1)[-1] for request in server.requests]

        async def listing() -> TargetResult:
            deadline = time.monotonic() + 10.0
            while not beside <= set(calls()) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            seen.extend(calls())
            return result

        return enrich(monkeypatch, server, result, names, listing=listing), seen


def test_account_region_lists_are_read_beside_the_listing(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    names = ("event_source_mappings", "layers", "layer_policies", "aliases", "code_signing")
    early = {"code-signing-configs", "event-source-mappings", "layers", "versions"}
    enriched, seen = _around(monkeypatch, listed_result(["a", "b"]), names, early)
    assert sorted(set(seen)) == sorted(early), "beside it"
    assert [(o.name, o.status) for o in enriched.enrichments] == [(name, Status.OK) for name in names]
    assert outcome_of(enriched, "aliases").calls == 3  # after the listing: per function, and the alias's policy
    assert [row["layer_name"] for row in _tables(enriched)["layers"]] == ["tools"]
    signing = outcome_of(enriched, "code_signing")  # its configs beside the listing, their functions after it
    assert signing.values == {"code_signing_config_arn": {"a": None, "b": f"{CSC}1"}}


def test_a_listing_that_fails_drops_what_was_read_beside_it(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    """Its early reads are `skipped` (with the calls they made), never written: nothing to enrich."""
    names = ("event_source_mappings", "layers", "aliases")
    enriched, seen = _around(monkeypatch, listed_result([], Status.FAILED), names, {"event-source-mappings"})
    assert "event-source-mappings" in seen
    assert [(o.name, o.status) for o in enriched.enrichments] == [(name, Status.SKIPPED) for name in names]
    assert outcome_of(enriched, "event_source_mappings").calls == 1 and outcome_of(enriched, "aliases").calls == 0
    assert all(o.tables == {} for o in enriched.enrichments)
