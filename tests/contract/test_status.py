"""The status file's rows (contract/status.py), made from the job's own results (contract/results.py's TargetResult)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from inventory.contract.results import Status, TargetResult
from inventory.contract.schema import STATUS_SCHEMA
from inventory.contract.status import status_table
from inventory.contract.target import Account, Target

SNAPSHOT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _account(account_id: str) -> Account:
    return Account(account_id, f"name-{account_id}", (), f"arn:aws:iam::{account_id}:role/R", None)


def ok(account_id: str, region: str, count: int = 3, *, pages: int = 1, retries: int = 0) -> TargetResult:
    return TargetResult(Target(_account(account_id), region), Status.OK, count, (), pages, retries, 0.25)


def skipped(account_id: str, region: str) -> TargetResult:
    code, message = "UnrecognizedClientException", "region not enabled for this account (The security token ...)"
    return TargetResult(Target(_account(account_id), region), Status.SKIPPED, None, (), 0, 0, 0.01, code, message)


def failed(account_id: str, region: str, code: str = "AccessDenied", retries: int = 0) -> TargetResult:
    message = f"AssumeRole failed: not authorized ({code})"
    return TargetResult(Target(_account(account_id), region), Status.FAILED, None, (), 0, retries, 1.5, code, message)


MIXED = [
    ok("333333333333", "us-east-1", 5, pages=2, retries=1),
    failed("555555555555", "eu-west-1"),
    ok("222222222222", "eu-west-1", 0),
    skipped("333333333333", "ap-east-1"),
    ok("222222222222", "us-east-1", 7, retries=2),
    failed("555555555555", "us-east-1", "TooManyRequestsException", retries=7),
]


def test_status_words_are_the_contract() -> None:
    assert [s.value for s in Status] == ["ok", "skipped", "failed"]


def test_status_table_schema_and_rows() -> None:
    table = status_table(MIXED, SNAPSHOT)
    assert isinstance(table, pa.Table)
    assert table.schema.equals(STATUS_SCHEMA)
    assert table.num_rows == len(MIXED)


def test_status_table_sorted_by_account_then_region() -> None:
    table = status_table(MIXED, SNAPSHOT)
    keys = list(zip(table.column("account_id").to_pylist(), table.column("region").to_pylist(), strict=True))
    assert keys == [
        ("222222222222", "eu-west-1"),
        ("222222222222", "us-east-1"),
        ("333333333333", "ap-east-1"),
        ("333333333333", "us-east-1"),
        ("555555555555", "eu-west-1"),
        ("555555555555", "us-east-1"),
    ]


def test_status_table_row_values() -> None:
    rows = {(r["account_id"], r["region"]): r for r in status_table(MIXED, SNAPSHOT).to_pylist()}
    assert rows[("333333333333", "us-east-1")] == {
        "snapshot_time": SNAPSHOT,
        "account_id": "333333333333",
        "account_name": "name-333333333333",
        "region": "us-east-1",
        "status": "ok",
        "function_count": 5,
        "pages": 2,
        "retries": 1,
        "error_code": None,
        "error_message": None,
        "duration_ms": 250,
        "enrichments": [],
    }
    zero = rows[("222222222222", "eu-west-1")]
    assert zero["status"] == "ok" and zero["function_count"] == 0  # a real zero, not null
    skip = rows[("333333333333", "ap-east-1")]
    assert skip["status"] == "skipped" and skip["function_count"] is None
    assert skip["error_code"] == "UnrecognizedClientException"
    fail = rows[("555555555555", "us-east-1")]
    assert fail["status"] == "failed" and fail["function_count"] is None
    assert fail["error_code"] == "TooManyRequestsException"
    assert fail["retries"] == 7
    assert fail["duration_ms"] == 1500


@pytest.mark.parametrize(("seconds", "ms"), [(0.0, 0), (0.0004, 0), (0.0016, 2), (1.2344, 1234), (61.0, 61000)])
def test_status_duration_ms(seconds: float, ms: int) -> None:
    result = TargetResult(Target(_account("111111111111"), "us-east-1"), Status.OK, 1, (), 1, 0, seconds)
    (row,) = status_table([result], SNAPSHOT).to_pylist()
    assert row["duration_ms"] == ms


def test_status_table_empty() -> None:
    table = status_table([], SNAPSHOT)
    assert table.num_rows == 0
    assert table.schema.equals(STATUS_SCHEMA)


def test_status_table_does_not_reorder_input() -> None:
    results = list(MIXED)
    status_table(results, SNAPSHOT)
    assert results == MIXED
