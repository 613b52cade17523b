"""What the seeder gives a function besides its configuration, for the job's opt-in enrichments to read:
function URLs, resource-policy grants and reserved concurrency (Extras, per function), and CloudWatch
`AWS/Lambda` `Invocations` datapoints (per family: FunctionSpec.invocations, in seed.py).

`Expected` is what each enrichment must then read for one function, in the terms of the inventory's columns
(docs/schema.md): a demo check or a test compares a row with it. Invocations count over the 30 UTC days
ending with the seeding day (the job's window when it runs that same day).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

USAGE_DAYS = 30  # the job's usage window: the 30 UTC days ending with the snapshot day
METRICS_PER_CALL = 1000  # PutMetricData's limit on MetricData entries per request


INVOKE_ACTIONS = frozenset({"lambda:InvokeFunction", "lambda:InvokeFunctionUrl", "lambda:InvokeAsync"})


@dataclass(frozen=True)
class Grant:
    """One add_permission of `action` (one action, no wildcard): `principal` is "*", an account id or a service
    principal; a SourceArn or SourceAccount condition limits who can act through that principal, and
    `url_auth_type` (FunctionUrlAuthType, for lambda:InvokeFunctionUrl) does not."""

    sid: str
    principal: str
    source_arn: str | None = None
    source_account: str | None = None
    action: str = "lambda:InvokeFunction"
    url_auth_type: str | None = None

    @property
    def public(self) -> bool:
        """Anyone may perform the action: Principal "*" with no limiting condition."""
        return self.principal == "*" and self.source_arn is None and self.source_account is None

    @property
    def invokes(self) -> bool:
        return self.action in INVOKE_ACTIONS

    def permission(self, function: str) -> dict[str, Any]:
        args: dict[str, Any] = {
            "FunctionName": function,
            "StatementId": self.sid,
            "Action": self.action,
            "Principal": self.principal,
        }
        if self.source_arn is not None:
            args["SourceArn"] = self.source_arn
        if self.source_account is not None:
            args["SourceAccount"] = self.source_account
        if self.url_auth_type is not None:
            args["FunctionUrlAuthType"] = self.url_auth_type
        return args


@dataclass(frozen=True)
class Extras:
    """One function's URL configs, resource policy and reserved concurrency."""

    # (qualifier, AuthType): qualifier "" is the function's own URL, any other an alias (created to $LATEST).
    urls: tuple[tuple[str, str], ...] = ()
    grants: tuple[Grant, ...] = ()
    reserved_concurrency: int | None = None


NO_EXTRAS = Extras()


@dataclass(frozen=True)
class Expected:
    """What each enrichment should read for one seeded function, as the inventory's columns say it."""

    tags: Mapping[str, str] = field(default_factory=dict)  # {}: none
    url_auth_types: tuple[str, ...] = ()  # sorted, unique; (): no URL
    invoke_principals: tuple[str, ...] = ()  # sorted, unique, as granted an invoke action; (): none
    public_invoke: bool = False  # a grant lets anyone invoke (Principal "*", no condition)
    public_actions: tuple[str, ...] = ()  # sorted, unique: the actions granted to anyone
    public_url: bool = False  # a NONE URL that answers anyone: an alias's, or the function's own with a public grant
    reserved_concurrency: int | None = None  # None: none reserved
    invocations_30d: int = 0  # Sum of Invocations over the usage window
    last_invocation_day: date | None = None  # last day in the window with Invocations > 0

    @property
    def publicly_invocable(self) -> bool:
        """What the report's "publicly invocable" section lists: a public invoke grant, or a URL that answers anyone."""
        return self.public_invoke or self.public_url


def expected(tags: Mapping[str, str], invocations: Sequence[tuple[int, int]], extras: Extras, day: date) -> Expected:
    """What the enrichments should read for a function seeded with these on `day`."""
    counted = [(ago, count) for ago, count in invocations if 0 <= ago < USAGE_DAYS]
    used = [ago for ago, count in counted if count > 0]
    public = tuple(sorted({grant.action for grant in extras.grants if grant.public}))
    none = [qualifier for qualifier, auth in extras.urls if auth == "NONE"]
    return Expected(
        tags=dict(tags),
        url_auth_types=tuple(sorted({auth for _, auth in extras.urls})),
        invoke_principals=tuple(sorted({grant.principal for grant in extras.grants if grant.invokes})),
        public_invoke=bool(INVOKE_ACTIONS.intersection(public)),
        public_actions=public,
        public_url=any(none) or ("" in none and "lambda:InvokeFunctionUrl" in public),
        reserved_concurrency=extras.reserved_concurrency,
        invocations_30d=sum(count for _, count in counted),
        last_invocation_day=day - timedelta(days=min(used)) if used else None,
    )


def apply_extras(client: Any, function: str, extras: Extras) -> None:
    """Give a created function its URLs (and their aliases), grants and reserved concurrency."""
    for qualifier, auth in extras.urls:
        args = {"FunctionName": function, "AuthType": auth}
        if qualifier:
            client.create_alias(FunctionName=function, Name=qualifier, FunctionVersion="$LATEST")
            args["Qualifier"] = qualifier
        client.create_function_url_config(**args)
    for grant in extras.grants:
        client.add_permission(**grant.permission(function))
    if extras.reserved_concurrency is not None:
        client.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=extras.reserved_concurrency)


def datapoints(function: str, invocations: Iterable[tuple[int, int]], day: date) -> list[dict[str, Any]]:
    """PutMetricData entries: `count` Invocations of `function` at noon UTC, `ago` days before `day`."""
    return [
        {
            "MetricName": "Invocations",
            "Dimensions": [{"Name": "FunctionName", "Value": function}],
            "Timestamp": datetime.combine(day - timedelta(days=ago), time(12), UTC),
            "Value": float(count),
            "Unit": "Count",
        }
        for ago, count in invocations
    ]


def put_invocations(cloudwatch: Any, data: Sequence[dict[str, Any]]) -> None:
    """Send the datapoints to AWS/Lambda, as few requests as PutMetricData allows."""
    for start in range(0, len(data), METRICS_PER_CALL):
        cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=list(data[start : start + METRICS_PER_CALL]))
