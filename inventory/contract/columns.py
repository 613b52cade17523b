"""The inventory's function columns: every member of botocore's ListFunctions item (FunctionConfiguration)
is either read into a typed column here (FUNCTION_COLUMNS) or listed in EXCLUDED_MEMBERS with the reason.
tests/contract/test_model_coverage.py walks the installed botocore model and fails on a member that is neither.
schema.py builds the schemas and the Arrow conversion from this table.
"""

from __future__ import annotations

import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")
_STRINGS = pa.list_(pa.string())
_S, _I32, _I64, _F64, _BOOL = pa.string(), pa.int32(), pa.int64(), pa.float64(), pa.bool_()
_LAYER = pa.struct([("arn", _S), ("code_size", _I64), ("signing_profile_version_arn", _S), ("signing_job_arn", _S)])
_FILE_SYSTEM = pa.struct([("arn", _S), ("local_mount_path", _S), ("s3_files_direct_read", _S)])
_CAPACITY = "CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig"
_TAGS = pa.map_(pa.string(), pa.string())


# (column, type, path in a ListFunctions item). Order is the column order of the output. A path ending in
# "[].Arn" reads that field of every element of a list of objects; "Layers[]{Arn,CodeSize,...}" reads those
# fields of every element into a list<struct> whose fields are, in the same order, the type's fields. Lists
# are never null: absent means []. Columns added after the first release go at the end (see ADDED_COLUMNS).
# Every member of botocore's FunctionConfiguration is either read here or in EXCLUDED_MEMBERS
# (tests/contract/test_model_coverage.py walks the installed model).
FUNCTION_COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("function_name", _S, "FunctionName"),
    ("function_arn", _S, "FunctionArn"),
    ("version", _S, "Version"),
    ("runtime", _S, "Runtime"),
    ("handler", _S, "Handler"),
    ("package_type", _S, "PackageType"),
    ("architectures", _STRINGS, "Architectures"),
    ("role", _S, "Role"),
    ("code_size", _I64, "CodeSize"),
    ("code_sha256", _S, "CodeSha256"),
    ("memory_size", _I32, "MemorySize"),
    ("timeout", _I32, "Timeout"),
    ("ephemeral_storage_mb", _I32, "EphemeralStorage.Size"),
    ("last_modified", _TS, "LastModified"),
    ("description", _S, "Description"),
    ("revision_id", _S, "RevisionId"),
    ("master_arn", _S, "MasterArn"),
    ("layer_arns", _STRINGS, "Layers[].Arn"),
    ("vpc_id", _S, "VpcConfig.VpcId"),
    ("subnet_ids", _STRINGS, "VpcConfig.SubnetIds"),
    ("security_group_ids", _STRINGS, "VpcConfig.SecurityGroupIds"),
    ("ipv6_allowed_for_dual_stack", _BOOL, "VpcConfig.Ipv6AllowedForDualStack"),
    ("tracing_mode", _S, "TracingConfig.Mode"),
    ("snap_start_apply_on", _S, "SnapStart.ApplyOn"),
    ("snap_start_optimization_status", _S, "SnapStart.OptimizationStatus"),
    ("log_format", _S, "LoggingConfig.LogFormat"),
    ("log_group", _S, "LoggingConfig.LogGroup"),
    ("application_log_level", _S, "LoggingConfig.ApplicationLogLevel"),
    ("system_log_level", _S, "LoggingConfig.SystemLogLevel"),
    ("kms_key_arn", _S, "KMSKeyArn"),
    ("dead_letter_target_arn", _S, "DeadLetterConfig.TargetArn"),
    ("file_system_arns", _STRINGS, "FileSystemConfigs[].Arn"),
    ("signing_profile_version_arn", _S, "SigningProfileVersionArn"),
    ("signing_job_arn", _S, "SigningJobArn"),
    ("environment_variable_names", _STRINGS, "Environment.Variables.<keys>"),  # names only; see _environment
    # --- added with the model-coverage test (issue 12): older files lack them, read as null (ADDED_COLUMNS)
    ("layers", pa.list_(_LAYER), "Layers[]{Arn,CodeSize,SigningProfileVersionArn,SigningJobArn}"),
    (
        "file_system_configs",
        pa.list_(_FILE_SYSTEM),
        "FileSystemConfigs[]{Arn,LocalMountPath,S3FilesConfig.DirectS3Read}",
    ),
    ("image_entry_point", _STRINGS, "ImageConfigResponse.ImageConfig.EntryPoint"),
    ("image_command", _STRINGS, "ImageConfigResponse.ImageConfig.Command"),
    ("image_working_directory", _S, "ImageConfigResponse.ImageConfig.WorkingDirectory"),
    ("image_config_error_code", _S, "ImageConfigResponse.Error.ErrorCode"),
    ("environment_error_code", _S, "Environment.Error.ErrorCode"),  # read with the names; see _environment
    ("config_sha256", _S, "ConfigSha256"),
    ("capacity_provider_arn", _S, f"{_CAPACITY}.CapacityProviderArn"),
    ("capacity_provider_max_concurrency", _I32, f"{_CAPACITY}.PerExecutionEnvironmentMaxConcurrency"),
    ("capacity_provider_memory_gib_per_vcpu", _F64, f"{_CAPACITY}.ExecutionEnvironmentMemoryGiBPerVCpu"),
    ("durable_retention_period_days", _I32, "DurableConfig.RetentionPeriodInDays"),
    ("durable_execution_timeout", _I32, "DurableConfig.ExecutionTimeout"),
    ("durable_kms_key_arn", _S, "DurableConfig.KMSKeyArn"),
    ("runtime_config_arn", _S, "RuntimeConfig.RuntimeArn"),
    ("runtime_config_alias", _S, "RuntimeConfig.RuntimeAlias"),
    ("accelerator_memory_gb", _I32, "AcceleratorConfig.AcceleratorMemorySize"),
    ("tenant_isolation_mode", _S, "TenancyConfig.TenantIsolationMode"),
)
ENV_COLUMN = "environment_variable_names"
ENV_ERROR_COLUMN = "environment_error_code"
PYTHON_COLUMNS = frozenset({ENV_COLUMN, ENV_ERROR_COLUMN})  # read by _environment, never by Arrow

# The enrichments (issue 12), opt-in with `enrich:`: read by job/enrich.py with calls beyond ListFunctions,
# set on the rows by contract/enrichment_columns.py. (column, type, enrichment). Null = not asked or not read (the
# `enriched` column and the status file's `enrichments` say which); a list or map read empty is [] / {}.
ENRICHED_COLUMN = "enriched"  # list<string>, never null: the enrichments read for the row's target
ENRICHMENT_COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("tags", _TAGS, "tags"),
    ("url_auth_types", _STRINGS, "urls"),
    ("public_invoke", _BOOL, "policy"),
    ("invoke_principals", _STRINGS, "policy"),
    ("reserved_concurrency", _I32, "concurrency"),
    ("invocations_30d", _I64, "usage"),
    ("last_invocation_day", pa.date32(), "usage"),
    # --- added with issue 20's exposure judgment (docs/policy-evaluation.md); public_url is completed with the
    # policy's public_actions where the function's own URL is NONE (job/enrichments.py judge_urls)
    ("public_actions", _STRINGS, "policy"),
    ("public_url", _BOOL, "urls"),
    ("code_signing_config_arn", _S, "code_signing"),  # with the code_signing_configs table (contract/estate.py)
)
ENRICHMENTS: tuple[str, ...] = ("tags", "urls", "policy", "concurrency", "usage")  # the order they run in

# Columns a file written before them does not have: reading such a file (report, diff) gives them as null.
_NAMES = [name for name, _, _ in FUNCTION_COLUMNS]
ADDED_COLUMNS: frozenset[str] = frozenset(
    [*_NAMES[_NAMES.index("layers") :], ENRICHED_COLUMN, *(name for name, _, _ in ENRICHMENT_COLUMNS)]
)
ADDED_STATUS_COLUMNS: frozenset[str] = frozenset({"enrichments"})

# FunctionConfiguration members (paths in the item, as in FUNCTION_COLUMNS; a member excludes everything
# under it) that the inventory deliberately does not read, and why. Everything else in botocore's model must
# be a column: tests/contract/test_model_coverage.py fails on a member that is neither.
_GET_FUNCTION_ONLY = "ListFunctions never returns it (only GetFunction / GetFunctionConfiguration do)"
EXCLUDED_MEMBERS: dict[str, str] = {
    "Environment.Variables.<values>": "only the names are kept (environment_variable_names): values often hold secrets",
    "Environment.Error.Message": "free text that may quote the environment (botocore: SensitiveString)",
    "ImageConfigResponse.Error.Message": "free text that may quote the image config (botocore: SensitiveString)",
    "State": _GET_FUNCTION_ONLY,
    "StateReason": _GET_FUNCTION_ONLY,
    "StateReasonCode": _GET_FUNCTION_ONLY,
    "LastUpdateStatus": _GET_FUNCTION_ONLY,
    "LastUpdateStatusReason": _GET_FUNCTION_ONLY,
    "LastUpdateStatusReasonCode": _GET_FUNCTION_ONLY,
    "RuntimeVersionConfig": _GET_FUNCTION_ONLY,
}


def leaf_paths(path: str) -> tuple[str, ...]:
    """The item fields one FUNCTION_COLUMNS path reads: 'Layers[]{Arn,CodeSize}' -> Layers[].Arn, Layers[].CodeSize."""
    outer, brace, inner = path.partition("{")
    if not brace:
        return (path,)
    return tuple(f"{outer}.{name}" for name in inner.rstrip("}").split(","))


def _leaf_kinds(path: str, kind: pa.DataType) -> tuple[tuple[str, pa.DataType], ...]:
    """(leaf path, type) pairs: a list<struct> column as one list<field type> per field (for items.py)."""
    if "{" not in path:
        return ((path, kind),)
    return tuple((leaf, pa.list_(f.type)) for leaf, f in zip(leaf_paths(path), kind.value_type, strict=True))


ITEM_FIELDS = tuple(
    pair for name, kind, path in FUNCTION_COLUMNS if name not in PYTHON_COLUMNS for pair in _leaf_kinds(path, kind)
)
