"""The estate's reads (aws/estate_calls.py, aws/function_calls.py, and GetPolicy of an alias) over real HTTP
against a local endpoint that answers what each test scripts: every request is the one botocore would send for
the operation (method, path, query, as its lambda model and serializer make them), pages are read as AWS sends
them, items kept as sent, and every hostile 200 is refused as InvalidResponse, never read as an empty list."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import botocore.credentials
import botocore.session
import pytest
from botocore.awsrequest import prepare_request_dict
from botocore.exceptions import ClientError
from botocore.serialize import create_serializer
from conftest import clear_aws_environment
from support.hostile_lambda import HostileLambda, Reply, Request, Script, by_marker, sequence

from inventory.aws import enrichment_calls, estate_calls, function_calls
from inventory.aws.clients import botocore_config
from inventory.aws.enrichment_calls import Paged, Scope
from inventory.aws.estate_calls import Listing
from inventory.aws.lambda_api import LambdaLister
from inventory.aws.retry import FaultError, FaultKind, classify

REGION = "eu-west-1"
FAKE = botocore.credentials.ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "token")
ARN = f"arn:aws:lambda:{REGION}:111111111111"
SESSION = botocore.session.get_session()
MODEL = SESSION.get_service_model("lambda")
PAGINATORS = SESSION.get_paginator_model("lambda")
Call = Callable[[Scope], Awaitable[Any]]


def _json(body: Any, status: int = 200, code: str | None = None) -> Reply:
    headers = {"Content-Type": "application/json", **({"x-amzn-ErrorType": code} if code else {})}
    return Reply(status, json.dumps(body).encode(), headers)


def _run(monkeypatch: pytest.MonkeyPatch, script: Script, calls: list[Call]) -> tuple[list[Any], list[Request]]:
    """Each call in turn, over the real signed-HTTP path, against one server (every service's endpoint): each
    call's answer or the exception it raised, and the requests the server received."""
    clear_aws_environment(monkeypatch)
    with HostileLambda(script) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)

        async def run() -> list[Any]:
            answers: list[Any] = []
            async with LambdaLister(botocore.session.Session(), botocore_config(2), 2) as http:
                for call in calls:
                    try:
                        answers.append(await call(Scope(http, REGION, FAKE)))
                    except Exception as err:  # noqa: BLE001 - the test inspects it
                        answers.append(err)
            return answers

        answers = asyncio.run(run())
    return answers, server.requests


def _one(monkeypatch: pytest.MonkeyPatch, reply: Reply, call: Call) -> tuple[Any, Request]:
    (answer,), (request,) = _run(monkeypatch, sequence(reply), [call])
    return answer, request


@dataclass(frozen=True)
class Read:
    """One paged read: its Listing, its page function (labels bound), the path it sends, a documented item (an
    object, or the text itself for a list of ARNs)."""

    listing: Listing
    page: Callable[[Scope, str | None], Awaitable[Paged]]
    path: str
    item: Any

    def at(self, marker: str | None) -> Call:
        """The call of the page at `marker`."""
        return lambda scope: self.page(scope, marker)

    def variant(self, suffix: str) -> Any:
        """The item with another identity (and, for a layer version, another Version)."""
        if self.listing.identity is None:
            return f"{self.item}{suffix}"
        changed = {**self.item, self.listing.identity: f"{self.item[self.listing.identity]}{suffix}"}
        if self.listing.number:
            changed[self.listing.number] = self.item[self.listing.number] + len(suffix)
        return changed


_SQS = f"arn:aws:sqs:{REGION}:111111111111:orders"
_CSC = f"{ARN}:code-signing-config:csc-0a1b2c3d4e5f67890"
READS = {
    "ListEventSourceMappings": Read(
        estate_calls.EVENT_SOURCE_MAPPINGS,
        estate_calls.event_source_mappings_page,
        "/2015-03-31/event-source-mappings",
        {
            "UUID": "14e0db71-5d35-4eb5-b481-8945cf9d10c2",
            "EventSourceArn": _SQS,
            "FunctionArn": f"{ARN}:function:my-fn",
            "BatchSize": 10,
            "State": "Enabled",
            "LastModified": 1_764_000_000.0,
            "FilterCriteria": {"Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}]},
        },
    ),
    "ListLayers": Read(
        estate_calls.LAYERS,
        estate_calls.layers_page,
        "/2018-10-31/layers",
        {
            "LayerName": "deps",
            "LayerArn": f"{ARN}:layer:deps",
            "LatestMatchingVersion": {"LayerVersionArn": f"{ARN}:layer:deps:3", "Version": 3},
        },
    ),
    "ListLayerVersions": Read(
        estate_calls.LAYER_VERSIONS,
        partial(estate_calls.layer_versions_page, layer="deps"),
        "/2018-10-31/layers/deps/versions",
        {
            "LayerVersionArn": f"{ARN}:layer:deps:3",
            "Version": 3,
            "CreatedDate": "2026-11-01T10:00:00.000+0000",
            "CompatibleRuntimes": ["python3.12"],
        },
    ),
    "ListCodeSigningConfigs": Read(
        estate_calls.CODE_SIGNING_CONFIGS,
        estate_calls.code_signing_configs_page,
        "/2020-04-22/code-signing-configs",
        {
            "CodeSigningConfigId": "csc-0a1b2c3d4e5f67890",
            "CodeSigningConfigArn": _CSC,
            "AllowedPublishers": {"SigningProfileVersionArns": ["arn:aws:signer:eu-west-1:111111111111:/x/y/z"]},
            "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Warn"},
            "LastModified": "2026-11-01T10:00:00.000+0000",
        },
    ),
    "ListFunctionsByCodeSigningConfig": Read(
        estate_calls.FUNCTIONS_BY_CODE_SIGNING_CONFIG,
        partial(estate_calls.functions_by_code_signing_config_page, config=_CSC),
        "/2020-04-22/code-signing-configs/arn%3Aaws%3Alambda%3Aeu-west-1%3A111111111111%3Acode-signing-config%3A"
        "csc-0a1b2c3d4e5f67890/functions",
        f"{ARN}:function:my-fn",
    ),
    "ListAliases": Read(
        function_calls.ALIASES,
        partial(function_calls.aliases_page, name="my-fn"),
        "/2015-03-31/functions/my-fn/aliases",
        {
            "AliasArn": f"{ARN}:function:my-fn:live",
            "Name": "live",
            "FunctionVersion": "3",
            "RoutingConfig": {"AdditionalVersionWeights": {"4": 0.1}},
        },
    ),
    "ListFunctionEventInvokeConfigs": Read(
        function_calls.EVENT_INVOKE_CONFIGS,
        partial(function_calls.event_invoke_configs_page, name="my-fn"),
        "/2019-09-25/functions/my-fn/event-invoke-config/list",
        {
            "FunctionArn": f"{ARN}:function:my-fn:live",
            "MaximumRetryAttempts": 1,
            "DestinationConfig": {"OnFailure": {"Destination": _SQS}},
            "LastModified": 1_764_000_000.0,
        },
    ),
    "ListProvisionedConcurrencyConfigs": Read(
        function_calls.PROVISIONED_CONCURRENCY_CONFIGS,
        partial(function_calls.provisioned_concurrency_configs_page, name="my-fn"),
        "/2019-09-30/functions/my-fn/provisioned-concurrency",
        {
            "FunctionArn": f"{ARN}:function:my-fn:live",
            "RequestedProvisionedConcurrentExecutions": 5,
            "Status": "READY",
        },
    ),
}


def test_every_listing_has_its_reads_tested() -> None:
    listings = {
        value
        for module in (estate_calls, function_calls)
        for value in vars(module).values()
        if isinstance(value, Listing)
    }
    assert listings == {read.listing for read in READS.values()}
    assert set(READS) == {listing.operation for listing in listings}


# --- botocore's model: the keys, URIs and page sizes; then the requests themselves -----------------------------


@pytest.mark.parametrize("operation", sorted(READS))
def test_each_listing_is_what_botocores_lambda_model_says(operation: str) -> None:
    listing = READS[operation].listing
    model = MODEL.operation_model(operation)
    assert (model.http["method"], model.http["requestUri"]) == ("GET", listing.uri)
    paginator = PAGINATORS.get_paginator(operation)
    assert paginator == {
        "input_token": estate_calls.MARKER,
        "output_token": estate_calls.NEXT_MARKER,
        "limit_key": estate_calls.MAX_ITEMS,
        "result_key": listing.member,
    }
    inputs = model.input_shape.members
    for key in (estate_calls.MARKER, estate_calls.MAX_ITEMS):
        assert inputs[key].serialization == {"location": "querystring", "name": key}
    limit = inputs[estate_calls.MAX_ITEMS].metadata
    assert limit["min"] <= listing.page_size <= limit["max"]
    documented = re.search(r"returns a maximum of (\d+) items", inputs[estate_calls.MAX_ITEMS].documentation)
    if documented:  # a documented per-page cap is the page size: page bounds count pages of it
        assert listing.page_size == int(documented[1])
    outputs = model.output_shape.members
    assert outputs[estate_calls.NEXT_MARKER].type_name == "string"
    assert outputs[listing.member].type_name == "list"
    item = outputs[listing.member].member
    if listing.identity is None:  # a list of ARNs: each item is text
        assert item.type_name == "string" and isinstance(READS[operation].item, str)
        return
    assert item.members[listing.identity].type_name == "string"
    assert set(READS[operation].item) <= set(item.members)  # the test's items are documented ones
    if listing.number:
        assert item.members[listing.number].type_name == "long"


def test_the_page_sizes_are_exported_for_page_bounds() -> None:
    assert estate_calls.EVENT_SOURCE_MAPPING_PAGE_SIZE == 100
    assert estate_calls.LAYER_PAGE_SIZE == estate_calls.LAYER_VERSION_PAGE_SIZE == 50
    assert {read.listing.page_size for read in READS.values()} == {50, 100}


def test_the_single_reads_uris_are_botocores() -> None:
    uri = MODEL.operation_model("GetLayerVersionPolicy").http["requestUri"]
    assert uri == estate_calls.LAYER_VERSION_POLICY_URI
    qualifier = MODEL.operation_model("GetPolicy").input_shape.members["Qualifier"]
    assert qualifier.serialization == {"location": "querystring", "name": "Qualifier"}


ODD = "odd name/../x"  # a label to encode: a space, slashes, dots
MARK = "m/2+= x"  # a marker to encode
LAYER_ARN = f"{ARN}:layer:deps"
# operation, our call, the same request's parameters for botocore
REQUESTS: list[tuple[str, Call, dict[str, Any]]] = [
    ("ListEventSourceMappings", lambda s: estate_calls.event_source_mappings_page(s, None), {"MaxItems": 100}),
    (
        "ListEventSourceMappings",
        lambda s: estate_calls.event_source_mappings_page(s, MARK),
        {"MaxItems": 100, "Marker": MARK},
    ),
    ("ListLayers", lambda s: estate_calls.layers_page(s, MARK), {"MaxItems": 50, "Marker": MARK}),
    (
        "ListLayerVersions",
        lambda s: estate_calls.layer_versions_page(s, MARK, layer=LAYER_ARN),
        {"LayerName": LAYER_ARN, "MaxItems": 50, "Marker": MARK},
    ),
    (
        "ListCodeSigningConfigs",
        lambda s: estate_calls.code_signing_configs_page(s, MARK),
        {"MaxItems": 50, "Marker": MARK},
    ),
    (
        "ListFunctionsByCodeSigningConfig",
        lambda s: estate_calls.functions_by_code_signing_config_page(s, None, config=_CSC),
        {"CodeSigningConfigArn": _CSC, "MaxItems": 50},
    ),
    (
        "ListFunctionsByCodeSigningConfig",
        lambda s: estate_calls.functions_by_code_signing_config_page(s, MARK, config=_CSC),
        {"CodeSigningConfigArn": _CSC, "MaxItems": 50, "Marker": MARK},
    ),
    (
        "GetLayerVersionPolicy",
        lambda s: estate_calls.layer_version_policy(s, LAYER_ARN, 12),
        {"LayerName": LAYER_ARN, "VersionNumber": 12},
    ),
    (
        "ListAliases",
        lambda s: function_calls.aliases_page(s, MARK, name=ODD),
        {"FunctionName": ODD, "MaxItems": 50, "Marker": MARK},
    ),
    (
        "ListFunctionEventInvokeConfigs",
        lambda s: function_calls.event_invoke_configs_page(s, MARK, name=ODD),
        {"FunctionName": ODD, "MaxItems": 50, "Marker": MARK},
    ),
    (
        "ListProvisionedConcurrencyConfigs",
        lambda s: function_calls.provisioned_concurrency_configs_page(s, None, name=ODD),
        {"FunctionName": ODD, "MaxItems": 50},
    ),
    (
        "ListProvisionedConcurrencyConfigs",
        lambda s: function_calls.provisioned_concurrency_configs_page(s, MARK, name=ODD),
        {"FunctionName": ODD, "MaxItems": 50, "Marker": MARK},
    ),
    (
        "GetPolicy",
        lambda s: enrichment_calls.policy_text(s, ODD, "live a/b"),
        {"FunctionName": ODD, "Qualifier": "live a/b"},
    ),
    ("GetPolicy", lambda s: enrichment_calls.policy_text(s, "my-fn"), {"FunctionName": "my-fn"}),
]


def _botocores(operation: str, params: dict[str, Any]) -> tuple[str, str, list[str]]:
    """The request botocore's lambda client would send: method, path and query pairs, both percent-encoded."""
    model = MODEL.operation_model(operation)
    request = create_serializer(MODEL.metadata["protocol"]).serialize_to_request(params, model)
    prepare_request_dict(request, f"https://lambda.{REGION}.amazonaws.com")
    url = urlsplit(request["url"])
    assert request["body"] in (b"", None, {})
    return request["method"], url.path, sorted(url.query.split("&")) if url.query else []


def test_every_request_is_the_one_botocore_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    """One answer that fits every read (each list empty, a policy)."""
    fits_all = {**{read.listing.member: [] for read in READS.values()}, "Policy": "{}"}
    answers, requests = _run(monkeypatch, sequence(_json(fits_all)), [call for _, call, _ in REQUESTS])
    assert not [answer for answer in answers if isinstance(answer, Exception)]
    assert len(requests) == len(REQUESTS)
    for (operation, _, params), request in zip(REQUESTS, requests, strict=True):
        sent = ("GET", request.path, sorted(request.raw_query.split("&")) if request.raw_query else [])
        assert sent == _botocores(operation, params), operation
        assert request.headers["Authorization"].split("Credential=")[1].split("/")[3] == "lambda"


# --- well-formed answers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", sorted(READS))
def test_pages_are_read_in_order_with_their_items_as_sent(monkeypatch: pytest.MonkeyPatch, operation: str) -> None:
    read = READS[operation]
    member, size = read.listing.member, str(read.listing.page_size)
    first, second, third = read.item, read.variant("-b"), read.variant("-cc")
    if read.listing.identity is not None:
        second = {**second, "NotYetDocumented": {"x": [1]}}
    pages = {
        None: _json({member: [first, second], "NextMarker": "m/2+="}),
        "m/2+=": _json({member: [third], "NextMarker": "m3"}),
        "m3": _json({member: [], "NextMarker": ""}),  # an empty last page: "" ends it, as for botocore
        "m4": _json({member: [], "NextMarker": None}),
    }
    calls = [read.at(marker) for marker in pages]
    answers, requests = _run(monkeypatch, by_marker(pages), calls)
    assert answers == [Paged([first, second], "m/2+="), Paged([third], "m3"), Paged([], None), Paged([], None)]
    assert {request.path for request in requests} == {read.path}
    fixed = {"List": "ALL"} if operation == "ListProvisionedConcurrencyConfigs" else {}
    assert [request.query for request in requests] == [
        {**fixed, "MaxItems": size},
        {**fixed, "MaxItems": size, "Marker": "m/2+="},
        {**fixed, "MaxItems": size, "Marker": "m3"},
        {**fixed, "MaxItems": size, "Marker": "m4"},
    ]


def test_labels_are_encoded(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Call] = [
        lambda s: function_calls.aliases_page(s, None, name=ODD),
        lambda s: estate_calls.layer_versions_page(s, None, layer=LAYER_ARN),
        lambda s: estate_calls.functions_by_code_signing_config_page(s, None, config=_CSC),
    ]
    _, requests = _run(monkeypatch, sequence(_json({"Aliases": [], "LayerVersions": [], "FunctionArns": []})), calls)
    assert [request.path for request in requests] == [
        "/2015-03-31/functions/odd%20name%2F..%2Fx/aliases",
        "/2018-10-31/layers/arn%3Aaws%3Alambda%3Aeu-west-1%3A111111111111%3Alayer%3Adeps/versions",
        READS["ListFunctionsByCodeSigningConfig"].path,
    ]


# --- hostile answers ---------------------------------------------------------------------------------------


def _hostile(read: Read) -> list[tuple[Any, str]]:
    """(a 200's body, what the refusal says) for a page of `read`: bytes as they are, anything else as JSON."""
    member, good = read.listing.member, read.item
    return [
        (b"", "an empty body"),
        (b"<html><body>Service Unavailable</body></html>", "a body that is not JSON"),
        ([good], "a JSON list, not an object"),
        ("text", "a JSON str, not an object"),
        ({}, f"{member} as nothing"),
        ({member: None}, f"{member} as nothing"),
        ({member: {"0": good}}, f"{member} as a dict"),
        ({member: json.dumps([good])}, f"{member} as a str"),
        *(_hostile_items(read) if read.listing.identity is not None else _hostile_texts(read)),
        ({member: [good], "NextMarker": 7}, "NextMarker as a int"),
        ({member: [good], "NextMarker": True}, "NextMarker as a bool"),
        ({member: [good], "NextMarker": {"m": 1}}, "NextMarker as a dict"),
        ({member: [good], "NextMarker": ["m"]}, "NextMarker as a list"),
    ]


def _hostile_items(read: Read) -> list[tuple[Any, str]]:
    """Items of a list of objects that are not one, or lack their identity as text."""
    member, identity, good = read.listing.member, read.listing.identity, read.item
    unnamed = {key: value for key, value in good.items() if key != identity}
    return [
        ({member: [good, 1]}, f"a {member} entry that is a JSON int, not an object"),
        ({member: [good, "x"]}, f"a {member} entry that is a JSON str, not an object"),
        ({member: [[good]]}, f"a {member} entry that is a JSON list, not an object"),
        ({member: [None]}, f"a {member} entry that is a JSON NoneType, not an object"),
        ({member: [good, unnamed]}, f"a {member} entry without {identity} text"),
        ({member: [{**good, identity: None}]}, f"a {member} entry without {identity} text"),
        ({member: [{**good, identity: 7}]}, f"a {member} entry without {identity} text"),
        ({member: [{**good, identity: ""}]}, f"a {member} entry without {identity} text"),
        ({member: [{**good, identity: [good[identity]]}]}, f"a {member} entry without {identity} text"),
        ({member: [{**good, identity: {"S": good[identity]}}]}, f"a {member} entry without {identity} text"),
    ]


def _hostile_texts(read: Read) -> list[tuple[Any, str]]:
    """Items of a list of ARNs that are not non-empty text."""
    member, good = read.listing.member, read.item
    return [
        ({member: [good, 1]}, f"a {member} entry that is a JSON int, not text"),
        ({member: [good, 7.5]}, f"a {member} entry that is a JSON float, not text"),
        ({member: [good, True]}, f"a {member} entry that is a JSON bool, not text"),
        ({member: [None]}, f"a {member} entry that is a JSON NoneType, not text"),
        ({member: [[good]]}, f"a {member} entry that is a JSON list, not text"),
        ({member: [[]]}, f"a {member} entry that is a JSON list, not text"),
        ({member: [{"FunctionArn": good}]}, f"a {member} entry that is a JSON dict, not text"),
        ({member: [good, {"S": good}]}, f"a {member} entry that is a JSON dict, not text"),
        ({member: [""]}, f"a {member} entry that is empty text"),
        ({member: [good, ""]}, f"a {member} entry that is empty text"),
    ]


def _reply(body: Any) -> Reply:
    return Reply(
        200, body if isinstance(body, bytes) else json.dumps(body).encode(), {"Content-Type": "application/json"}
    )


def _refused(answers: list[Any], cases: list[tuple[Any, str]], operation: str) -> None:
    for answer, (body, what) in zip(answers, cases, strict=True):
        assert isinstance(answer, FaultError), (body, answer)
        assert (answer.fault.kind, answer.fault.code) == (FaultKind.TRANSIENT, "InvalidResponse"), body
        assert answer.fault.message.startswith(f"{operation} answered HTTP 200 with "), answer.fault.message
        assert what in answer.fault.message, (what, answer.fault.message)


@pytest.mark.parametrize("operation", sorted(READS))
def test_a_page_that_is_not_one_is_invalid(monkeypatch: pytest.MonkeyPatch, operation: str) -> None:
    read = READS[operation]
    cases = _hostile(read)
    script = sequence(*(_reply(body) for body, _ in cases))
    answers, _ = _run(monkeypatch, script, [read.at(None)] * len(cases))
    _refused(answers, cases, operation)


@pytest.mark.parametrize("version", ["3", 3.0, True, 0, -1, None, 2**63, [3]])
def test_a_layer_version_without_a_whole_version_number_is_invalid(
    monkeypatch: pytest.MonkeyPatch, version: Any
) -> None:
    item = {**READS["ListLayerVersions"].item, "Version": version}
    answer, _ = _one(
        monkeypatch, _json({"LayerVersions": [item]}), lambda s: estate_calls.layer_versions_page(s, None, layer="deps")
    )
    assert isinstance(answer, FaultError) and answer.fault.code == "InvalidResponse", answer
    assert f"{ARN}:layer:deps:3 with Version {str(version)[:20]!r}, not a whole number" in answer.fault.message


# --- the single reads ----------------------------------------------------------------------------------------

NOT_FOUND = "ResourceNotFoundException"


def test_layer_version_policy_text_none_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*"}]})
    replies = [
        _json({"Policy": policy, "RevisionId": "r1"}),
        _json({"Type": "User", "Message": "No policy is associated with the given resource."}, 404, NOT_FOUND),
        _json({"Message": "User is not authorized"}, 403, "AccessDeniedException"),
        _json({"Message": "Rate exceeded", "Reason": "CallerRateLimitExceeded"}, 429, "TooManyRequestsException"),
    ]
    call: Call = lambda s: estate_calls.layer_version_policy(s, "deps", 3)  # noqa: E731
    answers, requests = _run(monkeypatch, sequence(*replies), [call] * len(replies))
    assert answers[:2] == [policy, None]
    assert {request.path for request in requests} == {"/2018-10-31/layers/deps/versions/3/policy"}
    denied, throttled = answers[2:]
    assert isinstance(denied, ClientError) and denied.operation_name == "GetLayerVersionPolicy"
    assert (classify(denied).kind, classify(denied).code) == (FaultKind.FATAL, "AccessDeniedException")
    assert isinstance(throttled, ClientError) and classify(throttled).kind is FaultKind.THROTTLED


def test_a_layer_version_policy_that_is_not_text_is_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    cases: list[tuple[Any, str]] = [
        (b"", "an empty body"),
        (b"not json", "a body that is not JSON"),
        ([], "a JSON list, not an object"),
        ({}, "no Policy text"),
        ({"Policy": {"Statement": []}}, "no Policy text"),
        ({"Policy": None}, "no Policy text"),
    ]
    call: Call = lambda s: estate_calls.layer_version_policy(s, "deps", 3)  # noqa: E731
    answers, _ = _run(monkeypatch, sequence(*(_reply(body) for body, _ in cases)), [call] * len(cases))
    _refused(answers, cases, "GetLayerVersionPolicy")


def test_an_aliass_policy_is_asked_with_its_qualifier(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = json.dumps({"Statement": []})
    missing = _json({"Type": "User", "Message": "The resource you requested does not exist."}, 404, NOT_FOUND)
    calls: list[Call] = [
        lambda s: enrichment_calls.policy_text(s, "my-fn", "live"),
        lambda s: enrichment_calls.policy_text(s, "my-fn", "live"),
        lambda s: enrichment_calls.policy_text(s, "my-fn", "live"),
    ]
    answers, requests = _run(monkeypatch, sequence(_json({"Policy": policy}), missing, _json({"Policy": 1})), calls)
    assert answers[0] == policy
    assert [(request.path, request.query) for request in requests] == [
        ("/2015-03-31/functions/my-fn/policy", {"Qualifier": "live"})
    ] * 3
    assert isinstance(answers[1], ClientError) and classify(answers[1]).code == NOT_FOUND
    assert isinstance(answers[2], FaultError) and "no Policy text" in answers[2].fault.message


def test_an_error_answer_keeps_its_code_and_operation(monkeypatch: pytest.MonkeyPatch) -> None:
    replies = [
        _json({"message": "Rate exceeded", "Reason": "CallerRateLimitExceeded"}, 429, "TooManyRequestsException"),
        _json({"Type": "User", "Message": f"Function not found: {ARN}:function:my-fn"}, 404, NOT_FOUND),
        Reply(500, b'{"__type": "com.amazon.coral.service#ServiceException", "Message": "oops"}'),
        _json({"Type": "User", "Message": "The resource you requested does not exist."}, 404, NOT_FOUND),
        _json({"Message": "User is not authorized"}, 403, "AccessDeniedException"),
    ]
    config_functions: Call = lambda s: estate_calls.functions_by_code_signing_config_page(s, None, config=_CSC)  # noqa: E731
    calls: list[Call] = [
        lambda s: estate_calls.layers_page(s, None),
        lambda s: function_calls.aliases_page(s, None, name="my-fn"),
        lambda s: function_calls.provisioned_concurrency_configs_page(s, None, name="my-fn"),
        config_functions,  # a config deleted since it was listed: job/estate_reads.py reads it as "no function"
        config_functions,
    ]
    answers, _ = _run(monkeypatch, sequence(*replies), calls)
    found = [(err.operation_name, classify(err).kind, classify(err).code) for err in answers]
    assert found == [
        ("ListLayers", FaultKind.THROTTLED, "TooManyRequestsException"),
        ("ListAliases", FaultKind.FATAL, NOT_FOUND),
        ("ListProvisionedConcurrencyConfigs", FaultKind.TRANSIENT, "ServiceException"),
        ("ListFunctionsByCodeSigningConfig", FaultKind.FATAL, NOT_FOUND),
        ("ListFunctionsByCodeSigningConfig", FaultKind.FATAL, "AccessDeniedException"),
    ]
