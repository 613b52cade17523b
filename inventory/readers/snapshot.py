"""Read one inventory snapshot back: its functions and its status rows, typed as the job wrote them.

A source is an inventory file (Parquet or CSV, local or `s3://bucket/key.parquet`), whose status file and
estate tables (`<stem>.<table>.<fmt>`, those the run wrote) are beside it, or a lake (`s3://bucket/prefix/`,
or a local directory holding an embedded catalog): one run of it, the day's inventory by contract/current.py's
rule or the run asked for (readers/lake.py). S3 objects are downloaded into memory through a boto3 client (no
s3fs; sources.py).

Anything missing or unreadable (the file, its status, the lake, the day) is a SnapshotError of one line
naming it; a source that cannot name a snapshot (empty, no bucket, a date with a single file) a ConfigError.
A run of a lake that is not complete reads with one warning per problem on the Snapshot, the very lines
`verify` prints.
"""

from __future__ import annotations

import json
import posixpath
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from inventory.contract.estate import BESIDE_TABLES, ESTATE, ESTATE_TABLES
from inventory.contract.lake import is_local_lake, lake_at
from inventory.contract.layout import (
    S3_SCHEME,
    SUFFIXES,
    Format,
    is_beside_stem,
    is_status_stem,
    manifest_name,
    partition_date,
    status_name,
    table_name,
)
from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.errors import ConfigError, SnapshotError
from inventory.readers.decode import decode_table
from inventory.readers.snapshot_type import Snapshot
from inventory.readers.sources import Source, join, locate, split

__all__ = ["Snapshot", "load_snapshot"]


def load_snapshot(
    source: str,
    snapshot_date: date | None = None,
    *,
    s3: Any = None,
    fmt: Format | None = None,
    run_id: str | None = None,
    database: str | None = None,
) -> Snapshot:
    """Read an inventory file, or one run of a lake (the day's inventory, default the latest day; or `run_id`).

    `s3` is a boto3 S3 client for an s3:// file (default: one from the standard AWS chain). `fmt` is a
    single file's format when it was written under a name that does not say (default: from its name).
    Raises SnapshotError (one line) when the source, its status or the run is missing or unreadable."""
    if is_lake_source(source):
        from inventory.readers.lake import load_lake_snapshot  # noqa: PLC0415 - pyiceberg only for a lake

        return load_lake_snapshot(lake_at(source, database), snapshot_date, run_id)
    store, path, is_file = locate(source, s3)
    if not is_file:
        path = source = _inventory_in(source)
    if snapshot_date is not None or run_id is not None:
        raise ConfigError(f"{source}: is a single inventory file; a date or run id applies only to a lake")
    return _load_file(store, path, source, fmt)


def is_lake_source(source: str) -> bool:
    """An s3:// prefix (not a table file's key), or a local directory holding an embedded lake."""
    if source.startswith(S3_SCHEME):
        return not source.lower().endswith(SUFFIXES)
    return Path(source).is_dir() and is_local_lake(source)


def _inventory_in(source: str) -> str:
    """A local directory the job wrote into (`--output DIR/`): its one inventory file (`inventory.<format>`,
    or a single `shard-I-of-N.<format>`), so `report out/` reads what `run --output out/` wrote. One line
    naming the choices when there are several, or pointing to `import` for the older snapshot_date=D/ layout."""
    folder = Path(source)
    candidates = sorted(
        p.name
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix.lower() in SUFFIXES
        and not is_beside_stem(p.stem, BESIDE_TABLES)
        and not p.name.startswith(".")
    )
    if len(candidates) == 1:
        return str(folder / candidates[0])
    if len(candidates) > 1:
        shown = ", ".join(candidates[:4]) + (f" and {len(candidates) - 4} more" if len(candidates) > 4 else "")
        raise SnapshotError(f"{source}: holds {len(candidates)} inventory files ({shown}); name one")
    hint = " (an older snapshot_date=D/ layout: add it to a lake with `lambda-inventory import`)"
    old = any(partition_date(p.name) for p in folder.iterdir())
    raise SnapshotError(f"{source}: no inventory file or lake in it{hint if old else ''}")


def _load_file(store: Source, path: str, source: str, fmt: Format | None) -> Snapshot:
    parent, name = split(path)
    stem, fmt = posixpath.splitext(name)[0], fmt or Format.from_path(Path(name))
    if is_beside_stem(stem, BESIDE_TABLES):
        kind = "a status file" if is_status_stem(stem) else "a table beside an inventory file"
        raise ConfigError(f"{source}: is {kind}; give the inventory file beside it")
    status_path = join(parent, status_name(stem, fmt))
    absent: set[str] = set()
    functions = _read(store, path, INVENTORY_SCHEMA, fmt, absent=absent)
    status = _read(store, status_path, STATUS_SCHEMA, fmt, f" (the status file of {source})")
    date_ = _rows_date(functions) or _rows_date(status)
    tables, table_absent = _beside(store, parent, stem, fmt)
    return Snapshot(
        functions,
        status,
        source,
        date_,
        absent_columns=frozenset(absent),
        tables=tables,
        table_absent_columns=table_absent,
    )


def _beside(
    store: Source, parent: str, stem: str, fmt: Format
) -> tuple[dict[str, pa.Table], dict[str, frozenset[str]]]:
    """The estate tables written beside an inventory file (`<stem>.<table>.<fmt>`), each decoded as its schema.

    The manifest's `outputs` name the tables the run wrote: each must be readable. Without a manifest (a file
    copied alone, or written by hand) each table's file is tried, and one not there was not written."""
    named = _manifest_tables(store, join(parent, manifest_name(stem)))
    tables: dict[str, pa.Table] = {}
    absent: dict[str, frozenset[str]] = {}
    for table in ESTATE_TABLES:
        if named is not None and table.name not in named:
            continue
        path = join(parent, table_name(stem, table.name, fmt))
        try:
            data = store.read(path)
        except FileNotFoundError as err:
            if named is None:
                continue
            raise SnapshotError(f"{store.url(path)}: missing (named in the manifest beside it)") from err
        lacking: set[str] = set()
        tables[table.name] = decode_table(data, fmt, table.schema, store.url(path), lacking, estate=table)
        absent[table.name] = frozenset(lacking)
    return tables, absent


def _manifest_tables(store: Source, path: str) -> frozenset[str] | None:
    """The estate tables the manifest at `path` says the run wrote; None when there is no readable manifest."""
    try:
        outputs = json.loads(store.read(path)).get("outputs")
    except (FileNotFoundError, SnapshotError, ValueError, AttributeError):
        return None
    return frozenset(name for name in outputs if name in ESTATE) if isinstance(outputs, dict) else None


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
