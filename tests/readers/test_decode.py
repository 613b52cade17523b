"""decode.py: Arrow's readers read a copy Arrow owns, never the Python bytes they were given."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from inventory.contract.layout import Format
from inventory.contract.schema import STATUS_SCHEMA
from inventory.readers.decode import _arrow_owned, decode_table


def _parquet(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def test_the_buffer_read_is_a_copy_not_the_python_bytes() -> None:
    # A worker thread dropping the last reference to a buffer over Python memory needs the GIL; at interpreter
    # exit that aborts the process (exit 134). A copy in Arrow's memory needs no GIL to be freed.
    data = _parquet(STATUS_SCHEMA.empty_table())
    owned = _arrow_owned(data)
    assert owned.to_pybytes() == data
    assert owned.address != pa.py_buffer(data).address


def test_parquet_and_csv_decode_through_the_copy() -> None:
    empty = STATUS_SCHEMA.empty_table()
    assert decode_table(_parquet(empty), Format.PARQUET, STATUS_SCHEMA, "x.status.parquet").equals(empty)
    header = ",".join(STATUS_SCHEMA.names).encode() + b"\n"
    assert decode_table(header, Format.CSV, STATUS_SCHEMA, "x.status.csv").num_rows == 0
