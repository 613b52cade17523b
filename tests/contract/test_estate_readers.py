"""A column read for many items at once equals the same column read item by item: the same values, or Refused
where one item does not fit (contract/estate_readers.py), on generated items of every estate table, hostile
values among them."""

from __future__ import annotations

import random
from collections import UserDict
from typing import Any

import pyarrow as pa
import pytest

from inventory.contract.estate import ESTATE
from inventory.contract.estate_readers import Column, Refused, column

_HOSTILE: list[Any] = [
    True, 0, -1, 2**31, -(2**31) - 1, 2**63, 1.5, float("nan"), "", "text", "caf\u00e9", "\ud800", "x\udfff",
    [], ["a"], ["a", None], ["\ud800"], [1], {}, {"k": "v"}, {"k": 1.0}, {"\ud800": 1}, {"k": None}, [{}],
    [{"Type": "t", "URI": "u"}], [{"Attribute": "a"}], "2019-10-30T18:27:32.783+0000", 1_700_000_000, 10**20,
]  # fmt: skip


def _good(kind: pa.DataType, rng: random.Random) -> Any:
    if kind == pa.int32():
        return rng.choice([0, 1, 10_000, 2**31 - 1, -(2**31)])
    if kind == pa.int64():
        return rng.choice([0, 7, 2**63 - 1])
    if kind == pa.bool_():
        return rng.choice([True, False])
    if pa.types.is_timestamp(kind):
        return rng.choice([1_700_000_000, 1_700_000_000.25, "2019-10-30T18:27:32.783+0000"])
    if kind == pa.float64():
        return rng.choice([0.5, 1, 0.0])
    if pa.types.is_map(kind):
        return {f"k{n}": _good(kind.item_type, rng) for n in range(rng.randint(0, 3))}
    if pa.types.is_list(kind) and pa.types.is_struct(kind.value_type):  # 'A[]{X,Y}': the members by name
        return [{"Type": "T", "URI": "u"}] * rng.randint(0, 2)
    if pa.types.is_list(kind):
        return [_good(kind.value_type, rng) for _ in range(rng.randint(0, 3))]
    return rng.choice(["", "arn:aws:lambda:eu-west-1:1:function:f", "\u00e9t\u00e9"])


def _put(item: dict[str, Any], path: str, value: Any, rng: random.Random, hostile: float) -> None:
    parts = path.partition("{")[0].replace("[]", "").split(".")
    if "[]." in path:  # 'A[].B': elements holding B
        head, _, rest = path.partition("[].")
        parts, value = head.split("."), [{rest: value}] * rng.randint(1, 2)
    for part in parts[:-1]:
        if rng.random() < hostile / 4:  # a member on the way that is not an object
            item[part] = rng.choice(["text", 3, ["x"], UserDict({"a": 1})])
            return
        item = item.setdefault(part, {}) if isinstance(item.get(part, {}), dict) else {}
    item[parts[-1]] = value


def _items(columns: Any, rng: random.Random, hostile: float) -> list[dict[str, Any]]:
    items = []
    for _ in range(rng.randint(0, 12)):
        item: dict[str, Any] = {}
        for _, kind, path in columns:
            if rng.random() < 0.4:
                member = kind.value_type if "[]." in path else kind  # 'A[].B': B of each element
                value = rng.choice(_HOSTILE) if rng.random() < hostile else _good(member, rng)
                _put(item, path, value, rng, hostile)
        items.append(item)
    return items


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
        items = _items(columns, rng, hostile)
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
