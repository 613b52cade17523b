"""The fake's ListFunctions items: one realistic FunctionConfiguration (~1.2 KB of compact JSON) per function,
a pure function of (account, region, index, seed), written from a string template (no json.dumps: the fake
builds every page of a million functions). Standard library only."""

from __future__ import annotations

import base64
import time
from typing import NamedTuple

from fake_truth import function_hashes, mix64, name_parts

# (runtime, handler, package type)
_RUNTIMES = (
    ("python3.12", "app.lambda_handler", "Zip"),
    ("python3.11", "handler.main", "Zip"),
    ("nodejs20.x", "index.handler", "Zip"),
    ("nodejs18.x", "dist/index.handler", "Zip"),
    ("java21", "com.example.orders.Handler::handleRequest", "Zip"),
    ("provided.al2023", "bootstrap", "Zip"),
    ("dotnet8", "Orders::Orders.Function::FunctionHandler", "Zip"),
    ("python3.9", "lambda_function.lambda_handler", "Zip"),
    ("ruby3.3", "function.handler", "Zip"),
    (None, None, "Image"),
)
_DESCRIPTIONS = (
    "Handles inbound webhook events and forwards them to the processing queue",
    "Nightly export of order data to the analytics bucket",
    "",
    "Resizes uploaded images into thumbnails and web renditions",
    "API Gateway authorizer validating JWTs issued by the identity provider",
    "Consumes the change stream and keeps the search index in sync with the primary table",
    "Scheduled cleanup of expired sessions",
    "Managed by Terraform - do not edit in the console",
)
_TIMEOUTS = (3, 10, 15, 30, 60, 120, 300, 900)
_MEMORY = (128, 256, 512, 1024, 1536, 2048, 3008, 10240)
_EPOCH_2019 = 1546300800
_SPAN_S = 7 * 365 * 86400
_NO_VPC = ',"VpcConfig":{"SubnetIds":[],"SecurityGroupIds":[],"VpcId":"","Ipv6AllowedForDualStack":false}'


class _Function(NamedTuple):
    """What a function's members are drawn from: where it is, its name's parts, its two hashes."""

    account: str
    region: str
    team: str
    app: str
    stage: str
    h: int
    h2: int


def function_json(account: str, region: str, index: int, seed: int) -> str:
    """One FunctionConfiguration as compact JSON text (~1.2 KB), a pure function of its arguments."""
    h, h2 = function_hashes(account, region, index, seed)
    team, app, stage = name_parts(h)
    name = f"{team}-{app}-{stage}-{index:05d}"
    runtime, handler, package = _RUNTIMES[(h >> 12) % len(_RUNTIMES)]
    in_vpc = (h >> 18) % 5 < 2
    sha = base64.b64encode(h.to_bytes(8, "big") + h2.to_bytes(8, "big") + mix64(h2).to_bytes(8, "big") * 2).decode()
    parts = [f'{{"FunctionName":"{name}","FunctionArn":"arn:aws:lambda:{region}:{account}:function:{name}"']
    if package == "Zip":
        parts.append(f',"Runtime":"{runtime}"')
    parts.append(f',"Role":"arn:aws:iam::{account}:role/service-role/{name}-role-{h2 & 0xFFFFFFFF:08x}"')
    if package == "Zip":
        parts.append(f',"Handler":"{handler}"')
    parts.append(_code(h, h2, sha))
    parts.append(_vpc(h, h2) if in_vpc else _NO_VPC)
    fn = _Function(account, region, team, app, stage, h, h2)
    parts.append(_environment(fn, sha))
    if package == "Zip" and (h >> 32) % 3 == 0:
        parts.append(_layers(h, h2, account, region, team))
    if package == "Image":
        parts.append(
            ',"ImageConfigResponse":{"ImageConfig":{"EntryPoint":["/lambda-entrypoint.sh"]'
            f',"Command":["{handler or "app.handler"}"],"WorkingDirectory":"/var/task"}}}}'
        )
    parts.extend(_extras(fn, in_vpc))
    parts.append(_tail(h, name, package))
    return "".join(parts)


def _code(h: int, h2: int, sha: str) -> str:
    """CodeSize, Description, Timeout, MemorySize, LastModified, CodeSha256 and Version."""
    moment = _EPOCH_2019 + (h2 % _SPAN_S)
    millis = (h2 >> 32) % 1000
    last_modified = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{millis:03d}+0000"
    return (
        f',"CodeSize":{1024 + h2 % 52_428_800},"Description":"{_DESCRIPTIONS[(h >> 20) % len(_DESCRIPTIONS)]}"'
        f',"Timeout":{_TIMEOUTS[(h >> 24) % 8]},"MemorySize":{_MEMORY[(h >> 27) % 8]}'
        f',"LastModified":"{last_modified}","CodeSha256":"{sha}","Version":"$LATEST"'
    )


def _vpc(h: int, h2: int) -> str:
    sub = h2 & 0xFFFFFFFFFFFFFF
    return (
        f',"VpcConfig":{{"SubnetIds":["subnet-0{sub:016x}","subnet-0{mix64(sub) & 0xFFFFFFFFFFFFFFFF:016x}"]'
        f',"SecurityGroupIds":["sg-0{(h >> 8) & 0xFFFFFFFFFFFFFFFF:016x}"],"VpcId":"vpc-0{sub >> 4:014x}"'
        ',"Ipv6AllowedForDualStack":false}'
    )


def _environment(fn: _Function, sha: str) -> str:
    """Environment (variable names and values), TracingConfig, RevisionId and ConfigSha256."""
    h, h2, team, app, stage = fn.h, fn.h2, fn.team, fn.app, fn.stage
    rev = (
        f"{h2 & 0xFFFFFFFF:08x}-{(h2 >> 32) & 0xFFFF:04x}-4{(h2 >> 48) & 0xFFF:03x}"
        f"-a{h & 0xFFF:03x}-{h >> 16 & 0xFFFFFFFFFFFF:012x}"
    )
    return (
        f',"Environment":{{"Variables":{{"LOG_LEVEL":"INFO","STAGE":"{stage}"'
        f',"TABLE_NAME":"{team}-{app}-{stage}","POWERTOOLS_SERVICE_NAME":"{team}-{app}"}}}}'
        f',"TracingConfig":{{"Mode":"{"Active" if (h >> 30) % 4 == 0 else "PassThrough"}"}}'
        f',"RevisionId":"{rev}","ConfigSha256":"{sha}"'
    )


def _layers(h: int, h2: int, account: str, region: str, team: str) -> str:
    """One layer; some are signed (code signing): both ARNs, as ListFunctions returns them."""
    signed = (
        f',"SigningProfileVersionArn":"arn:aws:signer:{region}:{account}'
        f':/signing-profiles/{team}/{h2 >> 40:010x}"'
        f',"SigningJobArn":"arn:aws:signer:{region}:{account}:/signing-jobs/{h2 & 0xFFFFFFFF:08x}"'
        if (h >> 37) % 4 == 0
        else ""
    )
    return (
        f',"Layers":[{{"Arn":"arn:aws:lambda:{region}:{account}:layer:{team}-common:{1 + (h >> 36) % 40}"'
        f',"CodeSize":{4096 + (h >> 40) % 9_000_000}' + signed + "}]"
    )


def _extras(fn: _Function, in_vpc: bool) -> list[str]:
    """The rarer members: FileSystemConfigs, DurableConfig, TenancyConfig, DeadLetterConfig."""
    h, h2, account, region, team, app = fn.h, fn.h2, fn.account, fn.region, fn.team, fn.app
    parts = []
    if in_vpc and (h >> 46) % 8 == 0:
        parts.append(
            f',"FileSystemConfigs":[{{"Arn":"arn:aws:elasticfilesystem:{region}:{account}'
            f':access-point/fsap-0{h2 >> 4 & 0xFFFFFFFFFFFFFFFF:016x}"'
            f',"LocalMountPath":"/mnt/{app}"}}]'
        )
    if (h >> 50) % 20 == 0:
        parts.append(',"DurableConfig":{"RetentionPeriodInDays":14,"ExecutionTimeout":86400}')
    if (h >> 55) % 50 == 0:
        parts.append(',"TenancyConfig":{"TenantIsolationMode":"PER_TENANT"}')
    if (h >> 44) % 10 == 0:
        parts.append(f',"DeadLetterConfig":{{"TargetArn":"arn:aws:sqs:{region}:{account}:{team}-{app}-dlq"}}')
    return parts


def _tail(h: int, name: str, package: str) -> str:
    arch = "arm64" if (h >> 16) % 3 == 0 else "x86_64"
    return (
        f',"PackageType":"{package}","Architectures":["{arch}"],"EphemeralStorage":{{"Size":512}}'
        ',"SnapStart":{"ApplyOn":"None","OptimizationStatus":"Off"}'
        f',"LoggingConfig":{{"LogFormat":"Text","LogGroup":"/aws/lambda/{name}"}}}}'
    )
