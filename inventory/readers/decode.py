"""A written inventory, status or beside file (Parquet or CSV bytes) decoded back into exactly the schema's types.

CSV's JSON columns become lists (of strings, or of objects for the list<struct> columns) and maps again; an
inventory written before a column was added reads with that column null. Used by snapshot.py and beside.py
(the tables beside an inventory: `kind` names one, and it has no columns added since it was first written).
"""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from inventory.contract.columns import ADDED_COLUMNS, ADDED_STATUS_COLUMNS
from inventory.contract.estate import EstateTable
from inventory.contract.layout import Format
from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.errors import SnapshotError
from inventory.redact import one_line


def _read_parquet(data: bytes) -> pa.Table:
    """One in-memory Parquet file, read by its file reader (`pq.read_table` would start a dataset scan)."""
    return pq.ParquetFile(pa.BufferReader(_arrow_owned(data))).read()


def _arrow_owned(data: bytes) -> pa.Buffer:
    """A copy of `data` in memory Arrow owns (one memcpy), for Arrow's readers to read from.

    Arrow's decoding threads may drop their last reference to the buffer they read after `read()` returned.
    When that buffer wraps a Python `bytes`, dropping it takes the GIL; a thread that asks for the GIL while
    the interpreter is exiting is ended by a forced unwind through a C++ destructor, and the process aborts
    after all the work is done ("terminate called without an active exception", exit 134; apache/arrow#34314).
    A core dump showed exactly that: a ThreadPool worker in ~PyBuffer during Py_FinalizeEx. Measured under
    load (6 loops of `report` on a file without its status file): 16 of 480 exits aborted before; 0 of 960 after."""
    sink = pa.BufferOutputStream()
    sink.write(data)
    return sink.getvalue()


def decode_table(
    data: bytes,
    fmt: Format,
    schema: pa.Schema,
    where: str,
    absent: set[str] | None = None,
    *,
    estate: EstateTable | None = None,
) -> pa.Table:
    """Parquet or CSV bytes -> a table of exactly `schema` (CSV's JSON-array columns back to lists). Columns
    added to the inventory after the file was written are null, and their names go into `absent`. `estate`:
    the file is that estate table's (its schema), whose judged columns came after its first columns."""
    kind = _kind(schema, estate)
    try:
        table = _read_parquet(data) if fmt is Format.PARQUET else _read_csv(data, schema)
    except (pa.ArrowException, OSError, ValueError) as err:
        raise SnapshotError(f"{where}: not readable as {kind} {fmt.value} file: {one_line(str(err))}") from err
    return conform(table, schema, where, absent, estate=estate)


def _kind(schema: pa.Schema, estate: EstateTable | None) -> str:
    if estate is not None:
        return f"the {estate.name} table's"
    if schema is INVENTORY_SCHEMA:
        return "an inventory"
    return "a status" if schema is STATUS_SCHEMA else "a table's"  # the last: runtimes


def conform(
    table: pa.Table, schema: pa.Schema, where: str, absent: set[str] | None = None, *, estate: EstateTable | None = None
) -> pa.Table:
    """A table read back (a file, or a lake's rows) -> exactly `schema`: columns added since it was written
    are null (or [] where the schema says never null), and their names go into `absent`. An estate table's
    added columns are its judged ones (read from a policy, added after the table's first release)."""
    kind = _kind(schema, estate)
    if estate is not None:
        added = frozenset(name for name, _, _ in estate.judged)
    else:
        added = (
            ADDED_COLUMNS
            if schema is INVENTORY_SCHEMA
            else ADDED_STATUS_COLUMNS
            if schema is STATUS_SCHEMA
            else frozenset()
        )
    for name in sorted(added - set(table.column_names)):  # a file written before a column was added: null
        field = schema.field(name)
        filler = pa.array([[]] * table.num_rows, field.type) if not field.nullable else None
        table = table.append_column(name, filler if filler is not None else pa.nulls(table.num_rows, field.type))
        if absent is not None:
            absent.add(name)
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise SnapshotError(f"{where}: not {kind} file: no column {', '.join(missing)}")
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowException, ValueError) as err:
        raise SnapshotError(f"{where}: not {kind} file: {one_line(str(err))}") from err


def _read_csv(data: bytes, schema: pa.Schema) -> pa.Table:
    lists = {field.name: field.type for field in schema if pa.types.is_list(field.type) or pa.types.is_map(field.type)}
    types = {field.name: pa.string() if field.name in lists else field.type for field in schema}
    # written by the job: null is an empty field, an empty string is "" (kept apart here)
    options = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False)
    table = pacsv.read_csv(pa.BufferReader(_arrow_owned(data)), convert_options=options)
    for index, name in enumerate(table.column_names):
        if name in lists:
            table = table.set_column(index, name, _json_lists(table.column(name), name, lists[name]))
    return table


def _json_lists(column: pa.ChunkedArray, name: str, kind: pa.DataType) -> pa.Array:
    if pa.types.is_map(kind):
        return _json_maps(column, name, kind)
    strings = pa.types.is_string(kind.value_type)
    values = []
    for text in column.to_pylist():
        try:
            value = None if text is None else orjson.loads(text)
        except orjson.JSONDecodeError:
            value = text
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) if strings else isinstance(v, dict) for v in value)
        ):
            what = "strings" if strings else "objects"
            raise ValueError(f"column {name}: {text[:40]!r} is not a JSON array of {what}")
        values.append(value)
    return pa.array(values, kind)  # objects: Arrow types their fields (a wrong type raises)


def _json_maps(column: pa.ChunkedArray, name: str, kind: pa.DataType) -> pa.Array:
    """A map column written as JSON objects (`{"team": "payments"}`) back to a map. A map of strings checks its
    values here; any other (an estate table's map of weights or of lists) is typed by Arrow (a wrong type raises)."""
    strings = pa.types.is_string(kind.item_type)
    values: list[list[tuple[str, Any]] | None] = []
    for text in column.to_pylist():
        try:
            value = None if text is None else orjson.loads(text)
        except orjson.JSONDecodeError:
            value = text
        if value is not None and not (
            isinstance(value, dict) and (not strings or all(isinstance(v, str) for v in value.values()))
        ):
            raise ValueError(f"column {name}: {text[:40]!r} is not a JSON object" + (" of strings" if strings else ""))
        values.append(None if value is None else list(value.items()))
    try:
        return pa.array(values, kind)
    except (pa.ArrowException, TypeError) as err:  # a value of another type (text for a number)
        raise ValueError(f"column {name}: not a JSON object of {kind.item_type}: {one_line(str(err))}") from err
