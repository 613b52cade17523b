"""A column read for many items at once equals the same column read item by item: the same values, or Refused
where one item does not fit (contract/estate_readers.py), on generated items of every estate table, hostile
values among them."""

from __future__ import annotations

import random
from typing import Any

import pyarrow as pa
import pytest
from support.estate_items import generated_items

from inventory.contract.estate import ESTATE
from inventory.contract.estate_readers import Column, Refused, column


def _one_by_one(read: Column, items: list[dict[str, Any]]) -> Any:
    try:
        return [read.one(item) for item in items]
    except Refused as err:
        return ("refused", err.path)


def _at_once(read: Column, items: list[dict[str, Any]]) -> Any:
    try:
        return read.many(items)
    except Refused as err:
        return ("refused", err.path)


@pytest.mark.parametrize("table", sorted(ESTATE))
@pytest.mark.parametrize("hostile", [0.0, 0.02, 0.3])
def test_a_column_read_at_once_equals_it_read_item_by_item(table: str, hostile: float) -> None:
    rng = random.Random(f"{table}-{hostile}")
    columns = ESTATE[table].columns
    readers = [(path, column(path, kind)) for _, kind, path in columns]
    refused = read = 0
    for _ in range(300):
        items = generated_items(columns, rng, hostile)
        for path, reader in readers:
            expected = _one_by_one(reader, items)
            got = _at_once(reader, items)
            assert repr(got) == repr(expected), (table, path, items)  # repr: NaN equals itself, types show
            refused += isinstance(expected, tuple)
            read += not isinstance(expected, tuple) and any(value not in (None, []) for value in expected)
    assert read, "no column read a value"
    if hostile >= 0.3:
        assert refused, "no hostile value was refused"
    if hostile == 0.0:
        assert not refused


def test_present_values_are_checked_together_as_one_by_one() -> None:
    """The bulk checks' edges: bool is not an int, int ranges, a lone surrogate in any string, None in a list."""
    cases: list[tuple[pa.DataType, list[Any]]] = [
        (pa.int32(), [1, True]),
        (pa.int32(), [2**31 - 1, -(2**31)]),
        (pa.int32(), [2**31]),
        (pa.int64(), [2**63]),
        (pa.string(), ["ok", "caf\u00e9", "\ud83d"]),
        (pa.string(), ["\ud83d", "\ude00"]),  # two halves in two strings do not make a pair
        (pa.list_(pa.string()), [["a", None]]),
        (pa.list_(pa.string()), [["a"], "ab"]),
        (pa.bool_(), [False, 0]),
    ]
    for kind, values in cases:
        reader = column("Member", kind)
        items = [{"Member": value} for value in values]
        assert repr(_at_once(reader, items)) == repr(_one_by_one(reader, items)), (kind, values)
    assert _at_once(column("Member", pa.string()), [{"Member": "\ud83d"}, {}]) == ("refused", "Member")
    assert _at_once(column("Member", pa.int32()), [{"Member": 2**31 - 1}, {}]) == [2**31 - 1, None]
