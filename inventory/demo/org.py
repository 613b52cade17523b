"""The demo's organisation: 4 member accounts x 3 regions as seeded on night 1, and exactly what night 2
seeds differently (NIGHT_TWO_CHANGES), so that `diff` of the two nights shows those changes and nothing else.

Both nights also seed the same owners and exposure, for the job's enrichments: a `team` tag (payments,
search or platform) on most functions and none on some; one public function URL (AuthType NONE, its policy
letting anyone call it), one AuthType NONE URL that no policy opens (it answers 403) and one IAM-authenticated
(on the function and its `live` alias); resource policies that let anyone invoke, let anyone download the code
(lambda:GetFunction: public, but not invocable), API Gateway with a SourceArn, S3 with a SourceAccount;
reserved concurrency on two functions; and `Invocations` datapoints for
most functions within the last 30 days, none for the python3.8 `reports` and the java8 `dev-java` functions
(so the compliance report can call those deprecated functions unused). `seed` returns what each enrichment
should then read (Seeded.expected).

Both nights also seed the same estate around the functions (PROD_ESTATE, DATA_ESTATE), which the demo's job
reads with the estate enrichments: three event source mappings (two SQS queues, one Kinesis stream with an
on-failure queue), two layers of 3 and 2 versions used by the `etl` functions (one version shared with
anyone, one with the organization), aliases (a canary with routing weights, one with its own public resource
policy, one with provisioned concurrency), three event invoke configs and a code signing config on one
function. `seed` returns what each estate read should then return (Seeded.estate), which the demo compares
with the tables written beside its inventory (check_estate.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from inventory.demo.estate import (
    AliasSpec,
    EstateSpec,
    FunctionEstateSpec,
    InvokeSpec,
    LayerShare,
    LayerSpec,
    MappingSpec,
    SigningSpec,
)
from inventory.demo.seed import FunctionSpec, MemberSpec
from inventory.demo.seed_extras import Extras, Grant

DENIED_ACCOUNT = "555555555555"  # its role does not trust the hub: AssumeRole is denied
DISABLED = ("333333333333", "ap-east-1")  # an opt-in region this account has not enabled
NIGHT_TWO_LOG_LEVEL = "night-2-verbose"  # the value of the env var added on night 2 (checked never to leak)
PROD, DEV, DATA = "222222222222", "333333333333", "444444444444"
OWNER_TAG = "team"
TEAMS = ("payments", "search", "platform")
PAYMENTS, SEARCH, PLATFORM = ({OWNER_TAG: team} for team in TEAMS)
API_SOURCE = f"arn:aws:execute-api:us-east-1:{PROD}:a1b2c3d4e5/*/POST/orders"
ORGANIZATION_ID = "o-a1b2c3d4e5"  # the demo organisation's id, as a layer version is shared with it

# workloads-prod/us-east-1: orders arrive on a queue (only `order` messages reach orders-003) and a stream;
# orders-004 runs a 25% canary of version 2 behind `live`, keeps `warm` provisioned, and reports its
# asynchronous invocations to queues; orders-005's `public` alias may be invoked by anyone, though the
# function's own (unqualified) policy grants nothing.
PROD_ESTATE = EstateSpec(
    mappings=(
        MappingSpec(
            "orders-003",
            "sqs:orders-intake",
            batch_size=50,
            batching_window=5,
            filter_patterns=('{"body": {"type": ["order"]}}',),
        ),
        MappingSpec(
            "orders-004",
            "kinesis:orders-events",
            batch_size=100,
            starting_position="TRIM_HORIZON",
            retry_attempts=3,
            on_failure="sqs:orders-dlq",
        ),
    ),
    functions={
        "orders-004": FunctionEstateSpec(
            versions=2,
            aliases=(AliasSpec("live", "1", weights={"2": 0.25}), AliasSpec("warm", "2", provisioned=10)),
            invoke=(
                InvokeSpec(
                    retry_attempts=1, max_event_age=3600, on_success="sqs:orders-audit", on_failure="sqs:orders-dlq"
                ),
                InvokeSpec("live", retry_attempts=0, max_event_age=600, on_failure="sqs:orders-dlq"),
            ),
        ),
        "orders-005": FunctionEstateSpec(
            versions=1, aliases=(AliasSpec("public", "1", grants=(Grant("anyone", "*"),)),)
        ),
    },
)
# data-platform/us-east-1: the etl functions use the latest `pandas` (3 versions, the latest shared with
# anyone) and `dataio` version 1 (2 versions, version 2 shared with the organization); etl-000 reads a landing
# queue; etl-002 retries failed asynchronous invocations twice; etl-003 must be signed.
DATA_ESTATE = EstateSpec(
    layers=(
        LayerSpec("pandas", 3, runtimes=("python3.12",), shares=(LayerShare(3, "anyone"),)),
        LayerSpec("dataio", 2, runtimes=("python3.12",), shares=(LayerShare(2, "organization", ORGANIZATION_ID),)),
    ),
    mappings=(MappingSpec("etl-000", "sqs:landing-events", batch_size=10),),
    signing=(SigningSpec("etl release signing", ("etl-release/a1b2c3d4e5",), untrusted="Enforce"),),
    functions={
        "etl-002": FunctionEstateSpec(
            invoke=(InvokeSpec(retry_attempts=2, max_event_age=7200, on_failure="sqs:etl-failures"),)
        ),
        "etl-003": FunctionEstateSpec(signing="etl release signing"),
    },
)
# What the console grants for a URL with AuthType NONE: lambda:InvokeFunctionUrl, and (URLs created since
# October 2025 need it too) lambda:InvokeFunction, both to anyone.
PUBLIC_URL = (
    Grant("url", "*", action="lambda:InvokeFunctionUrl", url_auth_type="NONE"),
    Grant("url-invoke", "*"),
)


@dataclass(frozen=True)
class Change:
    """One documented difference between the demo's two nights, as a column of the inventory shows it.

    `night1` / `night2` are the column's value for that function on each night; None means the function
    does not exist that night (so it is absent from that night's inventory). List columns are tuples here.
    """

    what: str
    account_id: str
    region: str
    function_name: str
    column: str
    night1: object
    night2: object

    def expected(self, night: int) -> object:
        return self.night2 if night == 2 else self.night1

    def __str__(self) -> str:
        where = f"{self.account_id}/{self.region} {self.function_name}"
        return f"{self.what}: {where} {self.column} {_show(self.night1)} -> {_show(self.night2)}"


def _show(value: object) -> str:
    if value is None:
        return "(absent)"
    return f"[{', '.join(map(str, value))}]" if isinstance(value, tuple) else str(value)


# Exactly what `lambda-inventory demo --night 2` seeds differently from night 1 (the default). Every other
# function is seeded identically, with the same names and so the same ARNs: diffing the two nights'
# inventories shows these changes and nothing else (apart from per-run fields: snapshot_time,
# last_modified, revision_id). Night 1 has 154 reachable functions, night 2 has 155.
NIGHT_TWO_CHANGES: tuple[Change, ...] = (
    Change("removed", "333333333333", "eu-west-1", "dev-java-000", "runtime", "java8", None),
    Change("added", "222222222222", "eu-central-1", "payments-000", "runtime", None, "python3.13"),
    Change("added", "222222222222", "eu-central-1", "payments-001", "runtime", None, "python3.13"),
    Change("runtime upgraded", "222222222222", "eu-central-1", "reports-000", "runtime", "python3.8", "python3.12"),
    Change("memory size changed", "444444444444", "us-east-1", "etl-000", "memory_size", 1024, 2048),
    Change(
        "environment variable name added",
        "444444444444",
        "eu-west-1",
        "ingest-000",
        "environment_variable_names",
        (),
        ("LOG_LEVEL",),
    ),
    Change(
        "layer added",
        "222222222222",
        "eu-west-1",
        "edge-000",
        "layer_arns",
        (),
        ("arn:aws:lambda:eu-west-1:222222222222:layer:otel:1",),
    ),
)


def demo_org(secret: str, night: int = 1) -> tuple[MemberSpec, ...]:
    """4 member accounts x 3 regions; one region with 120 functions (3 pages). Night 2: NIGHT_TWO_CHANGES."""
    env = {"DB_HOST": "db.internal", "DB_PASSWORD": secret}
    second = night == 2
    return (
        _workloads_prod(env, second),
        _workloads_dev(second),
        _data_platform(env, second),
        MemberSpec(DENIED_ACCOUNT, "legacy-sandbox", {"us-east-1": (FunctionSpec("old", 4, runtime="python2.7"),)}),
    )


def _first_differs(spec: FunctionSpec, **change: Any) -> tuple[FunctionSpec, ...]:
    """The family `spec` with its first function changed and the others as they were (same names)."""
    return replace(spec, count=1, **change), replace(spec, first=spec.first + 1, count=spec.count - 1)


def _workloads_prod(env: dict[str, str], second: bool) -> MemberSpec:
    fs = FunctionSpec
    edge = fs(
        "edge",
        7,
        runtime="nodejs20.x",
        architectures=("arm64",),
        tracing="Active",
        tags=PLATFORM,
        invocations=((2, 75),),
    )
    reports = fs("reports", 3, runtime="python3.8", tags=SEARCH)  # never invoked: unused
    payments = fs("payments", 2, runtime="python3.13", tags=PAYMENTS, invocations=((1, 12),))
    central = (*_first_differs(reports, runtime="python3.12"), payments)
    orders = (
        fs("orders", 110, environment=env, tags={**PAYMENTS, "env": "prod"}, invocations=((1, 1000), (12, 400))),
        fs("orders", 10, first=110, environment=env, invocations=((5, 3),)),  # untagged
    )
    return MemberSpec(
        PROD,
        "workloads-prod",
        {
            "us-east-1": orders,
            "eu-west-1": _first_differs(edge, layers=("otel",)) if second else (edge,),
            "eu-central-1": central if second else (reports,),
        },
        {
            ("us-east-1", "orders-000"): Extras(reserved_concurrency=100),
            ("us-east-1", "orders-001"): Extras(urls=(("", "AWS_IAM"), ("live", "AWS_IAM"))),
            ("us-east-1", "orders-002"): Extras(grants=(Grant("api", "apigateway.amazonaws.com", API_SOURCE),)),
            ("eu-west-1", "edge-003"): Extras(urls=(("", "NONE"),), grants=PUBLIC_URL),  # a public function URL
            ("eu-west-1", "edge-004"): Extras(grants=(Grant("anyone", "*"),)),  # anyone may invoke it
            ("eu-west-1", "edge-005"): Extras(urls=(("", "NONE"),)),  # no policy lets anyone call it: 403
            ("eu-west-1", "edge-006"): Extras(grants=(Grant("code", "*", action="lambda:GetFunction"),)),
        },
        {"us-east-1": PROD_ESTATE},
    )


def _workloads_dev(second: bool) -> MemberSpec:
    fs = FunctionSpec
    image = fs("dev-image", 2, runtime=None, package_type="Image", invocations=((40, 500),))  # before the window
    api = fs("dev-api", 12, runtime="python3.9", publish=True, tags={**SEARCH, "env": "dev"}, invocations=((27, 2),))
    return MemberSpec(
        DEV,
        "workloads-dev",
        {
            "us-east-1": (api,),
            "eu-west-1": (image,) if second else (image, fs("dev-java", 1, runtime="java8")),
        },
    )


def _data_platform(env: dict[str, str], second: bool) -> MemberSpec:
    fs = FunctionSpec
    daily = ((1, 20), (1, 4), (2, 24), (3, 24))  # two datapoints on day 1: the day's Sum is 24
    etl = fs(
        "etl",
        5,
        memory_size=1024,
        vpc=True,
        environment=env,
        layers=("pandas", "dataio:1"),
        tags=PLATFORM,
        invocations=daily,
    )
    ingest = fs("ingest", 4, runtime="nodejs16.x", tags=SEARCH, invocations=((2, 0), (10, 7)))  # last used day 10
    logged = _first_differs(ingest, environment={"LOG_LEVEL": NIGHT_TWO_LOG_LEVEL})
    return MemberSpec(
        DATA,
        "data-platform",
        {
            "us-east-1": _first_differs(etl, memory_size=2048) if second else (etl,),
            "eu-west-1": logged if second else (ingest,),
        },
        {
            ("us-east-1", "etl-001"): Extras(grants=(Grant("landing", "s3.amazonaws.com", source_account=DATA),)),
            ("us-east-1", "etl-002"): Extras(reserved_concurrency=5),
        },
        {"us-east-1": DATA_ESTATE},
    )
