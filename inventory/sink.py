"""Stage 6: write the inventory and its status file, atomically, streaming rows as targets finish.

Both files are written under temporary names in the destination directory and renamed into place only
when the run completes, so a crash never leaves a torn file under the final name. The temporary files are
opened before the first AWS call, which doubles as the check that the destination is writable.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from inventory.errors import OutputError
from inventory.schema import INVENTORY_SCHEMA

ROW_GROUP_ROWS = 65_536


class Format(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"

    @classmethod
    def from_path(cls, path: Path) -> Format:
        return cls.CSV if path.suffix.lower() == ".csv" else cls.PARQUET


def resolve_output(output: str, fmt: Format | None) -> tuple[Path, Format]:
    """A directory (existing, or written with a trailing slash) gets `inventory.<format>` inside it."""
    path = Path(output)
    if output.endswith(("/", os.sep)) or path.is_dir():
        chosen = fmt or Format.PARQUET
        return path / f"inventory.{chosen.value}", chosen
    return path, fmt or Format.from_path(path)


def status_path(path: Path, fmt: Format) -> Path:
    """out/inventory.parquet -> out/inventory.status.parquet"""
    return path.with_name(f"{path.stem}.status.{fmt.value}")


def csv_ready(table: pa.Table) -> pa.Table:
    """CSV has no lists: encode list columns as JSON arrays (`["x86_64"]`, empty list `[]`)."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_list(field.type):
            encoded = [None if v is None else json.dumps(v) for v in column.to_pylist()]
            columns.append(pa.chunked_array([pa.array(encoded, pa.string())], pa.string()))
        else:
            columns.append(column)
    names = table.schema.names
    return pa.Table.from_arrays(columns, names=names)


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


class _Writer(Protocol):
    def write_table(self, table: pa.Table) -> None: ...
    def close(self) -> None: ...


def _open_writer(handle: Any, schema: pa.Schema, fmt: Format) -> _Writer:
    if fmt is Format.PARQUET:
        writer: _Writer = pq.ParquetWriter(handle, schema, compression="zstd")
    else:
        writer = pacsv.CSVWriter(handle, csv_ready(schema.empty_table()).schema)
    return writer


class AtomicTableFile:
    """One output file: a temp file beside the destination, renamed over it on commit."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: Format) -> None:
        self.path = path
        self._schema = schema
        self._fmt = fmt
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                raise OutputError(f"{path}: is a directory")
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as err:
            raise OutputError(f"{path}: cannot write output: {err.strerror or err}") from err
        self._tmp = Path(tmp)
        os.chmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; the final file gets the usual mode
        self._handle = os.fdopen(fd, "wb")
        self._writer = _open_writer(self._handle, schema, fmt)

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._writer.write_table(csv_ready(table) if self._fmt is Format.CSV else table)

    def commit(self) -> None:
        self._writer.close()
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        for close in (self._writer.close, self._handle.close):
            with contextlib.suppress(Exception):  # best effort on the way out; the temp file goes anyway
                close()
        self._tmp.unlink(missing_ok=True)


class InventorySink:
    """The inventory (streamed in row groups) plus its status file, committed together."""

    def __init__(self, path: Path, fmt: Format, status_schema: pa.Schema) -> None:
        self.path = path
        self.status_path = status_path(path, fmt)
        self._inventory = AtomicTableFile(path, INVENTORY_SCHEMA, fmt)
        try:
            self._status = AtomicTableFile(self.status_path, status_schema, fmt)
        except OutputError:
            self._inventory.abort()
            raise
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        """Buffer a target's rows; flush a row group once enough have arrived (memory stays bounded)."""
        if batch.num_rows == 0:
            return
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self.rows += batch.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._inventory.write(pa.Table.from_batches(self._pending, schema=INVENTORY_SCHEMA))
        self._pending, self._pending_rows = [], 0

    def commit(self, status: pa.Table) -> None:
        self._flush()
        self._status.write(status)
        self._status.commit()
        self._inventory.commit()

    def abort(self) -> None:
        self._inventory.abort()
        self._status.abort()
