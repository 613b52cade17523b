"""Rows made for many targets at once (contract/rows.py) are the rows each target would have alone, in order; and
RowBuffer hands them to the sink a few thousand at a time, ending with whatever is left."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from support.batches import function_batch

from inventory.contract.results import Status, TargetResult
from inventory.contract.rows import RowBuffer, inventory_batch
from inventory.contract.schema import INVENTORY_SCHEMA
from inventory.contract.staged import staged_batch
from inventory.contract.target import Account, Target

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SNAPSHOT = datetime(2026, 11, 30, 2, 0, 0, 654321, tzinfo=UTC)


def _items(name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))["Functions"]
    return items


def _target(account_id: str, region: str, tags: tuple[str, ...] = ()) -> Target:
    account = Account(account_id, f"name-{account_id}", tags, f"arn:aws:iam::{account_id}:role/R", None)
    return Target(account, region)


PAGES = {
    _target("222222222222", "eu-west-1", ("env:prod",)): _items("list_functions_page1.json"),
    _target("222222222222", "us-east-1", ("env:prod",)): [],  # listed, no functions
    _target("333333333333", "eu-west-1"): _items("list_functions_moto.json"),
    _target("444444444444", "ap-south-1", ("a", "b")): _items("list_functions_page2.json"),
}


def _part(target: Target, items: list[dict[str, Any]], chunk: int = 1) -> TargetResult:
    """A listed target's staged items, in chunks (as a long listing stages them every CHUNK_FUNCTIONS items)."""
    staged = tuple(staged_batch(items[i : i + chunk]) for i in range(0, max(1, len(items)), chunk))
    return TargetResult(target, Status.OK, len(items), staged, 1, 0, 0.0)


def test_rows_of_many_targets_are_each_targets_own_rows_in_order() -> None:
    together = inventory_batch([_part(target, items) for target, items in PAGES.items()], SNAPSHOT)
    alone = [function_batch(target, SNAPSHOT, items) for target, items in PAGES.items()]
    assert together.schema == INVENTORY_SCHEMA
    assert together.num_rows == sum(len(items) for items in PAGES.values()) > 0
    assert pa.Table.from_batches([together]).equals(pa.Table.from_batches(alone, schema=INVENTORY_SCHEMA))


def test_no_parts_no_rows() -> None:
    assert inventory_batch([], SNAPSHOT).num_rows == 0
    assert inventory_batch([_part(_target("555555555555", "eu-west-1"), [])], SNAPSHOT).num_rows == 0


def test_the_buffer_writes_every_few_thousand_rows_then_the_rest() -> None:
    written: list[pa.RecordBatch] = []
    buffer = RowBuffer(written.append, SNAPSHOT, rows=3)
    parts = [_part(target, items) for target, items in PAGES.items()]  # 2, 0, 1 and 2 rows
    for part in parts:
        buffer.add([part])
    assert [batch.num_rows for batch in written] == [3]  # written once it held 3 or more
    buffer.flush()
    buffer.flush()  # nothing left: nothing more written
    assert [batch.num_rows for batch in written] == [3, 2]
    expected = inventory_batch(parts, SNAPSHOT)
    assert pa.Table.from_batches(written).equals(pa.Table.from_batches([expected]))
