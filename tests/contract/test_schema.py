"""The inventory's contract: recorded ListFunctions pages flattened into INVENTORY_SCHEMA."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from support.batches import function_batch

from inventory.contract.columns import ENRICHMENT_COLUMNS, FUNCTION_COLUMNS
from inventory.contract.items import InvalidItem
from inventory.contract.schema import (
    INVENTORY_SCHEMA,
    STATUS_SCHEMA,
    TARGET_FIELDS,
    parse_lambda_time,
    target_columns,
)
from inventory.contract.target import Account, Target

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "schema.md"
SNAPSHOT = datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=UTC)
TARGET = Target(
    Account(
        account_id="222222222222",
        name="workloads-prod",
        tags=("env:prod", "team:payments"),
        role_arn="arn:aws:iam::222222222222:role/CrossAccountListFunctionsRole",
        external_id=None,
    ),
    "eu-west-1",
)


def _page(name: str) -> dict[str, Any]:
    page: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return page


def _items(*names: str) -> list[dict[str, Any]]:
    return [item for name in names for item in _page(name)["Functions"]]


def _all_items() -> list[dict[str, Any]]:
    return _items("list_functions_page1.json", "list_functions_page2.json", "list_functions_moto.json")


def _rows(batch: pa.RecordBatch) -> dict[str, dict[str, Any]]:
    return {row["function_name"]: row for row in batch.to_pylist()}


def _env_values(items: list[dict[str, Any]]) -> list[str]:
    values = []
    for item in items:
        variables = (item.get("Environment") or {}).get("Variables") or {}
        values.extend(str(v) for v in variables.values())
    return values


@pytest.fixture
def batch() -> pa.RecordBatch:
    return function_batch(TARGET, SNAPSHOT, _all_items())


# --- the fixtures are the real wire format ------------------------------------------------------------


def test_fixtures_look_like_list_functions_pages() -> None:
    first = _page("list_functions_page1.json")
    assert first["NextMarker"]
    assert "NextMarker" not in _page("list_functions_page2.json")
    for item in _all_items():
        assert re.match(r"^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:", item["FunctionArn"])
        assert isinstance(item["LastModified"], str)
    assert len(_env_values(_all_items())) >= 5


# --- function_batch -----------------------------------------------------------------------------------


def test_schema_is_the_contract(batch: pa.RecordBatch) -> None:
    assert batch.schema.equals(INVENTORY_SCHEMA, check_metadata=True)
    assert batch.num_rows == 5
    assert batch.schema.names[:5] == ["snapshot_time", "account_id", "account_name", "account_tags", "region"]
    functions = [name for name, _, _ in FUNCTION_COLUMNS]
    assert batch.schema.names[5 : 5 + len(functions)] == functions
    assert batch.schema.names[5 + len(functions) :] == ["enriched", *(name for name, _, _ in ENRICHMENT_COLUMNS)]


def test_enrichment_columns_empty_until_enriched(batch: pa.RecordBatch) -> None:
    rows = batch.to_pylist()
    assert all(row["enriched"] == [] for row in rows)
    for name, _, _ in ENRICHMENT_COLUMNS:
        assert all(row[name] is None for row in rows), name


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("snapshot_time", pa.timestamp("us", tz="UTC")),
        ("last_modified", pa.timestamp("us", tz="UTC")),
        ("code_size", pa.int64()),
        ("memory_size", pa.int32()),
        ("timeout", pa.int32()),
        ("ephemeral_storage_mb", pa.int32()),
        ("ipv6_allowed_for_dual_stack", pa.bool_()),
        ("architectures", pa.list_(pa.string())),
        ("layer_arns", pa.list_(pa.string())),
        ("subnet_ids", pa.list_(pa.string())),
        ("security_group_ids", pa.list_(pa.string())),
        ("file_system_arns", pa.list_(pa.string())),
        ("environment_variable_names", pa.list_(pa.string())),
        ("account_tags", pa.list_(pa.string())),
        ("function_name", pa.string()),
        ("runtime", pa.string()),
        ("enriched", pa.list_(pa.string())),
        ("tags", pa.map_(pa.string(), pa.string())),
        ("url_auth_types", pa.list_(pa.string())),
        ("public_invoke", pa.bool_()),
        ("invoke_principals", pa.list_(pa.string())),
        ("reserved_concurrency", pa.int32()),
        ("invocations_30d", pa.int64()),
        ("last_invocation_day", pa.date32()),
    ],
)
def test_column_types(batch: pa.RecordBatch, column: str, kind: pa.DataType) -> None:
    assert batch.schema.field(column).type == kind
    assert batch.column(column).type == kind


@pytest.mark.parametrize("column", ["snapshot_time", "account_id", "account_name", "account_tags", "region"])
def test_target_columns_not_nullable(column: str) -> None:
    assert not INVENTORY_SCHEMA.field(column).nullable


def test_target_columns_repeat_per_row(batch: pa.RecordBatch) -> None:
    for row in batch.to_pylist():
        assert row["snapshot_time"] == SNAPSHOT
        assert row["account_id"] == "222222222222"
        assert row["account_name"] == "workloads-prod"
        assert row["account_tags"] == ["env:prod", "team:payments"]
        assert row["region"] == "eu-west-1"


def test_target_columns_of_many_targets_follow_each_targets_rows_in_order() -> None:
    other = Target(Account("333333333333", "sandbox", (), "arn:aws:iam::333333333333:role/R", None), "us-east-1")
    runs = [(TARGET, 2), (other, 0), (other, 3), (TARGET, 1)]  # a target with no rows has none
    columns = target_columns(runs, SNAPSHOT)
    assert [len(column) for column in columns] == [6] * 5
    assert columns[0].to_pylist() == [SNAPSHOT] * 6
    assert columns[1].to_pylist() == ["222222222222"] * 2 + ["333333333333"] * 3 + ["222222222222"]
    assert columns[2].to_pylist() == ["workloads-prod"] * 2 + ["sandbox"] * 3 + ["workloads-prod"]
    assert columns[3].to_pylist() == [["env:prod", "team:payments"]] * 2 + [[]] * 3 + [["env:prod", "team:payments"]]
    assert columns[4].to_pylist() == ["eu-west-1"] * 2 + ["us-east-1"] * 3 + ["eu-west-1"]
    assert [column.type for column in columns] == [field.type for field in TARGET_FIELDS]
    assert [len(column) for column in target_columns([(other, 0)], SNAPSHOT)] == [0] * 5


def test_full_zip_function_every_field(batch: pa.RecordBatch) -> None:
    row = _rows(batch)["orders-api"]
    assert row == {
        "snapshot_time": SNAPSHOT,
        "account_id": "222222222222",
        "account_name": "workloads-prod",
        "account_tags": ["env:prod", "team:payments"],
        "region": "eu-west-1",
        "function_name": "orders-api",
        "function_arn": "arn:aws:lambda:eu-west-1:222222222222:function:orders-api",
        "version": "$LATEST",
        "runtime": "java21",
        "handler": "com.example.orders.Handler::handleRequest",
        "package_type": "Zip",
        "architectures": ["x86_64"],
        "role": "arn:aws:iam::222222222222:role/service-role/orders-api-role-3k9x2lq1",
        "code_size": 48213771,
        "code_sha256": "p8Y0v9wZ0vJm4mJ2bXb3m1QvXwE3jY1k1tq0Qp0s7nE=",
        "memory_size": 2048,
        "timeout": 30,
        "ephemeral_storage_mb": 4096,
        "last_modified": datetime(2019, 10, 30, 18, 27, 32, 783000, tzinfo=UTC),
        "description": "Orders REST API (prod)",
        "revision_id": "5a1e0c7d-2b4f-4e8a-9c3d-7f6e5d4c3b2a",
        "master_arn": "arn:aws:lambda:us-east-1:222222222222:function:orders-api-edge",
        "layer_arns": [
            "arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-java-wrapper-amd64-ver-1-32-0:3",
            "arn:aws:lambda:eu-west-1:222222222222:layer:orders-shared-libs:17",
        ],
        "vpc_id": "vpc-0c0ffee0c0ffee000",
        "subnet_ids": ["subnet-0a1b2c3d4e5f60718", "subnet-0f9e8d7c6b5a49382"],
        "security_group_ids": ["sg-0123456789abcdef0"],
        "ipv6_allowed_for_dual_stack": False,
        "tracing_mode": "Active",
        "snap_start_apply_on": "PublishedVersions",
        "snap_start_optimization_status": "On",
        "log_format": "JSON",
        "log_group": "/aws/lambda/orders-api",
        "application_log_level": "INFO",
        "system_log_level": "WARN",
        "kms_key_arn": "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "dead_letter_target_arn": "arn:aws:sqs:eu-west-1:222222222222:orders-api-dlq",
        "file_system_arns": ["arn:aws:elasticfilesystem:eu-west-1:222222222222:access-point/fsap-0123456789abcdef0"],
        "signing_profile_version_arn": (
            "arn:aws:signer:eu-west-1:222222222222:/signing-profiles/prod_signing/e3Bv9XoLuO"
        ),
        "signing_job_arn": "arn:aws:signer:eu-west-1:222222222222:/signing-jobs/9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
        "environment_variable_names": [
            "AWS_LAMBDA_EXEC_WRAPPER",
            "DB_PASSWORD",
            "JWT_SIGNING_SECRET",
            "SPRING_PROFILES_ACTIVE",
            "STRIPE_API_KEY",
        ],
        "layers": [
            {
                "arn": "arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-java-wrapper-amd64-ver-1-32-0:3",
                "code_size": 23456789,
                "signing_profile_version_arn": None,
                "signing_job_arn": None,
            },
            {
                "arn": "arn:aws:lambda:eu-west-1:222222222222:layer:orders-shared-libs:17",
                "code_size": 1048576,
                "signing_profile_version_arn": (
                    "arn:aws:signer:eu-west-1:222222222222:/signing-profiles/prod_signing/e3Bv9XoLuO"
                ),
                "signing_job_arn": (
                    "arn:aws:signer:eu-west-1:222222222222:/signing-jobs/2b7c4f6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
                ),
            },
        ],
        "file_system_configs": [
            {
                "arn": "arn:aws:elasticfilesystem:eu-west-1:222222222222:access-point/fsap-0123456789abcdef0",
                "local_mount_path": "/mnt/orders",
                "s3_files_direct_read": None,
            }
        ],
        "image_entry_point": [],
        "image_command": [],
        "image_working_directory": None,
        "image_config_error_code": None,
        "environment_error_code": None,
        "config_sha256": "Zk9YH0c1m3rQ8tY2vB6nW4pL7sD5aE9uJ1iK3oX0gVc=",
        "capacity_provider_arn": None,
        "capacity_provider_max_concurrency": None,
        "capacity_provider_memory_gib_per_vcpu": None,
        "durable_retention_period_days": 14,
        "durable_execution_timeout": 86400,
        "durable_kms_key_arn": "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "runtime_config_arn": None,
        "runtime_config_alias": None,
        "accelerator_memory_gb": None,
        "tenant_isolation_mode": "PER_TENANT",
        "enriched": [],
        **{name: None for name, _, _ in ENRICHMENT_COLUMNS},
    }


# Blocks a Zip function on Lambda's own capacity without a custom runtime or an error does not have.
_NOT_FOR_A_ZIP_FUNCTION = {
    "image_working_directory",
    "image_config_error_code",
    "environment_error_code",
    "capacity_provider_arn",
    "capacity_provider_max_concurrency",
    "capacity_provider_memory_gib_per_vcpu",
    "runtime_config_arn",
    "runtime_config_alias",
    "accelerator_memory_gb",
    *(name for name, _, _ in ENRICHMENT_COLUMNS),  # not asked for: null (see test_enrichment_columns_...)
}


def test_full_zip_function_has_no_nulls(batch: pa.RecordBatch) -> None:
    row = _rows(batch)["orders-api"]
    assert [name for name, value in row.items() if value is None and name not in _NOT_FOR_A_ZIP_FUNCTION] == []


def test_image_function(batch: pa.RecordBatch) -> None:
    row = _rows(batch)["thumbnailer"]
    assert row["package_type"] == "Image"
    assert row["runtime"] is None
    assert row["handler"] is None
    assert row["code_size"] == 0
    assert row["architectures"] == ["arm64"]
    assert row["memory_size"] == 10240
    assert row["timeout"] == 900
    assert row["description"] == ""
    # absent nested blocks: null scalars, empty lists
    assert row["vpc_id"] is None
    assert row["ipv6_allowed_for_dual_stack"] is None
    assert row["kms_key_arn"] is None
    assert row["dead_letter_target_arn"] is None
    assert row["master_arn"] is None
    assert row["application_log_level"] is None
    assert row["layer_arns"] == []
    assert row["subnet_ids"] == []
    assert row["file_system_arns"] == []
    assert row["environment_variable_names"] == []
    assert row["layers"] == [] and row["file_system_configs"] == []
    # the image's config, and the Lambda Managed Instances capacity provider it runs on
    assert row["image_entry_point"] == ["/lambda-entrypoint.sh"]
    assert row["image_command"] == ["app.handler"]
    assert row["image_working_directory"] == "/var/task"
    assert row["capacity_provider_arn"] == "arn:aws:lambda:eu-west-1:222222222222:capacity-provider/media-graviton"
    assert row["capacity_provider_max_concurrency"] == 16
    assert row["capacity_provider_memory_gib_per_vcpu"] == 2.0
    assert row["durable_retention_period_days"] is None and row["tenant_isolation_mode"] is None


def test_unknown_future_fields_ignored(batch: pa.RecordBatch) -> None:
    row = _rows(batch)["nightly-report"]
    assert row["runtime"] == "python3.12"
    assert row["environment_variable_names"] == ["REPORT_BUCKET", "SLACK_WEBHOOK_URL"]
    assert "NewFancyField" not in row and "new_fancy_field" not in row
    for cell in row.values():
        assert "'x': 1" not in str(cell)


def test_only_an_unknown_field() -> None:
    batch = function_batch(TARGET, SNAPSHOT, [{"FunctionName": "f", "NewFancyField": {"x": 1}, "Other": [1, 2]}])
    assert batch.schema.equals(INVENTORY_SCHEMA)
    (row,) = batch.to_pylist()
    assert row["function_name"] == "f"
    assert row["code_size"] is None and row["last_modified"] is None
    assert row["architectures"] == [] and row["environment_variable_names"] == []


def test_empty_vpc_config(batch: pa.RecordBatch) -> None:
    row = _rows(batch)["nightly-report"]
    assert row["vpc_id"] == ""
    assert row["subnet_ids"] == []
    assert row["security_group_ids"] == []
    assert row["ipv6_allowed_for_dual_stack"] is None


def test_environment_error_block_gives_no_names(batch: pa.RecordBatch) -> None:
    row = _rows(batch)["kms-broken"]
    assert row["environment_variable_names"] == []
    assert row["environment_error_code"] == "AccessDeniedException"  # the code only: the message is never read
    assert "decrypt" not in str(row)
    assert row["kms_key_arn"] == "arn:aws:kms:eu-west-1:222222222222:key/deadbeef-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("orders-api", datetime(2019, 10, 30, 18, 27, 32, 783000, tzinfo=UTC)),
        ("thumbnailer", datetime(2024, 3, 1, 9, 15, 0, tzinfo=UTC)),
        ("nightly-report", datetime(2023, 6, 15, 12, 5, 9, 120000, tzinfo=UTC)),  # +0200
        ("kms-broken", datetime(2022, 2, 1, 4, 59, 59, 999000, tzinfo=UTC)),  # -0500 crosses midnight
        ("demo-fn-0", datetime(2026, 11, 28, 11, 55, 26, 113611, tzinfo=UTC)),  # moto's nanoseconds + Z
    ],
)
def test_last_modified_is_the_right_utc_instant(batch: pa.RecordBatch, function: str, expected: datetime) -> None:
    value = _rows(batch)[function]["last_modified"]
    assert value == expected
    assert value.utcoffset() == timedelta(0)


def test_last_modified_raw_microseconds(batch: pa.RecordBatch) -> None:
    names = batch.column("function_name").to_pylist()
    micros = batch.column("last_modified").cast(pa.int64()).to_pylist()
    got = dict(zip(names, micros, strict=True))
    assert got["orders-api"] == int(datetime(2019, 10, 30, 18, 27, 32, 783000, tzinfo=UTC).timestamp() * 1_000_000)


def test_no_environment_variable_value_anywhere(batch: pa.RecordBatch) -> None:
    secrets = _env_values(_all_items())
    assert "hunter2-S3cr3t-Pa55w0rd!" in secrets
    cells = [str(cell) for column in batch.columns for cell in column.to_pylist()]
    for secret in secrets:
        for cell in cells:
            assert secret not in cell
    # and not in the serialised bytes either
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    raw = sink.getvalue().to_pybytes()
    for secret in secrets:
        assert secret.encode() not in raw


def test_environment_names_sorted_and_items_not_mutated() -> None:
    items = _items("list_functions_page1.json")
    before = json.dumps(items, sort_keys=True)
    batch = function_batch(TARGET, SNAPSHOT, items)
    assert json.dumps(items, sort_keys=True) == before
    names = batch.column("environment_variable_names").to_pylist()[0]
    assert names == sorted(names)


def test_items_may_be_a_generator() -> None:
    batch = function_batch(TARGET, SNAPSHOT, (item for item in _items("list_functions_page1.json")))
    assert batch.num_rows == 2


def test_rows_keep_item_order() -> None:
    batch = function_batch(TARGET, SNAPSHOT, _all_items())
    assert batch.column("function_name").to_pylist() == [
        "orders-api",
        "thumbnailer",
        "nightly-report",
        "kms-broken",
        "demo-fn-0",
    ]


def test_moto_page(batch: pa.RecordBatch) -> None:
    row = _rows(batch)["demo-fn-0"]
    assert row["runtime"] == "python3.11"
    assert row["layer_arns"] == []
    assert row["vpc_id"] is None
    assert row["code_size"] == 262


def test_large_code_size_fits_int64() -> None:
    (row,) = function_batch(TARGET, SNAPSHOT, [{"FunctionName": "big", "CodeSize": 10 * 2**30}]).to_pylist()
    assert row["code_size"] == 10 * 2**30


@pytest.mark.parametrize("tags", [(), ("a",), ("env:prod", "team:x", "cost:1")])
def test_account_tags(tags: tuple[str, ...]) -> None:
    target = Target(Account("111111111111", "n", tags, "arn:aws:iam::111111111111:role/R", None), "us-east-1")
    batch = function_batch(target, SNAPSHOT, [{"FunctionName": "f"}, {"FunctionName": "g"}])
    assert batch.column("account_tags").to_pylist() == [list(tags), list(tags)]


def test_empty_item_list_gives_empty_batch_with_same_schema() -> None:
    batch = function_batch(TARGET, SNAPSHOT, [])
    assert batch.num_rows == 0
    assert batch.schema.equals(INVENTORY_SCHEMA, check_metadata=True)
    assert batch.num_columns == len(INVENTORY_SCHEMA)
    assert pa.Table.from_batches([batch]).schema.equals(INVENTORY_SCHEMA)


def test_empty_page_fixture() -> None:
    page: dict[str, Any] = {"Functions": [], "ResponseMetadata": {"HTTPStatusCode": 200}}
    assert function_batch(TARGET, SNAPSHOT, page["Functions"]).num_rows == 0


def test_batches_of_different_targets_concatenate() -> None:
    other = Target(Account("333333333333", "dev", (), "arn:aws:iam::333333333333:role/R", "x"), "us-east-1")
    a = function_batch(TARGET, SNAPSHOT, _items("list_functions_page1.json"))
    b = function_batch(other, SNAPSHOT, _items("list_functions_moto.json"))
    c = function_batch(other, SNAPSHOT, [])
    table = pa.Table.from_batches([a, b, c])
    assert table.num_rows == 3
    assert table.column("account_id").to_pylist() == ["222222222222", "222222222222", "333333333333"]


# --- parse_lambda_time --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-10-30T18:27:32.783+0000", datetime(2019, 10, 30, 18, 27, 32, 783000, tzinfo=UTC)),
        ("2019-10-30T20:27:32.783+0200", datetime(2019, 10, 30, 18, 27, 32, 783000, tzinfo=UTC)),
        ("2019-10-30T18:27:32.783-0330", datetime(2019, 10, 30, 21, 57, 32, 783000, tzinfo=UTC)),
        ("2019-10-30T18:27:32+05:30", datetime(2019, 10, 30, 12, 57, 32, tzinfo=UTC)),
        ("2019-10-30T18:27:32.5+05:30", datetime(2019, 10, 30, 12, 57, 32, 500000, tzinfo=UTC)),
        ("2019-10-30T18:27:32-08:00", datetime(2019, 10, 31, 2, 27, 32, tzinfo=UTC)),
        ("2019-10-30T18:27:32Z", datetime(2019, 10, 30, 18, 27, 32, tzinfo=UTC)),
        ("2019-10-30T18:27:32", datetime(2019, 10, 30, 18, 27, 32, tzinfo=UTC)),  # no zone: UTC
        ("2019-10-30T18:27:32.783", datetime(2019, 10, 30, 18, 27, 32, 783000, tzinfo=UTC)),
        ("2026-11-28T11:55:26.113611000Z", datetime(2026, 11, 28, 11, 55, 26, 113611, tzinfo=UTC)),
        ("2026-11-28T11:55:26.1136119Z", datetime(2026, 11, 28, 11, 55, 26, 113611, tzinfo=UTC)),  # truncated
        ("2026-11-28T11:55:26.000000Z", datetime(2026, 11, 28, 11, 55, 26, tzinfo=UTC)),
        ("2020-02-29T23:30:00.000-0100", datetime(2020, 3, 1, 0, 30, 0, tzinfo=UTC)),
    ],
)
def test_parse_lambda_time(text: str, expected: datetime) -> None:
    value = parse_lambda_time(text)
    assert value == expected
    assert value is not None and value.tzinfo is not None and value.utcoffset() == timedelta(0)


def test_parse_lambda_time_keeps_the_instant() -> None:
    value = parse_lambda_time("2019-10-30T18:27:32.783+05:30")
    local = datetime(2019, 10, 30, 18, 27, 32, 783000, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert value == local


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "garbage",
        "2019-10-30",
        "2019-10-30 18:27:32.783+0000",  # space, not T
        "2019-10-30T18:27",
        "2019-10-30T18:27:32.783+00",
        "2019-10-30T18:27:32.783 UTC",
        "30/10/2019 18:27:32",
        " 2019-10-30T18:27:32Z",
        "2019-10-30T18:27:32.Z",
        1572460052,
        1572460052.783,
        datetime(2019, 10, 30, tzinfo=UTC),
        b"2019-10-30T18:27:32Z",
        ["2019-10-30T18:27:32Z"],
    ],
)
def test_parse_lambda_time_garbage_is_none(text: object) -> None:
    assert parse_lambda_time(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "2019-13-01T00:00:00.000+0000",  # month 13
        "2019-02-30T00:00:00.000+0000",  # 30 February
        "2019-10-30T25:00:00.000+0000",  # hour 25
        "2019-10-30T18:27:32.783+2400",  # offset out of range
    ],
)
def test_parse_lambda_time_impossible_values_are_none(text: str) -> None:
    # Shaped like a timestamp but not a real instant: garbage, so None (not an exception that would
    # escape function_batch and lose the whole target).
    assert parse_lambda_time(text) is None


def test_function_batch_survives_a_bad_timestamp() -> None:
    items = [{"FunctionName": "ok", "LastModified": "garbage"}, {"FunctionName": "also", "LastModified": None}]
    batch = function_batch(TARGET, SNAPSHOT, items)
    assert batch.column("last_modified").to_pylist() == [None, None]


# --- the schemas and their documentation --------------------------------------------------------------


def test_status_schema_columns() -> None:
    assert STATUS_SCHEMA.names == [
        "snapshot_time",
        "account_id",
        "account_name",
        "region",
        "status",
        "function_count",
        "pages",
        "retries",
        "error_code",
        "error_message",
        "duration_ms",
        "enrichments",
    ]
    assert STATUS_SCHEMA.field("function_count").nullable
    assert not STATUS_SCHEMA.field("status").nullable


def test_column_names_unique_and_snake_case() -> None:
    for schema in (INVENTORY_SCHEMA, STATUS_SCHEMA):
        assert len(set(schema.names)) == len(schema.names)
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in schema.names)


def _documented_columns() -> set[str]:
    """The column rows of the inventory and status sections; the tables beside them are test_estate_docs.py's."""
    text = DOCS.read_text(encoding="utf-8").partition("\n## Tables beside the inventory\n")[0]
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", text, flags=re.MULTILINE))


@pytest.mark.parametrize(
    "column",
    sorted(set(INVENTORY_SCHEMA.names) | set(STATUS_SCHEMA.names)),
)
def test_every_column_documented(column: str) -> None:
    assert DOCS.exists(), f"{DOCS} is missing"
    assert column in _documented_columns(), f"docs/schema.md has no row starting with | `{column}` |"


def test_docs_name_no_unknown_columns() -> None:
    assert DOCS.exists(), f"{DOCS} is missing"
    known = set(INVENTORY_SCHEMA.names) | set(STATUS_SCHEMA.names)
    assert _documented_columns() - known == set()


def test_function_batch_survives_an_impossible_timestamp() -> None:
    # A timestamp-shaped but impossible LastModified must not raise out of function_batch: collect.py calls it
    # outside its try block, so an exception here would escape the worker and abort the whole run.
    items = [{"FunctionName": "odd", "LastModified": "2019-02-30T00:00:00.000+0000"}]
    batch = function_batch(TARGET, SNAPSHOT, items)
    assert batch.column("last_modified").to_pylist() == [None]


# --- malformed items: the target fails naming the function and the field, never a silent gap or a crash ------


def _good() -> dict[str, Any]:
    return {
        "FunctionName": "good",
        "MemorySize": 128,
        "Architectures": ["x86_64"],
        "VpcConfig": {"SubnetIds": ["subnet-0abc"], "Ipv6AllowedForDualStack": False},
        "Layers": [{"Arn": "arn:aws:lambda:eu-west-1:123456789012:layer:shared:3"}],
        "Environment": {"Variables": {"B": "secret-b", "A": "secret-a"}},
    }


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("MemorySize", "128", "MemorySize is '128' (str), expected int32"),
        ("MemorySize", True, "MemorySize is True (bool), expected int32"),
        ("MemorySize", 2**40, "MemorySize is 1099511627776 (int), expected int32"),
        ("CodeSize", "big", "CodeSize is 'big' (str), expected int64"),
        ("Runtime", 3.12, "Runtime is 3.12 (float), expected text"),
        ("LastModified", 1700000000, "LastModified is 1700000000 (int), expected text"),
        ("Architectures", "x86_64", "Architectures is 'x86_64' (str), expected a list of strings"),  # not x,8,6,...
        ("Architectures", [1], "Architectures is [1] (list), expected a list of strings"),
        ("VpcConfig", "vpc-1", "VpcConfig is 'vpc-1' (str), expected an object"),
        ("VpcConfig", {"SubnetIds": "subnet-1"}, "VpcConfig.SubnetIds is 'subnet-1' (str), expected a list of strings"),
        (
            "VpcConfig",
            {"Ipv6AllowedForDualStack": "no"},
            "VpcConfig.Ipv6AllowedForDualStack is 'no' (str), expected bool",
        ),
        ("Layers", "shared", "Layers is 'shared' (str), expected a list of objects"),
        ("Layers", [{"Arn": 7}], "Layers[0].Arn is 7 (int), expected text"),
        ("Environment", "A=1", "Environment is not an object"),
        ("Environment", {"Variables": ["A"]}, "Environment.Variables is not an object"),
        # the members the model-coverage test added
        ("Layers", [{"Arn": "arn:1", "CodeSize": "9MB"}], "Layers[0].CodeSize is '9MB' (str), expected int64"),
        ("Layers", [{"Arn": "a"}, {"SigningJobArn": 1}], "Layers[1].SigningJobArn is 1 (int), expected text"),
        (
            "FileSystemConfigs",
            [{"Arn": "a", "S3FilesConfig": {"DirectS3Read": True}}],
            "FileSystemConfigs[0].S3FilesConfig.DirectS3Read is True (bool), expected text",
        ),
        (
            "ImageConfigResponse",
            {"ImageConfig": {"Command": "python app.py"}},
            "ImageConfigResponse.ImageConfig.Command is 'python app.py' (str), expected a list of strings",
        ),
        (
            "ImageConfigResponse",
            {"ImageConfig": {"WorkingDirectory": ["/var/task"]}},
            "ImageConfigResponse.ImageConfig.WorkingDirectory is ['/var/task'] (list), expected text",
        ),
        (
            "CapacityProviderConfig",
            {"LambdaManagedInstancesCapacityProviderConfig": {"ExecutionEnvironmentMemoryGiBPerVCpu": "2"}},
            "CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig.ExecutionEnvironmentMemoryGiBPerVCpu"
            " is '2' (str), expected a number",
        ),
        (
            "DurableConfig",
            {"RetentionPeriodInDays": "14"},
            "DurableConfig.RetentionPeriodInDays is '14' (str), expected int32",
        ),
        ("TenancyConfig", "PER_TENANT", "TenancyConfig is 'PER_TENANT' (str), expected an object"),
        ("Environment", {"Error": "denied"}, "Environment.Error is not an object"),
        ("Environment", {"Error": {"ErrorCode": 403}}, "Environment.Error.ErrorCode is not text"),
    ],
)
def test_a_wrongly_typed_field_names_the_function_and_field(field: str, value: Any, problem: str) -> None:
    bad = {**_good(), "FunctionName": "orders-007", field: value}
    with pytest.raises(InvalidItem) as err:
        function_batch(TARGET, SNAPSHOT, [_good(), _good(), bad])
    assert str(err.value) == f"ListFunctions item 2 (FunctionName 'orders-007'): {problem}"
    assert "secret-" not in str(err.value)


@pytest.mark.parametrize(("item", "kind"), [(None, "NoneType"), ([1, 2], "list"), ("orders", "str"), (5, "int")])
def test_an_item_that_is_not_an_object_is_named_by_its_index(item: Any, kind: str) -> None:
    with pytest.raises(InvalidItem, match=rf"^ListFunctions item 1 is a {kind}, not an object$"):
        function_batch(TARGET, SNAPSHOT, [_good(), item])


def test_an_item_without_a_name_is_named_by_its_index() -> None:
    with pytest.raises(InvalidItem, match=r"^ListFunctions item 0: Timeout is '3' \(str\), expected int32$"):
        function_batch(TARGET, SNAPSHOT, [{"Timeout": "3"}])


def test_a_split_string_is_told_from_well_typed_single_character_values() -> None:
    """Arrow turns "x86_64" into ["x", "8", "6", ...]; a real one-character element must not be blamed."""
    single = {**_good(), "FunctionName": "single", "Architectures": ["a"], "VpcConfig": {"SecurityGroupIds": ["b"]}}
    split = {**_good(), "FunctionName": "split", "VpcConfig": {"SecurityGroupIds": "sg-0123"}}
    with pytest.raises(InvalidItem) as err:
        function_batch(TARGET, SNAPSHOT, [single, split])
    assert str(err.value) == (
        "ListFunctions item 1 (FunctionName 'split'): "
        "VpcConfig.SecurityGroupIds is 'sg-0123' (str), expected a list of strings"
    )
    batch = function_batch(TARGET, SNAPSHOT, [single])
    assert batch.column("architectures").to_pylist() == [["a"]]
    assert batch.column("security_group_ids").to_pylist() == [["b"]]


def _nested(path: str, value: Any) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    return {head: _nested(rest, value) if rest else value}


# Environment.Variables is read as an object of names: test_a_wrongly_typed_field... covers a string there.
@pytest.mark.parametrize(
    "path",
    [
        path
        for _, kind, path in FUNCTION_COLUMNS
        if kind == pa.list_(pa.string()) and "[]" not in path and not path.startswith("Environment.")
    ],
)
def test_a_string_for_any_list_of_strings_is_refused_not_split(path: str) -> None:
    """Arrow would split "abc" into ["a", "b", "c"]: every list<string> column is guarded, not only the old ones."""
    bad = {**_good(), "FunctionName": "split", **_nested(path, "abc")}
    with pytest.raises(InvalidItem, match=rf"FunctionName 'split'\): {re.escape(path)} is 'abc' \(str\)"):
        function_batch(TARGET, SNAPSHOT, [_good(), bad])


def test_no_environment_value_reaches_any_new_column(batch: pa.RecordBatch) -> None:
    text = str(batch.to_pylist())
    for value in _env_values(_all_items()):
        assert value not in text
