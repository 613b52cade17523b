"""An estate table's rows for one target, typed: the read's items (contract/results.py's EstateRow) to Arrow.

Only the members named in estate_columns.py are read, so a newer API's extra members cannot break a run. A
value that does not fit its column (text for a count, a count past int32) is refused with `EstateValueError`
naming the table, the row and the member; contract/rows.py then fails that enrichment for that target alone
(`InvalidValue`), as it does for the function columns' enrichments. Lists and maps are never null: absent is
empty. Timestamps arrive as epoch seconds (REST-JSON `timestamp` members) or as Lambda's text form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
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
    for name, kind, path in table.columns:
        columns.append(
            _array(table, name, kind, [_checked(table, i, row.item, path, kind) for i, row in enumerate(rows)])
        )
    for name, kind, _ in table.judged:  # a policy's verdict, read with the table or after it; null where not read
        columns.append(_array(table, name, kind, [row.judged.get(name) for row in rows]))
    return pa.Table.from_arrays(columns, schema=table.schema)


def _array(table: EstateTable, name: str, kind: pa.DataType, values: list[Any]) -> pa.Array:
    try:
        return pa.array(values, kind)
    except (pa.ArrowException, OverflowError, TypeError, ValueError) as err:
        raise EstateValueError(f"{table.name}.{name} cannot hold a value read: {type(err).__name__}") from err


def _checked(table: EstateTable, index: int, item: Mapping[str, Any], path: str, kind: pa.DataType) -> Any:
    try:
        return _value(table, index, item, path, kind)
    except _NotAnObject as err:
        raise _refused(table, index, err.path, err.value, "an object") from None


def _value(table: EstateTable, index: int, item: Mapping[str, Any], path: str, kind: pa.DataType) -> Any:
    if not isinstance(item, Mapping):
        raise EstateValueError(f"{table.operation} item {index} is a {type(item).__name__}, not an object")
    outer, brace, inner = path.partition("{")
    if brace:  # 'A[]{X,Y}': a list of objects, those members of each
        elements = _at(item, outer.removesuffix("[]"))
        names = inner.rstrip("}").split(",")
        value = [] if elements is None else elements
        if not isinstance(value, list) or not all(isinstance(e, Mapping) for e in value):
            raise _refused(table, index, outer, value, "a list of objects")
        fields = kind.value_type
        return [{f.name: _leaf(table, index, e, n, f.type) for n, f in zip(names, fields, strict=True)} for e in value]
    head, many, rest = path.partition("[].")
    if many:  # 'A[].B': member B of every element of the list of objects A
        value = _at(item, head)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(e, Mapping) for e in value):
            raise _refused(table, index, head, value, "a list of objects")
        return [_leaf(table, index, element, rest, kind.value_type) for element in value]
    return _leaf(table, index, item, path, kind)


def _leaf(table: EstateTable, index: int, item: Mapping[str, Any], path: str, kind: pa.DataType) -> Any:
    value = _at(item, path)
    if value is None:
        return [] if pa.types.is_list(kind) or pa.types.is_map(kind) else None
    if pa.types.is_timestamp(kind):
        moment = _moment(value)
        if moment is None:
            raise _refused(table, index, path, value, "a time")
        return moment
    if pa.types.is_map(kind):
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and fits(v, kind.item_type) and v is not None for k, v in value.items()
        ):
            raise _refused(table, index, path, value, f"an object of {kind.item_type}")
        return sorted(value.items())
    if not fits(value, kind):
        raise _refused(table, index, path, value, str(kind))
    return value


def _at(item: Mapping[str, Any], path: str) -> Any:
    """The member at a dotted path; None where a member on the way is absent. `_NotAnObject` where a member on the
    way is there but is not an object."""
    value: Any = item
    for depth, part in enumerate(path.split(".")):
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise _NotAnObject(".".join(path.split(".")[:depth]), value)
        value = value.get(part)
    return value


class _NotAnObject(Exception):
    def __init__(self, path: str, value: Any) -> None:
        super().__init__(path)
        self.path, self.value = path, value


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
