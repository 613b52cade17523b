"""Seed the emulator with a small organisation, over HTTP, and remember what was seeded.

The org is a frozen description (MemberSpecs); `seed` creates it through the emulator's real APIs, each
member with its own credentials (so its functions, tags, policies and metrics land in its account), and
returns the ARNs it created per (account, region), which is what a correct inventory must contain, what
each enrichment should read for every function (seed_extras.Expected), and what the estate around the
functions reads back as (estate.RegionEstate, seeded by seed_estate.py).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import boto3

from inventory.demo.estate import NO_ESTATE, EstateSpec, RegionEstate, check_estate
from inventory.demo.seed_estate import Region, layer_arn, publish_layers, region_layers, seed_estate
from inventory.demo.seed_extras import NO_EXTRAS, Expected, Extras, apply_extras, datapoints, expected, put_invocations

SEED_ROLE = "OrganizationAccountAccessRole"  # used by the seeder only; the job uses its own role
EXEC_ROLE = "demo-lambda-exec"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@dataclass(frozen=True)
class FunctionSpec:
    """`count` functions named `<prefix>-NNN` from NNN = `first`; every field a real function might vary.

    `first` lets one function of a family differ from its siblings (the demo's second night changes
    `reports-000` but not `reports-001`) while every name, and so every ARN, stays the same.
    """

    prefix: str
    count: int = 1
    first: int = 0
    runtime: str | None = "python3.12"
    package_type: str = "Zip"
    memory_size: int = 128
    architectures: tuple[str, ...] = ("x86_64",)
    environment: Mapping[str, str] = field(default_factory=dict)
    vpc: bool = False
    # layer versions in the same account and region: "<layer>" (its latest) or "<layer>:<version>"; a layer
    # the region's EstateSpec does not declare is published once, before the functions
    layers: tuple[str, ...] = ()
    tracing: str = "PassThrough"
    publish: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    # (days before the seeding day, Invocations): CloudWatch datapoints of each function of the family
    invocations: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class MemberSpec:
    account_id: str
    name: str
    functions: Mapping[str, tuple[FunctionSpec, ...]]  # region -> specs
    extras: Mapping[tuple[str, str], Extras] = field(default_factory=dict)  # (region, function name) -> extras
    estate: Mapping[str, EstateSpec] = field(default_factory=dict)  # region -> the estate around its functions


@dataclass(frozen=True)
class Seeded:
    """What was created: function ARNs (unqualified) per (account, region), the secret values used, what
    each enrichment should read per function ARN (`day`: the UTC day invocations count back from), and what
    the estate reads return per (account, region) (every seeded region has one, however empty)."""

    functions: Mapping[tuple[str, str], frozenset[str]]
    secrets: frozenset[str]
    expected: Mapping[str, Expected] = field(default_factory=dict)
    day: date | None = None
    estate: Mapping[tuple[str, str], RegionEstate] = field(default_factory=dict)

    def owners(self, tag: str = "team") -> dict[str, str]:
        """Function ARN -> its owner (the value of its `tag` tag), for the functions that have one."""
        return {arn: e.tags[tag] for arn, e in self.expected.items() if tag in e.tags}

    @property
    def publicly_invocable(self) -> frozenset[str]:
        """The ARNs the report's "publicly invocable" section should list."""
        return frozenset(arn for arn, e in self.expected.items() if e.publicly_invocable)

    @property
    def total(self) -> int:
        return sum(len(arns) for arns in self.functions.values())


def _zip() -> bytes:
    """The same bytes on every run (a fixed timestamp), so CodeSha256 does not change between two demo runs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        entry = zipfile.ZipInfo("handler.py", date_time=(2026, 1, 1, 0, 0, 0))
        archive.writestr(entry, "def handler(event, context):\n    return {'ok': True}\n")
    return buffer.getvalue()


def _member_session(endpoint: str, account_id: str) -> boto3.Session:
    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{SEED_ROLE}", RoleSessionName="seed")
    c = creds["Credentials"]
    return boto3.Session(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], region_name="us-east-1")


def function_name(spec: FunctionSpec, offset: int) -> str:
    return f"{spec.prefix}-{spec.first + offset:03d}"


def _create_args(spec: FunctionSpec, offset: int, role_arn: str, code: bytes) -> dict[str, Any]:
    index = spec.first + offset
    args: dict[str, Any] = {
        "FunctionName": function_name(spec, offset),
        "Role": role_arn,
        "PackageType": spec.package_type,
        "MemorySize": spec.memory_size,
        "Architectures": list(spec.architectures),
        "TracingConfig": {"Mode": spec.tracing},
        "Publish": spec.publish,
        "Description": f"demo function {index} of {spec.prefix}",
    }
    if spec.package_type == "Image":
        args["Code"] = {"ImageUri": f"{role_arn.split(':')[4]}.dkr.ecr.us-east-1.amazonaws.com/{spec.prefix}:latest"}
    else:
        args.update(Code={"ZipFile": code}, Runtime=spec.runtime, Handler="handler.handler")
    if spec.tags:
        args["Tags"] = dict(spec.tags)
    if spec.environment:
        args["Environment"] = {"Variables": dict(spec.environment)}
    if spec.vpc:
        args["VpcConfig"] = {"SubnetIds": ["subnet-0a1b2c3d"], "SecurityGroupIds": ["sg-0a1b2c3d"]}
    return args


def seed(endpoint: str, members: tuple[MemberSpec, ...], day: date | None = None) -> Seeded:
    """Create every member's execution role, functions and their extras through the emulator's APIs.

    `day` (default: today, UTC) is the day the invocation datapoints are placed back from.
    """
    code, day = _zip(), day or datetime.now(UTC).date()
    created: dict[tuple[str, str], frozenset[str]] = {}
    wanted: dict[str, Expected] = {}
    estates: dict[tuple[str, str], RegionEstate] = {}
    secrets: set[str] = set()
    for member in members:
        _check_extras(member)
    for member in members:
        session = _member_session(endpoint, member.account_id)
        iam = session.client("iam", endpoint_url=endpoint)
        role_arn = iam.create_role(RoleName=EXEC_ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        for region, specs in member.functions.items():
            where = Region(session, endpoint, member.account_id, region)
            region_seeded, estates[(member.account_id, region)] = _seed_region(
                where, member, role_arn=role_arn, code=code, day=day
            )
            created[(member.account_id, region)] = frozenset(region_seeded)
            wanted.update(region_seeded)
            secrets.update(v for spec in specs for v in spec.environment.values())
    return Seeded(created, frozenset(secrets), wanted, day, estates)


def _check_extras(member: MemberSpec) -> None:
    """Every (region, function name) given extras is one the member's specs create (before creating any)."""
    names = {
        (region, function_name(spec, i))
        for region, specs in member.functions.items()
        for spec in specs
        for i in range(spec.count)
    }
    unknown = sorted(set(member.extras) - names) + sorted(set(member.estate) - set(member.functions))
    if unknown:
        raise ValueError(f"{member.account_id}: extras or an estate for functions it does not seed: {unknown}")
    for region, estate in member.estate.items():
        in_region = frozenset(name for r, name in names if r == region)
        urls = {name: {q for q, _ in extras.urls if q} for (r, name), extras in member.extras.items() if r == region}
        layers = [reference for spec in member.functions[region] for reference in spec.layers]
        check_estate(region, estate, in_region, urls, layers)


def _seed_region(
    where: Region, member: MemberSpec, *, role_arn: str, code: bytes, day: date
) -> tuple[dict[str, Expected], RegionEstate]:
    """One region's functions (with layers, extras, invocation datapoints and the estate around them) ->
    ARN -> what the enrichments should read, and what the estate reads return."""
    client, region = where.client("lambda"), where.region
    estate = member.estate.get(region, NO_ESTATE)
    layers = region_layers(estate, (name for spec in member.functions[region] for name in spec.layers))
    published = publish_layers(client, layers, code)
    seeded: dict[str, Expected] = {}
    functions: dict[str, tuple[str, tuple[str, ...], frozenset[str]]] = {}  # name -> ARN, layers, URL aliases
    metrics: list[dict[str, Any]] = []
    for spec in member.functions[region]:
        layer_arns = tuple(layer_arn(published, reference) for reference in spec.layers)
        for i in range(spec.count):
            args = _create_args(spec, i, role_arn, code)
            if layer_arns:
                args["Layers"] = list(layer_arns)
            arn = client.create_function(**args)["FunctionArn"]
            extras = member.extras.get((region, args["FunctionName"]), NO_EXTRAS)
            apply_extras(client, args["FunctionName"], extras)
            metrics += datapoints(args["FunctionName"], spec.invocations, day)
            seeded[arn] = expected(spec.tags, spec.invocations, extras, day)
            functions[args["FunctionName"]] = (arn, layer_arns, frozenset(q for q, _ in extras.urls if q))
    if metrics:
        put_invocations(where.client("cloudwatch"), metrics)
    return seeded, seed_estate(where, estate, layers, published, functions)
