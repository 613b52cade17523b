"""An estate table's rows for one target, typed: the read's items (contract/results.py's EstateRow) to Arrow.

Only the members named in estate_columns.py are read, so a newer API's extra members cannot break a run. A
value that does not fit its column (text for a count, a count past int32) is refused with `EstateValueError`
naming the table, the row and the member; contract/rows.py then fails that enrichment for that target alone
(`InvalidValue`), as it does for the function columns' enrichments. Lists and maps are never null: absent is
empty. Timestamps arrive as epoch seconds (REST-JSON `timestamp` members) or as Lambda's text form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from itertools import chain
from typing import Any

import pyarrow as pa

from inventory.contract.enrichment_columns import unstorable
from inventory.contract.estate import ESTATE, EstateTable
from inventory.contract.estate_readers import Column, Refused, column
from inventory.contract.items import fits, is_text
from inventory.contract.results import EnrichmentOutcome, EstateRow, Status
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


def many_targets_estate(
    parts: Sequence[tuple[Target, Sequence[EnrichmentOutcome]]], snapshot_time: datetime
) -> tuple[list[tuple[EnrichmentOutcome, ...]], list[EstateValues]]:
    """`target_estate` of many targets at once: each table's rows of every target read together (one walk of each
    column for all of them, not one per target: ~80 us a table's column in a run of mostly small account-regions).
    Where any value does not fit, each target is read on its own (`target_estate`), so that only the targets
    with such a value fail their enrichment, with the message target_estate gives."""
    groups: dict[str, list[tuple[Target, Sequence[EstateRow]]]] = {}
    for target, outcomes in parts:
        for outcome in outcomes:
            if outcome.status is Status.OK:
                for name, rows in outcome.tables.items():
                    if rows:
                        groups.setdefault(name, []).append((target, rows))
    try:
        values = [_values_of(ESTATE[name], snapshot_time, found) for name, found in groups.items()]
    except EstateValueError:
        each = [target_estate(target, snapshot_time, outcomes) for target, outcomes in parts]
        return [written for written, _ in each], [value for _, found in each for value in found]
    return [tuple(outcomes) for _, outcomes in parts], values


def estate_values(
    table: EstateTable, target: Target, snapshot_time: datetime, rows: Sequence[EstateRow]
) -> EstateValues:
    """The rows of `table` read for `target`, each value checked against its column (EstateValueError if not)."""
    return _values_of(table, snapshot_time, [(target, rows)])


def _values_of(
    table: EstateTable, snapshot_time: datetime, groups: Sequence[tuple[Target, Sequence[EstateRow]]]
) -> EstateValues:
    """The rows of `table` read for one or more targets, in order, each value checked against its column."""
    rows = [row for _, found in groups for row in found]
    count = len(rows)
    columns: list[list[Any]] = [
        [snapshot_time] * count,
        _repeated([(target.account.account_id, len(found)) for target, found in groups]),
        _repeated([(target.account.name, len(found)) for target, found in groups]),
        _repeated([(target.region, len(found)) for target, found in groups]),
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


def _repeated(runs: list[tuple[Any, int]]) -> list[Any]:
    """Each target's value once per row of it."""
    return [value for value, count in runs for _ in range(count)]


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


def _values(table: EstateTable, read: Column, items: list[Mapping[str, Any]]) -> list[Any]:
    try:
        return read.many(items)
    except Refused:
        for index, item in enumerate(items):  # which item: the error path only
            try:
                read.one(item)
            except Refused as err:
                raise _refused(table, index, err.path, err.value, err.expected) from None
        raise


def _array(table: EstateTable, name: str, kind: pa.DataType, values: list[Any]) -> pa.Array:
    try:
        return pa.array(values, kind)
    except (pa.ArrowException, OverflowError, TypeError, ValueError) as err:
        raise EstateValueError(f"{table.name}.{name} cannot hold a value read: {type(err).__name__}") from err


@cache
def _readers(name: str) -> tuple[Column, ...]:
    return tuple(column(path, kind) for _, kind, path in ESTATE[name].columns)


def _refused(table: EstateTable, index: int, path: str, value: Any, expected: str) -> EstateValueError:
    text = repr(value)
    text = text if len(text) <= _SHOWN else f"{text[:_SHOWN]}..."
    return EstateValueError(f"{table.operation} item {index}: {path} is {text}, expected {expected}")
