"""The hub template's scale-out (ShardCount): 1 keeps the single ECS task; above 1, an AWS Batch array job on Fargate.
In both, verify starts when the run ends (an EventBridge rule on the task's or the array job's end) and a failed
verify raises an alarm.

Read as data like tests/test_infra.py, then deployed on paper: `deployed(**parameters)` keeps the resources whose
Condition holds and resolves Fn::If, Fn::FindInMap, Fn::Select, parameter Refs and AWS::NoValue the way
CloudFormation would, leaving references to resources (Ref, GetAtt, Sub) as they are written. `matches` applies
an EventBridge event pattern (the subset the hub uses) to an event, with references written as <Name>.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from typing import Any

import pytest
from test_infra import HUB, allowed_actions, holds, load, statements

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


def render(value: Any, params: dict[str, str]) -> Any:
    """A resolved value with its remaining references as text: Ref X -> <X>, GetAtt X.Arn -> <X.Arn>, Sub -> sub()."""
    if isinstance(value, list):
        return [render(item, params) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return f"<{value['Ref']}>"
    if set(value) == {"Fn::GetAtt"}:
        return "<" + ".".join(value["Fn::GetAtt"]) + ">"
    if set(value) == {"Fn::Sub"}:
        return sub(value["Fn::Sub"], params)
    return {key: render(item, params) for key, item in value.items()}


MISSING = object()


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's matching, for what the hub's rules use: value lists, nested objects (any element of an array
    of objects), "exists", "anything-but" and "$or"."""
    for key, rule in pattern.items():
        if key == "$or":
            if not any(matches(option, event) for option in rule):
                return False
        elif isinstance(rule, dict):
            found = event.get(key)
            objects = found if isinstance(found, list) else [found]
            if not any(isinstance(item, dict) and matches(rule, item) for item in objects):
                return False
        elif not any(_matches_value(expected, event.get(key, MISSING)) for expected in rule):
            return False
    return True


def _matches_value(expected: Any, value: Any) -> bool:
    if isinstance(expected, dict):
        ((operator, argument),) = expected.items()
        if operator == "exists":
            return (value is not MISSING) is argument
        assert operator == "anything-but", operator
        return value is not MISSING and value != argument
    return value is not MISSING and expected in (value if isinstance(value, list) else [value])


def rule_pattern(resources: dict[str, dict[str, Any]], name: str, **overrides: str) -> dict[str, Any]:
    pattern: dict[str, Any] = render(resources[name]["Properties"]["EventPattern"], parameters(**overrides))
    return pattern


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
    assert "VerifyAfterArrayJobRule" not in resources
    # Verify is an ECS task of its own, started by a rule when the inventory task stops.
    assert {"VerifyRole", "VerifyTaskDefinition", "VerifyAfterTaskRule"} <= set(resources)
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
    assert {name: output["Condition"] for name, output in outputs.items() if "Condition" in output} == {
        "JobQueueArn": "Sharded",
        "ShardJobDefinitionArn": "Sharded",
        "VerifyJobQueueArn": "Sharded",
        "VerifyJobDefinitionArn": "Sharded",
        "SubmitJobCommand": "Sharded",
        "VerifyCommand": "Sharded",
        "VerifyTaskDefinitionArn": "SingleTask",
        "VerifyTaskCommand": "SingleTask",
    }


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
    # The ECS task definition stays (the RunTaskCommand output runs it by hand); nothing schedules it, and no
    # rule starts an ECS verify for it: verify is the Batch job.
    assert "TaskDefinition" in resources
    assert all("EcsParameters" not in s["Properties"]["Target"] for s in _schedules(resources))
    assert not {"VerifyTaskDefinition", "VerifyAfterTaskRule"} & set(resources)


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
    # The task's environment (config path, output, lake database, log settings) plus the shard count; Batch itself
    # sets AWS_BATCH_JOB_ARRAY_INDEX (the job reads the two as --shard INDEX/COUNT) and AWS_BATCH_JOB_ID (the run
    # id, the array job's id, shared by every child).
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


def test_the_scheduler_may_submit_only_the_shard_job_definition_to_its_queue() -> None:
    resources = deployed(ShardCount="5")
    (policy,) = resources["SchedulerRole"]["Properties"]["Policies"]
    assert policy["PolicyName"] == "SubmitInventoryJob"
    (statement,) = statements(policy["PolicyDocument"])
    assert statement["Effect"] == "Allow"
    assert "Condition" not in statement
    assert allowed_actions(policy["PolicyDocument"]) == {
        # SubmitJob requires a job queue, a job definition and the job it creates (whose id does not exist yet).
        "batch:SubmitJob": [
            {"Ref": "BatchJobQueue"},
            *job_definition_arns(resources, "ShardJobDefinition"),
            {"Fn::Sub": f"{BATCH_ARN}:job/*"},
        ]
    }
    # No ecs:RunTask and no iam:PassRole: the roles are set in the job definition, and SubmitJob cannot change them.
    # And the one schedule submits exactly what the policy names; verify is EventBridge's (VerifyTriggerRole).
    (schedule,) = _schedules(resources)
    job = schedule_input(schedule, ShardCount="5")
    assert (job["JobQueue"], job["JobDefinition"]) == ("<BatchJobQueue>", "<ShardJobDefinition>")
    assert schedule["Properties"]["Target"]["Arn"] == SUBMIT_JOB


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


def test_verify_job_checks_the_array_jobs_run_on_a_queue_of_its_own() -> None:
    resources = deployed(ShardCount="6")
    definition = resources["VerifyJobDefinition"]["Properties"]
    job = definition["ContainerProperties"]
    # Ref::runId is the job's runId parameter: the array job's id, from the rule below. Its default names no run,
    # so a verify job submitted without one fails (exit 6) instead of checking something else.
    assert job["Command"] == [
        "verify",
        {"Fn::Sub": "s3://${InventoryBucket}/${OutputPrefix}/"},
        "--run-id",
        "Ref::runId",
        "--shards",
        "6",
    ]
    assert definition["Parameters"] == {"runId": "missing-run-id"}
    assert job["Image"] == IMAGE
    assert job["JobRoleArn"] == {"Fn::GetAtt": ["VerifyRole", "Arn"]}
    assert definition["Timeout"]["AttemptDurationSeconds"] >= 60
    # Its own queue on its own compute environment: shards waiting for (or holding) every vCPU of theirs never
    # keep verify from starting.
    queue = resources["VerifyJobQueue"]["Properties"]
    assert queue["ComputeEnvironmentOrder"] == [{"Order": 1, "ComputeEnvironment": {"Ref": "VerifyComputeEnvironment"}}]
    compute = resources["VerifyComputeEnvironment"]["Properties"]["ComputeResources"]
    assert compute["Type"] == "FARGATE"
    vcpus = {r["Type"]: r["Value"] for r in job["ResourceRequirements"]}["VCPU"]
    assert float(compute["MaxvCpus"]) >= float(vcpus)
    shards = resources["BatchComputeEnvironment"]["Properties"]["ComputeResources"]
    assert (compute["Subnets"], compute["SecurityGroupIds"]) == (shards["Subnets"], shards["SecurityGroupIds"])
    assert "VerifySchedule" not in load(HUB)["Resources"]
    assert "VerifyScheduleExpression" not in load(HUB)["Parameters"]


def batch_event(status: str, queue: str, name: str = "lambda-inventory", **array: int) -> dict[str, Any]:
    detail: dict[str, Any] = {"jobId": "0f2a-parent", "jobName": name, "jobQueue": queue, "status": status}
    if array:
        detail["arrayProperties"] = array
    return {"source": "aws.batch", "detail-type": "Batch Job State Change", "detail": detail}


def test_the_array_jobs_end_submits_verify_with_the_array_jobs_id() -> None:
    resources = deployed(ShardCount="3")
    rule = resources["VerifyAfterArrayJobRule"]["Properties"]
    pattern = rule_pattern(resources, "VerifyAfterArrayJobRule", ShardCount="3")
    nightly = schedule_input(resources["NightlySchedule"], ShardCount="3")
    # The array job the schedule submits, on the shards' queue, once it has ended either way ...
    assert pattern["detail"]["jobName"] == [nightly["JobName"]]
    assert pattern["detail"]["jobQueue"] == [nightly["JobQueue"]] == ["<BatchJobQueue>"]
    assert matches(pattern, batch_event("SUCCEEDED", "<BatchJobQueue>", size=3))
    assert matches(pattern, batch_event("FAILED", "<BatchJobQueue>", size=3))
    # ... only the array parent (only it has arrayProperties.size; a child has .index), only its end ...
    assert not matches(pattern, batch_event("FAILED", "<BatchJobQueue>", index=1))
    assert not matches(pattern, batch_event("SUCCEEDED", "<BatchJobQueue>", index=0))
    assert not matches(pattern, batch_event("RUNNING", "<BatchJobQueue>", size=3))
    # ... and never the verify job itself (its own queue and name): no loop.
    assert not matches(pattern, batch_event("FAILED", "<VerifyJobQueue>", "lambda-inventory-verify"))
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": "VerifyJobQueue"}
    assert target["RoleArn"] == {"Fn::GetAtt": ["VerifyTriggerRole", "Arn"]}
    assert target["BatchParameters"] == {
        "JobDefinition": {"Ref": "VerifyJobDefinition"},
        "JobName": "lambda-inventory-verify",
    }
    # The event's jobId (the array parent's id, every shard's run id) becomes the verify job's runId.
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {"jobId": "$.detail.jobId"}
    submitted = json.loads(transformer["InputTemplate"].replace("<jobId>", json.dumps("0f2a-parent")))
    assert submitted == {"Parameters": {"runId": "0f2a-parent"}}
    # EventBridge may submit exactly that job definition to exactly that queue.
    (policy,) = resources["VerifyTriggerRole"]["Properties"]["Policies"]
    assert policy["PolicyName"] == "SubmitVerifyJob"
    assert allowed_actions(policy["PolicyDocument"]) == {
        "batch:SubmitJob": [
            {"Ref": "VerifyJobQueue"},
            *job_definition_arns(resources, "VerifyJobDefinition"),
            {"Fn::Sub": f"{BATCH_ARN}:job/*"},
        ]
    }


def ecs_event(group: str, exit_code: int | None = 0, stop_code: str = "EssentialContainerExited") -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c"} if exit_code is None else {"name": "c", "exitCode": exit_code}
    detail = {
        "clusterArn": "<Cluster.Arn>",
        "group": group,
        "lastStatus": "STOPPED",
        "stopCode": stop_code,
        "taskArn": "arn:aws:ecs:eu-west-1:111111111111:task/cluster/5d1e",
        "containers": [container],
    }
    return {"source": "aws.ecs", "detail-type": "ECS Task State Change", "detail": detail}


def test_a_stopped_inventory_task_starts_the_verify_task_of_another_family() -> None:
    resources = deployed()
    params = parameters()
    family = render(resources["TaskDefinition"]["Properties"]["Family"], params)
    verify = resources["VerifyTaskDefinition"]["Properties"]
    verify_family = render(verify["Family"], params)
    assert verify_family != family
    pattern = rule_pattern(resources, "VerifyAfterTaskRule")
    assert pattern["detail"]["group"] == [f"family:{family}"]
    assert pattern["detail"]["clusterArn"] == ["<Cluster.Arn>"]
    # However the inventory task ended (a task that failed or never started leaves no run: verify says so) ...
    assert matches(pattern, ecs_event(f"family:{family}", 0))
    assert matches(pattern, ecs_event(f"family:{family}", 1))
    assert matches(pattern, ecs_event(f"family:{family}", None, "TaskFailedToStart"))
    # ... but never the verify task's own end.
    assert not matches(pattern, ecs_event(f"family:{verify_family}", 0))
    assert not matches(pattern, ecs_event(f"family:{verify_family}", 6))
    (target,) = resources["VerifyAfterTaskRule"]["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["Cluster", "Arn"]}
    assert target["RoleArn"] == {"Fn::GetAtt": ["VerifyTriggerRole", "Arn"]}
    ecs = target["EcsParameters"]
    assert ecs["TaskDefinitionArn"] == {"Ref": "VerifyTaskDefinition"}
    assert (ecs["TaskCount"], ecs["LaunchType"]) == (1, "FARGATE")
    network = resources["NightlySchedule"]["Properties"]["Target"]["EcsParameters"]["NetworkConfiguration"]
    assert ecs["NetworkConfiguration"] == {"AwsVpcConfiguration": network["AwsvpcConfiguration"]}
    # The stopped task's ARN names its run: the verify container's command is overridden with it.
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {"taskArn": "$.detail.taskArn"}
    arn = "arn:aws:ecs:eu-west-1:111111111111:task/cluster/5d1e"
    template = sub(transformer["InputTemplate"]["Fn::Sub"], params).replace("<taskArn>", json.dumps(arn))
    (container,) = verify["ContainerDefinitions"]
    assert json.loads(template) == {
        "containerOverrides": [
            {
                "name": container["Name"],
                "command": ["verify", "s3://<InventoryBucket>/lambda-inventory/", "--run-id", arn],
            }
        ]
    }
    # Run by hand without the override, it names no run and fails.
    assert container["Command"][-2:] == ["--run-id", "missing-run-id"]
    assert verify["TaskRoleArn"] == {"Fn::GetAtt": ["VerifyRole", "Arn"]}
    assert verify["ExecutionRoleArn"] == resources["TaskDefinition"]["Properties"]["ExecutionRoleArn"]
    assert container["ReadonlyRootFilesystem"] is True
    # EventBridge may run exactly that task definition in the stack's cluster and pass exactly its roles.
    (policy,) = resources["VerifyTriggerRole"]["Properties"]["Policies"]
    assert policy["PolicyName"] == "RunVerifyTask"
    granted = {s["Sid"]: s for s in statements(policy["PolicyDocument"])}
    assert allowed_actions(policy["PolicyDocument"]) == {
        "ecs:RunTask": {"Ref": "VerifyTaskDefinition"},
        "iam:PassRole": [{"Fn::GetAtt": ["VerifyRole", "Arn"]}, {"Fn::GetAtt": ["ExecutionRole", "Arn"]}],
    }
    assert granted["RunTheVerifyTask"]["Condition"] == {
        "ArnEquals": {"ecs:cluster": {"Fn::GetAtt": ["Cluster", "Arn"]}}
    }
    assert granted["PassTheVerifyTaskRoles"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    trust = load(HUB)["Resources"]["VerifyTriggerRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert [s["Principal"] for s in statements(trust)] == [{"Service": "events.amazonaws.com"}]


@pytest.mark.parametrize("shards", ["1", "4"])
def test_a_failed_verify_is_caught_and_kept(shards: str) -> None:
    resources = deployed(ShardCount=shards)
    pattern = rule_pattern(resources, "VerifyFailedRule", ShardCount=shards)
    if shards == "1":
        verify = render(resources["VerifyTaskDefinition"]["Properties"]["Family"], parameters())
        job = render(resources["TaskDefinition"]["Properties"]["Family"], parameters())
        assert matches(pattern, ecs_event(f"family:{verify}", 6))  # incomplete, or no run at all
        assert matches(pattern, ecs_event(f"family:{verify}", 1))  # complete, some targets failed
        assert matches(pattern, ecs_event(f"family:{verify}", None, "TaskFailedToStart"))
        assert not matches(pattern, ecs_event(f"family:{verify}", 0))
        assert not matches(pattern, ecs_event(f"family:{job}", 1))  # the inventory task's own exit is verify's to judge
    else:
        assert matches(pattern, batch_event("FAILED", "<VerifyJobQueue>", "lambda-inventory-verify"))
        assert not matches(pattern, batch_event("SUCCEEDED", "<VerifyJobQueue>", "lambda-inventory-verify"))
        assert not matches(pattern, batch_event("FAILED", "<BatchJobQueue>", size=4))  # a shard failed: verify says
    (target,) = resources["VerifyFailedRule"]["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["VerifyFailuresLogGroup", "Arn"]}
    group = resources["VerifyFailuresLogGroup"]["Properties"]
    assert group["LogGroupName"]["Fn::Sub"].startswith("/aws/events/")  # where EventBridge may deliver
    policy = json.loads(sub(resources["VerifyFailuresLogPolicy"]["Properties"]["PolicyDocument"]["Fn::Sub"], {}))
    (statement,) = policy["Statement"]
    assert statement["Resource"] == "<VerifyFailuresLogGroup.Arn>"  # this group only
    assert statement["Principal"] == {"Service": ["events.amazonaws.com", "delivery.logs.amazonaws.com"]}
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    alarm = resources["VerifyFailedAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "RuleName", "Value": {"Ref": "VerifyFailedRule"}}]
    started = resources["VerifyNotStartedAlarm"]["Properties"]["Dimensions"]
    trigger = "VerifyAfterTaskRule" if shards == "1" else "VerifyAfterArrayJobRule"
    assert started == [{"Name": "RuleName", "Value": {"Ref": trigger}}]
    assert trigger in resources


def test_every_hub_parameter_is_in_the_readme_table() -> None:
    readme = (HUB.parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Hub parameters", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in load(HUB)["Parameters"] if f"`{name}`" not in table]
    assert missing == []
    # ... and no row for a parameter the template no longer has (each row's first cell names its parameters).
    named = {
        name
        for row in table.splitlines()
        if row.startswith("| `")
        for name in re.findall(r"`(\w+)`", row.split("|")[1])
    }
    assert named - set(load(HUB)["Parameters"]) == set()
    assert "ShardCount=4" in readme  # the deploy example
