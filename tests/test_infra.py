"""The CloudFormation templates under infra/: read as data (no AWS, no network) and checked against the code.

The hub declares the Glue database and no table: the job creates its Iceberg tables (inventory/contract/lake.py)
on its first run, so the catalog's only copy of their schema is the code's. What the template does say must match
the code: the Athena named query is current_inventory_sql() of inventory/contract/current.py, and the table
optimizers cover exactly the lake's tables. The IAM trust chain must stay as narrow as the README promises: the
member role allows only lambda:ListFunctions by default, each of its switches adds exactly its read actions
(account:ListRegions, one per enrichment: every name `enrich:` accepts has exactly one), and it trusts only the
hub's role (by ARN, in a condition); the hub's task role may assume only the member role and only in its
organisation's accounts, write only under the prefix and never delete there, reach only its own Glue database, and
list the organisation only when asked for. The condition operators and keys infra/README.md quotes, and its rows
for the member role, are the templates' own.
"""

from __future__ import annotations

import functools
import itertools
import re
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from inventory.contract.columns import ENRICHMENTS
from inventory.contract.current import current_inventory_sql
from inventory.contract.estate import ESTATE_ENRICHMENTS
from inventory.contract.lake import DEFAULT_DATABASE, FUNCTIONS, TABLES, TARGETS, VERIFICATIONS
from inventory.job.config import Enrichment

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
THIS_ACCOUNTS_LAYER_VERSIONS = {"Fn::Sub": "arn:${AWS::Partition}:lambda:*:${AWS::AccountId}:layer:*:*"}
THIS_ACCOUNTS_SIGNING_CONFIGS = {"Fn::Sub": "arn:${AWS::Partition}:lambda:*:${AWS::AccountId}:code-signing-config:*"}
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
    # The estate tables' enrichments (inventory/contract/estate.py). The account-region lists have no resource
    # types in the Service Authorization Reference ("*"); the per-function reads are this account's functions.
    "EnableEventSourceMappings": (
        "EventSourceMappingsEnabled",
        "ReadEventSourceMappings",
        {"lambda:ListEventSourceMappings": "*"},
        "event_source_mappings",
    ),
    "EnableLayers": (
        "LayersEnabled",
        "ReadLayers",
        {"lambda:ListLayers": "*", "lambda:ListLayerVersions": "*"},
        "layers",
    ),
    "EnableLayerPolicies": (
        "LayerPoliciesEnabled",
        "ReadLayerPolicies",
        # the layerVersion resource type: this account's layer versions, in any region
        {"lambda:GetLayerVersionPolicy": THIS_ACCOUNTS_LAYER_VERSIONS},
        "layer_policies",
    ),
    "EnableAliases": (
        "AliasesEnabled",
        "ReadFunctionAliases",
        # GetPolicy with an alias qualifier is authorized against name:alias, which function:* matches.
        {"lambda:ListAliases": THIS_ACCOUNTS_FUNCTIONS, "lambda:GetPolicy": THIS_ACCOUNTS_FUNCTIONS},
        "aliases",
    ),
    "EnableEventInvokeConfigs": (
        "EventInvokeConfigsEnabled",
        "ReadEventInvokeConfigs",
        {"lambda:ListFunctionEventInvokeConfigs": THIS_ACCOUNTS_FUNCTIONS},
        "event_invoke_configs",
    ),
    "EnableProvisionedConcurrency": (
        "ProvisionedConcurrencyEnabled",
        "ReadProvisionedConcurrency",
        {"lambda:ListProvisionedConcurrencyConfigs": THIS_ACCOUNTS_FUNCTIONS},
        "provisioned_concurrency",
    ),
    "EnableCodeSigning": (
        "CodeSigningEnabled",
        "ReadCodeSigningConfigs",
        # the code signing config resource type: this account's configs, in any region
        {
            "lambda:ListCodeSigningConfigs": "*",
            "lambda:ListFunctionsByCodeSigningConfig": THIS_ACCOUNTS_SIGNING_CONFIGS,
        },
        "code_signing",
    ),
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
                # Two switches may need one action (lambda:GetPolicy: `policy` and `aliases`), on one resource.
                assert granted.get(action, resource) == resource, f"{action} is granted on two resources"
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


def config_enrichments() -> set[str]:
    """Every name `enrich:` accepts: the config's Enrichment literal, and the contract's (columns.py's ENRICHMENTS,
    estate.py's ESTATE_ENRICHMENTS), in case the two are updated apart."""
    return set(get_args(Enrichment)) | set(ENRICHMENTS) | set(ESTATE_ENRICHMENTS)


def test_every_enrichment_has_exactly_one_member_switch() -> None:
    """An enrichment the accounts file can ask for is useless without its read actions: one switch names it,
    in MEMBER_SWITCHES and in the template's own parameter descriptions (`enrich: [<name>]`)."""
    assert {"tags", "layers", "code_signing"} <= config_enrichments()
    switched = sorted(enrichment for _, _, _, enrichment in MEMBER_SWITCHES.values() if enrichment is not None)
    assert switched == sorted(config_enrichments())
    parameters = load(MEMBER)["Parameters"]
    named = sorted(
        name for spec in parameters.values() for name in re.findall(r"`enrich: \[(\w+)\]`", spec.get("Description", ""))
    )
    assert named == sorted(config_enrichments())


def readme_resource(resource: Any) -> str:
    """A grant's resource as infra/README.md's permissions table writes it."""
    if resource == "*":
        return "`*` (no resource-level permissions)"
    text = resource["Fn::Sub"].replace("${AWS::Partition}", "<partition>")
    return f"`{text.replace('${AWS::AccountId}', '<this account>')}`"


def test_the_readme_lists_every_member_switch_and_grant() -> None:
    """infra/README.md's member rows (Enrichments, Member parameters, Permissions) say what MEMBER_SWITCHES says."""
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    listed: dict[tuple[str, str], str] = {}
    for actions, resource, when in re.findall(r"^\| member role \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$", readme, re.M):
        for action in re.findall(r"`([a-z]+:\w+)`", actions):
            assert (action, when) not in listed, f"{action} listed twice for {when}"
            listed[(action, when)] = resource
    expected = {("lambda:ListFunctions", "always"): readme_resource("*")}
    for parameter, (_, _, granted, _) in MEMBER_SWITCHES.items():
        expected |= {(action, f"`{parameter}=true`"): readme_resource(res) for action, res in granted.items()}
    assert listed == expected
    parameters = dict(re.findall(r"^\| `(\w+)` \| `false` \| (.+) \|$", readme, re.M))
    for parameter, (_, _, granted, enrichment) in MEMBER_SWITCHES.items():
        assert all(f"`{action}`" in parameters[parameter] for action in granted), parameter
        assert enrichment is None or f"`enrich: [{enrichment}]`" in parameters[parameter], parameter
    switches = dict(re.findall(r"^\| `(\w+)` \| `(\w+)=true` \|", readme, re.M))
    assert switches == {enrichment: p for p, (_, _, _, enrichment) in MEMBER_SWITCHES.items() if enrichment}


def test_member_role_with_every_switch_on_allows_the_union_and_nothing_else() -> None:
    everything = member_grants(**dict.fromkeys(MEMBER_SWITCHES, "true"))
    expected: dict[str, Any] = {"lambda:ListFunctions": "*"}
    for _, _, grants, _ in MEMBER_SWITCHES.values():
        expected |= grants
    assert everything == expected
    # Reads only: no action that could change anything in a member account.
    assert all(action.split(":")[1].startswith(("List", "Get")) for action in everything)


def test_member_role_trusts_only_the_hub_role_arn_parameter() -> None:
    """The hub account as principal, narrowed to the role HubRoleArn names by aws:PrincipalArn.

    A role ARN in Principal would be stored as the role's unique id, so a hub role deleted and re-created under
    the same name would stop matching; a condition keeps the ARN as a string (infra/README.md, Deploy).
    """
    role = one(MEMBER, "AWS::IAM::Role")
    (trust,) = statements(role["Properties"]["AssumeRolePolicyDocument"])
    assert trust["Effect"] == "Allow"
    assert as_list(trust["Action"]) == ["sts:AssumeRole"]
    # The principal is the account of HubRoleArn (its fifth ARN field), never a role.
    text, variables = trust["Principal"]["AWS"]["Fn::Sub"]
    assert text == "arn:${AWS::Partition}:iam::${HubAccountId}:root"
    assert variables == {"HubAccountId": {"Fn::Select": [4, {"Fn::Split": [":", {"Ref": "HubRoleArn"}]}]}}
    pattern = load(MEMBER)["Parameters"]["HubRoleArn"]["AllowedPattern"]
    for arn in ("arn:aws:iam::111111111111:role/lambda-inventory-job", "arn:aws:iam::111111111111:role/team/job"):
        assert re.fullmatch(pattern, arn)
        assert arn.split(":")[4] == "111111111111"
    assert not re.fullmatch(pattern, "arn:aws:iam::111111111111:root")
    # ... and only sessions of that role: its ARN, compared as a string.
    condition = trust["Condition"]
    assert condition["ArnEquals"] == {"aws:PrincipalArn": {"Ref": "HubRoleArn"}}
    # The optional ExternalId and organisation id only add to it.
    assert set(condition) == {"ArnEquals", "StringEquals"}
    when, extra, otherwise = condition["StringEquals"]["Fn::If"]
    assert (when, otherwise) == ("HasTrustCondition", {"Ref": "AWS::NoValue"})
    assert set(extra) == {"sts:ExternalId", "aws:PrincipalOrgID"}


def test_task_role_assumes_member_roles_only_in_the_organisation() -> None:
    """aws:ResourceOrgID: the organisation of the account that owns the role being assumed (infra/README.md)."""
    hub = load(HUB)
    (_, document) = inline_policies(hub["Resources"]["TaskRole"])["AssumeMemberRole"]
    (assume,) = statements(document)
    assert assume["Condition"] == {"StringEquals": {"aws:ResourceOrgID": {"Ref": "OrganizationId"}}}
    # Required (no default, never empty): the grant cannot be deployed without the organisation.
    spec = hub["Parameters"]["OrganizationId"]
    assert "Default" not in spec
    assert re.fullmatch(spec["AllowedPattern"], "o-a1b2c3d4e5")
    assert not re.fullmatch(spec["AllowedPattern"], "")
    assert not re.fullmatch(spec["AllowedPattern"], "o-*")


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
        "WriteTheLake": None,  # the job always writes to the stack's bucket and database
        "DiscoverOrganizationAccounts": "DiscoverAccountsEnabled",
    }


GLUE_ARN = "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}"
CATALOG = {"Fn::Sub": f"{GLUE_ARN}:catalog"}
DATABASE = {"Fn::Sub": f"{GLUE_ARN}:database/${{GlueDatabase}}"}
EVERY_TABLE = {"Fn::Sub": f"{GLUE_ARN}:table/${{GlueDatabase}}/*"}
LAKE_FILES = {"Fn::Sub": "${InventoryBucket.Arn}/${OutputPrefix}/*"}
LIST_THE_PREFIX = {"StringLike": {"s3:prefix": [{"Fn::Sub": "${OutputPrefix}/*"}]}}


def grants(role: str) -> dict[str, Any]:
    """Action -> resource over every policy of a hub role, each action granted once."""
    granted: dict[str, Any] = {}
    for _, document in inline_policies(load(HUB)["Resources"][role]).values():
        for action, resource in allowed_actions(document).items():
            assert action not in granted, f"{role}: {action} is granted twice"
            granted[action] = resource
    return granted


def test_task_role_writes_the_lake_under_the_prefix_and_deletes_nothing() -> None:
    (_, document) = inline_policies(load(HUB)["Resources"]["TaskRole"])["WriteTheLake"]
    write = {s["Sid"]: s for s in statements(document)}
    assert set(write) == {
        "ReadAndWriteLakeFiles",
        "CheckBucketAndListLakePrefix",
        "ReadTheDatabase",
        "CreateAndCommitTheTables",
    }
    # Objects: <prefix>/* holds every table's data and metadata files, and nothing outside. An Iceberg commit
    # only adds files, so no DeleteObject: the job cannot lose a file a table references.
    assert sorted(write["ReadAndWriteLakeFiles"]["Action"]) == [
        "s3:AbortMultipartUpload",
        "s3:GetObject",
        "s3:PutObject",
    ]
    assert write["ReadAndWriteLakeFiles"]["Resource"] == LAKE_FILES
    assert not [action for action in grants("TaskRole") if action.startswith("s3:Delete") or action == "s3:*"]
    # The job checks the bucket with one ListObjectsV2 under <prefix>/: s3:ListBucket, confined to the prefix.
    check = write["CheckBucketAndListLakePrefix"]
    assert check["Action"] == "s3:ListBucket"
    assert check["Resource"] == {"Fn::GetAtt": ["InventoryBucket", "Arn"]}
    assert check["Condition"] == LIST_THE_PREFIX


def test_task_role_reaches_only_its_own_glue_database_and_deletes_no_table() -> None:
    glue = {action: resource for action, resource in grants("TaskRole").items() if action.startswith("glue:")}
    tables = [CATALOG, DATABASE, EVERY_TABLE]
    assert glue == {
        "glue:GetDatabase": [CATALOG, DATABASE],
        # The code owns the tables' schema and partition spec (it evolves them: UpdateTable), so creating them
        # on the first run (CreateTable, in this database only) adds little; AWS::Glue::Table cannot declare
        # an Iceberg partition spec in any case.
        "glue:GetTable": tables,
        "glue:GetTables": tables,
        "glue:CreateTable": tables,
        "glue:UpdateTable": tables,
    }
    # ${GlueDatabase} is the database resource's name (its Ref), so the grants follow GlueDatabaseName.
    assert load(HUB)["Resources"]["GlueDatabase"]["Properties"]["DatabaseInput"]["Name"] == {"Ref": "GlueDatabaseName"}
    assert load(HUB)["Parameters"]["GlueDatabaseName"]["Default"] == DEFAULT_DATABASE


def test_the_stack_declares_the_database_and_no_table() -> None:
    """The job creates its Iceberg tables (pyiceberg create_table): no Hive table over the old layout remains."""
    assert resources(HUB, "AWS::Glue::Table") == {}
    assert set(resources(HUB, "AWS::Glue::Database")) == {"GlueDatabase"}
    # The tables are the code's (TABLES); the optimizers and the README's list are checked against it below.


def test_the_readme_names_every_table_of_the_lake() -> None:
    """infra/README.md's layout of the lake and its get-tables check list the code's tables, all of them."""
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    lake = readme.split("### The lake: Iceberg tables", 1)[1].split("```", 2)[1]
    assert [name for name in TABLES if not re.search(rf"\b{name}\b", lake)] == []
    check = readme.split("aws glue get-tables --database-name lambda_inventory --query 'TableList[].Name'\n", 1)[1]
    comment = itertools.takewhile(lambda line: line.startswith("# "), check.splitlines())  # the lines below it
    listed = " ".join(line.removeprefix("# ") for line in comment)
    assert listed.split(", ") == sorted(TABLES)  # what the command prints once the job has run


def test_the_inventory_bucket_never_expires_an_object_a_table_may_reference() -> None:
    rules = load(HUB)["Resources"]["InventoryBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    # No expiration of current objects at all (an Iceberg table references its files however old they are);
    # only what the optimizers (or a person) deleted goes, as noncurrent versions, and stale uploads.
    assert not [rule["Id"] for rule in rules if "ExpirationInDays" in rule or "ExpirationDate" in rule]
    assert {rule["Id"] for rule in rules} == {"remove-noncurrent-versions", "abort-incomplete-uploads"}
    (noncurrent,) = (rule for rule in rules if "NoncurrentVersionExpiration" in rule)
    assert noncurrent["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "NoncurrentVersionRetentionDays"}}


def test_the_athena_named_query_is_the_codes_current_inventory_sql() -> None:
    """The saved query and report/diff/verify choose a day's run by one rule: the template holds the code's SQL."""
    hub = load(HUB)
    query = hub["Resources"]["CurrentInventoryQuery"]["Properties"]
    assert query["Name"] == "lambda-inventory current inventory"
    assert query["Database"] == {"Ref": "GlueDatabase"}
    text = query["QueryString"]["Fn::Sub"]
    # Fn::Sub substitutes only the database: any other "${" would be read as a reference (or need "${!").
    assert set(re.findall(r"\$\{[^}]*\}", text)) == {"${GlueDatabaseName}"}
    database = hub["Parameters"]["GlueDatabaseName"]["Default"]
    assert text.replace("${GlueDatabaseName}", database) == current_inventory_sql(database)
    assert text == current_inventory_sql("${GlueDatabaseName}")


def test_verify_role_reads_the_lake_and_commits_only_the_verifications_table() -> None:
    hub = load(HUB)
    role = hub["Resources"]["VerifyRole"]
    assert "Condition" not in role  # the ECS verify task (ShardCount 1) and the Batch verify job both use it
    (name, (condition, document)), *others = inline_policies(role).items()
    assert (name, condition, others) == ("VerifyRuns", None, [])
    verifications = {"Fn::Sub": f"{GLUE_ARN}:table/${{GlueDatabase}}/{VERIFICATIONS}"}
    assert allowed_actions(document) == {
        "s3:GetObject": LAKE_FILES,
        "s3:ListBucket": {"Fn::GetAtt": ["InventoryBucket", "Arn"]},
        # Its commit's data and metadata files: the verifications table's location only.
        "s3:PutObject": {"Fn::Sub": f"${{InventoryBucket.Arn}}/${{OutputPrefix}}/{VERIFICATIONS}/*"},
        "glue:GetDatabase": [CATALOG, DATABASE],
        "glue:GetTable": [CATALOG, DATABASE, EVERY_TABLE],
        "glue:GetTables": [CATALOG, DATABASE, EVERY_TABLE],
        # Commits to the verifications table only (created there if verify runs before the job ever did).
        "glue:CreateTable": [CATALOG, DATABASE, verifications],
        "glue:UpdateTable": [CATALOG, DATABASE, verifications],
    }
    (listing,) = [s for s in statements(document) if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == LIST_THE_PREFIX
    # Trusted like the task role: ECS tasks of this account and region only.
    task_trust = hub["Resources"]["TaskRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert role["Properties"]["AssumeRolePolicyDocument"] == task_trust


OPTIMIZED = {
    "compaction": {FUNCTIONS, TARGETS},  # one file per shard a night
    "retention": set(TABLES),
    "orphan_file_deletion": set(TABLES),
}


def test_table_optimizers_exist_only_when_enabled_and_cover_the_lakes_tables() -> None:
    hub = load(HUB)
    parameter_switch(HUB, "EnableTableOptimizers", "TableOptimizersEnabled")
    optimizers = resources(HUB, "AWS::Glue::TableOptimizer")
    assert {name: res["Condition"] for name, res in optimizers.items()} == dict.fromkeys(
        optimizers, "TableOptimizersEnabled"
    )
    assert hub["Resources"]["TableOptimizerRole"]["Condition"] == "TableOptimizersEnabled"
    covered: dict[str, set[str]] = {}
    configs: dict[str, list[Any]] = {}
    for res in optimizers.values():
        props = res["Properties"]
        assert props["DatabaseName"] == {"Ref": "GlueDatabase"}
        assert props["CatalogId"] == {"Ref": "AWS::AccountId"}
        covered.setdefault(props["Type"], set()).add(props["TableName"])
        config = props["TableOptimizerConfiguration"]
        configs.setdefault(props["Type"], []).append(config)
        assert config["RoleArn"] == {"Fn::GetAtt": ["TableOptimizerRole", "Arn"]}
        assert config["Enabled"] is True
        if props["Type"] == "retention":
            assert config["RetentionConfiguration"]["IcebergConfiguration"] == {
                "SnapshotRetentionPeriodInDays": {"Ref": "SnapshotRetentionDays"},
                "NumberOfSnapshotsToRetain": 1,
                "CleanExpiredFiles": True,
            }
        if props["Type"] == "orphan_file_deletion":
            days = config["OrphanFileDeletionConfiguration"]["IcebergConfiguration"]["OrphanFileRetentionPeriodInDays"]
            assert days >= 1  # never a file of a commit in progress
    assert covered == OPTIMIZED
    assert len(optimizers) == sum(map(len, OPTIMIZED.values()))  # one of each kind per table, no more
    # Every table is optimized the same way: one configuration per kind, whatever the table.
    assert [kind for kind, found in configs.items() if any(config != found[0] for config in found)] == []


def test_only_the_optimizers_role_may_delete_and_only_under_the_prefix() -> None:
    hub = load(HUB)
    deleting = {
        name
        for name, res in hub["Resources"].items()
        if res["Type"] == "AWS::IAM::Role" and any(a.startswith("s3:Delete") or a == "s3:*" for a in grants(name))
    }
    assert deleting == {"TableOptimizerRole"}
    granted = grants("TableOptimizerRole")
    assert {action: granted[action] for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")} == (
        dict.fromkeys(("s3:GetObject", "s3:PutObject", "s3:DeleteObject"), LAKE_FILES)
    )
    assert granted["glue:GetTable"] == granted["glue:UpdateTable"] == [CATALOG, DATABASE, EVERY_TABLE]
    assert not [action for action in granted if action in ("glue:DeleteTable", "glue:CreateTable", "glue:*")]
    assert all("/aws-glue/" in resource["Fn::Sub"] for resource in granted["logs:PutLogEvents"])
    (trust,) = statements(hub["Resources"]["TableOptimizerRole"]["Properties"]["AssumeRolePolicyDocument"])
    assert trust["Principal"] == {"Service": "glue.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


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
    # The job writes straight to the stack's bucket; an S3 prefix ending in / is the lake (Iceberg tables in
    # the stack's Glue database), which is Parquet only: no LAMBDA_INVENTORY_FORMAT.
    assert env["LAMBDA_INVENTORY_OUTPUT"] == {"Fn::Sub": OUTPUT}
    assert OUTPUT.endswith("/")
    assert env["LAMBDA_INVENTORY_LAKE_DATABASE"] == {"Ref": "GlueDatabase"}
    assert "LAMBDA_INVENTORY_FORMAT" not in env
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
        "SubmitInventoryJob": "Sharded",
    }
    granted = {action: s["Resource"] for s in statements(document) for action in as_list(s["Action"])}
    assert granted == {
        "ecs:RunTask": {"Ref": "TaskDefinition"},
        "iam:PassRole": [{"Fn::GetAtt": ["TaskRole", "Arn"]}, {"Fn::GetAtt": ["ExecutionRole", "Arn"]}],
    }


def containers() -> dict[str, dict[str, Any]]:
    """Every container of the hub: the task definitions' (by container name) and the Batch jobs' (by resource)."""
    found: dict[str, dict[str, Any]] = {}
    for name, res in load(HUB)["Resources"].items():
        if res["Type"] == "AWS::ECS::TaskDefinition":
            found |= {f"{name}/{c['Name']}": c for c in res["Properties"]["ContainerDefinitions"]}
        if res["Type"] == "AWS::Batch::JobDefinition":
            found[name] = res["Properties"]["ContainerProperties"]
    return found


def test_every_container_gets_the_lake_database_and_none_a_file_format() -> None:
    assert set(containers()) == {
        "TaskDefinition/lambda-inventory",
        "VerifyTaskDefinition/lambda-inventory-verify",
        "ShardJobDefinition",
        "VerifyJobDefinition",
    }
    for name, container in containers().items():
        env = {e["Name"]: e["Value"] for e in container["Environment"] if "Name" in e}
        assert env["LAMBDA_INVENTORY_LAKE_DATABASE"] == {"Ref": "GlueDatabase"}, name
        assert not {"LAMBDA_INVENTORY_FORMAT", "LAMBDA_INVENTORY_PARTITIONED"} & set(env), name


ALARMS = {
    # alarm -> (namespace, metric, dimension, what it watches)
    "VerifyFailedAlarm": ("AWS/Events", "TriggeredRules", "RuleName", {"Ref": "VerifyFailedRule"}),
    "VerifyNotStartedAlarm": (
        "AWS/Events",
        "FailedInvocations",
        "RuleName",
        {"Fn::If": ["SingleTask", {"Ref": "VerifyAfterTaskRule"}, {"Ref": "VerifyAfterArrayJobRule"}]},
    ),
    "NightlyScheduleTargetErrorsAlarm": (
        "AWS/Scheduler",
        "TargetErrorCount",
        "ScheduleGroup",
        {"Ref": "NightlyScheduleGroup"},
    ),
    "NightlyScheduleDroppedAlarm": (
        "AWS/Scheduler",
        "InvocationDroppedCount",
        "ScheduleGroup",
        {"Ref": "NightlyScheduleGroup"},
    ),
}


def test_a_night_that_fails_anywhere_raises_an_alarm() -> None:
    hub = load(HUB)
    alarms = resources(HUB, "AWS::CloudWatch::Alarm")
    assert set(alarms) == set(ALARMS)
    topic = hub["Parameters"]["AlarmTopicArn"]
    assert topic["Default"] == ""
    assert re.fullmatch(topic["AllowedPattern"], "")
    assert re.fullmatch(topic["AllowedPattern"], "arn:aws:sns:eu-west-1:123456789012:ops-alerts")
    assert hub["Conditions"]["HasAlarmTopic"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}
    for name, (namespace, metric, dimension, value) in ALARMS.items():
        alarm = alarms[name]["Properties"]
        assert (alarm["Namespace"], alarm["MetricName"]) == (namespace, metric), name
        assert alarm["Dimensions"] == [{"Name": dimension, "Value": value}], name
        # One event is enough, and a quiet night is not a failure.
        assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
            "Sum",
            1,
            "GreaterThanOrEqualToThreshold",
        ), name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert alarm["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }, name
    # The Scheduler metrics are per schedule group: the nightly schedule has a group of its own.
    assert hub["Resources"]["NightlySchedule"]["Properties"]["GroupName"] == {"Ref": "NightlyScheduleGroup"}
    assert [n for n, r in hub["Resources"].items() if r["Type"] == "AWS::Scheduler::Schedule"] == ["NightlySchedule"]


@pytest.mark.parametrize("path", [HUB, MEMBER], ids=["hub", "member"])
def test_every_checkov_suppression_gives_a_reason(path: Path) -> None:
    for res in load(path)["Resources"].values():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["id"].startswith("CKV_")
            assert len(skip.get("comment", "").split()) >= 8, skip


# An IAM condition operator as the README may quote it: String/Arn/Numeric/Date comparisons, Bool, IpAddress,
# BinaryEquals, Null, with the ...IfExists and ForAllValues:/ForAnyValue: forms.
CONDITION_OPERATOR = re.compile(
    r"(?:ForAllValues:|ForAnyValue:)?"
    r"(?:(?:String|Arn|Numeric|Date)(?:Not)?(?:Equals|EqualsIgnoreCase|Like|LessThan|LessThanEquals|GreaterThan"
    r"|GreaterThanEquals)|Bool|BinaryEquals|(?:Not)?IpAddress)(?:IfExists)?|Null"
)


def policy_conditions(node: Any) -> set[tuple[str, str]]:
    """(operator, key) of every policy Condition block under node, through the branches of Fn::If."""

    def branches(value: Any) -> list[dict[str, Any]]:
        if isinstance(value, dict) and set(value) == {"Fn::If"}:
            _, then, otherwise = value["Fn::If"]
            return branches(then) + branches(otherwise)
        return [value] if isinstance(value, dict) and value != {"Ref": "AWS::NoValue"} else []

    found: set[tuple[str, str]] = set()
    if isinstance(node, list):
        for item in node:
            found |= policy_conditions(item)
    elif isinstance(node, dict):
        for name, value in node.items():
            if name == "Condition":  # a resource's "Condition: Name" (a string) has no branch
                for block in branches(value):
                    for operator, keys in block.items():
                        found |= {(operator, key) for inner in branches(keys) for key in inner}
            else:
                found |= policy_conditions(value)
    return found


def test_the_readme_quotes_only_conditions_the_templates_have() -> None:
    """Every condition operator and key infra/README.md quotes is in the templates, and under that operator."""
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    conditions = policy_conditions(load(HUB)["Resources"]) | policy_conditions(load(MEMBER)["Resources"])
    operators = {operator for operator, _ in conditions}
    keys = {key for _, key in conditions}
    quoted = set(re.findall(r"`([^`\s]+)`", readme))
    assert {q for q in quoted if CONDITION_OPERATOR.fullmatch(q)} - operators == set()
    # Global keys (aws:...) are condition keys only, never actions: each one quoted must be in a condition.
    assert {q for q in quoted if re.fullmatch(r"aws:\w+", q)} - keys == set()
    # "`StringLike` `s3:prefix`": the key under that operator; "(with `ecs:cluster` = ...)": the key.
    pairs = set(re.findall(r"`(\w+)` `([\w-]+:\w+)`", readme))
    assert pairs
    assert {(op, key) for op, key in pairs if CONDITION_OPERATOR.fullmatch(op)} - conditions == set()
    assert set(re.findall(r"with `([\w-]+:\w+)` =", readme)) - keys == set()
