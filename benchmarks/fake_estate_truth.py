"""What the fake org holds around its functions (issue 20's estate tables): each account-region's event source
mappings, layers with their versions and code signing configs (with the functions using each), and each
function's aliases, event invoke configs, provisioned concurrency configs and the code signing config it uses.
Each is a pure function of (seed, account, region, function index), kept as the list items Lambda sends (JSON
objects, members as botocore's model names them), so fake_estate.py serves them as they are and bench_estate.py
checks the job's tables against the same items. Standard library only.

Shares (each decided by its own bits of one per-function or per-account-region hash):

| what | the fake holds |
|---|---|
| event source mappings | 15% of functions one from SQS, 5% from a Kinesis stream, 3% from a DynamoDB |
|                       | stream, 2% two (SQS on the function, Kinesis on its `live` alias): ~13 per |
|                       | account-region with functions, 274 (3 pages of 100) in the largest |
| layers | account-regions with functions 0-4 layers (a third none), empty ones 1 in 20 one; 1-6 |
|        | versions each, 1 layer in 40 51-120 versions (pages of 50) |
| code signing configs | a quarter of the account-regions with functions 1-2, empty ones 1 in 30 one; |
|                      | where there are some, 20% of the functions use one (ListFunctionsByCodeSigningConfig |
|                      | lists them by ARN, per config) |
| aliases | 25% of functions `live`, 5% `live` and `staging`, 1% `live` weighted 10% to the previous version |
| event invoke configs | 10% of functions one on `$LATEST`, 4% one more on `live` where it is |
| provisioned concurrency | 12% of the functions with aliases one on `live` (1 in 12 IN_PROGRESS, 1 in 12 FAILED) |

Timestamps are sent as Lambda sends them: epoch seconds for event source mappings' and event invoke configs'
LastModified (REST-JSON timestamps), Lambda's text form (`2024-05-02T09:14:51.123+0000`) for the others.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fake_truth import REGION_INDEX, function_hashes, mix64, name_parts

Item = dict[str, Any]
ESTATE_NAMES = (  # the estate enrichments, in the order the job runs them (contract/estate.py's ESTATE_ENRICHMENTS)
    "event_source_mappings",
    "layers",
    "layer_policies",
    "aliases",
    "event_invoke_configs",
    "provisioned_concurrency",
    "code_signing",
)
REGION_TABLES = ("event_source_mappings", "layers", "code_signing")  # read per account-region, even with no function
# Page sizes the job asks for (MaxItems; aws/estate_calls.py, aws/function_calls.py), and the fake's cap per page
PAGE_CAPS = {
    "ListEventSourceMappings": 100,
    "ListLayers": 50,
    "ListLayerVersions": 50,
    "ListCodeSigningConfigs": 50,
    "ListFunctionsByCodeSigningConfig": 50,
    "ListAliases": 50,
    "ListFunctionEventInvokeConfigs": 50,
    "ListProvisionedConcurrencyConfigs": 50,
}
LAYER_NAMES = ("shared-deps", "otel-extension", "auth-sdk", "pandas-py312", "common-utils")
_RUNTIMES: tuple[list[str], ...] = (["python3.12", "python3.11"], ["nodejs20.x"], ["java21"], [])
_BASE = 1_714_641_291  # 2024-05-02T09:14:51Z
_DAY = 86400
_SALT_FUNCTION = 0xE57A7E
_SALT_REGION = 0x7A61_0E57


def lambda_time(epoch: float) -> str:
    """Lambda's text form of a moment: `2024-05-02T09:14:51.123+0000`."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+0000"


def _stamp(h: int, shift: int) -> float:
    """A moment in the two years after _BASE, to the millisecond (epoch seconds)."""
    return _BASE + ((h >> shift) % (730 * _DAY)) + ((h >> (shift + 20)) % 1000) / 1000


@dataclass(frozen=True)
class FunctionEstate:
    """One function's lists: the items ListAliases, ListFunctionEventInvokeConfigs and
    ListProvisionedConcurrencyConfigs answer for it, and the ARN of the code signing config it uses ("" for none;
    that config's ListFunctionsByCodeSigningConfig lists the function)."""

    name: str
    aliases: tuple[Item, ...]
    invoke_configs: tuple[Item, ...]
    provisioned: tuple[Item, ...]
    signing_arn: str


@dataclass(frozen=True)
class Estate:
    """One account-region's estate: its own lists and each function's (by function index)."""

    mappings: tuple[Item, ...]
    layers: tuple[Item, ...]
    layer_versions: dict[str, tuple[Item, ...]]  # layer name -> its versions, newest first (as Lambda lists them)
    signing_configs: tuple[Item, ...]
    functions: tuple[FunctionEstate, ...]
    signed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # config ARN -> its functions' ARNs, in order

    def by_name(self) -> dict[str, FunctionEstate]:
        return {f.name: f for f in self.functions}


def region_hash(account: str, region: str, seed: int) -> int:
    return mix64(mix64(int(account) ^ (seed << 40) ^ _SALT_REGION) ^ REGION_INDEX.get(region, 99))


def estate(account: str, region: str, count: int, seed: int) -> Estate:
    """The account-region's estate, holding `count` functions."""
    r = region_hash(account, region, seed)
    layers, versions = _layers(account, region, count, r)
    signing = _signing_configs(account, region, count, r)
    functions, mappings = [], []
    signed: dict[str, list[str]] = {item["CodeSigningConfigArn"]: [] for item in signing}
    for index in range(count):
        h, h2 = function_hashes(account, region, index, seed)
        team, app, stage = name_parts(h)
        name = f"{team}-{app}-{stage}-{index:05d}"
        arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
        h4 = mix64(h2 ^ _SALT_FUNCTION)
        aliases = _aliases(arn, h4)
        live = bool(aliases)
        signing_arn = ""
        if signing and (h4 >> 32) % 100 < 20:
            signing_arn = signing[(h4 >> 40) % len(signing)]["CodeSigningConfigArn"]
            signed[signing_arn].append(arn)
        functions.append(
            FunctionEstate(name, aliases, _invoke_configs(arn, h4, live), _provisioned(arn, h4, live), signing_arn)
        )
        mappings.extend(_mappings(arn, app, h4, live))
    frozen = {config: tuple(arns) for config, arns in signed.items()}
    return Estate(tuple(mappings), layers, versions, signing, tuple(functions), frozen)


# ------------------------------------------------------------------------------------------ per function


def _aliases(arn: str, h4: int) -> tuple[Item, ...]:
    kind = h4 % 100
    if kind >= 31:
        return ()
    version = 2 + (h4 >> 8) % 30
    names = ("live", "staging") if 25 <= kind < 30 else ("live",)
    out = []
    for k, alias in enumerate(names):
        item: Item = {
            "AliasArn": f"{arn}:{alias}",
            "Name": alias,
            "FunctionVersion": str(version - k),
            "Description": "production traffic" if alias == "live" else "",
            "RevisionId": _uuid(mix64(h4 ^ (k + 1))),
        }
        if kind == 30:
            item["RoutingConfig"] = {"AdditionalVersionWeights": {str(version - 1): 0.1}}
        out.append(item)
    return tuple(out)


def _invoke_configs(arn: str, h4: int, live: bool) -> tuple[Item, ...]:
    kind = (h4 >> 16) % 100
    if kind >= 10:
        return ()
    region, account = arn.split(":")[3:5]
    queue = f"arn:aws:sqs:{region}:{account}:{arn.rsplit(':', 1)[-1][:40]}-dlq"
    out: list[Item] = [
        {
            "LastModified": _stamp(h4, 3),
            "FunctionArn": f"{arn}:$LATEST",
            "MaximumRetryAttempts": kind % 3,
            "MaximumEventAgeInSeconds": (60, 3600, 21600)[kind % 3],
            "DestinationConfig": {"OnSuccess": {}, "OnFailure": {"Destination": queue}},
        }
    ]
    if live and kind < 4:
        bus = f"arn:aws:events:{region}:{account}:event-bus/default"
        out.append(
            {
                "LastModified": _stamp(h4, 5),
                "FunctionArn": f"{arn}:live",
                "MaximumEventAgeInSeconds": 7200,
                "DestinationConfig": {"OnSuccess": {"Destination": bus}, "OnFailure": {}},
            }
        )
    return tuple(out)


def _provisioned(arn: str, h4: int, live: bool) -> tuple[Item, ...]:
    kind = (h4 >> 24) % 100
    if not live or kind >= 12:
        return ()
    requested = (1, 2, 5, 10, 25, 50)[kind % 6]
    state = "FAILED" if kind == 0 else ("IN_PROGRESS" if kind < 2 else "READY")
    item: Item = {
        "FunctionArn": f"{arn}:live",
        "RequestedProvisionedConcurrentExecutions": requested,
        "AvailableProvisionedConcurrentExecutions": requested if state == "READY" else 0,
        "AllocatedProvisionedConcurrentExecutions": requested if state == "READY" else 0,
        "Status": state,
        "LastModified": lambda_time(_stamp(h4, 7)),
    }
    if state == "FAILED":
        item["StatusReason"] = "Provisioned concurrency exceeds the account's unreserved concurrency"
    return (item,)


def _mappings(arn: str, app: str, h4: int, live: bool) -> list[Item]:
    region, account = arn.split(":")[3:5]
    kind = (h4 >> 44) % 100
    if kind >= 25:
        return []
    out = []
    if kind < 15 or kind >= 23:
        out.append(_sqs_mapping(account, region, arn, app, mix64(h4 ^ 1)))
    if 15 <= kind < 20 or kind >= 23:
        out.append(_stream_mapping(account, region, f"{arn}:live" if live and kind >= 23 else arn, app, mix64(h4 ^ 2)))
    if 20 <= kind < 23:
        out.append(_stream_mapping(account, region, arn, app, mix64(h4 ^ 3), dynamodb=True))
    return out


def _mapping(region: str, account: str, h: int, function_arn: str, source: str) -> Item:
    uuid = _uuid(h)
    state = "Disabled" if h % 20 == 0 else "Enabled"
    return {
        "UUID": uuid,
        "EventSourceMappingArn": f"arn:aws:lambda:{region}:{account}:event-source-mapping:{uuid}",
        "FunctionArn": function_arn,
        "EventSourceArn": source,
        "State": state,
        "StateTransitionReason": "USER_INITIATED",
        "LastModified": _stamp(h, 9),
        "BatchSize": (1, 10, 100, 500)[(h >> 4) % 4],
        "MaximumBatchingWindowInSeconds": (0, 1, 5, 30)[(h >> 6) % 4],
    }


def _sqs_mapping(account: str, region: str, arn: str, app: str, h: int) -> Item:
    item = _mapping(region, account, h, arn, f"arn:aws:sqs:{region}:{account}:{app}-queue-{h % 1000:03d}")
    item["FunctionResponseTypes"] = ["ReportBatchItemFailures"] if h % 3 else []
    if h % 4 == 0:
        item["ScalingConfig"] = {"MaximumConcurrency": 2 + (h >> 12) % 50}
    if h % 5 == 0:
        item["FilterCriteria"] = {"Filters": [{"Pattern": '{"body":{"type":["order"]}}'}]}
    return item


def _stream_mapping(account: str, region: str, arn: str, app: str, h: int, *, dynamodb: bool = False) -> Item:
    if dynamodb:
        source = f"arn:aws:dynamodb:{region}:{account}:table/{app}/stream/2024-05-02T09:14:51.123"
    else:
        source = f"arn:aws:kinesis:{region}:{account}:stream/{app}-events"
    item = _mapping(region, account, h, arn, source)
    item |= {
        "StartingPosition": "TRIM_HORIZON" if h % 2 else "LATEST",
        "ParallelizationFactor": 1 + (h >> 14) % 4,
        "MaximumRecordAgeInSeconds": -1,
        "BisectBatchOnFunctionError": bool(h % 2),
        "MaximumRetryAttempts": (h >> 16) % 10,
        "TumblingWindowInSeconds": 0,
        "FunctionResponseTypes": [],
        "LastProcessingResult": "OK" if h % 7 else "PROBLEM: Function call failed",
        "DestinationConfig": {"OnFailure": {"Destination": f"arn:aws:sqs:{region}:{account}:{app}-stream-dlq"}},
    }
    return item


# ------------------------------------------------------------------------------------------ per account-region


def _layers(account: str, region: str, count: int, r: int) -> tuple[tuple[Item, ...], dict[str, tuple[Item, ...]]]:
    with_functions = 0 if r % 3 == 0 else 1 + (r >> 4) % 4
    number = with_functions if count else int((r >> 4) % 20 == 0)
    layers, versions = [], {}
    for k in range(number):
        h = mix64(r ^ (k + 11))
        name = LAYER_NAMES[(k + (r >> 10)) % len(LAYER_NAMES)]
        layer_arn = f"arn:aws:lambda:{region}:{account}:layer:{name}"
        many = h % 40 == 0
        latest = 51 + (h >> 8) % 70 if many else 1 + (h >> 8) % 6
        listed = tuple(_layer_version(layer_arn, v, mix64(h ^ v)) for v in range(latest, 0, -1))  # newest first
        versions[name] = listed
        layers.append({"LayerName": name, "LayerArn": layer_arn, "LatestMatchingVersion": listed[0]})
    return tuple(layers), versions


def _layer_version(layer_arn: str, version: int, h: int) -> Item:
    item: Item = {
        "LayerVersionArn": f"{layer_arn}:{version}",
        "Version": version,
        "Description": f"build {h % 100_000:05d}" if h % 3 else "",
        "CreatedDate": lambda_time(_stamp(h, 11)),
        "CompatibleRuntimes": _RUNTIMES[h % len(_RUNTIMES)],
        "CompatibleArchitectures": ["x86_64", "arm64"] if h % 2 else ["x86_64"],
    }
    if h % 5 == 0:
        item["LicenseInfo"] = "Apache-2.0"
    return item


def _signing_configs(account: str, region: str, count: int, r: int) -> tuple[Item, ...]:
    with_functions = 1 + (r >> 24) % 2 if (r >> 20) % 4 == 0 else 0
    number = with_functions if count else int((r >> 20) % 30 == 0)
    out = []
    for k in range(number):
        h = mix64(r ^ (k + 101))
        config_id = f"csc-{h & 0xFFFFFFFFFFFFFFFFF:017x}"
        profile = f"arn:aws:signer:{region}:{account}:/signing-profiles/release{k}/{h >> 40:010x}"
        out.append(
            {
                "CodeSigningConfigId": config_id,
                "CodeSigningConfigArn": f"arn:aws:lambda:{region}:{account}:code-signing-config:{config_id}",
                "Description": "release builds" if k == 0 else "",
                "AllowedPublishers": {"SigningProfileVersionArns": [profile]},
                "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce" if h % 2 else "Warn"},
                "LastModified": lambda_time(_stamp(h, 13)),
            }
        )
    return tuple(out)


def _uuid(h: int) -> str:
    x = f"{h:016x}{mix64(h):016x}"
    return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-a{x[17:20]}-{x[20:32]}"


# ------------------------------------------------------------------------------------------ minimum calls


def _pages(items: int, operation: str, page_items: int) -> int:
    return max(1, math.ceil(items / min(PAGE_CAPS[operation], page_items)))


def min_estate_calls(estates: Iterable[Estate], page_items: int) -> dict[str, int]:
    """The fewest requests each estate enrichment needs over the account-regions (no retries), every list paged at
    the job's MaxItems or the fake's --estate-page-items, whichever is smaller: the per-account-region lists on
    every account-region (functions or not), ListFunctionsByCodeSigningConfig per config where the listing found
    functions (without one the job has no function to give a config), the per-function lists per function,
    GetLayerVersionPolicy per layer version and GetPolicy (Qualifier) per alias."""
    out = dict.fromkeys(ESTATE_NAMES, 0)
    for e in estates:
        out["event_source_mappings"] += _pages(len(e.mappings), "ListEventSourceMappings", page_items)
        out["layers"] += _pages(len(e.layers), "ListLayers", page_items)
        out["layers"] += sum(_pages(len(v), "ListLayerVersions", page_items) for v in e.layer_versions.values())
        out["layer_policies"] += sum(len(v) for v in e.layer_versions.values())  # GetLayerVersionPolicy per version
        out["code_signing"] += _pages(len(e.signing_configs), "ListCodeSigningConfigs", page_items)
        if e.functions:
            signed = (e.signed.get(item["CodeSigningConfigArn"], ()) for item in e.signing_configs)
            out["code_signing"] += sum(
                _pages(len(arns), "ListFunctionsByCodeSigningConfig", page_items) for arns in signed
            )
        for f in e.functions:
            out["aliases"] += _pages(len(f.aliases), "ListAliases", page_items) + len(f.aliases)  # + GetPolicy each
            configs, provisioned = len(f.invoke_configs), len(f.provisioned)
            out["event_invoke_configs"] += _pages(configs, "ListFunctionEventInvokeConfigs", page_items)
            out["provisioned_concurrency"] += _pages(provisioned, "ListProvisionedConcurrencyConfigs", page_items)
    return out
