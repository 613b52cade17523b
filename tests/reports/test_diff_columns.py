"""Which columns `diff` compares: every column of the schema but those diff_columns.EXCLUDED names (with the
reason), each change shown old -> new, a fact held twice counted once, and a column a snapshot lacks left out.

CHANGES has one sample change per compared column: a column added to the schema fails
test_every_schema_column_is_compared_or_excluded until it has a sample here or an exclusion there.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from diff_inventory import BASE_STATUS, EAST, NEW_TIME, OLD_TIME, PROD, WEST, diff, fn, write

from inventory.contract.columns import ADDED_COLUMNS
from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.readers.snapshot import load_snapshot
from inventory.reports.diff import Category, diff_snapshots
from inventory.reports.diff_columns import (
    DETAILED,
    ENRICHMENT_OF,
    EXCLUDED,
    STATUS_COLUMNS,
    UNORDERED,
    compared_columns,
    compared_enrichments,
)
from inventory.reports.diff_public import PUBLIC_ACTIONS


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


ROLE_A, ROLE_B = f"arn:aws:iam::{PROD}:role/a", f"arn:aws:iam::{PROD}:role/b"
LAYER = f"arn:aws:lambda:{EAST}:{PROD}:layer:otel:3"
KEY_A, KEY_B = f"arn:aws:kms:{EAST}:{PROD}:key/a", f"arn:aws:kms:{EAST}:{PROD}:key/b"
QUEUE = f"arn:aws:sqs:{EAST}:{PROD}:dlq"


def _same(value: Any) -> tuple[Any, Any, str, str]:
    """A text column: old -> new shown as they are."""
    return value, f"{value}-2", value, f"{value}-2"


def _number(before: Any, after: Any) -> tuple[Any, Any, str, str]:
    return before, after, str(before), str(after)


def _layer(size: int) -> dict[str, Any]:
    return {"arn": LAYER, "code_size": size, "signing_profile_version_arn": None, "signing_job_arn": None}


def _shown_layer(size: int) -> str:
    return f'[{{"arn": "{LAYER}", "code_size": {size}, "signing_profile_version_arn": null, "signing_job_arn": null}}]'


CHANGES: dict[str, tuple[Any, Any, str, str]] = {  # field: (old value, new value, old shown, new shown)
    "runtime": ("python3.9", "python3.12", "python3.9", "python3.12"),
    "handler": ("app.handler", "evil.handler", "app.handler", "evil.handler"),
    "package_type": ("Zip", "Image", "Zip", "Image"),
    "architectures": (["x86_64"], ["arm64"], '["x86_64"]', '["arm64"]'),
    "role": (ROLE_A, ROLE_B, ROLE_A, ROLE_B),
    "code_size": _number(1024, 2048),
    "code_sha256": ("b2xk", "bmV3", "b2xk", "bmV3"),
    "memory_size": _number(128, 1024),
    "timeout": _number(3, 30),
    "ephemeral_storage_mb": _number(512, 10240),
    "description": ("old words", "new words", "old words", "new words"),
    "master_arn": (
        None,
        "arn:aws:lambda:us-east-1:111111111111:function:edge",
        "",
        "arn:aws:lambda:us-east-1:111111111111:function:edge",
    ),
    "vpc_id": (None, "vpc-1", "", "vpc-1"),
    "subnet_ids": (["subnet-a"], ["subnet-a", "subnet-b"], '["subnet-a"]', '["subnet-a", "subnet-b"]'),
    "security_group_ids": (["sg-1"], ["sg-2"], '["sg-1"]', '["sg-2"]'),
    "ipv6_allowed_for_dual_stack": (False, True, "false", "true"),
    "tracing_mode": ("PassThrough", "Active", "PassThrough", "Active"),
    "snap_start_apply_on": ("None", "PublishedVersions", "None", "PublishedVersions"),
    "snap_start_optimization_status": ("Off", "On", "Off", "On"),
    "log_format": ("Text", "JSON", "Text", "JSON"),
    "log_group": _same("/aws/lambda/f"),
    "application_log_level": ("INFO", "DEBUG", "INFO", "DEBUG"),
    "system_log_level": ("INFO", "WARN", "INFO", "WARN"),
    "kms_key_arn": (KEY_A, KEY_B, KEY_A, KEY_B),
    "dead_letter_target_arn": (QUEUE, None, QUEUE, ""),
    "signing_profile_version_arn": _same("arn:signer:1"),
    "signing_job_arn": _same("arn:job:1"),
    "environment_variable_names": (
        ["LOG_LEVEL"],
        ["DB_HOST", "LOG_LEVEL"],
        '["LOG_LEVEL"]',
        '["DB_HOST", "LOG_LEVEL"]',
    ),
    "layers": ([_layer(100)], [_layer(200)], _shown_layer(100), _shown_layer(200)),
    "file_system_configs": (
        [],
        [{"arn": "fsap", "local_mount_path": "/mnt/x", "s3_files_direct_read": None}],
        "[]",
        '[{"arn": "fsap", "local_mount_path": "/mnt/x", "s3_files_direct_read": null}]',
    ),
    "image_entry_point": ([], ["/entry.sh"], "[]", '["/entry.sh"]'),
    "image_command": (["a.handler"], ["b.handler"], '["a.handler"]', '["b.handler"]'),
    "image_working_directory": ("/var/task", "/app", "/var/task", "/app"),
    "image_config_error_code": (None, "InvalidImage", "", "InvalidImage"),
    "environment_error_code": (None, "AccessDeniedException", "", "AccessDeniedException"),
    "capacity_provider_arn": (None, "arn:cp", "", "arn:cp"),
    "capacity_provider_max_concurrency": _number(1, 4),
    "capacity_provider_memory_gib_per_vcpu": _number(2.0, 4.5),
    "durable_retention_period_days": _number(14, 30),
    "durable_execution_timeout": _number(60, 120),
    "durable_kms_key_arn": (None, KEY_B, "", KEY_B),
    "runtime_config_arn": ("arn:rt:1", "arn:rt:2", "arn:rt:1", "arn:rt:2"),
    "runtime_config_alias": _same("alias"),
    "accelerator_memory_gb": (None, 16, "", "16"),
    "tenant_isolation_mode": (None, "PER_TENANT", "", "PER_TENANT"),
    # the enrichments' columns (their rows name the enrichment in `enriched`)
    "tags": ([("team", "payments")], [("team", "intruder")], '{"team": "payments"}', '{"team": "intruder"}'),
    "url_auth_types": ([], ["NONE"], "[]", '["NONE"]'),
    "public_invoke": (False, True, "false", "true"),
    "invoke_principals": ([], ["*"], "[]", '["*"]'),
    "reserved_concurrency": (None, 0, "", "0"),
    "public_url": (False, True, "false", "true"),
    "code_signing_config_arn": (None, "arn:csc:1", "", "arn:csc:1"),
}
if PUBLIC_ACTIONS in INVENTORY_SCHEMA.names:  # the policy enrichment's list of actions anyone may perform
    CHANGES[PUBLIC_ACTIONS] = ([], ["lambda:InvokeFunction"], "[]", '["lambda:InvokeFunction"]')


def test_every_schema_column_is_compared_or_excluded() -> None:
    compared, excluded = set(compared_columns()), set(EXCLUDED)
    assert not compared & excluded
    assert compared | excluded == set(INVENTORY_SCHEMA.names)
    missing = sorted(compared - set(CHANGES))
    assert not missing, f"compared without a sample change in CHANGES (or exclude it in EXCLUDED): {missing}"
    assert set(CHANGES) == compared
    assert all(reason.strip() for reason in EXCLUDED.values())


def test_every_status_column_is_accounted_for() -> None:
    assert set(STATUS_COLUMNS) == set(STATUS_SCHEMA.names)


def test_the_column_rules_name_real_columns() -> None:
    lists = {f.name for f in INVENTORY_SCHEMA if str(f.type).startswith("list")}
    assert lists >= UNORDERED
    assert set(DETAILED) | set(DETAILED.values()) <= lists
    assert set(ENRICHMENT_OF) <= set(INVENTORY_SCHEMA.names)
    assert compared_enrichments() == ("tags", "urls", "policy", "concurrency")  # usage changes every run


def test_the_issues_columns_are_compared() -> None:
    """Issue 20: subnets, security groups, KMS key, dead-letter target, handler and tracing were not compared."""
    wanted = {"subnet_ids", "security_group_ids", "kms_key_arn", "dead_letter_target_arn", "handler", "tracing_mode"}
    assert wanted <= set(compared_columns())
    assert {"tags", "public_invoke", "url_auth_types"} <= set(compared_columns())


def _row(field: str, value: Any) -> dict[str, Any]:
    read = [ENRICHMENT_OF[field]] if field in ENRICHMENT_OF else []
    return fn(PROD, EAST, "f", enriched=read, **{field: value})


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_each_compared_field_change_is_reported_old_to_new(field: str) -> None:
    before, after, shown_before, shown_after = CHANGES[field]
    result = diff(([_row(field, before)], BASE_STATUS), ([_row(field, after)], BASE_STATUS))
    (change,) = result.changes
    assert change.category is Category.CHANGED
    assert [(f.field, f.old, f.new) for f in change.fields] == [(field, shown_before, shown_after)]


@pytest.mark.parametrize("field", sorted(set(CHANGES) - set(ENRICHMENT_OF)))
def test_each_change_survives_a_csv_round_trip(field: str) -> None:
    before, after, shown_before, shown_after = CHANGES[field]
    result = diff(([_row(field, before)], BASE_STATUS), ([_row(field, after)], BASE_STATUS), "csv")
    assert [(f.field, f.old, f.new) for c in result.changes for f in c.fields] == [(field, shown_before, shown_after)]


KEYS = {"account_id", "region", "function_arn", "version", "function_name"}  # change them and it is another function
SAMPLES: dict[str, tuple[Any, Any]] = {  # column type -> two different values
    "string": ("a", "b"),
    "list<item: string>": (["a"], ["b"]),
    "int64": (1, 2),
    "int32": (1, 2),
    "date32[day]": (date(2026, 11, 1), date(2026, 11, 27)),
    "timestamp[us, tz=UTC]": (OLD_TIME, NEW_TIME),
}


@pytest.mark.parametrize("field", sorted(set(EXCLUDED) - KEYS))
def test_an_excluded_column_alone_is_no_change(field: str) -> None:
    before, after = SAMPLES[str(INVENTORY_SCHEMA.field(field).type)]
    old, new = fn(PROD, EAST, "f", **{field: before}), fn(PROD, EAST, "f", **{field: after})
    if field in ("invocations_30d", "last_invocation_day"):  # read, and still not compared
        old, new = ({**row, "enriched": ["usage"]} for row in (old, new))
    write(Path("old.parquet"), [old], BASE_STATUS, OLD_TIME)
    write(Path("new.parquet"), [new], BASE_STATUS, NEW_TIME)
    before_rows = load_snapshot("old.parquet")
    assert (
        before_rows.functions.column(field).to_pylist()
        != load_snapshot("new.parquet").functions.column(field).to_pylist()
    )
    result = diff_snapshots(before_rows, load_snapshot("new.parquet"))
    assert result.changes == () and result.unchanged == 1


def test_a_layer_change_counts_once() -> None:
    """`layer_arns` is each `layers` element's arn: a layer added shows as one change, of `layers`."""
    other = f"arn:aws:lambda:{EAST}:{PROD}:layer:secrets:1"
    layers = [_layer(100), {**_layer(5), "arn": other}]
    old = fn(PROD, EAST, "f", layer_arns=[LAYER], layers=layers[:1])
    new = fn(PROD, EAST, "f", layer_arns=[LAYER, other], layers=layers)
    (change,) = diff(([old], BASE_STATUS), ([new], BASE_STATUS)).changes
    assert [f.field for f in change.fields] == ["layers"]


def test_a_list_of_structs_in_the_same_order_is_unchanged() -> None:
    layers = [{"arn": LAYER, "code_size": 1, "signing_profile_version_arn": None, "signing_job_arn": "j"}]
    old, new = fn(PROD, EAST, "f", layers=layers), fn(PROD, EAST, "f", layers=[dict(layers[0])])
    assert diff(([old], BASE_STATUS), ([new], BASE_STATUS)).changes == ()


def test_null_and_empty_are_the_same_and_set_like_lists_ignore_order() -> None:
    old = fn(PROD, EAST, "f", layers=None, runtime="", environment_variable_names=["B", "A"], subnet_ids=["s2", "s1"])
    new = fn(PROD, EAST, "f", layers=[], runtime=None, environment_variable_names=["A", "B"], subnet_ids=["s1", "s2"])
    tags = {"tags": [("a", "1"), ("b", "2")], "enriched": ["tags"]}
    old, new = {**old, **tags}, {**new, **tags, "tags": [("b", "2"), ("a", "1")]}
    result = diff(([old], BASE_STATUS), ([new], BASE_STATUS))
    assert result.changes == () and result.unchanged == 1


def test_layer_order_is_a_change() -> None:
    other = {**_layer(5), "arn": f"arn:aws:lambda:{EAST}:{PROD}:layer:secrets:1"}
    old, new = fn(PROD, EAST, "f", layers=[_layer(1), other]), fn(PROD, EAST, "f", layers=[other, _layer(1)])
    (change,) = diff(([old], BASE_STATUS), ([new], BASE_STATUS)).changes
    assert [f.field for f in change.fields] == ["layers"]


def _strip_added_columns(path: Path) -> None:
    """The file as written before the model-coverage columns and the enrichments (issue 12)."""
    if path.suffix == ".csv":  # the columns cut out of the text as written, so every other cell stays as it was
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        keep = [i for i, name in enumerate(rows[0]) if name not in ADDED_COLUMNS]
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([[row[i] for i in keep] for row in rows])
        path.write_text(out.getvalue(), encoding="utf-8")
    else:
        pq.write_table(pq.read_table(path).drop_columns(sorted(ADDED_COLUMNS)), path)


@pytest.mark.parametrize("ext", ["parquet", "csv"])
def test_a_column_an_older_snapshot_lacks_is_null_and_not_compared(ext: str) -> None:
    """A file written before the model-coverage columns: read with them null, and the first diff after the
    upgrade does not call every function changed from null to its new values. `layer_arns` stands in for
    `layers` there, so a layer added that night is still seen."""
    other = f"arn:aws:lambda:{EAST}:{PROD}:layer:secrets:1"
    write(Path(f"old.{ext}"), [fn(PROD, EAST, "f", timeout=3, layer_arns=[LAYER])], BASE_STATUS)
    new = fn(PROD, EAST, "f", timeout=9, tenant_isolation_mode="PER_TENANT", layer_arns=[LAYER, other])
    write(Path(f"new.{ext}"), [{**new, "layers": [_layer(1), {**_layer(2), "arn": other}]}], BASE_STATUS)
    _strip_added_columns(Path(f"old.{ext}"))
    old = load_snapshot(f"old.{ext}")
    assert old.absent_columns == ADDED_COLUMNS
    assert old.functions.schema.equals(INVENTORY_SCHEMA)
    assert old.functions.column("layers").to_pylist() == [None]
    result = diff_snapshots(old, load_snapshot(f"new.{ext}"))
    (change,) = result.changes
    assert [(f.field, f.old) for f in change.fields] == [("timeout", "3"), ("layer_arns", f'["{LAYER}"]')]
    assert "layers" not in result.columns and "tenant_isolation_mode" not in result.columns


def test_list_of_struct_columns_round_trip_through_csv() -> None:
    """CSV carries `layers` and `file_system_configs` as JSON arrays of objects; reading them back gives the
    typed list<struct> again, so a CSV snapshot diffs like a Parquet one."""
    layers = [{"arn": LAYER, "code_size": 7, "signing_profile_version_arn": None, "signing_job_arn": "=job"}]
    mounts = [{"arn": "fsap", "local_mount_path": "/mnt/x", "s3_files_direct_read": "AUTO"}]
    row = fn(PROD, WEST, "f", layers=layers, file_system_configs=mounts, capacity_provider_memory_gib_per_vcpu=2.5)
    write(Path("one.csv"), [row], BASE_STATUS)
    text = Path("one.csv").read_text(encoding="utf-8")
    assert '""code_size"": 7' in text  # JSON in the cell, not Python's repr
    back = load_snapshot("one.csv").functions.to_pylist()[0]
    assert back["layers"] == layers and back["file_system_configs"] == mounts
    assert back["capacity_provider_memory_gib_per_vcpu"] == 2.5
    assert diff(([row], BASE_STATUS), ([row], BASE_STATUS), "csv").changes == ()
