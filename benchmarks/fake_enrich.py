"""The enrichment calls for fake_aws.py, answered from fake_truth.py on the real wire protocols.

* tag:GetResources: POST / (scope `tagging`), awsJson1.1, `ResourceGroupsTaggingAPI_20170126.GetResources`;
  the target's listed functions, ResourcesPerPage (<= 100) a page, `PaginationToken` ("" on the last page).
* lambda:ListFunctionUrlConfigs: GET /2021-10-31/functions/<name>/urls?MaxItems=&Marker=;
  `{"FunctionUrlConfigs": [...], "NextMarker"}`.
* lambda:GetPolicy: GET /2015-03-31/functions/<name>/policy; `{"Policy", "RevisionId"}`, or 404
  ResourceNotFoundException when the function has no policy.
* lambda:GetFunctionConcurrency: GET /2019-09-30/functions/<name>/concurrency;
  `{"ReservedConcurrentExecutions": n}` or `{}`.
* cloudwatch:GetMetricData: POST / (scope `monitoring`), awsJson1.0, `GraniteServiceVersion20100801.GetMetricData`;
  every query id answered with its daily points, newest first; `NextToken` past --metric-points-per-page points.

Each goes through FakeAws.member_call, as ListFunctions does: counted per (account, region) with its
arrival time, delayed by the latency, throttled by --throttle-rate / --enforce-rps (Lambda 429
TooManyRequestsException, tagging 400 ThrottledException, CloudWatch 400 Throttling), and refused with
UnrecognizedClientException for a key that is not one of ours. A function name that is not in the target's
listing gets 404 ResourceNotFoundException (Lambda), or no datapoints (CloudWatch, as the real one answers).
"""

from __future__ import annotations

import gc
import json
import re
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from fake_truth import METRIC_QUERIES, TAGS_PAGE, Truth, index_of, min_enrichment_calls, policy_text, target_truths

Response = tuple[str, list[tuple[str, str]], bytes]
FUNCTION_PATH = re.compile(r"^/(2021-10-31|2015-03-31|2019-09-30)/functions/([^/]+)/(urls|policy|concurrency)$")
_LAMBDA_OPS = {
    ("2021-10-31", "urls"): "ListFunctionUrlConfigs",
    ("2015-03-31", "policy"): "GetPolicy",
    ("2019-09-30", "concurrency"): "GetFunctionConcurrency",
}
TAGGING_TARGET = "ResourceGroupsTaggingAPI_20170126.GetResources"
METRICS_TARGET = "GraniteServiceVersion20100801.GetMetricData"
_JSON11 = "application/x-amz-json-1.1"
_JSON10 = "application/x-amz-json-1.0"
_DAY = 86400


@dataclass(frozen=True)
class Request:
    """One signed request to a member account-region, as fake_aws.py read it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    service: str  # the SigV4 scope's: sts, lambda, tagging, monitoring
    key_id: str
    region: str


REQUEST_ID = "fa4e0000-0000-4000-8000-000000000000"


def json_answer(body: object, content_type: str = "application/json") -> Response:
    headers = [("Content-Type", content_type), ("x-amzn-RequestId", REQUEST_ID)]
    return "200 OK", headers, json.dumps(body, separators=(",", ":")).encode()


def service_error(service: str, code: int, error_type: str, message: str) -> Response:
    """An error as each protocol sends it: Lambda's x-amzn-ErrorType header, awsJson's `__type` member
    (CloudWatch's awsQuery-compatible form also names its query code in x-amzn-query-error)."""
    reason = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests"}.get(code, "Error")
    if service == "lambda":
        body = {"Type": "User", "message": message}
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)]
    elif service == "monitoring":
        query_code = {"ThrottlingException": "Throttling"}.get(error_type, error_type.removesuffix("Exception"))
        body = {"__type": f"com.amazonaws.cloudwatch#{error_type}", "message": message}
        headers = [("Content-Type", _JSON10), ("x-amzn-query-error", f"{query_code};Sender")]
    else:
        body = {"__type": error_type, "Message": message}
        headers = [("Content-Type", _JSON11)]
    return f"{code} {reason}", headers, json.dumps(body).encode()


THROTTLED = {  # service -> (HTTP status, error type)
    "lambda": (429, "TooManyRequestsException"),
    "tagging": (400, "ThrottledException"),
    "monitoring": (400, "ThrottlingException"),
}


def _offset(token: str | None) -> int | None:
    """Our page tokens are `v1.<offset>`; None for anything else."""
    if not token:
        return 0
    version, _, offset = token.partition(".")
    return int(offset) if version == "v1" and offset.isdigit() else None


class EnrichAnswers:
    """Mixed into FakeAws: needs self.args, self.pop, self.stats and self.member_call.

    The org's data is read per target on its first enrichment call and kept (~2 KB per function), or all of
    it at start-up with --enrichments, so that no answer stalls the event loop while a run is measured."""

    args: Any
    pop: Any
    stats: Any
    member_call: Callable[..., Awaitable[Response | None]]

    def init_enrichments(self) -> None:
        self._truths: dict[tuple[str, str], list[Truth]] = {}
        self._tag_pages: dict[tuple[str, str, int, int], bytes] = {}
        self._min_calls: dict[str, int] | None = None
        if self.args.enrichments:
            self.min_calls_by_enrichment()

    def target_truths(self, account: str, region: str) -> list[Truth]:
        key = (account, region)
        found = self._truths.get(key)
        if found is None:
            found = self._truths[key] = target_truths(account, region, self.pop.count(account, region), self.args.seed)
            gc.freeze()  # kept for the fake's life: no full collection walks them again
        return found

    def min_calls_by_enrichment(self) -> dict[str, int]:
        """The fewest requests each enrichment needs over the org (reads, and keeps, every function's data)."""
        if self._min_calls is None:
            every = (self.target_truths(a, r) for a, row in self.pop.counts.items() for r in row)
            self._min_calls = min_enrichment_calls(every, self.args.metric_points_per_page)
        return self._min_calls

    async def enrichment(self, request: Request) -> Response | None:
        """The answer to an enrichment call, or None when the request is not one."""
        service, method, region = request.service, request.method, request.region
        target = request.headers.get("x-amz-target", "")
        if service == "lambda" and method == "GET":
            found = FUNCTION_PATH.match(request.path)
            op = _LAMBDA_OPS.get((found.group(1), found.group(3))) if found else None
            if found is None or op is None:
                return None
            name = unquote(found.group(2))
            return await self.member_call(
                op, request, name, lambda account: self._function(op, account, region, name, request.query)
            )
        body = _json_body(request.body)
        if service == "tagging" and method == "POST" and target == TAGGING_TARGET:
            part = f"tags@{body.get('PaginationToken', '')}"
            return await self.member_call("GetResources", request, part, lambda a: self._tags(a, region, body))
        if service == "monitoring" and method == "POST" and target == METRICS_TARGET:
            part = f"{_first_name(body)}/{len(body.get('MetricDataQueries') or [])}@{body.get('NextToken', '')}"
            return await self.member_call("GetMetricData", request, part, lambda a: self._metrics(a, region, body))
        return None

    # --- lambda: one function

    def _truth(self, account: str, region: str, name: str) -> Truth | None:
        index = index_of(name)
        found = self.target_truths(account, region)
        return found[index] if index is not None and index < len(found) and found[index].name == name else None

    def _function(self, op: str, account: str, region: str, name: str, query: str) -> Response:
        found = self._truth(account, region, name)
        if found is None:
            self.stats.errors[f"{op}:ResourceNotFound"] += 1
            arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
            return service_error("lambda", 404, "ResourceNotFoundException", f"Function not found: {arn}")
        if op == "GetPolicy":
            if found.policy is None:
                return service_error(
                    "lambda", 404, "ResourceNotFoundException", "The resource you requested does not exist."
                )
            return json_answer({"Policy": policy_text(found), "RevisionId": f"{zlib.crc32(found.arn.encode()):08x}"})
        if op == "GetFunctionConcurrency":
            return json_answer({} if found.reserved is None else {"ReservedConcurrentExecutions": found.reserved})
        return self._urls(found, region, query)

    def _urls(self, found: Truth, region: str, query: str) -> Response:
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        limit = int(params["MaxItems"]) if params.get("MaxItems", "").isdigit() else 50
        offset = _offset(params.get("Marker"))
        if not 1 <= limit <= 50 or offset is None:
            self.stats.errors["ListFunctionUrlConfigs:InvalidParameter"] += 1
            return service_error("lambda", 400, "InvalidParameterValueException", "Invalid MaxItems or Marker (fake)")
        configs = [
            {
                "FunctionUrl": f"https://{zlib.crc32(f'{found.arn}/{k}'.encode()):08x}u{k}.lambda-url.{region}.on.aws/",
                "FunctionArn": found.arn if k == 0 else f"{found.arn}:live",
                "AuthType": kind,
                "CreationTime": "2024-05-02T09:14:51.123456Z",
                "LastModifiedTime": "2024-05-02T09:14:51.123456Z",
                "InvokeMode": "BUFFERED",
            }
            for k, kind in enumerate(found.url_auth_types)
        ]
        answer: dict[str, Any] = {"FunctionUrlConfigs": configs[offset : offset + limit]}
        if offset + limit < len(configs):
            answer["NextMarker"] = f"v1.{offset + limit}"
        return json_answer(answer)

    # --- tagging: the target's functions, a page at a time

    def _tags(self, account: str, region: str, request: dict[str, Any]) -> Response:
        per_page = request.get("ResourcesPerPage", TAGS_PAGE)
        offset = _offset(request.get("PaginationToken"))
        if not isinstance(per_page, int) or not 1 <= per_page <= TAGS_PAGE or offset is None:
            self.stats.errors["GetResources:InvalidParameter"] += 1
            return service_error("tagging", 400, "InvalidParameterException", "Invalid ResourcesPerPage or token")
        if request.get("ResourceTypeFilters") not in (None, ["lambda:function"]):
            self.stats.errors["GetResources:UnexpectedFilter"] += 1  # the fake holds Lambda functions only
        key = (account, region, offset, per_page)
        page = self._tag_pages.get(key)
        if page is None:
            listed = [t for t in self.target_truths(account, region) if t.tags is not None]
            end = offset + per_page
            mappings = [
                {"ResourceARN": t.arn, "Tags": [{"Key": k, "Value": v} for k, v in (t.tags or {}).items()]}
                for t in listed[offset:end]
            ]
            answer = {"PaginationToken": f"v1.{end}" if end < len(listed) else "", "ResourceTagMappingList": mappings}
            page = self._tag_pages[key] = json.dumps(answer, separators=(",", ":")).encode()
        return "200 OK", [("Content-Type", _JSON11), ("x-amzn-RequestId", REQUEST_ID)], page

    # --- cloudwatch: daily Invocations sums

    def _metrics(self, account: str, region: str, request: dict[str, Any]) -> Response:
        # JSON values, checked by _metric_request_problem before they are used
        queries: Any = request.get("MetricDataQueries")
        start: Any = request.get("StartTime")
        end: Any = request.get("EndTime")
        offset = _offset(request.get("NextToken"))
        problem = _metric_request_problem(queries, start, end, offset)
        if problem:
            self.stats.errors["GetMetricData:InvalidParameter"] += 1
            return service_error("monitoring", 400, "InvalidParameterValueException", problem)
        window_end = int(end) // _DAY * _DAY
        series = []
        for query in queries:
            name = _function_of(query)
            found = self._truth(account, region, name) if name else None
            points = [(window_end - days * _DAY, value) for days, value in (found.points if found else ())]
            series.append((query["Id"], [(stamp, value) for stamp, value in points if stamp >= start]))
        return json_answer(_metric_page(series, offset or 0, self.args.metric_points_per_page), _JSON10)


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _function_of(query: dict[str, Any]) -> str | None:
    """The FunctionName dimension of an AWS/Lambda Invocations Sum query; None for any other query."""
    stat = query.get("MetricStat") or {}
    metric = stat.get("Metric") or {}
    if (metric.get("Namespace"), metric.get("MetricName"), stat.get("Stat")) != ("AWS/Lambda", "Invocations", "Sum"):
        return None
    names = [d.get("Value") for d in metric.get("Dimensions") or [] if d.get("Name") == "FunctionName"]
    return names[0] if len(names) == 1 and isinstance(names[0], str) else None


def _first_name(request: dict[str, Any]) -> str:
    queries = request.get("MetricDataQueries") or [{}]
    return str(_function_of(queries[0]) if isinstance(queries[0], dict) else None)


def _metric_request_problem(queries: Any, start: Any, end: Any, offset: int | None) -> str | None:
    if not isinstance(queries, list) or not 1 <= len(queries) <= METRIC_QUERIES:
        return f"MetricDataQueries must hold 1..{METRIC_QUERIES} queries"
    ids = [q.get("Id") if isinstance(q, dict) else None for q in queries]
    if not all(isinstance(i, str) and i for i in ids) or len(set(ids)) != len(ids):
        return "every query needs a unique Id"
    if any((q.get("MetricStat") or {}).get("Period") != _DAY for q in queries):
        return "the fake expects Period 86400"
    if not all(type(t) in (int, float) for t in (start, end)) or start >= end:
        return "StartTime and EndTime must be epoch seconds, StartTime first"
    return "invalid NextToken" if offset is None else None


def _metric_page(series: list[tuple[str, list[tuple[int, float]]]], offset: int, per_page: int) -> dict[str, Any]:
    """One page of results: the points [offset, offset + per_page) of all queries, flattened in query order.
    A query with no point is on the first page; one continued on the next page says PartialData."""
    results, seen = [], 0
    for query_id, points in series:
        first, last = seen, seen + len(points)
        seen = last
        lo, hi = max(first, offset), min(last, offset + per_page)
        if (not points and offset == 0) or lo < hi:
            part = points[lo - first : hi - first] if points else []
            state = "PartialData" if last > offset + per_page else "Complete"
            results.append(
                {
                    "Id": query_id,
                    "Label": "Invocations",
                    "Timestamps": [stamp for stamp, _ in part],
                    "Values": [value for _, value in part],
                    "StatusCode": state,
                }
            )
    answer: dict[str, Any] = {"MetricDataResults": results, "Messages": []}
    if offset + per_page < seen:
        answer["NextToken"] = f"v1.{offset + per_page}"
    return answer
