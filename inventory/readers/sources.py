"""Where files are read from: a local directory or an S3 bucket, by '/'-joined path.

S3 objects are downloaded into memory through a boto3 client (no s3fs). Anything unreadable is a
SnapshotError of one line naming it; a missing file is FileNotFoundError for the caller to name.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from inventory.contract.layout import S3_SCHEME, SUFFIXES
from inventory.errors import ConfigError, CredentialsError, SnapshotError
from inventory.redact import one_line

__all__ = ["FileInfo", "Source", "join", "locate", "split"]

_CHUNK = 1 << 20
join = posixpath.join  # '' joins as nothing: join('', 'x') == 'x'


class FileInfo(NamedTuple):
    size: int
    modified: float  # seconds since the epoch


class Source(Protocol):
    """Folders and files under one root, by '/'-joined path ('' is the root for S3)."""

    def listdir(self, folder: str) -> tuple[list[str], dict[str, FileInfo]]: ...  # (sub-folders, files)
    def read(self, path: str) -> bytes: ...  # FileNotFoundError when it is not there
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
