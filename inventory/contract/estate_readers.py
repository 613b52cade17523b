"""Each estate column's reader, made once per table from its path (estate_columns.py's syntax): the values read
from the items and checked against the column, or `Refused` naming the member.

A column is read for all of a target's items at once (`Column.many`): the path walked with one list comprehension
per member, and the present values checked together (types, int ranges, UTF-8 text) without a Python call per
value. Most members of most items are absent; read item by item, value by value, this was ~8% of the job's CPU
with the per-account-region tables. Where anything is unusual (a member on the way that is not an object, a value
that does not fit, a list of objects present), the column is read item by item (`Column.one`): the same values,
or `Refused` at the first item that does not fit. tests/contract/test_estate_readers.py holds the two ways equal
on generated and hostile items.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pyarrow as pa

from inventory.contract.items import fits, is_text
from inventory.contract.schema import parse_lambda_time

Item = Mapping[str, Any]
Reader = Callable[[Item], Any]
Check = Callable[[Any], Any]
_INT_RANGES = {pa.int32(): 2**31, pa.int64(): 2**63}


class Refused(Exception):
    """A member's value its column cannot hold: where, what it is, and what was expected."""

    def __init__(self, path: str, value: Any, expected: str) -> None:
        super().__init__(path)
        self.path, self.value, self.expected = path, value, expected


@dataclass(frozen=True)
class Column:
    """One column's reader: `one` item's value, or `many` items' values at once (the same, or Refused)."""

    one: Reader
    many: Callable[[list[Item]], list[Any]]


def column(path: str, kind: pa.DataType) -> Column:
    """The reader of the column at `path` ('A.B', 'A[].B' or 'A[]{X,Y}') of type `kind`."""
    outer, brace, inner = path.partition("{")
    if brace:  # 'A[]{X,Y}': a list of objects, those members of each
        head = outer.removesuffix("[]")
        return _listed(head, _objects(head, inner.rstrip("}").split(","), kind.value_type))
    head, many, rest = path.partition("[].")
    if many:  # 'A[].B': member B of every element of the list of objects A
        return _listed(head, _each(head, _leaf(rest, kind.value_type)))
    return _leaves(path, kind)


def _leaves(path: str, kind: pa.DataType) -> Column:
    """A column of one member per item (at a dotted path): walked and checked for all items at once."""
    parts, empty, check, bulk = path.split("."), _empty(kind), _check(path, kind), _bulk(kind)
    one = partial(_one_leaf, _getter(path), empty, check)

    def many(items: list[Item]) -> list[Any]:
        values = _walk(parts, items)
        if values is None:  # a member on the way is not an object: item by item finds which
            return [one(item) for item in items]
        if bulk([value for value in values if value is not None]):  # every present value fits as it is
            return values if empty is None else [empty if value is None else value for value in values]
        return [empty if value is None else check(value) for value in values]

    return Column(one, many)


def _one_leaf(at: Reader, empty: Any, check: Check, item: Item) -> Any:
    value = at(item)
    return empty if value is None else check(value)


def _walk(parts: list[str], items: list[Item]) -> list[Any] | None:
    """The member at the path of every item (None where absent on the way); None where one on the way is there
    but is not a dict."""
    first = parts[0]
    values = [item.get(first) for item in items]
    for part in parts[1:]:
        if not all(value is None or type(value) is dict for value in values):
            return None
        values = [None if value is None else value.get(part) for value in values]
    return values


def _listed(head: str, one: Reader) -> Column:
    """A list-of-objects column: empty for every item where the list is absent from all (most), else read item by
    item."""
    parts = head.split(".")

    def many(items: list[Item]) -> list[Any]:
        heads = _walk(parts, items)
        if heads is not None and all(value is None for value in heads):
            return [[] for _ in items]
        return [one(item) for item in items]

    return Column(one, many)


# --- the present values of a column checked together: True when each fits as it is --------------------------


def _bulk(kind: pa.DataType) -> Callable[[list[Any]], bool]:
    if kind in _INT_RANGES:
        return partial(_ints, _INT_RANGES[kind])
    if kind == pa.string():
        return _texts
    if pa.types.is_boolean(kind):
        return _booleans
    if pa.types.is_list(kind) and kind.value_type == pa.string():
        return _lists_of_texts
    return _never  # timestamps are converted, maps sorted, floats rare: value by value


def _ints(bound: int, values: list[Any]) -> bool:
    return all(type(value) is int for value in values) and (
        not values or (-bound <= min(values) and max(values) < bound)
    )


def _texts(values: list[Any]) -> bool:
    if not all(type(value) is str for value in values):
        return False
    joined = "".join(values)  # Python never pairs surrogates across strings: a lone one stays unencodable
    return joined.isascii() or is_text(joined)


def _booleans(values: list[Any]) -> bool:
    return all(type(value) is bool for value in values)


def _lists_of_texts(values: list[Any]) -> bool:
    return all(type(value) is list for value in values) and _texts([text for value in values for text in value])


def _never(values: list[Any]) -> bool:
    return not values


# --- one item's value, member by member -----------------------------------------------------------------------


def _each(head: str, leaf: Reader) -> Reader:
    elements = _getter(head)

    def each(item: Item) -> Any:
        value = elements(item)
        return [] if value is None else [leaf(element) for element in _objects_in(head, value)]

    return each


def _objects(path: str, names: list[str], fields: pa.DataType) -> Reader:
    elements = _getter(path)
    members = [(field.name, _leaf(name, field.type)) for name, field in zip(names, fields, strict=True)]

    def read(item: Item) -> Any:
        value = elements(item)
        return [{name: leaf(e) for name, leaf in members} for e in _objects_in(path, [] if value is None else value)]

    return read


def _objects_in(path: str, value: Any) -> list[Item]:
    if not isinstance(value, list) or not all(isinstance(e, Mapping) for e in value):
        raise Refused(path, value, "a list of objects")
    return value


def _leaf(path: str, kind: pa.DataType) -> Reader:
    return partial(_one_leaf, _getter(path), _empty(kind), _check(path, kind))


def _empty(kind: pa.DataType) -> list[Any] | None:
    return [] if pa.types.is_list(kind) or pa.types.is_map(kind) else None


def _check(path: str, kind: pa.DataType) -> Check:
    if pa.types.is_timestamp(kind):
        return partial(_time_of, path)
    if pa.types.is_map(kind):
        return partial(_pairs_of, path, kind)
    if kind == pa.string():
        return partial(_text_of, path)
    return partial(_fitting, path, kind)


def _time_of(path: str, value: Any) -> datetime:
    moment = _moment(value)
    if moment is None:
        raise Refused(path, value, "a time")
    return moment


def _pairs_of(path: str, kind: pa.DataType, value: Any) -> list[tuple[str, Any]]:
    if not isinstance(value, Mapping) or not all(
        is_text(k) and fits(v, kind.item_type) and v is not None for k, v in value.items()
    ):
        raise Refused(path, value, f"an object of {kind.item_type}")
    return sorted(value.items())


def _text_of(path: str, value: Any) -> str:
    if not is_text(value):
        raise Refused(path, value, "string")
    text: str = value
    return text


def _fitting(path: str, kind: pa.DataType, value: Any) -> Any:
    if not fits(value, kind):
        raise Refused(path, value, str(kind))
    return value


def _getter(path: str) -> Reader:
    """The member at a dotted path; None where a member on the way is absent; refused where a member on the way
    is there but is not an object."""
    parts = path.split(".")
    if len(parts) == 1:
        key = parts[0]
        return lambda item: item.get(key)

    def at(item: Item) -> Any:
        value: Any = item
        for depth, part in enumerate(parts):
            if value is None:
                return None
            if not isinstance(value, Mapping):
                raise Refused(".".join(parts[:depth]), value, "an object")
            value = value.get(part)
        return value

    return at


def _moment(value: Any) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_lambda_time(value)
