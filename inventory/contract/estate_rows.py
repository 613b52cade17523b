"""An estate table's rows for one target, typed: the read's items (contract/results.py's EstateRow) to Arrow.

Only the members named in estate_columns.py are read, so a newer API's extra members cannot break a run. A
value that does not fit its column (text for a count, a count past int32) is refused with `EstateValueError`
naming the table, the row and the member; contract/rows.py then fails that enrichment for that target alone
(`InvalidValue`), as it does for the function columns' enrichments. Lists and maps are never null: absent is
empty. Timestamps arrive as epoch seconds (REST-JSON `timestamp` members) or as Lambda's text form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache, partial
from typing import Any

import pyarrow as pa

from inventory.contract.enrichment_columns import unstorable
from inventory.contract.estate import ESTATE, EstateTable
from inventory.contract.items import fits
from inventory.contract.results import EnrichmentOutcome, EstateRow, Status
from inventory.contract.schema import parse_lambda_time
from inventory.contract.target import Target

_TS = pa.timestamp("us", tz="UTC")
_SHOWN = 60


class EstateValueError(ValueError):
    """An item's member that its column cannot hold; the message names table, row and member (value cut short)."""


def target_estate(
    target: Target, snapshot_time: datetime, outcomes: Sequence[EnrichmentOutcome]
) -> tuple[tuple[EnrichmentOutcome, ...], tuple[tuple[str, pa.Table], ...]]:
    """Every ok enrichment's estate tables that have rows for `target`, typed, and the outcomes as they will be
    written: one with a value its table cannot hold is failed (`InvalidValue`) and writes no rows."""
    written: list[EnrichmentOutcome] = []
    tables: list[tuple[str, pa.Table]] = []
    for outcome in outcomes:
        if outcome.status is not Status.OK or not outcome.tables:
            written.append(outcome)
            continue
        try:
            typed = [  # a table read empty has no row to write: nothing to type (most account-regions)
                (name, estate_table(ESTATE[name], target, snapshot_time, rows))
                for name, rows in outcome.tables.items()
                if rows
            ]
        except EstateValueError as err:
            written.append(unstorable(outcome, err))
            continue
        written.append(outcome)
        tables.extend(typed)
    return tuple(written), tuple(tables)


def estate_table(table: EstateTable, target: Target, snapshot_time: datetime, rows: Sequence[EstateRow]) -> pa.Table:
    """The rows of `table` read for `target`, typed as its schema says."""
    account = target.account
    count = len(rows)
    columns: list[pa.Array] = [
        pa.array([snapshot_time] * count, _TS),
        pa.array([account.account_id] * count, pa.string()),
        pa.array([account.name] * count, pa.string()),
        pa.array([target.region] * count, pa.string()),
    ]
    for index, _ in enumerate(table.keys):
        columns.append(pa.array([row.keys[index] for row in rows], pa.string()))
    items = [row.item for row in rows]
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise EstateValueError(f"{table.operation} item {index} is a {type(item).__name__}, not an object")
    for (name, kind, _), read in zip(table.columns, _readers(table.name), strict=True):
        columns.append(_array(table, name, kind, _values(table, read, items)))
    for name, kind, _ in table.judged:  # a policy's verdict, read with the table or after it; null where not read
        columns.append(_array(table, name, kind, [row.judged.get(name) for row in rows]))
    return pa.Table.from_arrays(columns, schema=table.schema)


def _values(table: EstateTable, read: Reader, items: list[Mapping[str, Any]]) -> list[Any]:
    try:
        return [read(item) for item in items]
    except _Refused:
        for index, item in enumerate(items):  # which item: the error path only
            try:
                read(item)
            except _Refused as err:
                raise _refused(table, index, err.path, err.value, err.expected) from None
        raise


def _array(table: EstateTable, name: str, kind: pa.DataType, values: list[Any]) -> pa.Array:
    try:
        return pa.array(values, kind)
    except (pa.ArrowException, OverflowError, TypeError, ValueError) as err:
        raise EstateValueError(f"{table.name}.{name} cannot hold a value read: {type(err).__name__}") from err


# --- each column's reader, made once per table from its path (estate_columns.py) ------------------------------

Reader = Callable[[Mapping[str, Any]], Any]


class _Refused(Exception):
    """A member's value its column cannot hold: where, what it is, and what was expected."""

    def __init__(self, path: str, value: Any, expected: str) -> None:
        super().__init__(path)
        self.path, self.value, self.expected = path, value, expected


@cache
def _readers(name: str) -> tuple[Reader, ...]:
    return tuple(_reader(path, kind) for _, kind, path in ESTATE[name].columns)


def _reader(path: str, kind: pa.DataType) -> Reader:
    outer, brace, inner = path.partition("{")
    if brace:  # 'A[]{X,Y}': a list of objects, those members of each
        return _objects(outer.removesuffix("[]"), inner.rstrip("}").split(","), kind.value_type)
    head, many, rest = path.partition("[].")
    if many:  # 'A[].B': member B of every element of the list of objects A
        elements, leaf = _getter(head), _leaf(rest, kind.value_type)

        def each(item: Mapping[str, Any]) -> Any:
            value = elements(item)
            return [] if value is None else [leaf(element) for element in _objects_in(head, value)]

        return each
    return _leaf(path, kind)


def _objects(path: str, names: list[str], fields: pa.DataType) -> Reader:
    elements = _getter(path)
    members = [(field.name, _leaf(name, field.type)) for name, field in zip(names, fields, strict=True)]

    def read(item: Mapping[str, Any]) -> Any:
        value = elements(item)
        return [{name: leaf(e) for name, leaf in members} for e in _objects_in(path, [] if value is None else value)]

    return read


def _objects_in(path: str, value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(e, Mapping) for e in value):
        raise _Refused(path, value, "a list of objects")
    return value


def _leaf(path: str, kind: pa.DataType) -> Reader:
    at = _getter(path)
    empty: list[Any] | None = [] if pa.types.is_list(kind) or pa.types.is_map(kind) else None
    if pa.types.is_timestamp(kind):
        check: Callable[[Any], Any] = partial(_time_of, path)
    elif pa.types.is_map(kind):
        check = partial(_pairs_of, path, kind)
    elif kind == pa.string():
        check = partial(_text_of, path)
    else:
        check = partial(_fitting, path, kind)

    def read(item: Mapping[str, Any]) -> Any:
        value = at(item)
        return empty if value is None else check(value)

    return read


def _time_of(path: str, value: Any) -> datetime:
    moment = _moment(value)
    if moment is None:
        raise _Refused(path, value, "a time")
    return moment


def _pairs_of(path: str, kind: pa.DataType, value: Any) -> list[tuple[str, Any]]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and fits(v, kind.item_type) and v is not None for k, v in value.items()
    ):
        raise _Refused(path, value, f"an object of {kind.item_type}")
    return sorted(value.items())


def _text_of(path: str, value: Any) -> str:
    if type(value) is not str:
        raise _Refused(path, value, "string")
    return value


def _fitting(path: str, kind: pa.DataType, value: Any) -> Any:
    if not fits(value, kind):
        raise _Refused(path, value, str(kind))
    return value


def _getter(path: str) -> Reader:
    """The member at a dotted path; None where a member on the way is absent; refused where a member on the way
    is there but is not an object."""
    parts = path.split(".")
    if len(parts) == 1:
        key = parts[0]
        return lambda item: item.get(key)

    def at(item: Mapping[str, Any]) -> Any:
        value: Any = item
        for depth, part in enumerate(parts):
            if value is None:
                return None
            if not isinstance(value, Mapping):
                raise _Refused(".".join(parts[:depth]), value, "an object")
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


def _refused(table: EstateTable, index: int, path: str, value: Any, expected: str) -> EstateValueError:
    text = repr(value)
    text = text if len(text) <= _SHOWN else f"{text[:_SHOWN]}..."
    return EstateValueError(f"{table.operation} item {index}: {path} is {text}, expected {expected}")
