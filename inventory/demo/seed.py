"""Seed the emulator with a small organisation, over HTTP, and remember what was seeded.

The org is a frozen description (DemoOrg); `seed` creates it through the emulator's real APIs and returns
the ARNs it created per (account, region), which is what a correct inventory must contain.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

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
    layers: tuple[str, ...] = ()  # layer names: published in the same account and region first
    tracing: str = "PassThrough"
    publish: bool = False


@dataclass(frozen=True)
class MemberSpec:
    account_id: str
    name: str
    functions: Mapping[str, tuple[FunctionSpec, ...]]  # region -> specs


@dataclass(frozen=True)
class Seeded:
    """What was created: function ARNs (unqualified) per (account, region), and the secret values used."""

    functions: Mapping[tuple[str, str], frozenset[str]]
    secrets: frozenset[str]

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
    if spec.environment:
        args["Environment"] = {"Variables": dict(spec.environment)}
    if spec.vpc:
        args["VpcConfig"] = {"SubnetIds": ["subnet-0a1b2c3d"], "SecurityGroupIds": ["sg-0a1b2c3d"]}
    return args


def _layer(client: Any, name: str, code: bytes, published: dict[str, str]) -> str:
    """The layer's version ARN, publishing it the first time it is named in this account and region."""
    if name not in published:
        published[name] = client.publish_layer_version(LayerName=name, Content={"ZipFile": code})["LayerVersionArn"]
    return published[name]


def seed(endpoint: str, members: tuple[MemberSpec, ...]) -> Seeded:
    """Create every member's execution role and functions through the emulator's APIs."""
    code = _zip()
    created: dict[tuple[str, str], frozenset[str]] = {}
    secrets: set[str] = set()
    for member in members:
        session = _member_session(endpoint, member.account_id)
        iam = session.client("iam", endpoint_url=endpoint)
        role_arn = iam.create_role(RoleName=EXEC_ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        for region, specs in member.functions.items():
            client = session.client("lambda", endpoint_url=endpoint, region_name=region)
            arns: set[str] = set()
            published: dict[str, str] = {}  # layer name -> version ARN: one version per region, however many specs
            for spec in specs:
                secrets.update(spec.environment.values())
                layers = [_layer(client, name, code, published) for name in spec.layers]
                for i in range(spec.count):
                    args = _create_args(spec, i, role_arn, code)
                    if layers:
                        args["Layers"] = layers
                    arns.add(client.create_function(**args)["FunctionArn"])
            created[(member.account_id, region)] = frozenset(arns)
    return Seeded(created, frozenset(secrets))
