"""The estate's tables, column by column: every member of each table's botocore shape is read into a typed
column here (path syntax as columns.py's FUNCTION_COLUMNS) or excluded with the reason.
tests/contract/test_estate_coverage.py walks the installed botocore model and fails on a member that is neither.
"""

from __future__ import annotations

import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")
_STRINGS = pa.list_(pa.string())
_S, _I32, _I64, _F64, _BOOL = pa.string(), pa.int32(), pa.int64(), pa.float64(), pa.bool_()
_ACCESS = pa.list_(pa.struct([("type", _S), ("uri", _S)]))
Columns = tuple[tuple[str, pa.DataType, str], ...]

_MSK = "AmazonManagedKafkaEventSourceConfig"
_SMK = "SelfManagedKafkaEventSourceConfig"
_REGISTRY = "SchemaRegistryConfig"


def _kafka(prefix: str, column: str) -> Columns:
    """The columns of one Kafka source config (Amazon MSK's or a self-managed cluster's)."""
    registry = f"{prefix}.{_REGISTRY}"
    return (
        (f"{column}_consumer_group_id", _S, f"{prefix}.ConsumerGroupId"),
        (f"{column}_schema_registry_uri", _S, f"{registry}.SchemaRegistryURI"),
        (f"{column}_event_record_format", _S, f"{registry}.EventRecordFormat"),
        (f"{column}_schema_registry_access", _ACCESS, f"{registry}.AccessConfigs[]{{Type,URI}}"),
        (f"{column}_schema_validation_attributes", _STRINGS, f"{registry}.SchemaValidationConfigs[].Attribute"),
    )


EVENT_SOURCE_MAPPING_COLUMNS: Columns = (
    ("uuid", _S, "UUID"),
    ("event_source_mapping_arn", _S, "EventSourceMappingArn"),
    ("function_arn", _S, "FunctionArn"),
    ("event_source_arn", _S, "EventSourceArn"),
    ("state", _S, "State"),
    ("state_transition_reason", _S, "StateTransitionReason"),
    ("last_modified", _TS, "LastModified"),
    ("last_processing_result", _S, "LastProcessingResult"),
    ("starting_position", _S, "StartingPosition"),
    ("starting_position_timestamp", _TS, "StartingPositionTimestamp"),
    ("batch_size", _I32, "BatchSize"),
    ("maximum_batching_window_seconds", _I32, "MaximumBatchingWindowInSeconds"),
    ("parallelization_factor", _I32, "ParallelizationFactor"),
    ("filter_patterns", _STRINGS, "FilterCriteria.Filters[].Pattern"),
    ("filter_criteria_error_code", _S, "FilterCriteriaError.ErrorCode"),
    ("kms_key_arn", _S, "KMSKeyArn"),
    ("metrics", _STRINGS, "MetricsConfig.Metrics"),
    ("system_log_level", _S, "LoggingConfig.SystemLogLevel"),
    ("maximum_concurrency", _I32, "ScalingConfig.MaximumConcurrency"),
    ("on_success_destination", _S, "DestinationConfig.OnSuccess.Destination"),
    ("on_failure_destination", _S, "DestinationConfig.OnFailure.Destination"),
    ("topics", _STRINGS, "Topics"),
    ("queues", _STRINGS, "Queues"),
    ("source_access_configurations", _ACCESS, "SourceAccessConfigurations[]{Type,URI}"),
    ("self_managed_endpoints", pa.map_(_S, _STRINGS), "SelfManagedEventSource.Endpoints"),
    ("maximum_record_age_seconds", _I32, "MaximumRecordAgeInSeconds"),
    ("bisect_batch_on_function_error", _BOOL, "BisectBatchOnFunctionError"),
    ("maximum_retry_attempts", _I32, "MaximumRetryAttempts"),
    ("tumbling_window_seconds", _I32, "TumblingWindowInSeconds"),
    ("function_response_types", _STRINGS, "FunctionResponseTypes"),
    *_kafka(_MSK, "msk"),
    *_kafka(_SMK, "kafka"),
    ("kafka_consumption_mode", _S, f"{_SMK}.ConsumptionMode"),
    ("documentdb_database", _S, "DocumentDBEventSourceConfig.DatabaseName"),
    ("documentdb_collection", _S, "DocumentDBEventSourceConfig.CollectionName"),
    ("documentdb_full_document", _S, "DocumentDBEventSourceConfig.FullDocument"),
    ("minimum_pollers", _I32, "ProvisionedPollerConfig.MinimumPollers"),
    ("maximum_pollers", _I32, "ProvisionedPollerConfig.MaximumPollers"),
    ("poller_group_name", _S, "ProvisionedPollerConfig.PollerGroupName"),
)
EVENT_SOURCE_MAPPING_EXCLUDED = {
    "FilterCriteriaError.Message": "free text that may quote the filter pattern's input; its ErrorCode is kept",
}

_VERSION_COLUMNS: Columns = (
    ("layer_version_arn", _S, "LayerVersionArn"),
    ("version", _I64, "Version"),
    ("description", _S, "Description"),
    ("created_date", _TS, "CreatedDate"),
    ("compatible_architectures", _STRINGS, "CompatibleArchitectures"),
    ("compatible_runtimes", _STRINGS, "CompatibleRuntimes"),
    ("license_info", _S, "LicenseInfo"),
)
LAYER_COLUMNS: Columns = (
    ("layer_name", _S, "LayerName"),
    ("layer_arn", _S, "LayerArn"),
    *((f"latest_{name}", kind, f"LatestMatchingVersion.{path}") for name, kind, path in _VERSION_COLUMNS),
)
LAYER_VERSION_COLUMNS: Columns = _VERSION_COLUMNS
# Judged from the version's policy (GetLayerVersionPolicy; aws/policy.py), not members of the listed item.
LAYER_VERSION_JUDGED: Columns = (
    ("public_actions", _STRINGS, "GetLayerVersionPolicy: what anyone may do (lambda:GetLayerVersion)"),
    ("principals", _STRINGS, "GetLayerVersionPolicy: the principals its Allows grant lambda:GetLayerVersion"),
)

ALIAS_COLUMNS: Columns = (
    ("alias_arn", _S, "AliasArn"),
    ("name", _S, "Name"),
    ("function_version", _S, "FunctionVersion"),
    ("description", _S, "Description"),
    ("routing_weights", pa.map_(_S, _F64), "RoutingConfig.AdditionalVersionWeights"),
    ("revision_id", _S, "RevisionId"),
)
# Judged from the alias's own resource policy (GetPolicy with the alias as Qualifier; aws/policy.py).
ALIAS_JUDGED: Columns = (
    ("public_actions", _STRINGS, "GetPolicy(Qualifier): what anyone may do to the alias"),
    ("public_invoke", _BOOL, "GetPolicy(Qualifier): public_actions include an invoke action"),
    ("invoke_principals", _STRINGS, "GetPolicy(Qualifier): the principals its Allows grant invoke"),
)

EVENT_INVOKE_CONFIG_COLUMNS: Columns = (
    ("function_arn", _S, "FunctionArn"),
    ("last_modified", _TS, "LastModified"),
    ("maximum_retry_attempts", _I32, "MaximumRetryAttempts"),
    ("maximum_event_age_seconds", _I32, "MaximumEventAgeInSeconds"),
    ("on_success_destination", _S, "DestinationConfig.OnSuccess.Destination"),
    ("on_failure_destination", _S, "DestinationConfig.OnFailure.Destination"),
)

PROVISIONED_CONCURRENCY_COLUMNS: Columns = (
    ("function_arn", _S, "FunctionArn"),
    ("requested", _I32, "RequestedProvisionedConcurrentExecutions"),
    ("available", _I32, "AvailableProvisionedConcurrentExecutions"),
    ("allocated", _I32, "AllocatedProvisionedConcurrentExecutions"),
    ("status", _S, "Status"),
    ("status_reason", _S, "StatusReason"),
    ("last_modified", _TS, "LastModified"),
)

CODE_SIGNING_CONFIG_COLUMNS: Columns = (
    ("code_signing_config_id", _S, "CodeSigningConfigId"),
    ("code_signing_config_arn", _S, "CodeSigningConfigArn"),
    ("description", _S, "Description"),
    ("allowed_signing_profile_version_arns", _STRINGS, "AllowedPublishers.SigningProfileVersionArns"),
    ("untrusted_artifact_on_deployment", _S, "CodeSigningPolicies.UntrustedArtifactOnDeployment"),
    ("last_modified", _TS, "LastModified"),
)
