"""What the fake org holds beyond ListFunctions: every function's tags, URL configs, resource policy, reserved
concurrency and daily invocations, each a pure function of (seed, account, region, function index).

fake_aws.py (through fake_enrich.py) answers the enrichment calls from here, and run.py checks the job's
enriched columns against the same functions, so a value the job reads wrong is caught, not just counted.
Standard library only.

Shares, over the functions (each decided by its own bits of one per-function hash):

| enrichment  | what the fake holds |
|-------------|---------------------|
| tags        | 88% tagged team/app/stage/cost-center; 2% listed by GetResources with no tags; 10% absent |
| urls        | 1% a public URL (AuthType NONE), 2% AWS_IAM, 1% both ($LATEST NONE + alias AWS_IAM) |
| policy      | ~24% have one: API Gateway / S3 / EventBridge grants with a source condition, 2% another account, |
|             | 1% `lambda:InvokeFunction` to `*` without condition, and every NONE URL's public statement |
| concurrency | 8% reserve 0-100 |
| usage       | 25% unused (no datapoint above 0; some have zero-valued ones), the rest invoked on 5-99% of the days |
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass

REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "sa-east-1",
)
REGION_INDEX = {region: i for i, region in enumerate(REGIONS)}
MASK64 = (1 << 64) - 1
TEAMS = ("payments", "orders", "identity", "search", "billing", "catalog", "ingest", "reports", "notify", "edge")
APPS = ("api", "worker", "etl", "webhook", "scheduler", "resizer", "consumer", "authorizer", "sync", "export")
STAGES = ("prod", "staging", "dev", "qa")
USAGE_DAYS = 30
TAGS_PAGE = 100  # GetResources' most per page
METRIC_QUERIES = 500  # GetMetricData's most queries per call
OTHER_ACCOUNT = "999999999999"
_RESERVED = (0, 1, 2, 5, 10, 25, 50, 100)


def mix64(x: int) -> int:
    """splitmix64's finaliser: a cheap, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def function_hashes(account: str, region: str, index: int, seed: int) -> tuple[int, int]:
    """(h, h2): the two hashes every attribute of a function is drawn from (its listing item's too)."""
    h = mix64(mix64(mix64(int(account) ^ (seed << 40)) ^ REGION_INDEX.get(region, 99)) ^ index)
    return h, mix64(h)


def name_parts(h: int) -> tuple[str, str, str]:
    return TEAMS[h % 10], APPS[(h >> 4) % 10], STAGES[(h >> 8) % 4]


def function_name(account: str, region: str, index: int, seed: int) -> str:
    team, app, stage = name_parts(function_hashes(account, region, index, seed)[0])
    return f"{team}-{app}-{stage}-{index:05d}"


def index_of(name: str) -> int | None:
    """The function index a name of ours ends with (the caller checks the whole name)."""
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if len(tail) == 5 and tail.isdigit() else None


@dataclass(frozen=True)
class Truth:
    """One function's enrichment data, as the fake serves it and as the job must write it."""

    name: str
    arn: str
    tags: dict[str, str] | None  # None: absent from GetResources (never tagged); {}: listed with no tags
    url_auth_types: tuple[str, ...]  # one per URL config: ($LATEST, alias)
    policy: dict[str, object] | None  # the document; None: GetPolicy answers 404
    public_invoke: bool
    invoke_principals: tuple[str, ...]
    reserved: int | None
    points: tuple[tuple[int, float], ...]  # (days before the window's end, 1..30; daily Invocations Sum)

    @property
    def invocations(self) -> int:
        return round(sum(value for _, value in self.points))

    @property
    def last_invoked_days_before_end(self) -> int | None:
        """1 = the snapshot day itself; None = no day above 0 in the window."""
        return min((days for days, value in self.points if value > 0), default=None)


def truth(account: str, region: str, index: int, seed: int) -> Truth:
    h, h2 = function_hashes(account, region, index, seed)
    team, app, stage = name_parts(h)
    name = f"{team}-{app}-{stage}-{index:05d}"
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    h3 = mix64(h2 ^ 0x5EED_E11C)
    urls = _urls(h3)
    statements = _statements(h3, urls, arn, app)
    principals = sorted({_principal(s) for s in statements})
    public = any(s["Principal"] in ("*", {"AWS": "*"}) for s in statements)
    document: dict[str, object] = {"Version": "2012-10-17", "Id": "default", "Statement": statements}
    policy = document if statements else None
    reserved = _RESERVED[(h3 >> 27) % len(_RESERVED)] if (h3 >> 24) % 100 < 8 else None
    return Truth(name, arn, _tags(h3, team, app, stage), urls, policy, public, tuple(principals), reserved, _points(h3))


def _tags(h3: int, team: str, app: str, stage: str) -> dict[str, str] | None:
    kind = h3 % 100
    if kind < 88:
        return {"team": team, "app": app, "stage": stage, "cost-center": f"cc-{(h3 >> 7) % 40:03d}"}
    return {} if kind < 90 else None


def _urls(h3: int) -> tuple[str, ...]:
    kind = (h3 >> 8) % 100
    return {0: ("NONE",), 1: ("AWS_IAM",), 2: ("AWS_IAM",), 3: ("NONE", "AWS_IAM")}.get(kind, ())


def _statements(h3: int, urls: tuple[str, ...], arn: str, app: str) -> list[dict[str, object]]:
    kind = (h3 >> 16) % 100
    region, account = arn.split(":")[3:5]
    out: list[dict[str, object]] = []
    if "NONE" in urls:  # what Lambda writes for an AuthType NONE URL: public, the condition does not limit who
        out.append(
            _allow("FunctionURLAllowPublicAccess", "*", arn, {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}})
        )
        out[-1]["Action"] = "lambda:InvokeFunctionUrl"
    if kind < 12:
        api = f"arn:aws:execute-api:{region}:{account}:{h3 >> 40 & 0xFFFFFF:06x}/*/*/{app}"
        out.append(_allow("apigw", {"Service": "apigateway.amazonaws.com"}, arn, {"ArnLike": {"AWS:SourceArn": api}}))
    elif kind < 17:
        condition = {
            "StringEquals": {"AWS:SourceAccount": account},
            "ArnLike": {"AWS:SourceArn": f"arn:aws:s3:::{app}"},
        }
        out.append(_allow("s3", {"Service": "s3.amazonaws.com"}, arn, condition))
    elif kind < 21:
        rule = f"arn:aws:events:{region}:{account}:rule/{app}-schedule"
        out.append(_allow("events", {"Service": "events.amazonaws.com"}, arn, {"ArnLike": {"AWS:SourceArn": rule}}))
    elif kind < 23:
        out.append(_allow("partner", {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}, arn))
    elif kind < 24:
        out.append(_allow("open", "*", arn))
    return out


def _allow(sid: str, principal: str | dict[str, str], arn: str, condition: object = None) -> dict[str, object]:
    statement: dict[str, object] = {"Sid": sid, "Effect": "Allow", "Principal": principal}
    statement |= {"Action": "lambda:InvokeFunction", "Resource": arn}
    if condition:
        statement["Condition"] = condition
    return statement


def _principal(statement: dict[str, object]) -> str:
    principal = statement["Principal"]
    if isinstance(principal, dict):
        return str(next(iter(principal.values())))
    return str(principal)


def _points(h3: int) -> tuple[tuple[int, float], ...]:
    """Daily Sums, newest first. Unused functions (25%) have none above 0; 10% of functions show zero-valued
    days (Lambda publishes a datapoint for a day only when it saw the metric)."""
    unused = (h3 >> 32) % 100 < 25
    density = 5 + (h3 >> 40) % 95
    zeros = (h3 >> 48) % 10 == 0
    points = []
    for days in range(1, USAGE_DAYS + 1):
        draw = mix64(h3 ^ (days * 0x9E37))
        if not unused and draw % 100 < density:
            points.append((days, float(1 + (draw >> 8) % 5000)))
        elif zeros and days % 7 == 3:
            points.append((days, 0.0))
    return tuple(points)


def policy_text(t: Truth) -> str:
    return json.dumps(t.policy, separators=(",", ":"))


# ------------------------------------------------------------------------------------------ minimum calls


def target_truths(account: str, region: str, count: int, seed: int) -> list[Truth]:
    return [truth(account, region, index, seed) for index in range(count)]


def min_enrichment_calls(targets: Iterable[list[Truth]], metric_points_per_page: int) -> dict[str, int]:
    """The fewest requests each enrichment needs over the targets (each given as its functions' truths; no
    retries): per target with functions, tags max(1, ceil(listed / 100)); urls, policy, concurrency one per
    function; usage one per 500 functions, times the pages their datapoints fill."""
    out = {"tags": 0, "urls": 0, "policy": 0, "concurrency": 0, "usage": 0}
    for found in targets:
        n = len(found)
        if not n:
            continue
        listed = sum(1 for t in found if t.tags is not None)
        out["tags"] += max(1, math.ceil(listed / TAGS_PAGE))
        for name in ("urls", "policy", "concurrency"):
            out[name] += n
        for start in range(0, n, METRIC_QUERIES):
            points = sum(len(t.points) for t in found[start : start + METRIC_QUERIES])
            out["usage"] += max(1, math.ceil(points / metric_points_per_page))
    return out
