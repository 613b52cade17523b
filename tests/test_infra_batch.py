"""The hub template's scale-out (ShardCount): 1 keeps the single ECS task; above 1, an AWS Batch array job on Fargate.

Read as data like tests/test_infra.py, then deployed on paper: `deployed(**parameters)` keeps the resources whose
Condition holds and resolves Fn::If, Fn::FindInMap, Fn::Select, parameter Refs and AWS::NoValue the way
CloudFormation would, leaving references to resources (Ref, GetAtt, Sub) as they are written.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from typing import Any

import pytest
from test_infra import HUB, allowed_actions, holds, inline_policies, load, statements

NO_VALUE = object()
BATCH_ARN = "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}"
SUBMIT_JOB = {"Fn::Sub": "arn:${AWS::Partition}:scheduler:::aws-sdk:batch:submitJob"}
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/lambda-inventory-config:2024-06-01"


def parameters(**overrides: str) -> dict[str, str]:
    """Every hub parameter at its default (as CloudFormation passes it: a string), then the overrides."""
    values = {name: str(spec.get("Default", "")) for name, spec in load(HUB)["Parameters"].items()}
    return values | {"ImageUri": IMAGE} | overrides


def resolve(value: Any, params: dict[str, str]) -> Any:
    template = load(HUB)
    if isinstance(value, list):
        return [item for item in (resolve(v, params) for v in value) if item is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::If":
            condition, then, otherwise = argument
            return resolve(then if holds(template, {"Condition": condition}, params) else otherwise, params)
        if function == "Ref" and argument == "AWS::NoValue":
            return NO_VALUE
        if function == "Ref" and argument in params:
            return params[argument]
        if function == "Fn::FindInMap":
            mapping, key, name = resolve(argument, params)
            return template["Mappings"][mapping][key][name]
        if function == "Fn::Select":
            index, items = resolve(argument, params)
            return items[int(index)]
    resolved = {key: resolve(item, params) for key, item in value.items()}
    return {key: item for key, item in resolved.items() if item is not NO_VALUE}


def deployed(**overrides: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resolved resource, for the resources CloudFormation creates with these parameters."""
    template, params = load(HUB), parameters(**overrides)
    return {
        name: resolve(resource, params)
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or holds(template, {"Condition": resource["Condition"]}, params)
    }


def sub(text: str, params: dict[str, str]) -> str:
    """Fn::Sub's text with parameters filled in and every other ${Name} left as <Name>."""
    return re.sub(r"\$\{([^}]+)\}", lambda m: params.get(m.group(1), f"<{m.group(1)}>"), text)


def schedule_input(schedule: dict[str, Any], **overrides: str) -> Any:
    return json.loads(sub(schedule["Properties"]["Target"]["Input"]["Fn::Sub"], parameters(**overrides)))


def _schedules(resources: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [res for res in resources.values() if res["Type"] == "AWS::Scheduler::Schedule"]


def test_shard_count_is_a_whole_number_from_1_to_100_and_1_by_default() -> None:
    spec = load(HUB)["Parameters"]["ShardCount"]
    assert spec["Default"] == "1"
    accepted = [text for text in map(str, range(-5, 1000)) if re.fullmatch(spec["AllowedPattern"], text)]
    assert accepted == [str(n) for n in range(1, 101)]
    for text in ("01", "1.5", "1e1", " 2", "2 ", "", "+3"):
        assert not re.fullmatch(spec["AllowedPattern"], text), text


def test_shard_count_1_deploys_exactly_the_single_ecs_task_as_before() -> None:
    resources = deployed()
    assert not [name for name, res in resources.items() if res["Type"].startswith("AWS::Batch::")]
    assert "VerifyRole" not in resources
    (schedule,) = _schedules(resources)
    assert schedule["Properties"]["Target"] == {
        "Arn": {"Fn::GetAtt": ["Cluster", "Arn"]},
        "RoleArn": {"Fn::GetAtt": ["SchedulerRole", "Arn"]},
        "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
        "EcsParameters": {
            "TaskDefinitionArn": {"Ref": "TaskDefinition"},
            "TaskCount": 1,
            "LaunchType": "FARGATE",
            "PlatformVersion": "LATEST",
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {
                    "Subnets": parameters()["SubnetIds"],
                    "SecurityGroups": parameters()["SecurityGroupIds"],
                    "AssignPublicIp": "DISABLED",
                }
            },
        },
    }
    policies = resources["SchedulerRole"]["Properties"]["Policies"]
    assert [policy["PolicyName"] for policy in policies] == ["RunInventoryTask"]
    outputs = load(HUB)["Outputs"]
    assert {name for name, output in outputs.items() if "Condition" in output} == {
        "JobQueueArn",
        "ShardJobDefinitionArn",
        "VerifyScheduleName",
        "SubmitJobCommand",
        "VerifyCommand",
    }
    assert all(outputs[name]["Condition"] == "Sharded" for name in ("JobQueueArn", "SubmitJobCommand"))


@pytest.mark.parametrize("shards", ["2", "7", "100"])
def test_above_1_the_nightly_schedule_submits_one_array_job_of_shard_count_children(shards: str) -> None:
    resources = deployed(ShardCount=shards)
    schedule = resources["NightlySchedule"]
    target = schedule["Properties"]["Target"]
    assert target["Arn"] == SUBMIT_JOB
    assert target["RoleArn"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
    assert "EcsParameters" not in target
    assert schedule_input(schedule, ShardCount=shards) == {
        "JobName": "lambda-inventory",
        "JobQueue": "<BatchJobQueue>",
        "JobDefinition": "<ShardJobDefinition>",
        "ArrayProperties": {"Size": int(shards)},
    }
    # The ECS task definition stays (the RunTaskCommand output runs it by hand); nothing schedules it.
    assert "TaskDefinition" in resources
    assert all("EcsParameters" not in s["Properties"]["Target"] for s in _schedules(resources))


@pytest.mark.parametrize(
    ("cpu", "memory", "workers"), [("256", "512", ""), ("1024", "2048", "32"), ("4096", "8192", "")]
)
def test_each_child_is_the_ecs_task_with_its_shard_count(cpu: str, memory: str, workers: str) -> None:
    settings = {"ShardCount": "4", "TaskCpu": cpu, "TaskMemory": memory, "MaxWorkers": workers}
    resources = deployed(**settings)
    task = resources["TaskDefinition"]["Properties"]
    (container,) = task["ContainerDefinitions"]
    job = resources["ShardJobDefinition"]["Properties"]
    child = job["ContainerProperties"]
    assert (job["Type"], job["PlatformCapabilities"]) == ("container", ["FARGATE"])
    assert child["Image"] == container["Image"] == IMAGE
    assert child["Command"] == container["Command"] == ["run"]
    assert child["JobRoleArn"] == task["TaskRoleArn"] == {"Fn::GetAtt": ["TaskRole", "Arn"]}
    assert child["ExecutionRoleArn"] == task["ExecutionRoleArn"]
    assert {r["Type"]: r["Value"] for r in child["ResourceRequirements"]} == {
        "VCPU": f"{int(cpu) / 1024:g}",
        "MEMORY": memory,
    }
    assert child["RuntimePlatform"] == task["RuntimePlatform"]
    assert child["NetworkConfiguration"] == {"AssignPublicIp": "DISABLED"}
    for setting in ("User", "ReadonlyRootFilesystem", "MountPoints"):
        assert child[setting] == container[setting], setting
    assert child["Volumes"] == task["Volumes"]
    assert child["LinuxParameters"]["InitProcessEnabled"] is True
    assert child["Privileged"] is False
    # The task's environment (config path, output, format, log settings) plus the shard count; Batch itself sets
    # AWS_BATCH_JOB_ARRAY_INDEX, and the job reads the two as --shard INDEX/COUNT.
    env = {e["Name"]: e["Value"] for e in child["Environment"]}
    assert env == {e["Name"]: e["Value"] for e in container["Environment"]} | {"LAMBDA_INVENTORY_SHARD_COUNT": "4"}
    assert ("LAMBDA_INVENTORY_MAX_WORKERS" in env) == bool(workers)
    assert not [name for name in env if name.startswith("AWS_BATCH_") or name == "LAMBDA_INVENTORY_SHARD"]
    logs = child["LogConfiguration"]
    assert logs["Options"]["awslogs-group"] == container["LogConfiguration"]["Options"]["awslogs-group"]


def test_the_compute_environment_runs_every_child_at_once_in_the_stack_network() -> None:
    template = load(HUB)
    sizes = template["Parameters"]["TaskCpu"]["AllowedValues"]
    assert set(template["Mappings"]["FargateCpu"]) == set(sizes)
    max_vcpus = template["Resources"]["BatchComputeEnvironment"]["Properties"]["ComputeResources"]["MaxvCpus"]
    for cpu in sizes:
        for shards in range(2, 101):
            resolved = resolve(max_vcpus, parameters(ShardCount=str(shards), TaskCpu=cpu))
            assert int(resolved) == math.ceil(shards * int(cpu) / 1024), (cpu, shards)
    compute = deployed(ShardCount="3")["BatchComputeEnvironment"]["Properties"]
    assert compute["Type"] == "MANAGED"
    assert compute["ComputeResources"]["Type"] == "FARGATE"
    assert compute["ComputeResources"]["Subnets"] == parameters()["SubnetIds"]
    assert compute["ComputeResources"]["SecurityGroupIds"] == parameters()["SecurityGroupIds"]
    queue = deployed(ShardCount="3")["BatchJobQueue"]["Properties"]
    assert queue["ComputeEnvironmentOrder"] == [{"Order": 1, "ComputeEnvironment": {"Ref": "BatchComputeEnvironment"}}]


def job_definition_arns(resources: dict[str, dict[str, Any]], name: str) -> list[dict[str, str]]:
    """The job definition by name (what SubmitJob's job-definition resource is) and any revision of it."""
    prefix = resources[name]["Properties"]["JobDefinitionName"]["Fn::Sub"]
    return [{"Fn::Sub": f"{BATCH_ARN}:job-definition/{prefix}"}, {"Fn::Sub": f"{BATCH_ARN}:job-definition/{prefix}:*"}]


def test_the_scheduler_may_submit_only_the_two_job_definitions_to_the_queue() -> None:
    resources = deployed(ShardCount="5")
    (policy,) = resources["SchedulerRole"]["Properties"]["Policies"]
    assert policy["PolicyName"] == "SubmitInventoryJobs"
    (statement,) = statements(policy["PolicyDocument"])
    assert statement["Effect"] == "Allow"
    assert "Condition" not in statement
    assert allowed_actions(policy["PolicyDocument"]) == {
        # SubmitJob requires a job queue, a job definition and the job it creates (whose id does not exist yet).
        "batch:SubmitJob": [
            {"Ref": "BatchJobQueue"},
            *job_definition_arns(resources, "ShardJobDefinition"),
            *job_definition_arns(resources, "VerifyJobDefinition"),
            {"Fn::Sub": f"{BATCH_ARN}:job/*"},
        ]
    }
    # No ecs:RunTask and no iam:PassRole: the roles are set in the job definitions, and SubmitJob cannot change them.
    # And the schedules submit exactly what the policy names.
    submitted = [schedule_input(s, ShardCount="5") for s in _schedules(resources)]
    assert {(job["JobQueue"], job["JobDefinition"]) for job in submitted} == {
        ("<BatchJobQueue>", "<ShardJobDefinition>"),
        ("<BatchJobQueue>", "<VerifyJobDefinition>"),
    }
    assert {s["Properties"]["Target"]["Arn"]["Fn::Sub"] for s in _schedules(resources)} == {SUBMIT_JOB["Fn::Sub"]}


def decide(entries: list[dict[str, str]], status_reason: str, reason: str = "", exit_code: str = "") -> str:
    """Batch's EvaluateOnExit: the first entry whose every pattern matches decides; no match at all means RETRY."""
    fields = {"OnStatusReason": status_reason, "OnReason": reason, "OnExitCode": exit_code}
    for entry in entries:
        patterns = {key: value for key, value in entry.items() if key != "Action"}
        if all(fnmatch.fnmatchcase(fields[key], pattern) for key, pattern in patterns.items()):
            return entry["Action"]
    return "RETRY"


@pytest.mark.parametrize("name", ["ShardJobDefinition", "VerifyJobDefinition"])
def test_batch_retries_a_child_only_when_its_task_did_not_start(name: str) -> None:
    job = deployed(ShardCount="2")[name]["Properties"]
    strategy = job["RetryStrategy"]
    assert strategy["Attempts"] == 2
    entries = strategy["EvaluateOnExit"]
    assert 1 <= len(entries) <= 5  # Batch's limit
    assert entries[-1] == {"Action": "EXIT", "OnReason": "*"}  # else anything unmatched would be retried
    for entry in entries:  # letters, digits, periods, colons and spaces, optionally ending in *
        for key, pattern in entry.items():
            assert key == "Action" or re.fullmatch(r"[A-Za-z0-9.: ]*\*?", pattern), pattern
    exited = "Essential container in task exited"
    assert decide(entries, exited, exit_code="1") == "EXIT"  # some targets failed: the job retried them already
    assert decide(entries, exited, exit_code="2") == "EXIT"  # bad config: a rerun answers the same
    assert decide(entries, exited, "OutOfMemoryError: Container killed due to memory usage", "137") == "EXIT"
    assert decide(entries, "Job attempt duration exceeded timeout") == "EXIT"
    assert decide(entries, "Task failed to start", "CannotPullContainerError: pull rate exceeded") == "RETRY"
    assert decide(entries, "Timeout waiting for network interface provisioning to complete.") == "RETRY"
    assert decide(entries, "Task failed to start", "ResourceInitializationError: unable to pull secrets") == "RETRY"


def test_a_child_attempt_has_a_timeout_from_a_parameter() -> None:
    spec = load(HUB)["Parameters"]["ShardTimeoutSeconds"]
    assert spec["MinValue"] == 60  # Batch's minimum
    assert spec["Default"] >= 600
    job = deployed(ShardCount="2", ShardTimeoutSeconds="1800")["ShardJobDefinition"]["Properties"]
    assert job["Timeout"] == {"AttemptDurationSeconds": "1800"}


def test_verify_runs_later_over_every_shard_with_a_role_that_only_reads_and_marks() -> None:
    template, resources = load(HUB), deployed(ShardCount="6")
    job = resources["VerifyJobDefinition"]["Properties"]["ContainerProperties"]
    assert job["Command"] == ["verify", {"Fn::Sub": "s3://${InventoryBucket}/${OutputPrefix}/"}, "--shards", "6"]
    assert job["Image"] == IMAGE
    assert job["JobRoleArn"] == {"Fn::GetAtt": ["VerifyRole", "Arn"]}
    assert resources["VerifyJobDefinition"]["Properties"]["Timeout"]["AttemptDurationSeconds"] >= 60
    schedule = resources["VerifySchedule"]
    assert schedule_input(schedule, ShardCount="6") == {
        "JobName": "lambda-inventory-verify",
        "JobQueue": "<BatchJobQueue>",
        "JobDefinition": "<VerifyJobDefinition>",
    }
    nightly = resources["NightlySchedule"]["Properties"]
    for setting in ("ScheduleExpressionTimezone", "State"):
        assert schedule["Properties"][setting] == nightly[setting]
    # By default three hours after the nightly run's start, the same day.
    hour = re.compile(r"cron\(\d+ (\d+) \* \* \? \*\)")
    run_hour = hour.fullmatch(template["Parameters"]["ScheduleExpression"]["Default"])
    verify_hour = hour.fullmatch(template["Parameters"]["VerifyScheduleExpression"]["Default"])
    assert run_hour and verify_hour and int(verify_hour[1]) - int(run_hour[1]) == 3
    (name, (condition, document)), *others = inline_policies(template["Resources"]["VerifyRole"]).items()
    assert (name, condition, others) == ("VerifySnapshots", None, [])
    assert allowed_actions(document) == {
        "s3:GetObject": {"Fn::Sub": "${InventoryBucket.Arn}/${OutputPrefix}/*"},
        "s3:ListBucket": {"Fn::GetAtt": ["InventoryBucket", "Arn"]},
        "s3:PutObject": {"Fn::Sub": "${InventoryBucket.Arn}/${OutputPrefix}/_manifests/snapshot_date=*/_COMPLETE.json"},
    }
    (listing,) = [s for s in statements(document) if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [{"Fn::Sub": "${OutputPrefix}/*"}]}}
    # Trusted like the task role: ECS tasks of this account and region only.
    trust = template["Resources"]["VerifyRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert trust == template["Resources"]["TaskRole"]["Properties"]["AssumeRolePolicyDocument"]


def test_every_hub_parameter_is_in_the_readme_table() -> None:
    readme = (HUB.parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Hub parameters", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in load(HUB)["Parameters"] if f"`{name}`" not in table]
    assert missing == []
    assert "ShardCount=4" in readme  # the deploy example
