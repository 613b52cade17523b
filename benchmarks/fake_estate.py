"""The estate reads for fake_aws.py (issue 20), answered from fake_estate_truth.py over Lambda's REST-JSON wire, as
aws/estate_calls.py and aws/function_calls.py call them (every one a GET, scope `lambda`):

| call | GET path (`<name>` a function's) | list member |
|---|---|---|
| ListEventSourceMappings | /2015-03-31/event-source-mappings/ | EventSourceMappings |
| ListLayers | /2018-10-31/layers | Layers |
| ListLayerVersions | /2018-10-31/layers/<layer>/versions | LayerVersions |
| ListCodeSigningConfigs | /2020-04-22/code-signing-configs/ | CodeSigningConfigs |
| ListFunctionsByCodeSigningConfig | /2020-04-22/code-signing-configs/<config ARN>/functions | FunctionArns (3) |
| ListAliases | /2015-03-31/functions/<name>/aliases | Aliases |
| ListFunctionEventInvokeConfigs | /2019-09-25/functions/<name>/event-invoke-config/list | (1) |
| ListProvisionedConcurrencyConfigs | /2019-09-30/functions/<name>/provisioned-concurrency?List=ALL | (2) |

(1) FunctionEventInvokeConfigs; (2) ProvisionedConcurrencyConfigs; (3) the unqualified ARNs of the functions using
the config, as text.

Paging is Lambda's: `MaxItems` (checked against the bounds botocore's model gives each operation: 400
InvalidParameterValueException outside them) and `Marker` in, `NextMarker` out while items remain; a page holds
at most MaxItems items, never more than the operation's own cap (50, or 100 for ListEventSourceMappings, as real
Lambda caps them) nor --estate-page-items. A marker the fake did not give is refused like a bad MaxItems.

A per-function read of a name that is not one of the account-region's functions is 404 ResourceNotFoundException
("Function not found: arn..."), as Lambda answers it for a function deleted since the listing; ListLayerVersions
of a layer the account-region does not hold lists nothing; ListFunctionsByCodeSigningConfig of a config the
account-region does not hold is 404 ResourceNotFoundException, as Lambda answers it for a config deleted since it
was listed. Each call goes through FakeAws.member_call, as ListFunctions does: counted per
(account, region) with its arrival time, delayed, throttled by --throttle-rate / --enforce-rps (429
TooManyRequestsException), refused for a key that is not one of ours.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, unquote

from fake_enrich import REQUEST_ID, Request, Response, service_error
from fake_estate_truth import PAGE_CAPS, Estate, FunctionEstate, estate, min_estate_calls

_REGION_LISTS = {  # path -> (operation, list member)
    "/2015-03-31/event-source-mappings": ("ListEventSourceMappings", "EventSourceMappings"),
    "/2018-10-31/layers": ("ListLayers", "Layers"),
    "/2020-04-22/code-signing-configs": ("ListCodeSigningConfigs", "CodeSigningConfigs"),
}
LAYER_VERSIONS_PATH = re.compile(r"^/2018-10-31/layers/([^/]+)/versions/?$")
LAYER_POLICY_PATH = re.compile(r"^/2018-10-31/layers/([^/]+)/versions/(\d+)/policy/?$")
CONFIG_FUNCTIONS_PATH = re.compile(r"^/2020-04-22/code-signing-configs/([^/]+)/functions/?$")
FUNCTION_READ_PATH = re.compile(
    r"^/(2015-03-31|2019-09-25|2019-09-30)/functions/([^/]+)/"
    r"(aliases|event-invoke-config/list|provisioned-concurrency)/?$"
)
_FUNCTION_OPS = {  # (version, path tail) -> (operation, list member)
    ("2015-03-31", "aliases"): ("ListAliases", "Aliases"),
    ("2019-09-25", "event-invoke-config/list"): ("ListFunctionEventInvokeConfigs", "FunctionEventInvokeConfigs"),
    ("2019-09-30", "provisioned-concurrency"): ("ListProvisionedConcurrencyConfigs", "ProvisionedConcurrencyConfigs"),
}
MAX_ITEMS_BOUNDS = {  # botocore's lambda model: MaxItems' range per operation
    "ListEventSourceMappings": 10_000,
    "ListLayers": 50,
    "ListLayerVersions": 50,
    "ListCodeSigningConfigs": 10_000,
    "ListFunctionsByCodeSigningConfig": 10_000,
    "ListAliases": 10_000,
    "ListFunctionEventInvokeConfigs": 50,
    "ListProvisionedConcurrencyConfigs": 50,
}
_HEADERS = [("Content-Type", "application/json"), ("x-amzn-RequestId", REQUEST_ID)]


def _answer(body: dict[str, Any]) -> Response:
    return "200 OK", list(_HEADERS), json.dumps(body, separators=(",", ":")).encode()


def _bad(message: str) -> Response:
    return service_error("lambda", 400, "InvalidParameterValueException", message)


class EstateAnswers:
    """Mixed into FakeAws: needs self.args, self.pop, self.stats and self.member_call.

    Each account-region's estate is made on its first estate call and kept, or all of them at start-up with
    --enrichments (with the enrichments' data), so that no answer stalls the event loop while a run is measured."""

    args: Any
    pop: Any
    stats: Any
    member_call: Callable[..., Awaitable[Response | None]]

    def init_estate(self) -> None:
        self._estates: dict[tuple[str, str], Estate] = {}
        self._estate_names: dict[tuple[str, str], dict[str, FunctionEstate]] = {}
        self._estate_min_calls: dict[str, int] | None = None

    def estate_of(self, account: str, region: str) -> Estate:
        key = (account, region)
        found = self._estates.get(key)
        if found is None:
            found = self._estates[key] = estate(account, region, self.pop.count(account, region), self.args.seed)
            self._estate_names[key] = found.by_name()
            gc.freeze()  # kept for the fake's life: no full collection walks them again
        return found

    def min_estate_calls(self) -> dict[str, int]:
        """The fewest requests each estate enrichment needs over the org (makes, and keeps, every estate)."""
        if self._estate_min_calls is None:
            every = (self.estate_of(a, r) for a, row in self.pop.counts.items() for r in row)
            self._estate_min_calls = min_estate_calls(every, self.args.estate_page_items)
        return self._estate_min_calls

    async def estate_read(self, request: Request) -> Response | None:
        """The answer to an estate read, or None when the request is not one."""
        if request.service != "lambda" or request.method != "GET":
            return None
        path, region = request.path, request.region
        params = {k: v[-1] for k, v in parse_qs(request.query).items()}
        listed = _REGION_LISTS.get(path.rstrip("/"))
        if listed is not None:
            op, member = listed
            part = f"{op}@{params.get('Marker', '')}"

            def region_list(account: str) -> Response:
                e = self.estate_of(account, region)
                items = {"ListEventSourceMappings": e.mappings, "ListLayers": e.layers}.get(op, e.signing_configs)
                return self._page(op, member, items, params)

            return await self.member_call(op, request, part, region_list)
        found = LAYER_VERSIONS_PATH.match(path)
        if found:
            layer = unquote(found.group(1)).rsplit(":", 1)[-1]  # a name, or the layer's ARN
            part = f"{layer}@{params.get('Marker', '')}"

            def versions(account: str) -> Response:
                items = self.estate_of(account, region).layer_versions.get(layer, ())
                return self._page("ListLayerVersions", "LayerVersions", items, params)

            return await self.member_call("ListLayerVersions", request, part, versions)
        found = LAYER_POLICY_PATH.match(path)
        if found:  # the fake's layer versions have no policy: Lambda's 404 for one without
            part = f"{found.group(1)}:{found.group(2)}"

            def no_policy(account: str) -> Response:
                message = "The resource you requested does not exist."
                return service_error("lambda", 404, "ResourceNotFoundException", message)

            return await self.member_call("GetLayerVersionPolicy", request, part, no_policy)
        found = CONFIG_FUNCTIONS_PATH.match(path)
        if found:
            config = unquote(found.group(1))
            part = f"{config.rsplit(':', 1)[-1]}@{params.get('Marker', '')}"

            def functions(account: str) -> Response:
                e = self.estate_of(account, region)
                if not any(item["CodeSigningConfigArn"] == config for item in e.signing_configs):
                    self.stats.errors["ListFunctionsByCodeSigningConfig:ResourceNotFound"] += 1
                    message = f"Code signing config {config[-40:]} not found (fake)"
                    return service_error("lambda", 404, "ResourceNotFoundException", message)
                arns = e.signed.get(config, ())
                return self._page("ListFunctionsByCodeSigningConfig", "FunctionArns", arns, params)

            return await self.member_call("ListFunctionsByCodeSigningConfig", request, part, functions)
        found = FUNCTION_READ_PATH.match(path)
        if found is None:
            return None
        read = _FUNCTION_OPS.get((found.group(1), found.group(3)))
        if read is None:
            return None
        name = unquote(found.group(2))
        part = f"{name}@{params.get('Marker', '')}"
        return await self.member_call(
            read[0], request, part, lambda account: self._function_read(read, (account, region), name, params)
        )

    def _function_read(
        self, read: tuple[str, str], where: tuple[str, str], name: str, params: dict[str, str]
    ) -> Response:
        """One function's list (`read`: the operation and its list member)."""
        op, member = read
        account, region = where
        self.estate_of(account, region)
        found = self._estate_names[where].get(name)
        if found is None:
            self.stats.errors[f"{op}:ResourceNotFound"] += 1
            arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
            return service_error("lambda", 404, "ResourceNotFoundException", f"Function not found: {arn}")
        if op == "ListProvisionedConcurrencyConfigs" and params.get("List") != "ALL":
            self.stats.errors[f"{op}:InvalidParameter"] += 1
            return _bad("List=ALL is required (fake)")
        items = {"ListAliases": found.aliases, "ListFunctionEventInvokeConfigs": found.invoke_configs}
        return self._page(op, member, items.get(op, found.provisioned), params)

    def _page(self, op: str, member: str, items: tuple[Any, ...], params: dict[str, str]) -> Response:
        """One page of `items` from Marker, at most MaxItems (within the operation's bounds) and the caps."""
        raw = params.get("MaxItems")
        limit = int(raw) if raw is not None and raw.isdigit() else (None if raw is not None else PAGE_CAPS[op])
        offset = _offset(params.get("Marker"))
        if limit is None or not 1 <= limit <= MAX_ITEMS_BOUNDS[op] or offset is None or offset > len(items):
            self.stats.errors[f"{op}:InvalidParameter"] += 1
            return _bad("Invalid MaxItems or Marker (fake)")
        end = offset + min(limit, PAGE_CAPS[op], self.args.estate_page_items)
        answer: dict[str, Any] = {member: list(items[offset:end])}
        if end < len(items):
            answer["NextMarker"] = f"v1.{end}"
        return _answer(answer)


def _offset(marker: str | None) -> int | None:
    """Our markers are `v1.<offset>`: 0 without one, None for any other."""
    if marker is None:
        return 0
    version, _, offset = marker.partition(".")
    return int(offset) if version == "v1" and offset.isdigit() else None
