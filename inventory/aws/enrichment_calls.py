"""The enrichments' calls, one request each, over the job's signed-HTTP path (aws/transport.py), JSON protocols.

Every 200 is checked before it is believed, as ListFunctions' pages are: a body that is not a JSON object, a
member of the wrong type (a tag value that is not text, a tag key given twice for one resource, a concurrency
that is not an integer, a metric value that is not a count CloudWatch could send for a Sum of Invocations, a
datapoint outside the asked window) raises `InvalidResponse` (transient: retried, then the enrichment fails
for the target), never an empty or a zero value. job/enrich.py paces, retries and pages these calls.

Its helpers (Scope, Paged, invalid, json_object, member_list, page_token, function_path, lambda_get) are shared
with the estate's reads (aws/estate_calls.py, aws/function_calls.py), which check their 200s the same way.

| call | wire |
|---|---|
| tag:GetResources | POST /, awsJson1.1, `ResourceGroupsTaggingAPI_20170126.GetResources` |
| lambda:ListFunctionUrlConfigs | GET /2021-10-31/functions/<name>/urls |
| lambda:GetPolicy | GET /2015-03-31/functions/<name>/policy[?Qualifier=<alias>] |
| lambda:GetFunctionConcurrency | GET /2019-09-30/functions/<name>/concurrency |
| cloudwatch:GetMetricData | POST /, awsJson1.0, `GraniteServiceVersion20100801.GetMetricData` |
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from botocore.credentials import ReadOnlyCredentials

from inventory.aws.retry import Fault, FaultError, FaultKind
from inventory.aws.transport import SignedHttp

URL_PAGE_SIZE = 50
TAGS_PAGE_SIZE = 100  # the most GetResources returns per page
METRIC_QUERIES = 500  # the most GetMetricData takes per call
METRIC_PAGE_POINTS = 100_800  # the most datapoints GetMetricData returns per page (its MaxDatapoints default)
COUNT_LIMIT = 2**63  # invocations_30d is an int64: a count at or above this cannot be one
_TAGGING = ("application/x-amz-json-1.1", "ResourceGroupsTaggingAPI_20170126.GetResources")
_METRICS = ("application/x-amz-json-1.0", "GraniteServiceVersion20100801.GetMetricData")


@dataclass(frozen=True)
class Scope:
    """Where a call goes and as whom: the run's signed-HTTP path, a region, a member account's credentials."""

    http: SignedHttp
    region: str
    credentials: ReadOnlyCredentials


@dataclass(frozen=True)
class Paged:
    """One page of an answer: its values and the token for the next page (None: the last one)."""

    values: Any
    next_token: str | None


def invalid(operation: str, what: str) -> FaultError:
    """A 200 whose body is not the documented shape: `InvalidResponse`, transient (retried, then the read fails)."""
    return FaultError(Fault(FaultKind.TRANSIENT, "InvalidResponse", f"{operation} answered HTTP 200 with {what}"))


def json_object(operation: str, content: bytes) -> dict[str, Any]:
    """A 200's body, which must be a JSON object."""
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError as err:
        raise invalid(operation, "an empty body" if not content.strip() else "a body that is not JSON") from err
    if not isinstance(body, dict):
        raise invalid(operation, f"a JSON {type(body).__name__}, not an object")
    return body


def page_token(operation: str, body: dict[str, Any], key: str) -> str | None:
    """The next page's token: text, or None when absent, null or "" (as botocore's paginators read it)."""
    token = body.get(key)
    if token is not None and not isinstance(token, str):
        raise invalid(operation, f"{key} as a {type(token).__name__}")
    return token or None


def member_list(operation: str, body: dict[str, Any], key: str, required: bool = True) -> list[Any]:
    """The body's list member `key` (its items unchecked); missing is refused unless not `required`."""
    value = body.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise invalid(operation, f"{key} as {'nothing' if value is None else 'a ' + type(value).__name__}")
    return value


def function_path(version: str, name: str, leaf: str) -> str:
    """/<version>/functions/<name>/<leaf>, the name percent-encoded as botocore encodes a URI label."""
    return f"/{version}/functions/{quote(name, safe='')}/{leaf}"


async def tags_page(scope: Scope, token: str | None) -> Paged:
    """One GetResources page of Lambda functions: Paged({function ARN: {key: value}}, PaginationToken)."""
    request: dict[str, Any] = {"ResourceTypeFilters": ["lambda:function"], "ResourcesPerPage": TAGS_PAGE_SIZE}
    if token:
        request["PaginationToken"] = token
    body = await _post(scope, ("resourcegroupstaggingapi", "GetResources"), _TAGGING, request)
    found: dict[str, dict[str, str]] = {}
    for mapping in member_list("GetResources", body, "ResourceTagMappingList"):
        arn = mapping.get("ResourceARN") if isinstance(mapping, dict) else None
        tags = mapping.get("Tags", []) if isinstance(mapping, dict) else None
        if not isinstance(arn, str) or not isinstance(tags, list):
            raise invalid("GetResources", "a ResourceTagMappingList entry without ResourceARN text and a Tags list")
        pairs = _tag_pairs(arn, tags)
        if found.setdefault(arn, pairs) != pairs:
            raise invalid("GetResources", f"two different sets of tags for {arn[-60:]}")
    return Paged(found, page_token("GetResources", body, "PaginationToken"))


def _tag_pairs(arn: str, tags: list[Any]) -> dict[str, str]:
    """One resource's Tags as {key: value}; a key given twice is refused (which value would be the tag?)."""
    pairs: dict[str, str] = {}
    for tag in tags:
        if not (isinstance(tag, dict) and isinstance(tag.get("Key"), str) and isinstance(tag.get("Value"), str)):
            raise invalid("GetResources", f"a tag of {arn[-60:]} that is not a Key/Value pair of text")
        if tag["Key"] in pairs:
            raise invalid("GetResources", f"the tag key {tag['Key'][:40]!r} twice for {arn[-60:]}")
        pairs[tag["Key"]] = tag["Value"]
    return pairs


@dataclass(frozen=True)
class UrlConfig:
    """One function URL config: its AuthType, and what it is on: `qualifier` "" for the function itself, an alias
    name, or None when its FunctionArn does not say (not a function ARN)."""

    auth_type: str
    qualifier: str | None


async def url_configs_page(scope: Scope, marker: str | None, *, name: str) -> Paged:
    """One ListFunctionUrlConfigs page: Paged([UrlConfig, ...], NextMarker)."""
    query = [("MaxItems", str(URL_PAGE_SIZE)), *([("Marker", marker)] if marker else [])]
    path = f"{function_path('2021-10-31', name, 'urls')}?{urlencode(query)}"
    body = json_object("ListFunctionUrlConfigs", await lambda_get(scope, "ListFunctionUrlConfigs", path))
    configs = []
    for config in member_list("ListFunctionUrlConfigs", body, "FunctionUrlConfigs"):
        kind = config.get("AuthType") if isinstance(config, dict) else None
        if not isinstance(kind, str) or not kind:
            raise invalid("ListFunctionUrlConfigs", "a FunctionUrlConfigs entry without an AuthType")
        configs.append(UrlConfig(kind, _qualifier(config.get("FunctionArn"))))
    return Paged(configs, page_token("ListFunctionUrlConfigs", body, "NextMarker"))


def _qualifier(arn: Any) -> str | None:
    """A URL config's FunctionArn, arn:<partition>:lambda:<region>:<account>:function:<name>[:<alias>], as what
    the URL is on: "" (the function; $LATEST too), the alias, or None (not such an ARN)."""
    fields = arn.split(":") if isinstance(arn, str) else []
    if len(fields) not in (7, 8) or fields[0] != "arn" or fields[2] != "lambda" or fields[5] != "function":
        return None
    return "" if len(fields) == 7 or fields[7] == "$LATEST" else fields[7]


async def policy_text(scope: Scope, name: str, qualifier: str | None = None) -> str:
    """GetPolicy's Policy document (JSON text) of the function, or of one of its aliases or versions when
    `qualifier` names it. A 404 raises ClientError ResourceNotFoundException, as Lambda answers it both for a
    function without a policy ("The resource you requested does not exist.") and for a function that does not
    exist ("Function not found: <arn>"): job/enrichments.py tells the two apart."""
    path = function_path("2015-03-31", name, "policy")
    if qualifier:
        path += f"?{urlencode([('Qualifier', qualifier)], quote_via=quote)}"
    body = json_object("GetPolicy", await lambda_get(scope, "GetPolicy", path))
    policy = body.get("Policy")
    if not isinstance(policy, str):
        raise invalid("GetPolicy", "no Policy text")
    return policy


async def reserved_concurrency(scope: Scope, name: str) -> int | None:
    """GetFunctionConcurrency's ReservedConcurrentExecutions; None when none is reserved (`{}`)."""
    path = function_path("2019-09-30", name, "concurrency")
    body = json_object("GetFunctionConcurrency", await lambda_get(scope, "GetFunctionConcurrency", path))
    value = body.get("ReservedConcurrentExecutions")
    if value is not None and (type(value) is not int or not 0 <= value < 2**31):
        raise invalid("GetFunctionConcurrency", f"ReservedConcurrentExecutions {str(value)[:20]!r}, not a count")
    return value


@dataclass(frozen=True)
class Series:
    """One query's datapoints: epoch seconds and values."""

    timestamps: tuple[float, ...]
    values: tuple[float, ...]

    def points(self) -> list[tuple[float, float]]:
        return list(zip(self.timestamps, self.values, strict=True))


async def invocations_page(
    scope: Scope, token: str | None, *, names: Sequence[str], window: tuple[datetime, datetime]
) -> Paged:
    """One GetMetricData page of the daily Invocations Sum of each named function (query id `m<index>`):
    Paged({index: Series}, NextToken). A result whose StatusCode is not Complete or PartialData is an error."""
    start, end = window
    queries = [
        {
            "Id": f"m{index}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Lambda",
                    "MetricName": "Invocations",
                    "Dimensions": [{"Name": "FunctionName", "Value": name}],
                },
                "Period": 86400,
                "Stat": "Sum",
            },
            "ReturnData": True,
        }
        for index, name in enumerate(names)
    ]
    request: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start.timestamp(), "EndTime": end.timestamp()}
    if token:
        request["NextToken"] = token
    body = await _post(scope, ("cloudwatch", "GetMetricData"), _METRICS, request)
    bounds = (start.timestamp(), end.timestamp())
    return Paged(_series(body, len(names), bounds), page_token("GetMetricData", body, "NextToken"))


def _series(body: dict[str, Any], count: int, bounds: tuple[float, float]) -> dict[int, Series]:
    """The page's results by query index (a query answered twice on the page: its datapoints together)."""
    found: dict[int, Series] = {}
    for result in member_list("GetMetricData", body, "MetricDataResults"):
        key = result.get("Id") if isinstance(result, dict) else None
        index = int(key[1:]) if isinstance(key, str) and key[:1] == "m" and key[1:].isdigit() else -1
        if not 0 <= index < count:
            raise invalid("GetMetricData", f"a result for an unknown query id {str(key)[:20]!r}")
        state = result.get("StatusCode")
        if not isinstance(state, str):
            raise invalid("GetMetricData", f"query {key} without a StatusCode")
        if state not in ("Complete", "PartialData"):
            kind = FaultKind.FATAL if state == "Forbidden" else FaultKind.TRANSIENT
            message = f"GetMetricData query {key} has StatusCode {state[:30]!r}"
            raise FaultError(Fault(kind, f"MetricData{state[:30]}", message))
        series = _datapoints(str(key), result, bounds)
        before = found.get(index, Series((), ()))
        found[index] = Series(before.timestamps + series.timestamps, before.values + series.values)
    return found


def _datapoints(key: str, result: dict[str, Any], bounds: tuple[float, float]) -> Series:
    """A result's datapoints, each checked: a timestamp (epoch seconds) in the asked window [start, end), and a
    value a daily Sum of Invocations can be: a whole, non-negative count below COUNT_LIMIT (so never NaN or
    infinite). Anything else is refused, never stored or rounded."""
    stamps, values = result.get("Timestamps", []), result.get("Values", [])
    numbers = (int, float)
    if (
        not isinstance(stamps, list)
        or not isinstance(values, list)
        or len(stamps) != len(values)
        or not all(type(v) in numbers for v in [*stamps, *values])
    ):
        raise invalid("GetMetricData", f"query {key}: Timestamps and Values that are not two lists of numbers")
    start, end = bounds
    for stamp, value in zip(stamps, values, strict=True):
        if not start <= stamp < end:
            raise invalid("GetMetricData", f"query {key}: a datapoint at {str(stamp)[:24]}, outside the asked window")
        if not (0 <= value < COUNT_LIMIT and value == int(value)):
            raise invalid("GetMetricData", f"query {key}: a Sum of Invocations of {str(value)[:24]}, not a count")
    return Series(tuple(stamps), tuple(values))


async def lambda_get(scope: Scope, operation: str, path: str) -> bytes:
    """GET one Lambda path (and query, already encoded) in the scope's region; the 200's body."""
    return await scope.http.send(scope.http.endpoint("lambda", scope.region), scope.credentials, operation, path)


async def _post(
    scope: Scope, call: tuple[str, str], protocol: tuple[str, str], request: dict[str, Any]
) -> dict[str, Any]:
    """POST one JSON-protocol request; `call` is (boto3 service name, operation), `protocol` (Content-Type,
    X-Amz-Target)."""
    (service, operation), (content_type, target) = call, protocol
    headers = {"Content-Type": content_type, "X-Amz-Target": target}
    http = scope.http
    endpoint = http.endpoint(service, scope.region)
    content = await http.send(endpoint, scope.credentials, operation, "/", body=orjson.dumps(request), headers=headers)
    return json_object(operation, content)
