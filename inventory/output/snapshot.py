"""Read one inventory snapshot back: its functions and its status rows, typed as the job wrote them.

A source is an inventory file (Parquet or CSV, local or `s3://bucket/key.parquet`), whose status file is
beside it, or a partitioned prefix (a local directory or `s3://bucket/prefix/`), in the layout the job
writes (layout.py). Every object of the chosen partition is read (all shards), each with its status file.
S3 objects are downloaded into memory through a boto3 client (no s3fs).

Anything missing or unreadable (the file, its status, the partition) is a SnapshotError of one line naming
it; a source that cannot name a snapshot (empty, no bucket, a date with a single file) a ConfigError. A shard
absent altogether (its run may have failed) is a warning on the Snapshot: the coverage is incomplete.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import boto3
import pyarrow as pa
import pyarrow.compute as pc
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from inventory.errors import ConfigError, CredentialsError, SnapshotError
from inventory.output.decode import decode_table
from inventory.output.layout import (
    S3_SCHEME,
    SUFFIXES,
    Format,
    is_status_stem,
    partition,
    partition_date,
    partition_folders,
    run_name,
    shard_of,
    status_name,
)
from inventory.output.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.redact import one_line

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


class _Store(Protocol):
    """Folders and files under one root, by '/'-joined path ('' is the root for S3)."""

    def listdir(self, folder: str) -> tuple[list[str], list[str]]: ...  # (sub-folder names, file names)
    def read(self, path: str) -> bytes: ...  # FileNotFoundError when it is not there
    def url(self, path: str) -> str: ...


@dataclass(frozen=True)
class _Local:
    def listdir(self, folder: str) -> tuple[list[str], list[str]]:
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return [], []  # as an S3 prefix with no objects
        except OSError as err:
            raise SnapshotError(f"{folder}: cannot read: {err.strerror or err}") from err
        folders = [e.name for e in entries if e.is_dir()]
        return folders, [e.name for e in entries if e.is_file()]

    def read(self, path: str) -> bytes:
        try:
            return Path(path).read_bytes()
        except FileNotFoundError:
            raise
        except OSError as err:
            raise SnapshotError(f"{path}: cannot read: {err.strerror or err}") from err

    def url(self, path: str) -> str:
        return path


@dataclass(frozen=True)
class _S3:
    client: Any
    bucket: str

    def listdir(self, folder: str) -> tuple[list[str], list[str]]:
        prefix = f"{folder}/" if folder else ""
        paginator = self.client.get_paginator("list_objects_v2")
        listing = paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/")
        pages: list[dict[str, Any]] = self._call(folder, list, listing)  # pages are fetched as it iterates
        folders = [p["Prefix"][len(prefix) :].rstrip("/") for page in pages for p in page.get("CommonPrefixes", [])]
        files = [o["Key"][len(prefix) :] for page in pages for o in page.get("Contents", [])]
        return folders, [name for name in files if name]

    def read(self, path: str) -> bytes:
        data: bytes = self._call(path, self._get, path)
        return data

    def _get(self, key: str) -> bytes:
        data: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

    def url(self, path: str) -> str:
        return f"{S3_SCHEME}{self.bucket}/{path}"

    def _call(self, path: str, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except NoCredentialsError as err:
            raise CredentialsError(f"{self.url(path)}: no AWS credentials to read it") from err
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code") or "")
            if code in {"NoSuchKey", "404", "NotFound"}:
                raise FileNotFoundError(path) from err
            if code == "NoSuchBucket":
                raise SnapshotError(f"{self.url(path)}: bucket '{self.bucket}' does not exist") from err
            raise SnapshotError(f"{self.url(path)}: cannot read: {one_line(str(err))}") from err
        except BotoCoreError as err:
            raise SnapshotError(f"{self.url(path)}: cannot read: {one_line(str(err))}") from err


def load_snapshot(
    source: str, snapshot_date: date | None = None, *, s3: Any = None, fmt: Format | None = None
) -> Snapshot:
    """Read an inventory file or a partitioned prefix (the given snapshot_date, else the latest partition).

    `s3` is a boto3 S3 client for an s3:// source (default: one from the standard AWS chain). `fmt` is a
    single file's format when it was written under a name that does not say (default: from its name).
    Raises SnapshotError (one line) when the source, its status or the partition is missing or unreadable."""
    store, path, is_file = _locate(source, s3)
    if is_file:
        if snapshot_date is not None:
            raise ConfigError(
                f"{source}: is a single inventory file; a snapshot date applies only to a partitioned prefix"
            )
        return _load_file(store, path, source, fmt)
    root, date_in_path = _partition_root(path)
    if date_in_path is not None and snapshot_date is not None and snapshot_date != date_in_path:
        raise ConfigError(f"{source}: is the partition of {date_in_path}, not of {snapshot_date}")
    chosen = snapshot_date or date_in_path or _latest(store, root, source)
    return _load_partition(store, root, chosen, source)


def _locate(source: str, s3: Any) -> tuple[_Store, str, bool]:
    """(store, path inside it, whether it is a single file)."""
    if not source:
        raise ConfigError("source: must not be empty")
    if source.startswith(S3_SCHEME):
        bucket, _, key = source.removeprefix(S3_SCHEME).partition("/")
        if not bucket:
            raise ConfigError(f"{source}: no bucket name (expected s3://bucket/prefix/ or s3://bucket/key.parquet)")
        client = s3 if s3 is not None else _default_s3_client()
        is_file = key.lower().endswith(SUFFIXES)
        return _S3(client, bucket), key if is_file else key.strip("/"), is_file
    path = Path(source)
    if path.is_dir():
        return _Local(), str(path), False
    if path.is_file():
        return _Local(), str(path), True
    raise SnapshotError(f"{source}: no such file or directory")


def _default_s3_client() -> Any:
    return boto3.client("s3", config=Config(retries={"mode": "standard", "max_attempts": 5}))


def _split(path: str) -> tuple[str, str]:
    parent, _, name = path.replace(os.sep, "/").rstrip("/").rpartition("/")
    return parent, name


_join = posixpath.join  # '' joins as nothing: _join('', 'x') == 'x'


def _partition_root(path: str) -> tuple[str, date | None]:
    """A partition folder itself (`.../snapshot_date=2026-11-28`) -> its root and date; else (path, None)."""
    parent, name = _split(path)
    day = partition_date(name)
    return (parent, day) if day is not None else (path, None)


def _dates(store: _Store, root: str) -> list[date]:
    folders, _ = store.listdir(root)
    return sorted(day for name in folders if (day := partition_date(name)) is not None)


def _latest(store: _Store, root: str, source: str) -> date:
    dates = _dates(store, root)
    if not dates:
        raise SnapshotError(
            f"{source}: no snapshot_date=YYYY-MM-DD partitions (expected an inventory file or a prefix)"
        )
    return dates[-1]


def _table_files(store: _Store, folder: str) -> dict[str, str]:
    """{stem: file name} of the Parquet/CSV files in a folder (temporary and hidden files left out)."""
    _, files = store.listdir(folder)
    chosen = sorted(n for n in files if n.lower().endswith(SUFFIXES) and not n.startswith((".", "_")))
    return {posixpath.splitext(name)[0]: name for name in chosen}


def _load_partition(store: _Store, root: str, day: date, source: str) -> Snapshot:
    data, status_in, _ = partition_folders(day)
    data_folder, status_folder = _join(root, data), _join(root, status_in)
    inventories, statuses = _table_files(store, data_folder), _table_files(store, status_folder)
    if not inventories:
        latest = _dates(store, root)
        hint = f" (latest is {latest[-1]})" if latest else ""
        raise SnapshotError(f"{store.url(data_folder)}: no such partition or no inventory in it{hint}")
    for stem, name in statuses.items():
        if stem not in inventories:
            missing = store.url(_join(data_folder, name))
            raise SnapshotError(f"{missing}: missing (its status file {store.url(_join(status_folder, name))} exists)")
    functions, status = [], []
    absent: set[str] = set()
    for stem, name in inventories.items():
        if stem not in statuses:
            missing = store.url(_join(status_folder, name))
            raise SnapshotError(f"{missing}: missing (the status file of {store.url(_join(data_folder, name))})")
        functions.append(_read(store, _join(data_folder, name), INVENTORY_SCHEMA, absent=absent))
        status.append(_read(store, _join(status_folder, statuses[stem]), STATUS_SCHEMA))
    return Snapshot(
        functions=pa.concat_tables(functions),
        status=pa.concat_tables(status),
        source=store.url(root),
        snapshot_date=day,
        warnings=_shard_warnings(list(inventories), partition(day)),
        absent_columns=frozenset(absent),
    )


def _shard_warnings(stems: list[str], folder: str) -> tuple[str, ...]:
    """A shard absent from the partition, or shards mixed with an unsharded file: the counts are not whole."""
    shards = {shard for s in stems if (shard := shard_of(s)) is not None}
    warnings = []
    for count in sorted({n for _, n in shards}):
        missing = [run_name((i, count)) for i in range(count) if (i, count) not in shards]
        if missing:
            warnings.append(f"{folder}: {', '.join(missing)} missing: their accounts are not covered")
    if len({n for _, n in shards}) > 1 or (shards and len(shards) < len(stems)):
        warnings.append(f"{folder}: files of differently sharded runs ({', '.join(stems)}): rows may repeat")
    return tuple(warnings)


def _load_file(store: _Store, path: str, source: str, fmt: Format | None) -> Snapshot:
    parent, name = _split(path)
    stem, fmt = posixpath.splitext(name)[0], fmt or Format.from_path(Path(name))
    if is_status_stem(stem):
        raise ConfigError(f"{source}: is a status file; give the inventory file beside it")
    status_path = _join(parent, status_name(stem, fmt))
    absent: set[str] = set()
    functions = _read(store, path, INVENTORY_SCHEMA, fmt, absent=absent)
    status = _read(store, status_path, STATUS_SCHEMA, fmt, f" (the status file of {source})")
    date_ = _rows_date(functions) or _rows_date(status)
    return Snapshot(functions, status, source, date_, absent_columns=frozenset(absent))


def _read(
    store: _Store,
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
