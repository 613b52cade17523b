"""Lambda's lists of an account-region, one page per call, over the job's signed-HTTP path (aws/transport.py),
with the shared helpers of aws/enrichment_calls.py. aws/function_calls.py holds the per-function reads.

A page is `Paged([item, ...], NextMarker)`. The items are the JSON objects of the documented list member, kept
as AWS sent them: the contract layer types them against botocore's shapes, so nothing here models them twice.
This layer checks what it needs to page and to address the next call, and refuses anything else as
`InvalidResponse` (transient: retried, then the read fails for the target), never as an empty list:

* the body is a JSON object, and its list member is there and is a list;
* each item is a JSON object carrying its identifying member as non-empty text (and ListLayerVersions' items
  their `Version` as a whole number: GetLayerVersionPolicy is addressed by it), or, for a list of ARNs
  (ListFunctionsByCodeSigningConfig's FunctionArns), is itself non-empty text;
* `NextMarker` is text when given ("" or null ends the listing, as botocore's paginators read it).

Paging is botocore's paginators' for these operations: `MaxItems` and `Marker` in, `NextMarker` out. Each
Listing keeps its operation's request URI as botocore's lambda model writes it (labels in braces, a fixed query
after `?`); tests/aws/test_estate_calls.py checks every URI, key and page size, and the requests sent, against
the model.

| call | wire | list member: identified by |
|---|---|---|
| ListEventSourceMappings | GET /2015-03-31/event-source-mappings | EventSourceMappings: UUID |
| ListLayers | GET /2018-10-31/layers | Layers: LayerName |
| ListLayerVersions | GET /2018-10-31/layers/<layer>/versions | LayerVersions: LayerVersionArn (+ Version) |
| ListCodeSigningConfigs | GET /2020-04-22/code-signing-configs | CodeSigningConfigs: CodeSigningConfigArn |
| ListFunctionsByCodeSigningConfig | GET /2020-04-22/code-signing-configs/<config ARN>/functions | FunctionArns (1) |
| GetLayerVersionPolicy | GET /2018-10-31/layers/<layer>/versions/<version>/policy | (Policy text) |

(1) each item is a function's ARN as text (the functions that use the config); a config that does not exist (deleted
since ListCodeSigningConfigs) is 404 ResourceNotFoundException, raised as ClientError for job/estate_reads.py to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from botocore.exceptions import ClientError

from inventory.aws.enrichment_calls import Paged, Scope, invalid, json_object, lambda_get, member_list, page_token
from inventory.aws.retry import classify

MAX_ITEMS, MARKER, NEXT_MARKER = "MaxItems", "Marker", "NextMarker"  # every Lambda list's paging keys
EVENT_SOURCE_MAPPING_PAGE_SIZE = 100  # the most ListEventSourceMappings returns per page, whatever MaxItems says
LAYER_PAGE_SIZE = 50  # the most MaxItems ListLayers takes
LAYER_VERSION_PAGE_SIZE = 50  # the most MaxItems ListLayerVersions takes
CODE_SIGNING_CONFIG_PAGE_SIZE = 50  # asked: the model allows up to 10,000 but documents no per-page cap
FUNCTIONS_BY_CODE_SIGNING_CONFIG_PAGE_SIZE = 50  # asked: the model allows up to 10,000, documents no per-page cap
LAYER_VERSION_POLICY_URI = "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy"
_VERSION_LIMIT = 2**63  # a layer's Version is a long


@dataclass(frozen=True)
class Listing:
    """One of Lambda's paged lists: its operation, its request URI (botocore's model's), its list member, the
    member that identifies each item (None: each item is itself text, an ARN), and the page size asked (MaxItems)."""

    operation: str
    uri: str
    member: str
    identity: str | None
    page_size: int
    number: str | None = None  # a member each item must also carry as a whole number (a later call's address)


EVENT_SOURCE_MAPPINGS = Listing(
    "ListEventSourceMappings",
    "/2015-03-31/event-source-mappings",
    "EventSourceMappings",
    "UUID",
    EVENT_SOURCE_MAPPING_PAGE_SIZE,
)
LAYERS = Listing("ListLayers", "/2018-10-31/layers", "Layers", "LayerName", LAYER_PAGE_SIZE)
LAYER_VERSIONS = Listing(
    "ListLayerVersions",
    "/2018-10-31/layers/{LayerName}/versions",
    "LayerVersions",
    "LayerVersionArn",
    LAYER_VERSION_PAGE_SIZE,
    number="Version",
)
CODE_SIGNING_CONFIGS = Listing(
    "ListCodeSigningConfigs",
    "/2020-04-22/code-signing-configs",
    "CodeSigningConfigs",
    "CodeSigningConfigArn",
    CODE_SIGNING_CONFIG_PAGE_SIZE,
)
FUNCTIONS_BY_CODE_SIGNING_CONFIG = Listing(
    "ListFunctionsByCodeSigningConfig",
    "/2020-04-22/code-signing-configs/{CodeSigningConfigArn}/functions",
    "FunctionArns",
    None,
    FUNCTIONS_BY_CODE_SIGNING_CONFIG_PAGE_SIZE,
)


def request_path(uri: str, labels: dict[str, str], query: list[tuple[str, str]] | None = None) -> str:
    """A model's request URI with its labels filled in and `query` after its own fixed query, each value
    percent-encoded as botocore encodes them (a label's `/` and `:` too, a space as %20)."""
    path, _, fixed = uri.partition("?")
    path = path.format_map({key: quote(value, safe="") for key, value in labels.items()})
    pairs = [*parse_qsl(fixed), *(query or [])]
    return f"{path}?{urlencode(pairs, quote_via=quote)}" if pairs else path


async def list_page(scope: Scope, listing: Listing, marker: str | None, labels: dict[str, str] | None = None) -> Paged:
    """One page of `listing` (its URI's labels filled from `labels`): Paged([item, ...], NextMarker)."""
    query = [(MAX_ITEMS, str(listing.page_size)), *([(MARKER, marker)] if marker else [])]
    path = request_path(listing.uri, labels or {}, query)
    body = json_object(listing.operation, await lambda_get(scope, listing.operation, path))
    items = member_list(listing.operation, body, listing.member)
    for item in items:
        _check(listing, item)
    return Paged(items, page_token(listing.operation, body, NEXT_MARKER))


def _check(listing: Listing, item: Any) -> None:
    operation, member = listing.operation, listing.member
    if listing.identity is None:  # a list of ARNs: each non-empty text
        if not isinstance(item, str):
            raise invalid(operation, f"a {member} entry that is a JSON {type(item).__name__}, not text")
        if not item:
            raise invalid(operation, f"a {member} entry that is empty text")
        return
    if not isinstance(item, dict):
        raise invalid(operation, f"a {member} entry that is a JSON {type(item).__name__}, not an object")
    key = item.get(listing.identity)
    if not isinstance(key, str) or not key:
        raise invalid(operation, f"a {member} entry without {listing.identity} text")
    if listing.number is not None:
        number = item.get(listing.number)
        if type(number) is not int or not 0 < number < _VERSION_LIMIT:
            raise invalid(operation, f"{key[-60:]} with {listing.number} {str(number)[:20]!r}, not a whole number")


async def event_source_mappings_page(scope: Scope, marker: str | None) -> Paged:
    """One ListEventSourceMappings page of the account-region (every function's mappings)."""
    return await list_page(scope, EVENT_SOURCE_MAPPINGS, marker)


async def layers_page(scope: Scope, marker: str | None) -> Paged:
    """One ListLayers page of the account-region (each layer with its latest version)."""
    return await list_page(scope, LAYERS, marker)


async def layer_versions_page(scope: Scope, marker: str | None, *, layer: str) -> Paged:
    """One ListLayerVersions page of one layer (`layer`: its name or ARN)."""
    return await list_page(scope, LAYER_VERSIONS, marker, {"LayerName": layer})


async def code_signing_configs_page(scope: Scope, marker: str | None) -> Paged:
    """One ListCodeSigningConfigs page of the account-region."""
    return await list_page(scope, CODE_SIGNING_CONFIGS, marker)


async def functions_by_code_signing_config_page(scope: Scope, marker: str | None, *, config: str) -> Paged:
    """One ListFunctionsByCodeSigningConfig page of one code signing config (`config`: its ARN): the ARNs of
    the functions that use it, as text. A config that does not exist raises ClientError (404)."""
    return await list_page(scope, FUNCTIONS_BY_CODE_SIGNING_CONFIG, marker, {"CodeSigningConfigArn": config})


async def layer_version_policy(scope: Scope, layer: str, version: int) -> str | None:
    """GetLayerVersionPolicy's Policy document (JSON text) of one layer version; None when it has none (404
    ResourceNotFoundException, which Lambda also answers for a version deleted since the listing). Any other
    error is raised as ClientError."""
    path = request_path(LAYER_VERSION_POLICY_URI, {"LayerName": layer, "VersionNumber": f"{version:d}"})
    try:
        content = await lambda_get(scope, "GetLayerVersionPolicy", path)
    except ClientError as err:
        if classify(err).code == "ResourceNotFoundException":
            return None
        raise
    policy = json_object("GetLayerVersionPolicy", content).get("Policy")
    if not isinstance(policy, str):
        raise invalid("GetLayerVersionPolicy", "no Policy text")
    return policy
