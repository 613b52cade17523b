"""Generated items of an estate table's columns, hostile values among them (tests/contract/test_estate_readers.py,
test_estate_rows.py): a member present in ~40% of items, a share `hostile` of them a value no column should take
as it is, and sometimes a member on the way that is not an object."""

from __future__ import annotations

import random
from collections import UserDict
from typing import Any

import pyarrow as pa

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


def generated_items(columns: Any, rng: random.Random, hostile: float) -> list[dict[str, Any]]:
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
