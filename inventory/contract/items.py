"""ListFunctions items checked one by one, in Python: the slow path schema.py takes only when Arrow refused a
batch or accepted something suspect, to name the first bad item (its FunctionName or index) and field.

Fields are given as (path, Arrow type) with schema.FUNCTION_COLUMNS' path syntax: `VpcConfig.SubnetIds`,
`Layers[].Arn` (a list<struct> column is checked field by field: `Layers[].CodeSize` as
list<int64>). None (absent) always fits: every column is nullable. A value is never shown in full (at most
60 characters), and Environment is never looked at here (schema.py reads only its variable names).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

_INT64 = 2**63
_INT_RANGES = {pa.int32(): 2**31, pa.int64(): _INT64}
_FLOATS = (pa.float32(), pa.float64())
_SHOWN = 60


class InvalidItem(ValueError):
    """A ListFunctions item the inventory cannot type: the message names the item and the field."""


def describe_item(index: int, item: Mapping[str, Any]) -> str:
    name = item.get("FunctionName")
    where = f"ListFunctions item {index}"
    return f"{where} (FunctionName {name!r})" if isinstance(name, str) else where


def check_items(items: Sequence[Any], fields: Sequence[tuple[str, pa.DataType]]) -> InvalidItem | None:
    """InvalidItem for the first item that is not an object or has a field that does not fit, else None."""
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            return InvalidItem(f"ListFunctions item {index} is a {type(item).__name__}, not an object")
        for path, kind in fields:
            problem = _field_problem(item, path, kind)
            if problem is not None:
                return InvalidItem(f"{describe_item(index, item)}: {problem}")
    return None


def fits(value: Any, kind: pa.DataType) -> bool:
    """Whether one JSON value stands for `kind` as it is (no bool for an int, no float, no text for a list)."""
    if value is None:
        return True
    if kind in _INT_RANGES:
        return type(value) is int and -_INT_RANGES[kind] <= value < _INT_RANGES[kind]
    if kind in _FLOATS:  # Arrow takes an int for a float through int64
        return (type(value) is int and -_INT64 <= value < _INT64) or type(value) is float
    if pa.types.is_boolean(kind):
        return isinstance(value, bool)
    if pa.types.is_list(kind):
        return isinstance(value, list) and all(fits(element, kind.value_type) for element in value)
    return is_text(value)  # strings, and timestamps (which arrive as text)


def is_text(value: Any) -> bool:
    """A str Arrow can store: UTF-8 encodable (no lone surrogate, which Python's json module lets through)."""
    if type(value) is not str:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _field_problem(item: Mapping[str, Any], path: str, kind: pa.DataType, where: str = "") -> str | None:
    """What is wrong with the field at `path` of one item (or of one element of a list of objects), or None."""
    *parents, leaf = path.split(".")
    value: Any = item
    for depth, part in enumerate(parents):
        where = f"{where}.{part}" if where else part
        value = value.get(part.removesuffix("[]"))
        if value is None:
            return None
        if part.endswith("[]"):  # a list of objects: the rest of the path in each element
            if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
                return _shown(where[:-2], value, pa.list_(pa.struct([])))
            rest = ".".join([*parents[depth + 1 :], leaf])
            for j, element in enumerate(value):
                problem = _field_problem(element, rest, kind.value_type, f"{where[:-2]}[{j}]")
                if problem is not None:
                    return problem
            return None
        if not isinstance(value, Mapping):
            return _shown(where, value, pa.struct([]))
    value = value.get(leaf)
    return None if fits(value, kind) else _shown(f"{where}.{leaf}" if where else leaf, value, kind)


def _shown(path: str, value: Any, kind: pa.DataType) -> str:
    text = repr(value)
    text = text if len(text) <= _SHOWN else f"{text[:_SHOWN]}..."
    return f"{path} is {text} ({type(value).__name__}), expected {_expected(kind)}"


def _expected(kind: pa.DataType) -> str:
    if pa.types.is_struct(kind):
        return "an object"
    if pa.types.is_list(kind):
        return "a list of objects" if pa.types.is_struct(kind.value_type) else "a list of strings"
    if kind in _FLOATS:
        return "a number"
    return "text" if pa.types.is_string(kind) or pa.types.is_timestamp(kind) else str(kind)
