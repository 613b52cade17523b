"""The CloudFormation templates under infra/: read as data (no AWS, no network) and checked against the code.

The Glue tables must describe exactly the Parquet the job writes (INVENTORY_SCHEMA / STATUS_SCHEMA), and the
IAM trust chain must stay as narrow as the README promises: the member role allows only lambda:ListFunctions
and trusts only the hub's role; the hub's task role may assume only the member role.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from inventory.schema import INVENTORY_SCHEMA, STATUS_SCHEMA

INFRA = Path(__file__).resolve().parent.parent / "infra"
HUB = INFRA / "hub" / "template.yaml"
MEMBER = INFRA / "policy" / "template.yaml"


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short tags as their long form: `!Sub x` -> {"Fn::Sub": "x"}."""


def _short_tag(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _short_tag)


@functools.cache
def load(path: Path) -> dict[str, Any]:
    template: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=CfnLoader)
    return template


def resources(path: Path, kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in load(path)["Resources"].items() if res["Type"] == kind}


def one(path: Path, kind: str) -> dict[str, Any]:
    (found,) = resources(path, kind).values()
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(policy_document: dict[str, Any]) -> list[dict[str, Any]]:
    return as_list(policy_document["Statement"])


def inline_policies(role: dict[str, Any]) -> dict[str, tuple[str | None, dict[str, Any]]]:
    """PolicyName -> (condition name or None, PolicyDocument), unwrapping `!If [cond, policy, !Ref AWS::NoValue]`."""
    found: dict[str, tuple[str | None, dict[str, Any]]] = {}
    for entry in role["Properties"].get("Policies", []):
        condition = None
        if "Fn::If" in entry:
            condition, entry, otherwise = entry["Fn::If"]  # noqa: PLW2901
            assert otherwise == {"Ref": "AWS::NoValue"}
        found[entry["PolicyName"]] = (condition, entry["PolicyDocument"])
    return found


# The job's Arrow types as Glue / Hive column types (what Athena reads the Parquet as).
def glue_type(kind: pa.DataType) -> str:
    if pa.types.is_list(kind):
        return f"array<{glue_type(kind.value_type)}>"
    scalar = {
        pa.string(): "string",
        pa.int64(): "bigint",
        pa.int32(): "int",
        pa.bool_(): "boolean",
    }
    if pa.types.is_timestamp(kind):
        return "timestamp"
    return scalar[kind]


def table(name: str) -> dict[str, Any]:
    (found,) = (
        res["Properties"]["TableInput"]
        for res in resources(HUB, "AWS::Glue::Table").values()
        if res["Properties"]["TableInput"]["Name"] == name
    )
    return found


@pytest.mark.parametrize(("name", "schema"), [("inventory", INVENTORY_SCHEMA), ("inventory_status", STATUS_SCHEMA)])
def test_glue_table_columns_are_the_parquet_schema_in_order(name: str, schema: pa.Schema) -> None:
    columns = table(name)["StorageDescriptor"]["Columns"]
    assert [(c["Name"], c["Type"]) for c in columns] == [(f.name, glue_type(f.type)) for f in schema]


@pytest.mark.parametrize(("name", "folder"), [("inventory", "inventory"), ("inventory_status", "status")])
def test_glue_tables_are_parquet_with_projected_snapshot_date(name: str, folder: str) -> None:
    spec = table(name)
    assert spec["TableType"] == "EXTERNAL_TABLE"
    assert spec["PartitionKeys"] == [{"Name": "snapshot_date", "Type": "string"}]
    storage = spec["StorageDescriptor"]
    assert storage["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert storage["InputFormat"].endswith("MapredParquetInputFormat")
    params = spec["Parameters"]
    assert params["projection.enabled"] == "true"
    assert params["projection.snapshot_date.type"] == "date"
    assert params["projection.snapshot_date.format"] == "yyyy-MM-dd"
    assert params["projection.snapshot_date.range"] == "2024-01-01,NOW"
    # Each table reads only its own folder: inventory and status files must never share a location.
    location = storage["Location"]["Fn::Sub"]
    assert location == f"s3://${{InventoryBucket}}/${{OutputPrefix}}/{folder}/"
    assert params["storage.location.template"]["Fn::Sub"] == location + "snapshot_date=${!snapshot_date}/"


def test_member_role_allows_only_list_functions() -> None:
    role = one(MEMBER, "AWS::IAM::Role")
    assert "ManagedPolicyArns" not in role["Properties"]
    policies = inline_policies(role)
    allowed = [
        (action, statement["Resource"])
        for _, document in policies.values()
        for statement in statements(document)
        for action in as_list(statement["Action"])
        if statement["Effect"] == "Allow"
    ]
    assert allowed == [("lambda:ListFunctions", "*")]


def test_member_role_trusts_only_the_hub_role_arn_parameter() -> None:
    role = one(MEMBER, "AWS::IAM::Role")
    (trust,) = statements(role["Properties"]["AssumeRolePolicyDocument"])
    assert trust["Effect"] == "Allow"
    assert trust["Principal"] == {"AWS": {"Ref": "HubRoleArn"}}
    assert as_list(trust["Action"]) == ["sts:AssumeRole"]


def test_task_role_may_assume_only_the_member_role() -> None:
    hub = load(HUB)
    task_role = hub["Resources"]["TaskRole"]
    policies = inline_policies(task_role)
    assume = [
        statement
        for _, document in policies.values()
        for statement in statements(document)
        if any(action.startswith("sts:") for action in as_list(statement["Action"]))
    ]
    assert len(assume) == 1
    assert as_list(assume[0]["Action"]) == ["sts:AssumeRole"]
    resource = assume[0]["Resource"]["Fn::Sub"]
    assert resource == "arn:${AWS::Partition}:iam::*:role${MemberRolePath}${MemberRoleName}"
    # The hub's default names the role the member template creates by default.
    member_default = load(MEMBER)["Parameters"]["RoleName"]["Default"]
    assert hub["Parameters"]["MemberRoleName"]["Default"] == member_default == "CrossAccountListFunctionsRole"
    assert hub["Parameters"]["MemberRolePath"]["Default"] == "/"
    assert "ManagedPolicyArns" not in task_role["Properties"]
    # Its ARN is what the member template's HubRoleArn expects.
    assert hub["Outputs"]["TaskRoleArn"]["Value"] == {"Fn::GetAtt": ["TaskRole", "Arn"]}


def test_task_role_optional_grants_sit_behind_their_conditions() -> None:
    hub = load(HUB)
    policies = inline_policies(hub["Resources"]["TaskRole"])
    assert policies["AssumeMemberRole"][0] is None
    assert policies["WriteInventorySnapshots"][0] == "WriteS3"
    assert policies["ReadOrganizationAccounts"][0] == "ReadOrganizations"
    assert hub["Conditions"]["WriteS3"] == {"Fn::Equals": [{"Ref": "GrantS3Write"}, "true"]}
    assert hub["Conditions"]["ReadOrganizations"] == {"Fn::Equals": [{"Ref": "GrantOrganizationsRead"}, "true"]}
    assert hub["Parameters"]["GrantS3Write"]["Default"] == "true"
    assert hub["Parameters"]["GrantOrganizationsRead"]["Default"] == "false"
    # S3 writes only under the snapshot prefix.
    write = {s["Sid"]: s for s in statements(policies["WriteInventorySnapshots"][1])}
    assert write["WriteSnapshots"]["Resource"] == {"Fn::Sub": "${InventoryBucket.Arn}/${OutputPrefix}/*"}
    assert write["ListSnapshotPrefix"]["Condition"] == {"StringLike": {"s3:prefix": [{"Fn::Sub": "${OutputPrefix}/*"}]}}


@pytest.mark.parametrize("bucket", ["InventoryBucket", "AccessLogsBucket"])
def test_buckets_block_public_access_and_deny_insecure_transport(bucket: str) -> None:
    hub = load(HUB)
    props = hub["Resources"][bucket]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    (policy,) = (
        res["Properties"]["PolicyDocument"]
        for res in resources(HUB, "AWS::S3::BucketPolicy").values()
        if res["Properties"]["Bucket"] == {"Ref": bucket}
    )
    deny = [s for s in statements(policy) if s["Effect"] == "Deny"]
    assert deny == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [{"Fn::GetAtt": [bucket, "Arn"]}, {"Fn::Sub": f"${{{bucket}.Arn}}/*"}],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]


def test_task_definition_runs_the_job_hardened_with_json_logs() -> None:
    hub = load(HUB)
    task = hub["Resources"]["TaskDefinition"]["Properties"]
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert (hub["Parameters"]["TaskCpu"]["Default"], hub["Parameters"]["TaskMemory"]["Default"]) == ("256", "512")
    (container,) = task["ContainerDefinitions"]
    assert container["Image"] == {"Ref": "ImageUri"}
    assert container["ReadonlyRootFilesystem"] is True
    assert not container["User"].startswith(("0:", "root"))
    env = {e["Name"]: e["Value"] for e in container["Environment"] if "Name" in e}
    assert env["LAMBDA_INVENTORY_CONFIG"] == {"Ref": "ConfigPath"}
    assert env["LAMBDA_INVENTORY_OUTPUT"] == {"Ref": "OutputLocation"}
    assert env["LAMBDA_INVENTORY_LOG_FORMAT"] == "json"
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    # The output location must be on the writable volume, since the root filesystem is read-only.
    mounts = {m["ContainerPath"] for m in container["MountPoints"]}
    assert "/data" in mounts
    assert hub["Parameters"]["OutputLocation"]["AllowedPattern"].startswith("^/data/")
    assert hub["Parameters"]["OutputLocation"]["Default"] == "/data/"


def test_scheduler_may_only_run_the_task_and_pass_its_two_roles() -> None:
    hub = load(HUB)
    schedule = one(HUB, "AWS::Scheduler::Schedule")["Properties"]
    assert hub["Parameters"]["ScheduleExpression"]["Default"] == "cron(0 2 * * ? *)"
    assert schedule["Target"]["EcsParameters"]["TaskDefinitionArn"] == {"Ref": "TaskDefinition"}
    assert schedule["Target"]["RoleArn"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
    (_, document), *others = inline_policies(hub["Resources"]["SchedulerRole"]).values()
    assert others == []
    granted = {action: s["Resource"] for s in statements(document) for action in as_list(s["Action"])}
    assert granted == {
        "ecs:RunTask": {"Ref": "TaskDefinition"},
        "iam:PassRole": [{"Fn::GetAtt": ["TaskRole", "Arn"]}, {"Fn::GetAtt": ["ExecutionRole", "Arn"]}],
    }


@pytest.mark.parametrize("path", [HUB, MEMBER], ids=["hub", "member"])
def test_every_checkov_suppression_gives_a_reason(path: Path) -> None:
    for res in load(path)["Resources"].values():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["id"].startswith("CKV_")
            assert len(skip.get("comment", "").split()) >= 8, skip
