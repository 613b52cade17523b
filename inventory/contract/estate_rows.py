"""An estate table's rows for one target, typed: the read's items (contract/results.py's EstateRow) to Arrow.

Only the members named in estate_columns.py are read, so a newer API's extra members cannot break a run. A
value that does not fit its column (text for a count, a count past int32) is refused with `EstateValueError`
naming the table, the row and the member; contract/rows.py then fails that enrichment for that target alone
(`InvalidValue`), as it does for the function columns' enrichments. Lists and maps are never null: absent is
empty. Timestamps arrive as epoch seconds (REST-JSON `timestamp` members) or as Lambda's text form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, partial
from itertools import chain
from typing import Any

import pyarrow as pa

from inventory.contract.enrichment_columns import unstorable
from inventory.contract.estate import ESTATE, EstateTable
from inventory.contract.items import fits, is_text
from inventory.contract.results import EnrichmentOutcome, EstateRow, Status
from inventory.contract.schema import parse_lambda_time
from inventory.contract.target import Target

_SHOWN = 60


class EstateValueError(ValueError):
    """An item's member that its column cannot hold; the message names table, row and member (value cut short)."""


@dataclass(frozen=True)
class EstateValues:
    """One target's rows of one estate table, read and checked but not yet Arrow: one list of Python values per
    column of the table's schema, in its order. Typed many targets at a time (`estate_batch`): one `pa.array`
    per column per few thousand rows, not per target (~0.25 ms for each target's table of ~50 columns)."""

    table: str
    rows: int
    columns: tuple[list[Any], ...] = field(repr=False)


def target_estate(
    target: Target, snapshot_time: datetime, outcomes: Sequence[EnrichmentOutcome]
) -> tuple[tuple[EnrichmentOutcome, ...], tuple[EstateValues, ...]]:
    """Every ok enrichment's estate tables that have rows for `target`, read and checked, and the outcomes as
    they will be written: one with a value its table cannot hold is failed (`InvalidValue`) and writes no rows.
    Every value is checked here, so that typing many targets' values at once cannot fail."""
    written: list[EnrichmentOutcome] = []
    parts: list[EstateValues] = []
    for outcome in outcomes:
        if outcome.status is not Status.OK or not outcome.tables:
            written.append(outcome)
            continue
        try:
            values = [  # a table read empty has no row to write: nothing to read (most account-regions)
                estate_values(ESTATE[name], target, snapshot_time, rows)
                for name, rows in outcome.tables.items()
                if rows
            ]
        except EstateValueError as err:
            written.append(unstorable(outcome, err))
            continue
        written.append(outcome)
        parts.extend(values)
    return tuple(written), tuple(parts)


def estate_values(
    table: EstateTable, target: Target, snapshot_time: datetime, rows: Sequence[EstateRow]
) -> EstateValues:
    """The rows of `table` read for `target`, each value checked against its column (EstateValueError if not)."""
    account = target.account
    count = len(rows)
    columns: list[list[Any]] = [
        [snapshot_time] * count,
        [account.account_id] * count,
        [account.name] * count,
        [target.region] * count,
    ]
    for index, key in enumerate(table.keys):
        columns.append(_texts(table, key, [row.keys[index] for row in rows]))
    items = [row.item for row in rows]
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise EstateValueError(f"{table.operation} item {index} is a {type(item).__name__}, not an object")
    for read in _readers(table.name):
        columns.append(_values(table, read, items))
    for name, kind, _ in table.judged:  # a policy's verdict, read with the table or after it; null where not read
        judged = [row.judged.get(name) for row in rows]
        if not all(fits(value, kind) for value in judged):
            raise EstateValueError(f"{table.name}.{name}: a verdict its column cannot hold")
        columns.append(judged)
    return EstateValues(table.name, count, tuple(columns))


def estate_batch(table: EstateTable, parts: Sequence[EstateValues]) -> pa.Table:
    """The values of many targets (`estate_values`, each checked) as one table of `table`'s schema. Every value
    was checked against its column, so an error here is the job's own (EstateValueError, which stops the run)."""
    arrays = [
        _array(table, kind.name, kind.type, list(chain.from_iterable(part.columns[index] for part in parts)))
        for index, kind in enumerate(table.schema)
    ]
    return pa.Table.from_arrays(arrays, schema=table.schema)


def _texts(table: EstateTable, name: str, values: list[Any]) -> list[Any]:
    if not all(value is None or is_text(value) for value in values):
        raise EstateValueError(f"{table.name}.{name}: a key that is not text")
    return values


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
        is_text(k) and fits(v, kind.item_type) and v is not None for k, v in value.items()
    ):
        raise _Refused(path, value, f"an object of {kind.item_type}")
    return sorted(value.items())


def _text_of(path: str, value: Any) -> str:
    if not is_text(value):
        raise _Refused(path, value, "string")
    text: str = value
    return text


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
