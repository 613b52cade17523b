"""Where snapshots are read from: a local directory or an S3 bucket, by '/'-joined path, and one partition's
listing (its objects, its manifests read) for partition.py.

S3 objects are downloaded into memory through a boto3 client (no s3fs). Anything unreadable is a
SnapshotError of one line naming it; a missing file is FileNotFoundError for the caller to name.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from inventory.errors import ConfigError, CredentialsError, SnapshotError
from inventory.output.layout import S3_SCHEME, SUFFIXES, partition_date, partition_folders
from inventory.output.partition import Listing
from inventory.output.runs import Entry, Kind, ManifestError, RunManifest, parse_manifest
from inventory.output.tempfiles import write_atomic
from inventory.redact import one_line

__all__ = [
    "FileInfo",
    "Source",
    "choose_partition",
    "join",
    "latest",
    "locate",
    "partition_dates",
    "partition_root",
    "read_listing",
]

_CHUNK = 1 << 20
join = posixpath.join  # '' joins as nothing: join('', 'x') == 'x'


class FileInfo(NamedTuple):
    size: int
    modified: float  # seconds since the epoch


class Source(Protocol):
    """Folders and files under one root, by '/'-joined path ('' is the root for S3)."""

    def listdir(self, folder: str) -> tuple[list[str], dict[str, FileInfo]]: ...  # (sub-folders, files)
    def read(self, path: str) -> bytes: ...  # FileNotFoundError when it is not there
    def digest(self, path: str) -> str: ...  # sha256 hex, read in chunks; FileNotFoundError likewise
    def write(self, path: str, data: bytes) -> None: ...  # whole or not at all
    def url(self, path: str) -> str: ...


@dataclass(frozen=True)
class LocalSource:
    def listdir(self, folder: str) -> tuple[list[str], dict[str, FileInfo]]:
        try:
            entries = list(os.scandir(folder))
            files = {e.name: FileInfo(e.stat().st_size, e.stat().st_mtime) for e in entries if e.is_file()}
        except FileNotFoundError:
            return [], {}  # as an S3 prefix with no objects
        except OSError as err:
            raise SnapshotError(f"{folder}: cannot read: {err.strerror or err}") from err
        return [e.name for e in entries if e.is_dir()], files

    def read(self, path: str) -> bytes:
        try:
            return Path(path).read_bytes()
        except FileNotFoundError:
            raise
        except OSError as err:
            raise SnapshotError(f"{path}: cannot read: {err.strerror or err}") from err

    def digest(self, path: str) -> str:
        digest = hashlib.sha256()
        try:
            with Path(path).open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
        except FileNotFoundError:
            raise
        except OSError as err:
            raise SnapshotError(f"{path}: cannot read: {err.strerror or err}") from err
        return digest.hexdigest()

    def write(self, path: str, data: bytes) -> None:
        try:
            write_atomic(data, Path(path))
        except OSError as err:
            raise SnapshotError(f"{path}: cannot write: {err.strerror or err}") from err

    def url(self, path: str) -> str:
        return path


@dataclass(frozen=True)
class S3Source:
    client: Any
    bucket: str

    def listdir(self, folder: str) -> tuple[list[str], dict[str, FileInfo]]:
        prefix = f"{folder}/" if folder else ""
        paginator = self.client.get_paginator("list_objects_v2")
        listing = paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/")
        pages: list[dict[str, Any]] = self._call(folder, list, listing)  # pages are fetched as it iterates
        folders = [p["Prefix"][len(prefix) :].rstrip("/") for page in pages for p in page.get("CommonPrefixes", [])]
        files = {
            o["Key"][len(prefix) :]: FileInfo(int(o.get("Size", 0)), o["LastModified"].timestamp())
            for page in pages
            for o in page.get("Contents", [])
        }
        return folders, {name: info for name, info in files.items() if name}

    def read(self, path: str) -> bytes:
        data: bytes = self._call(path, self._get, path)
        return data

    def _get(self, key: str) -> bytes:
        data: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

    def digest(self, path: str) -> str:
        text: str = self._call(path, self._digest, path)
        return text

    def _digest(self, key: str) -> str:
        digest = hashlib.sha256()
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        while chunk := body.read(_CHUNK):
            digest.update(chunk)
        return digest.hexdigest()

    def write(self, path: str, data: bytes) -> None:
        def put() -> None:
            self.client.put_object(Bucket=self.bucket, Key=path, Body=data, ContentType="application/json")

        self._call(path, put, verb="write")

    def url(self, path: str) -> str:
        return f"{S3_SCHEME}{self.bucket}/{path}"

    def _call(self, path: str, fn: Callable[..., Any], *args: Any, verb: str = "read") -> Any:
        try:
            return fn(*args)
        except NoCredentialsError as err:
            raise CredentialsError(f"{self.url(path)}: no AWS credentials to {verb} it") from err
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code") or "")
            if code in {"NoSuchKey", "404", "NotFound"}:
                raise FileNotFoundError(path) from err
            if code == "NoSuchBucket":
                raise SnapshotError(f"{self.url(path)}: bucket '{self.bucket}' does not exist") from err
            raise SnapshotError(f"{self.url(path)}: cannot {verb}: {one_line(str(err))}") from err
        except BotoCoreError as err:
            raise SnapshotError(f"{self.url(path)}: cannot {verb}: {one_line(str(err))}") from err


def locate(source: str, s3: Any) -> tuple[Source, str, bool]:
    """(store, path inside it, whether it is a single file)."""
    if not source:
        raise ConfigError("source: must not be empty")
    if source.startswith(S3_SCHEME):
        bucket, _, key = source.removeprefix(S3_SCHEME).partition("/")
        if not bucket:
            raise ConfigError(f"{source}: no bucket name (expected s3://bucket/prefix/ or s3://bucket/key.parquet)")
        client = s3 if s3 is not None else default_s3_client()
        is_file = key.lower().endswith(SUFFIXES)
        return S3Source(client, bucket), key if is_file else key.strip("/"), is_file
    path = Path(source)
    if path.is_dir():
        return LocalSource(), str(path), False
    if path.is_file():
        return LocalSource(), str(path), True
    raise SnapshotError(f"{source}: no such file or directory")


def default_s3_client() -> Any:
    import boto3  # noqa: PLC0415 - boto3 (with s3transfer) only when an s3:// source is read

    return boto3.client("s3", config=Config(retries={"mode": "standard", "max_attempts": 5}))


def split(path: str) -> tuple[str, str]:
    parent, _, name = path.replace(os.sep, "/").rstrip("/").rpartition("/")
    return parent, name


def partition_root(path: str) -> tuple[str, date | None]:
    """A partition folder itself (`.../snapshot_date=2026-11-28`) -> its root and date; else (path, None)."""
    parent, name = split(path)
    day = partition_date(name)
    return (parent, day) if day is not None else (path, None)


def partition_dates(store: Source, root: str) -> list[date]:
    folders, _ = store.listdir(root)
    return sorted(day for name in folders if (day := partition_date(name)) is not None)


def latest(store: Source, root: str, source: str) -> date:
    dates = partition_dates(store, root)
    if not dates:
        raise SnapshotError(
            f"{source}: no snapshot_date=YYYY-MM-DD partitions (expected an inventory file or a prefix)"
        )
    return dates[-1]


def choose_partition(store: Source, path: str, snapshot_date: date | None, source: str) -> tuple[str, date]:
    """A prefix (or one partition folder of it) and an optional date -> (the dataset's root, the partition's
    date): the given date, else the folder's, else the latest partition's."""
    root, date_in_path = partition_root(path)
    if date_in_path is not None and snapshot_date is not None and snapshot_date != date_in_path:
        raise ConfigError(f"{source}: is the partition of {date_in_path}, not of {snapshot_date}")
    return root, snapshot_date or date_in_path or latest(store, root, source)


def read_listing(store: Source, root: str, day: date) -> Listing:
    """The partition's objects in its three folders (names starting with '.' or '_' left out: temporary
    files, the completion marker), its manifests read."""
    entries: list[Entry] = []
    for kind, folder in zip((Kind.DATA, Kind.STATUS, Kind.MANIFEST), partition_folders(day), strict=True):
        _, files = store.listdir(join(root, folder))
        for name, info in sorted(files.items()):
            if not name.startswith((".", "_")):
                entries.append(Entry(kind, name, f"{folder}/{name}", info.size, info.modified))
    manifests: dict[str, RunManifest] = {}
    unreadable: dict[str, str] = {}
    for entry in entries:
        if entry.kind is Kind.MANIFEST and entry.name.endswith(".json"):
            try:
                manifests[entry.path] = parse_manifest(store.read(join(root, entry.path)), entry.path)
            except FileNotFoundError:
                continue  # removed since the listing (a run superseding it)
            except ManifestError as err:
                unreadable[entry.path] = str(err)
    return Listing(day, tuple(entries), manifests, unreadable)
