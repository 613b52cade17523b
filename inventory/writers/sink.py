"""The sink: write the inventory, its status file and the run manifest, streaming rows as targets finish.

Rows go to temporary files (beside the destination for a local one, in the system temp directory for
S3) and are published only when the run completes: renamed into place locally, uploaded to S3. Nothing
ever appears under a final name half-written, and an aborted run (any exception, Ctrl-C) publishes
nothing. The temporary files are opened before the first AWS call, which doubles as the check that the
destination is writable; an S3 destination's bucket is checked then too (stores.S3Store.preflight).

Publishing order is inventory, status, manifest: a manifest's presence says the run's files are complete,
and its `files` (sha256, bytes, rows of each) let a reader check it holds the files the manifest describes.
Locally all three are complete on disk before the first rename and the renames run back to back with
SIGTERM/SIGINT held (signals.deferred), so only SIGKILL at that instant can split them. Temporary files are
locked while their run lives; a run sweeps the ones a killed run left (tempfiles.py). CSV cells that a
spreadsheet would run as formulas are neutralised, reversibly (csvsafe.py).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from inventory.aws.retry import RetryPolicy
from inventory.contract.csvsafe import escape_strings
from inventory.contract.layout import Format
from inventory.contract.record import RunRecord, render_manifest
from inventory.contract.schema import INVENTORY_SCHEMA
from inventory.errors import OutputError
from inventory.signals import Stopped, deferred
from inventory.tempfiles import file_digest, open_temp
from inventory.writers.destination import Destination, Location
from inventory.writers.stores import LocalStore, S3Store, Store

ROW_GROUP_ROWS = 65_536


def csv_ready(table: pa.Table) -> pa.Table:
    """CSV has no lists: encode list columns as JSON arrays (`["x86_64"]`, empty list `[]`), maps as JSON
    objects (`{"team": "payments"}`). String cells
    that a spreadsheet would run as a formula get a leading `'` (csvsafe.py; reversible)."""
    columns = []
    for field, column in zip(table.schema, escape_strings(table).columns, strict=True):
        if _as_json(field.type):
            maps = pa.types.is_map(field.type)  # map cells come as [(key, value)]: written as a JSON object
            cells = column.to_pylist()
            encoded = [None if v is None else json.dumps(dict(v) if maps else v) for v in cells]
            columns.append(pa.chunked_array([pa.array(encoded, pa.string())], pa.string()))
        else:
            columns.append(column)
    return pa.Table.from_arrays(columns, schema=csv_schema(table.schema))


def csv_schema(schema: pa.Schema) -> pa.Schema:
    """The columns as a CSV file holds them (csv_ready): lists and maps as JSON text, every column nullable."""
    return pa.schema([pa.field(field.name, pa.string() if _as_json(field.type) else field.type) for field in schema])


def _as_json(kind: pa.DataType) -> bool:
    return bool(pa.types.is_list(kind) or pa.types.is_map(kind))


class _Writer(Protocol):
    def write_table(self, table: pa.Table) -> None: ...
    def close(self) -> None: ...


def _writer_for(schema: pa.Schema, fmt: Format) -> Callable[[Any], _Writer]:
    """How a file of this format is written, given its open handle."""
    if fmt is Format.PARQUET:
        return functools.partial(pq.ParquetWriter, schema=schema, compression="zstd")
    return functools.partial(pacsv.CSVWriter, schema=csv_schema(schema))


class TableFile:
    """Rows streamed to a temporary file in `directory`; `finish` closes it, `discard` deletes it."""

    def __init__(self, location: Location, directory: Path, schema: pa.Schema, fmt: Format) -> None:
        self.location = location
        self._fmt = fmt
        writer = _writer_for(schema, fmt)
        local = isinstance(location, Path)
        if isinstance(location, Path):
            prefix = f".{location.name}."
        else:
            prefix = f"lambda-inventory-{PurePosixPath(location.key).name}."
        try:
            fd, self.tmp = open_temp(directory, prefix)
        except OSError as err:
            where = "" if local else f" (temporary file in {directory})"
            raise OutputError(f"{location}: cannot write output{where}: {err.strerror or err}") from err
        self._handle = os.fdopen(fd, "wb")
        self._writer = writer(self._handle)

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._writer.write_table(csv_ready(table) if self._fmt is Format.CSV else table)

    def finish(self) -> Path:
        """Close the file (footer written, data on disk); returns the temporary path."""
        self._writer.close()
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        return self.tmp

    def discard(self) -> None:
        for close in (self._writer.close, self._handle.close):
            with contextlib.suppress(Exception):  # best effort on the way out; the temp file goes anyway
                close()
        self.tmp.unlink(missing_ok=True)


class RowGroups:
    """Targets' rows (INVENTORY_SCHEMA batches) gathered into row groups of about ROW_GROUP_ROWS, each handed
    to `emit` as one table: memory stays bounded by a row group, not by the inventory. Both sinks use it."""

    def __init__(self, emit: Callable[[pa.Table], None]) -> None:
        self._emit = emit
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self.rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self.rows += batch.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._emit(pa.Table.from_batches(self._pending, schema=INVENTORY_SCHEMA))
        self._pending, self._pending_rows = [], 0


class RunSink:
    """The inventory (streamed in row groups), its status file and the manifest of one run.

    Open it with `open_sink` before any AWS call; `write` each target's rows (`write_table` those of the run's
    other tables, each beside the inventory); then either `commit` (publish inventory, the other tables, status,
    manifest, in that order) or `abort` (publish nothing, delete the temporary files).
    """

    def __init__(
        self, destination: Destination, status_schema: pa.Schema, store: Store, tables: Mapping[str, pa.Schema] = {}
    ) -> None:
        self.destination = destination
        self._store = store
        self._staged: Path | None = None  # the manifest's temporary file, between staging and rename
        store.preflight(destination)
        files = [(destination.inventory, INVENTORY_SCHEMA), (destination.status, status_schema)]
        files.extend((destination.beside(name), schema) for name, schema in tables.items())
        opened = []
        with contextlib.ExitStack() as undo:  # one that cannot be opened: those opened before it are discarded
            for location, schema in files:
                opened.append(TableFile(location, store.temp_dir(location), schema, destination.fmt))
                undo.callback(opened[-1].discard)
            undo.pop_all()
        self._inventory, self._status, *others = opened
        self._tables = dict(zip(tables, others, strict=True))  # the run's other tables: x.<table>.<fmt>
        self._table_rows = dict.fromkeys(tables, 0)
        self._groups = RowGroups(self._inventory.write)

    @property
    def path(self) -> Location:
        return self.destination.inventory

    @property
    def status_path(self) -> Location:
        return self.destination.status

    @property
    def rows(self) -> int:
        return self._groups.rows

    def write(self, batch: pa.RecordBatch) -> None:
        """Buffer a target's rows; a row group is written once enough have arrived (memory stays bounded)."""
        self._groups.add(batch)

    def write_table(self, name: str, rows: pa.Table) -> None:
        """Rows of another of the run's tables (one opened with the sink: `tables`), written as they come."""
        self._tables[name].write(rows)
        self._table_rows[name] += rows.num_rows

    def commit(self, status: pa.Table, record: RunRecord | None = None) -> None:
        """Finish both files, then publish inventory, status and (if given) the run record as the manifest,
        in that order. The manifest gets `files` (each file's sha256, size and rows).

        Locally every file (the manifest too) is complete on disk before the first rename, and the renames
        run back to back with SIGTERM and SIGINT held (see signals.deferred). Raises OutputError if
        publishing fails; call `abort` then, as after any error.
        """
        self._groups.flush()
        self._status.write(status)
        fmt, dest = self.destination.fmt, self.destination
        files = [(self._inventory.finish(), dest.inventory, fmt.content_type)]
        files.extend((table.finish(), dest.beside(name), fmt.content_type) for name, table in self._tables.items())
        files.append((self._status.finish(), dest.status, fmt.content_type))
        data = None
        if record is not None:
            rows = {"inventory": self.rows, **self._table_rows, "status": status.num_rows}
            data = render_manifest(record.with_files(self._files(files, rows)).to_json())
        if not isinstance(self._store, LocalStore):
            self._publish(files, data)
            return
        if data is not None:
            self._staged = self._store.stage_bytes(data, dest.manifest)
        self._rename_all(files, data)

    def _publish(self, files: list[tuple[Path, Location, str]], manifest: bytes | None) -> None:
        """Inventory and status, then the manifest."""
        for tmp, location, content_type in files:
            self._store.publish_file(tmp, location, content_type)
        if self._staged is not None:
            self._store.publish_file(self._staged, self.destination.manifest, "application/json")
        elif manifest is not None:
            self._store.publish_bytes(manifest, self.destination.manifest, "application/json")

    def _files(self, files: list[tuple[Path, Location, str]], rows: Mapping[str, int]) -> dict[str, dict[str, Any]]:
        """What the manifest says about each file (named as `rows` is, in the same order), to check that a reader
        has the ones it describes."""
        out = {}
        for (tmp, _, _), (name, count) in zip(files, rows.items(), strict=True):
            sha256, size = file_digest(tmp)
            out[name] = {"sha256": sha256, "bytes": size, "rows": count}
        return out

    def _rename_all(self, files: list[tuple[Path, Location, str]], manifest: bytes | None) -> None:
        published = False
        try:
            with deferred():  # a signal meanwhile is delivered once all of them are in place
                self._publish(files, manifest)
                published = True
        except Stopped as stop:
            stop.published = published
            raise

    def abort(self) -> None:
        """Delete whatever was not published. Safe to call twice, and after a failed commit."""
        for table in (self._inventory, self._status, *self._tables.values()):
            table.discard()
        if self._staged is not None:
            self._staged.unlink(missing_ok=True)
        self._store.discard_created()


def open_sink(
    destination: Destination,
    status_schema: pa.Schema,
    *,
    s3: Any = None,
    policy: RetryPolicy | None = None,
    tables: Mapping[str, pa.Schema] = {},
) -> RunSink:
    """Check the destination and open its temporary files; call before any AWS work but after the hub's
    credentials are known. `s3` (a boto3 S3 client) and `policy` are needed for an s3:// destination."""
    if destination.bucket is not None and s3 is None:
        raise TypeError(f"{destination.output}: an S3 destination needs an S3 client")
    store: Store = LocalStore() if destination.bucket is None else S3Store(s3, policy or RetryPolicy())
    return RunSink(destination, status_schema, store, tables)
