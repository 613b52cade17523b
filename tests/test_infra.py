"""The CloudFormation templates under infra/: read as data (no AWS, no network) and checked against the code.

The Glue tables must describe exactly the Parquet the job writes (INVENTORY_SCHEMA / STATUS_SCHEMA), where the
job writes it (s3://<bucket>/<prefix>/, status under _status/), and the IAM trust chain must stay as narrow as
the README promises: the member role allows only lambda:ListFunctions by default, each of its switches adds
exactly its read actions (account:ListRegions, one per enrichment), and it trusts only the hub's role; the hub's
task role may assume only the member role, write only under the prefix, and list the organisation only when asked
for.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA

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
    if pa.types.is_struct(kind):
        return "struct<" + ",".join(f"{field.name}:{glue_type(field.type)}" for field in kind) + ">"
    if pa.types.is_map(kind):
        return f"map<{glue_type(kind.key_type)},{glue_type(kind.item_type)}>"
    if pa.types.is_date32(kind):
        return "date"
    scalar = {
        pa.string(): "string",
        pa.int64(): "bigint",
        pa.int32(): "int",
        pa.bool_(): "boolean",
        pa.float64(): "double",
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


OUTPUT = "s3://${InventoryBucket}/${OutputPrefix}/"  # LAMBDA_INVENTORY_OUTPUT of the task


def parameter_switch(path: Path, parameter: str, condition: str) -> None:
    """A "true"/"false" parameter, off by default, and the condition that is true only for "true"."""
    template = load(path)
    assert template["Parameters"][parameter]["Default"] == "false"
    assert template["Parameters"][parameter]["AllowedValues"] == ["true", "false"]
    assert template["Conditions"][condition] == {"Fn::Equals": [{"Ref": parameter}, "true"]}


def allowed_actions(document: dict[str, Any]) -> dict[str, Any]:
    return {
        action: statement["Resource"]
        for statement in statements(document)
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
    }


@pytest.mark.parametrize(("name", "folder"), [("inventory", ""), ("inventory_status", "_status/")])
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
    # The job writes <prefix>/snapshot_date=.../ (inventory) and <prefix>/_status/snapshot_date=.../ (status).
    location = storage["Location"]["Fn::Sub"]
    assert location == OUTPUT + folder
    assert params["storage.location.template"]["Fn::Sub"] == location + "snapshot_date=${!snapshot_date}/"


def test_status_and_manifests_are_never_read_as_inventory() -> None:
    """Status files sit below the inventory table's location, so they must be outside its partitions and hidden."""
    inventory = table("inventory")["Parameters"]["storage.location.template"]["Fn::Sub"]
    status = table("inventory_status")["StorageDescriptor"]["Location"]["Fn::Sub"]
    assert inventory == OUTPUT + "snapshot_date=${!snapshot_date}/"  # projected partitions: only these folders
    assert status.removeprefix(OUTPUT).startswith("_")  # and Hive-style readers skip "_" paths


def test_member_role_allows_only_list_functions() -> None:
    role = one(MEMBER, "AWS::IAM::Role")
    assert "ManagedPolicyArns" not in role["Properties"]
    policies = inline_policies(role)
    allowed = [
        (action, statement["Resource"])
        for condition, document in policies.values()
        if condition is None
        for statement in statements(document)
        for action in as_list(statement["Action"])
        if statement["Effect"] == "Allow"
    ]
    assert allowed == [("lambda:ListFunctions", "*")]


# The member role's switches: parameter -> (condition, policy, what it grants, the accounts file's `enrich` name).
THIS_ACCOUNTS_FUNCTIONS = {"Fn::Sub": "arn:${AWS::Partition}:lambda:*:${AWS::AccountId}:function:*"}
MEMBER_SWITCHES: dict[str, tuple[str, str, dict[str, Any], str | None]] = {
    # Only this account's own region list (the job asks without an AccountId).
    "AllowListRegions": (
        "ListRegionsAllowed",
        "ListEnabledRegions",
        {"account:ListRegions": {"Fn::Sub": "arn:${AWS::Partition}:account::${AWS::AccountId}:account"}},
        None,
    ),
    # tag:GetResources and cloudwatch:GetMetricData have no resource-level permissions: "*" is the only resource.
    "EnableTags": ("TagsEnabled", "ReadFunctionTags", {"tag:GetResources": "*"}, "tags"),
    "EnableUrls": (
        "UrlsEnabled",
        "ReadFunctionUrls",
        {"lambda:ListFunctionUrlConfigs": THIS_ACCOUNTS_FUNCTIONS},
        "urls",
    ),
    "EnablePolicy": ("PolicyEnabled", "ReadFunctionPolicies", {"lambda:GetPolicy": THIS_ACCOUNTS_FUNCTIONS}, "policy"),
    "EnableConcurrency": (
        "ConcurrencyEnabled",
        "ReadFunctionConcurrency",
        {"lambda:GetFunctionConcurrency": THIS_ACCOUNTS_FUNCTIONS},
        "concurrency",
    ),
    "EnableUsage": ("UsageEnabled", "ReadInvocationMetrics", {"cloudwatch:GetMetricData": "*"}, "usage"),
}


def holds(template: dict[str, Any], expression: Any, parameters: dict[str, str]) -> Any:
    """Evaluate a condition expression (or a value in one) the way CloudFormation would, for these parameters."""
    if not isinstance(expression, dict):
        return expression
    ((function, argument),) = expression.items()
    if function == "Ref":
        return parameters[argument]
    if function == "Condition":
        return holds(template, template["Conditions"][argument], parameters)
    values = [holds(template, item, parameters) for item in argument]
    evaluate = {
        "Fn::Equals": lambda: values[0] == values[1],
        "Fn::Not": lambda: not values[0],
        "Fn::Or": lambda: any(values),
        "Fn::And": lambda: all(values),
    }
    return evaluate[function]()


def member_grants(**overrides: str) -> dict[str, Any]:
    """Action -> resource the member role allows when deployed with these parameters (the rest at their defaults)."""
    template = load(MEMBER)
    parameters = {name: spec.get("Default") for name, spec in template["Parameters"].items()} | overrides
    granted: dict[str, Any] = {}
    for condition, document in inline_policies(one(MEMBER, "AWS::IAM::Role")).values():
        if condition is None or holds(template, {"Condition": condition}, parameters):
            for action, resource in allowed_actions(document).items():
                assert action not in granted, f"{action} is granted twice"
                granted[action] = resource
    return granted


def test_member_role_deployed_with_defaults_allows_only_list_functions() -> None:
    assert member_grants() == {"lambda:ListFunctions": "*"}


def test_member_role_conditional_policies_are_exactly_its_switches() -> None:
    template = load(MEMBER)
    switches = {name for name in template["Parameters"] if name.startswith(("Allow", "Enable"))}
    assert switches == set(MEMBER_SWITCHES)
    policies = inline_policies(one(MEMBER, "AWS::IAM::Role"))
    conditional = {name: condition for name, (condition, _) in policies.items() if condition is not None}
    assert conditional == {policy: condition for condition, policy, _, _ in MEMBER_SWITCHES.values()}


@pytest.mark.parametrize("parameter", MEMBER_SWITCHES)
def test_member_switch_is_off_by_default_and_adds_exactly_its_actions(parameter: str) -> None:
    condition, policy, grants, enrichment = MEMBER_SWITCHES[parameter]
    parameter_switch(MEMBER, parameter, condition)
    assert inline_policies(one(MEMBER, "AWS::IAM::Role"))[policy][0] == condition
    assert member_grants(**{parameter: "true"}) == {"lambda:ListFunctions": "*"} | grants
    assert member_grants(**{parameter: "false"}) == {"lambda:ListFunctions": "*"}
    if enrichment is not None:  # the parameter says which `enrich:` entry of the accounts file needs it
        assert f"enrich: [{enrichment}]" in load(MEMBER)["Parameters"][parameter]["Description"]


def test_member_role_with_every_switch_on_allows_the_union_and_nothing_else() -> None:
    everything = member_grants(**dict.fromkeys(MEMBER_SWITCHES, "true"))
    expected: dict[str, Any] = {"lambda:ListFunctions": "*"}
    for _, _, grants, _ in MEMBER_SWITCHES.values():
        expected |= grants
    assert everything == expected
    # Reads only: no action that could change anything in a member account.
    assert all(action.split(":")[1].startswith(("List", "Get")) for action in everything)


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


def test_task_role_policies_and_which_are_conditional() -> None:
    policies = inline_policies(load(HUB)["Resources"]["TaskRole"])
    assert {name: condition for name, (condition, _) in policies.items()} == {
        "AssumeMemberRole": None,
        "WriteInventorySnapshots": None,  # the job always writes to the stack's bucket
        "DiscoverOrganizationAccounts": "DiscoverAccountsEnabled",
    }


def test_task_role_writes_only_under_the_prefix_and_may_head_the_bucket() -> None:
    (_, document) = inline_policies(load(HUB)["Resources"]["TaskRole"])["WriteInventorySnapshots"]
    write = {s["Sid"]: s for s in statements(document)}
    assert set(write) == {"WriteSnapshots", "CheckBucketAndListSnapshotPrefix"}
    # Objects: <prefix>/* covers the inventory, _status/ and _manifests/ folders, and nothing outside.
    # DeleteObject: superseding another shard layout's objects and the marker in the run's own partition.
    assert sorted(write["WriteSnapshots"]["Action"]) == ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"]
    assert write["WriteSnapshots"]["Resource"] == {"Fn::Sub": "${InventoryBucket.Arn}/${OutputPrefix}/*"}
    # The job checks the bucket with one ListObjectsV2 under <prefix>/: s3:ListBucket, confined to the prefix.
    check = write["CheckBucketAndListSnapshotPrefix"]
    assert check["Action"] == "s3:ListBucket"
    assert check["Resource"] == {"Fn::GetAtt": ["InventoryBucket", "Arn"]}
    assert check["Condition"] == {"StringLike": {"s3:prefix": [{"Fn::Sub": "${OutputPrefix}/*"}]}}


def test_task_role_lists_the_organisation_only_when_asked() -> None:
    hub = load(HUB)
    parameter_switch(HUB, "DiscoverAccounts", "DiscoverAccountsEnabled")
    assert "delegated administrator" in hub["Parameters"]["DiscoverAccounts"]["Description"]
    assert not {"GrantOrganizationsRead", "GrantS3Write", "OutputLocation"} & set(hub["Parameters"])
    (_, document) = inline_policies(hub["Resources"]["TaskRole"])["DiscoverOrganizationAccounts"]
    granted = allowed_actions(document)
    assert set(granted) == {
        "organizations:ListAccounts",
        "organizations:ListAccountsForParent",
        "organizations:ListOrganizationalUnitsForParent",
    }
    assert granted["organizations:ListAccounts"] == "*"  # no resource-level permissions for ListAccounts
    roots_and_ous = [
        {"Fn::Sub": "arn:${AWS::Partition}:organizations::*:root/o-*/r-*"},
        {"Fn::Sub": "arn:${AWS::Partition}:organizations::*:ou/o-*/ou-*"},
    ]
    assert granted["organizations:ListAccountsForParent"] == roots_and_ous
    assert granted["organizations:ListOrganizationalUnitsForParent"] == roots_and_ous


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
    # The job writes straight to the stack's bucket; a trailing / makes the output a folder.
    assert env["LAMBDA_INVENTORY_OUTPUT"] == {"Fn::Sub": OUTPUT}
    assert OUTPUT.endswith("/")
    assert "LAMBDA_INVENTORY_SHARD" not in env  # one unsharded task
    assert env["LAMBDA_INVENTORY_LOG_FORMAT"] == "json"
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    # Scratch space on writable volumes, since the root filesystem is read-only.
    mounts = {m["ContainerPath"] for m in container["MountPoints"]}
    assert {"/data", "/tmp"} <= mounts


def test_scheduler_may_only_run_the_task_and_pass_its_two_roles() -> None:
    """With ShardCount 1 (the default); tests/test_infra_batch.py checks the AWS Batch side (ShardCount above 1)."""
    hub = load(HUB)
    schedule = hub["Resources"]["NightlySchedule"]["Properties"]
    assert hub["Parameters"]["ScheduleExpression"]["Default"] == "cron(0 2 * * ? *)"
    condition, target, _ = schedule["Target"]["Fn::If"]
    assert condition == "SingleTask"
    assert holds(hub, {"Condition": condition}, {"ShardCount": hub["Parameters"]["ShardCount"]["Default"]})
    assert target["EcsParameters"]["TaskDefinitionArn"] == {"Ref": "TaskDefinition"}
    assert target["RoleArn"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
    policies = inline_policies(hub["Resources"]["SchedulerRole"])
    (_, document) = policies["RunInventoryTask"]
    assert {name: when for name, (when, _) in policies.items()} == {
        "RunInventoryTask": "SingleTask",
        "SubmitInventoryJobs": "Sharded",
    }
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
