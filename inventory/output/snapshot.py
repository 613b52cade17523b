"""Read one inventory snapshot back: its functions and its status rows, typed as the job wrote them.

A source is an inventory file (Parquet or CSV, local or `s3://bucket/key.parquet`), whose status file is
beside it, or a partitioned prefix (a local directory or `s3://bucket/prefix/`), in the layout the job
writes (layout.py). Of the chosen partition, the files of its latest run are read (all its shards, each with
its status file), never those another run layout left beside them (partition.py): the rows of one run only.
S3 objects are downloaded into memory through a boto3 client (no s3fs; sources.py).

Anything missing or unreadable (the file, its status, the partition) is a SnapshotError of one line naming
it; a source that cannot name a snapshot (empty, no bucket, a date with a single file) a ConfigError. A
partition that is not complete (a shard absent, objects of another run ignored, a file that is not the one
its manifest describes, shards of different configs or sharing an account) reads with one warning per
problem on the Snapshot, the very lines `verify` prints.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from inventory.errors import ConfigError, SnapshotError
from inventory.output.decode import decode_table
from inventory.output.layout import Format, is_status_stem, status_name
from inventory.output.partition import check_partition, current_layout
from inventory.output.runs import Entry, Kind
from inventory.output.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.output.sources import (
    Source,
    choose_partition,
    join,
    locate,
    partition_dates,
    read_listing,
    split,
)

__all__ = ["Snapshot", "load_snapshot"]


@dataclass(frozen=True)
class Snapshot:
    """One snapshot: every function row and every target's status, as INVENTORY_SCHEMA / STATUS_SCHEMA."""

    functions: pa.Table  # INVENTORY_SCHEMA columns (typed; lists as lists even when read from CSV)
    status: pa.Table  # STATUS_SCHEMA
    source: str  # what was read (path/URL), for headers
    snapshot_date: date | None  # the partition's date, or the date of the rows' snapshot_time
    warnings: tuple[str, ...] = ()  # e.g. a shard missing from the partition: coverage is incomplete
    absent_columns: frozenset[str] = frozenset()  # ADDED_COLUMNS a file was written without (read as null)


def load_snapshot(
    source: str, snapshot_date: date | None = None, *, s3: Any = None, fmt: Format | None = None
) -> Snapshot:
    """Read an inventory file or a partitioned prefix (the given snapshot_date, else the latest partition).

    `s3` is a boto3 S3 client for an s3:// source (default: one from the standard AWS chain). `fmt` is a
    single file's format when it was written under a name that does not say (default: from its name).
    Raises SnapshotError (one line) when the source, its status or the partition is missing or unreadable."""
    store, path, is_file = locate(source, s3)
    if is_file:
        if snapshot_date is not None:
            raise ConfigError(
                f"{source}: is a single inventory file; a snapshot date applies only to a partitioned prefix"
            )
        return _load_file(store, path, source, fmt)
    root, chosen = choose_partition(store, path, snapshot_date, source)
    return _load_partition(store, root, chosen, source)


def _load_partition(store: Source, root: str, day: date, source: str) -> Snapshot:
    """The latest run's files of the partition (partition.py): its inventories, each with its status file."""
    listing = read_listing(store, root, day)
    layout = current_layout(listing)
    inventories = {} if layout is None else listing.of(layout, Kind.DATA)
    statuses = {} if layout is None else listing.of(layout, Kind.STATUS)
    if not inventories:
        dates = partition_dates(store, root)
        hint = f" (latest is {dates[-1]})" if dates else ""
        data_folder = join(root, listing.folder(Kind.DATA))
        raise SnapshotError(f"{store.url(data_folder)}: no such partition or no inventory in it{hint}")

    def at(kind: Kind, name: str) -> str:
        return store.url(join(root, listing.folder(kind), name))

    for run, entry in statuses.items():
        if run not in inventories:
            raise SnapshotError(
                f"{at(Kind.DATA, entry.name)}: missing (its status file {at(Kind.STATUS, entry.name)} exists)"
            )
    functions, status, digests = [], [], dict[str, str]()
    absent: set[str] = set()
    for run, entry in sorted(inventories.items()):
        if run not in statuses:
            raise SnapshotError(
                f"{at(Kind.STATUS, entry.name)}: missing (the status file of {at(Kind.DATA, entry.name)})"
            )
        functions.append(_read_entry(store, root, entry, INVENTORY_SCHEMA, digests, absent=absent))
        status.append(_read_entry(store, root, statuses[run], STATUS_SCHEMA, digests, absent=None))
    return Snapshot(
        functions=pa.concat_tables(functions),
        status=pa.concat_tables(status),
        source=store.url(root),
        snapshot_date=day,
        warnings=check_partition(listing, digests=digests, require_manifests=False).problems,
        absent_columns=frozenset(absent),
    )


def _read_entry(
    store: Source, root: str, entry: Entry, schema: pa.Schema, digests: dict[str, str], *, absent: set[str] | None
) -> pa.Table:
    """A table file of the partition, its sha256 noted in `digests` (checked against its manifest's)."""
    path = join(root, entry.path)
    try:
        data = store.read(path)
    except FileNotFoundError as err:
        raise SnapshotError(f"{store.url(path)}: missing (removed while it was read)") from err
    digests[entry.path] = hashlib.sha256(data).hexdigest()
    return decode_table(data, Format.from_path(Path(entry.name)), schema, store.url(path), absent)


def _load_file(store: Source, path: str, source: str, fmt: Format | None) -> Snapshot:
    parent, name = split(path)
    stem, fmt = posixpath.splitext(name)[0], fmt or Format.from_path(Path(name))
    if is_status_stem(stem):
        raise ConfigError(f"{source}: is a status file; give the inventory file beside it")
    status_path = join(parent, status_name(stem, fmt))
    absent: set[str] = set()
    functions = _read(store, path, INVENTORY_SCHEMA, fmt, absent=absent)
    status = _read(store, status_path, STATUS_SCHEMA, fmt, f" (the status file of {source})")
    date_ = _rows_date(functions) or _rows_date(status)
    return Snapshot(functions, status, source, date_, absent_columns=frozenset(absent))


def _read(
    store: Source,
    path: str,
    schema: pa.Schema,
    fmt: Format | None = None,
    what: str = "",
    *,
    absent: set[str] | None = None,
) -> pa.Table:
    try:
        data = store.read(path)
    except FileNotFoundError as err:
        raise SnapshotError(f"{store.url(path)}: missing{what}") from err
    return decode_table(data, fmt or Format.from_path(Path(path)), schema, store.url(path), absent)


def _rows_date(table: pa.Table) -> date | None:
    latest = pc.max(table.column("snapshot_time")).as_py() if table.num_rows else None
    return latest.date() if latest is not None else None
