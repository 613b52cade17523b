"""Stage 5: the inventory's contract. An explicit pyarrow schema, and ListFunctions items flattened into it.

Only the fields named here are read from the API, so a newer API's extra fields cannot break a run, and
environment variable *values* are never read at all (only their names). Every column is documented in
docs/schema.md; keep the two in step (tests/test_schema.py checks).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa

from inventory.targets import Target

_TS = pa.timestamp("us", tz="UTC")
_STRINGS = pa.list_(pa.string())

Getter = Callable[[Mapping[str, Any]], Any]


def _get(*path: str) -> Getter:
    def getter(item: Mapping[str, Any]) -> Any:
        value: Any = item
        for key in path:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value

    return getter


def _strings(*path: str, key: str | None = None) -> Getter:
    inner = _get(*path)

    def getter(item: Mapping[str, Any]) -> list[str]:
        values = inner(item) or []
        if key is not None:
            return [str(v[key]) for v in values if isinstance(v, Mapping) and v.get(key) is not None]
        return [str(v) for v in values]

    return getter


def _env_names(item: Mapping[str, Any]) -> list[str]:
    # The values may hold secrets: take the names only, sorted, and drop the mapping.
    variables = _get("Environment", "Variables")(item)
    return sorted(str(name) for name in variables) if isinstance(variables, Mapping) else []


_LAMBDA_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$")


def parse_lambda_time(text: object) -> datetime | None:
    """Real Lambda sends `2019-10-30T18:27:32.783+0000`; moto `2026-11-28T11:55:26.113611000Z`."""
    match = _LAMBDA_TIME.match(text) if isinstance(text, str) else None
    if not match:
        return None
    base, fraction, zone = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    offset = timedelta(0)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    try:
        moment = datetime.fromisoformat(base)
        return moment.replace(microsecond=micros, tzinfo=timezone(offset)).astimezone(UTC)
    except ValueError:  # shaped like a time but impossible (Feb 30, +2400): unknown, not a crash
        return None


def _last_modified(item: Mapping[str, Any]) -> datetime | None:
    return parse_lambda_time(item.get("LastModified"))


# (column, type, getter over one ListFunctions item). Order is the column order of the output.
FUNCTION_COLUMNS: tuple[tuple[str, pa.DataType, Getter], ...] = (
    ("function_name", pa.string(), _get("FunctionName")),
    ("function_arn", pa.string(), _get("FunctionArn")),
    ("version", pa.string(), _get("Version")),
    ("runtime", pa.string(), _get("Runtime")),
    ("handler", pa.string(), _get("Handler")),
    ("package_type", pa.string(), _get("PackageType")),
    ("architectures", _STRINGS, _strings("Architectures")),
    ("role", pa.string(), _get("Role")),
    ("code_size", pa.int64(), _get("CodeSize")),
    ("code_sha256", pa.string(), _get("CodeSha256")),
    ("memory_size", pa.int32(), _get("MemorySize")),
    ("timeout", pa.int32(), _get("Timeout")),
    ("ephemeral_storage_mb", pa.int32(), _get("EphemeralStorage", "Size")),
    ("last_modified", _TS, _last_modified),
    ("description", pa.string(), _get("Description")),
    ("revision_id", pa.string(), _get("RevisionId")),
    ("master_arn", pa.string(), _get("MasterArn")),
    ("layer_arns", _STRINGS, _strings("Layers", key="Arn")),
    ("vpc_id", pa.string(), _get("VpcConfig", "VpcId")),
    ("subnet_ids", _STRINGS, _strings("VpcConfig", "SubnetIds")),
    ("security_group_ids", _STRINGS, _strings("VpcConfig", "SecurityGroupIds")),
    ("ipv6_allowed_for_dual_stack", pa.bool_(), _get("VpcConfig", "Ipv6AllowedForDualStack")),
    ("tracing_mode", pa.string(), _get("TracingConfig", "Mode")),
    ("snap_start_apply_on", pa.string(), _get("SnapStart", "ApplyOn")),
    ("snap_start_optimization_status", pa.string(), _get("SnapStart", "OptimizationStatus")),
    ("log_format", pa.string(), _get("LoggingConfig", "LogFormat")),
    ("log_group", pa.string(), _get("LoggingConfig", "LogGroup")),
    ("application_log_level", pa.string(), _get("LoggingConfig", "ApplicationLogLevel")),
    ("system_log_level", pa.string(), _get("LoggingConfig", "SystemLogLevel")),
    ("kms_key_arn", pa.string(), _get("KMSKeyArn")),
    ("dead_letter_target_arn", pa.string(), _get("DeadLetterConfig", "TargetArn")),
    ("file_system_arns", _STRINGS, _strings("FileSystemConfigs", key="Arn")),
    ("signing_profile_version_arn", pa.string(), _get("SigningProfileVersionArn")),
    ("signing_job_arn", pa.string(), _get("SigningJobArn")),
    ("environment_variable_names", _STRINGS, _env_names),
)

TARGET_FIELDS: tuple[pa.Field, ...] = (
    pa.field("snapshot_time", _TS, nullable=False),
    pa.field("account_id", pa.string(), nullable=False),
    pa.field("account_name", pa.string(), nullable=False),
    pa.field("account_tags", _STRINGS, nullable=False),
    pa.field("region", pa.string(), nullable=False),
)

INVENTORY_SCHEMA = pa.schema([*TARGET_FIELDS, *(pa.field(name, kind) for name, kind, _ in FUNCTION_COLUMNS)])

STATUS_SCHEMA = pa.schema(
    [
        pa.field("snapshot_time", _TS, nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("account_name", pa.string(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("function_count", pa.int64()),
        pa.field("pages", pa.int32(), nullable=False),
        pa.field("retries", pa.int32(), nullable=False),
        pa.field("error_code", pa.string()),
        pa.field("error_message", pa.string()),
        pa.field("duration_ms", pa.int64(), nullable=False),
    ]
)


def function_batch(target: Target, snapshot_time: datetime, items: Iterable[Mapping[str, Any]]) -> pa.RecordBatch:
    """Flatten one target's ListFunctions items into a RecordBatch of INVENTORY_SCHEMA."""
    items = list(items)
    n = len(items)
    account = target.account
    columns: list[Any] = [
        [snapshot_time] * n,
        [account.account_id] * n,
        [account.name] * n,
        [list(account.tags)] * n,
        [target.region] * n,
    ]
    columns.extend([getter(item) for item in items] for _, _, getter in FUNCTION_COLUMNS)
    return pa.RecordBatch.from_arrays(
        [pa.array(values, type=f.type) for values, f in zip(columns, INVENTORY_SCHEMA, strict=True)],
        schema=INVENTORY_SCHEMA,
    )
