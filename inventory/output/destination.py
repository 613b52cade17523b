"""Where a run's files go: a local file or directory, a Hive-partitioned dataset, or S3.

`resolve_destination` turns `--output` into the three locations of one run (inventory, status, manifest)
without touching the filesystem beyond asking whether a local path is a directory, and without any AWS
call. The layouts:

* a file `out/x.parquet`: `out/x.parquet`, `out/x.status.parquet`, `out/x.manifest.json`;
* a directory `out/` (existing, or written with a trailing slash): the same with the name `inventory`
  (`shard-<I>-of-<N>` for a sharded run, so shards never overwrite each other);
* a partitioned dataset: any `s3://bucket/prefix/` (ending in `/`, or just `s3://bucket`), or a local
  directory with `partitioned=True`:
  `PREFIX/snapshot_date=YYYY-MM-DD/<name>.<fmt>`, `PREFIX/_status/snapshot_date=YYYY-MM-DD/<name>.<fmt>`,
  `PREFIX/_manifests/snapshot_date=YYYY-MM-DD/<name>.json`. Readers (pyarrow, duckdb, Athena, Hive)
  skip `_`-prefixed folders, so a glob over PREFIX sees only the inventory's schema;
* an object `s3://bucket/key.parquet`: that object, `key.status.parquet` and `key.manifest.json`.

A re-run of the same night (and shard) writes the same names, so it replaces its own files rather than
adding duplicate rows.

A `Store` publishes finished files: `S3Store` (here) uploads them, multipart for large files (a failed
multipart upload is aborted, so no half object ever appears); sink.LocalStore renames them into place.
"""

from __future__ import annotations

import os
import posixpath
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.exceptions import BotoCoreError, ClientError

from inventory.aws.retry import RetryPolicy
from inventory.errors import OutputError, shown_text

S3_SCHEME = "s3://"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# S3's rules for new buckets: 3-63 of lowercase letters, digits, dots and hyphens, letter or digit at the ends.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
S3_KEY_BYTES = 1024  # S3's limit on a key's UTF-8 length


class Format(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"

    @classmethod
    def from_path(cls, path: PurePosixPath | Path) -> Format:
        return cls.CSV if path.suffix.lower() == ".csv" else cls.PARQUET

    @property
    def content_type(self) -> str:
        return "text/csv; charset=utf-8" if self is Format.CSV else "application/vnd.apache.parquet"


@dataclass(frozen=True)
class S3Object:
    """One object in S3; `str()` is its s3:// URL."""

    bucket: str
    key: str

    def __str__(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.key}"


Location = Path | S3Object


@dataclass(frozen=True)
class Destination:
    """The three files of one run, all local or all in one S3 bucket, and the table format."""

    output: str  # --output as given, for messages
    fmt: Format
    inventory: Location
    status: Location
    manifest: Location

    @property
    def bucket(self) -> str | None:
        """The S3 bucket, or None for a local destination."""
        return self.inventory.bucket if isinstance(self.inventory, S3Object) else None

    @property
    def s3_prefix(self) -> str:
        """The key prefix the three objects share ('' at the bucket's root, else ending in '/')."""
        keys = [loc.key for loc in (self.inventory, self.status, self.manifest) if isinstance(loc, S3Object)]
        common = posixpath.commonpath(keys) if keys else ""
        return f"{common}/" if common else ""

    @property
    def locations(self) -> tuple[Location, Location, Location]:
        return self.inventory, self.status, self.manifest


def resolve_destination(
    output: str,
    fmt: Format | None,
    partitioned: bool,
    snapshot_date: date,
    shard: tuple[int, int] | None = None,
) -> Destination:
    """--output (and --format, --partitioned, the run's UTC date and shard) -> where the run's files go.

    `shard` is (index, count), 0 <= index < count. Raises OutputError (one line) for an unusable output.
    """
    if shard is not None and not 0 <= shard[0] < shard[1]:
        raise ValueError(f"shard {shard!r}: need 0 <= index < count")
    name = "inventory" if shard is None else f"shard-{shard[0]}-of-{shard[1]}"
    if output.startswith(S3_SCHEME):
        return _s3_destination(output, fmt, partitioned, snapshot_date, name)
    if _SCHEME.match(output):
        raise OutputError(f"{output}: not a local path or an s3:// URL")
    if not output:
        raise OutputError("--output: must not be empty")
    path = Path(output)
    if partitioned:
        return _partitioned(output, fmt or Format.PARQUET, path.joinpath, snapshot_date, name)
    if output.endswith(("/", os.sep)) or path.is_dir():
        chosen = fmt or Format.PARQUET
        return _beside(output, chosen, path / f"{name}.{chosen.value}")
    return _beside(output, _file_format(output, path, fmt), path)


def _s3_destination(output: str, fmt: Format | None, partitioned: bool, snapshot_date: date, name: str) -> Destination:
    bucket, _, key = output.removeprefix(S3_SCHEME).partition("/")
    if not bucket:
        raise OutputError(f"{output}: no bucket name (expected s3://bucket/prefix/ or s3://bucket/key.parquet)")
    if not _BUCKET.match(bucket):
        raise OutputError(f"{output}: {bucket!r} is not a valid S3 bucket name")
    if "//" in key or key.startswith("/"):
        raise OutputError(f"{output}: empty path segment in the key")
    _check_key(output, key)
    if partitioned or not key or key.endswith("/"):
        prefix = key if not key or key.endswith("/") else f"{key}/"
        destination = _partitioned(
            output, fmt or Format.PARQUET, lambda rel: S3Object(bucket, prefix + rel), snapshot_date, name
        )
    else:
        destination = _beside(output, _file_format(output, PurePosixPath(key), fmt), S3Object(bucket, key))
    for location in destination.locations:
        if len(_s3(location).key.encode()) > S3_KEY_BYTES:
            raise OutputError(f"{_said(output)}: the key {shown_text(_s3(location).key)} is over {S3_KEY_BYTES} bytes")
    return destination


def _said(output: str) -> str:
    return shown_text(output, 200)


def _check_key(output: str, key: str) -> None:
    """No control characters (a newline would split log lines and listings) and no '.' or '..' segments."""
    if _CONTROL.search(key):
        raise OutputError(f"{_said(output)}: the S3 key has a control character (e.g. a newline)")
    if any(part in {".", ".."} for part in key.split("/")):
        raise OutputError(f"{_said(output)}: the S3 key has a '.' or '..' segment")


def _file_format(output: str, path: PurePosixPath | Path, fmt: Format | None) -> Format:
    """A named file's format: --format, else its extension; the two must agree, and a name needs one."""
    suffix = path.suffix.lower().removeprefix(".")
    named = {f.value: f for f in Format}.get(suffix)
    if fmt is not None and named is not None and named is not fmt:
        raise OutputError(
            f"{_said(output)}: the name ends in .{suffix} but the format is {fmt.value}; "
            f"name it {path.stem}.{fmt.value} or use --format {suffix}"
        )
    if not suffix:
        chosen = (fmt or Format.PARQUET).value
        raise OutputError(
            f"{_said(output)}: no file extension and not an existing directory; "
            f"write {_said(output)}/ for a directory or {_said(output)}.{chosen} for a file"
        )
    return fmt or named or Format.PARQUET


def _partitioned(
    output: str, fmt: Format, join: Callable[[str], Location], snapshot_date: date, name: str
) -> Destination:
    partition = f"snapshot_date={snapshot_date.isoformat()}"
    return Destination(
        output=output,
        fmt=fmt,
        inventory=join(f"{partition}/{name}.{fmt.value}"),
        status=join(f"_status/{partition}/{name}.{fmt.value}"),
        manifest=join(f"_manifests/{partition}/{name}.json"),
    )


def _beside(output: str, fmt: Format, inventory: Location) -> Destination:
    """A named file or object, its status and manifest next to it: x.parquet, x.status.parquet, x.manifest.json."""
    if isinstance(inventory, S3Object):
        key = PurePosixPath(inventory.key)
        status: Location = S3Object(inventory.bucket, str(key.with_name(f"{key.stem}.status.{fmt.value}")))
        manifest: Location = S3Object(inventory.bucket, str(key.with_name(f"{key.stem}.manifest.json")))
    else:
        status = status_path(inventory, fmt)
        manifest = inventory.with_name(f"{inventory.stem}.manifest.json")
    return Destination(output, fmt, inventory, status, manifest)


def resolve_output(output: str, fmt: Format | None) -> tuple[Path, Format]:
    """A local --output as one file path and its format (the demo's view of resolve_destination)."""
    destination = resolve_destination(output, fmt, partitioned=False, snapshot_date=date.min)
    if not isinstance(destination.inventory, Path):
        raise OutputError(f"{output}: a local path is needed here")
    return destination.inventory, destination.fmt


def status_path(path: Path, fmt: Format) -> Path:
    """out/inventory.parquet -> out/inventory.status.parquet"""
    return path.with_name(f"{path.stem}.status.{fmt.value}")


def file_destination(path: Path, fmt: Format) -> Destination:
    """A local file as it is given, with its status and manifest next to it."""
    return _beside(str(path), fmt, path)


# --- publishing ---------------------------------------------------------------------------------------


def new_file_mode() -> int:
    """The mode a new file gets under the process umask (mkstemp makes 0600)."""
    current = os.umask(0o022)
    os.umask(current)
    return 0o666 & ~current


def one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


class Store(Protocol):
    """Where finished files are published: checked first, written to temp files, then published."""

    def preflight(self, destination: Destination) -> None: ...
    def temp_dir(self, location: Location) -> Path: ...
    def publish_file(self, tmp: Path, location: Location, content_type: str) -> None: ...
    def publish_bytes(self, data: bytes, location: Location, content_type: str) -> None: ...


def _s3(location: Location) -> S3Object:
    if not isinstance(location, S3Object):
        raise TypeError(f"{location}: not an S3 object")
    return location


@dataclass(frozen=True)
class S3Store:
    """Temporary files in the system temp directory, uploaded on publish. `client` is a boto3 S3 client
    (botocore retries off: every call goes through `policy`, the job's one retry layer)."""

    client: Any
    policy: RetryPolicy
    transfer: TransferConfig = field(default_factory=TransferConfig)

    def preflight(self, destination: Destination) -> None:
        """One ListObjectsV2 on the destination's prefix: the bucket exists and the job may use it.

        Not HeadBucket: this answers the same NoSuchBucket / AccessDenied, works where s3:ListBucket is
        granted with a plain StringLike on s3:prefix (which denies HeadBucket: it names no prefix), and
        checks the prefix the job will really write under."""
        bucket, prefix = destination.bucket, destination.s3_prefix
        try:
            self.policy.call(lambda: self.client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1))
        except (ClientError, BotoCoreError) as err:
            raise OutputError(_bucket_problem(destination.output, bucket or "", err)) from err

    def temp_dir(self, location: Location) -> Path:
        return Path(tempfile.gettempdir())

    def publish_file(self, tmp: Path, location: Location, content_type: str) -> None:
        """Upload through s3transfer (what boto3's upload_file uses, but without its wrapping of
        ClientError, which would hide throttling from the retry layer). Multipart above 8 MiB."""
        target = _s3(location)

        def upload() -> None:
            with create_transfer_manager(self.client, self.transfer) as manager:
                extra = {"ContentType": content_type}
                manager.upload(str(tmp), target.bucket, target.key, extra_args=extra).result()

        self._call(target, upload)
        tmp.unlink(missing_ok=True)

    def publish_bytes(self, data: bytes, location: Location, content_type: str) -> None:
        target = _s3(location)
        self._call(
            target,
            lambda: self.client.put_object(Bucket=target.bucket, Key=target.key, Body=data, ContentType=content_type),
        )

    def _call(self, target: S3Object, fn: Callable[[], object]) -> None:
        try:
            self.policy.call(fn)
        except (ClientError, BotoCoreError) as err:
            raise OutputError(f"{target}: upload failed: {one_line(err)}") from err


def _bucket_problem(output: str, bucket: str, err: ClientError | BotoCoreError) -> str:
    if isinstance(err, ClientError):
        code = str(err.response.get("Error", {}).get("Code") or "")
        status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in {"NoSuchBucket", "NotFound", "404"}:
            return f"{output}: bucket '{bucket}' does not exist"
        if code.startswith("AccessDenied") or code in {"AllAccessDisabled", "403"} or status == 403:
            return f"{output}: access to bucket '{bucket}' denied (the job needs s3:ListBucket and s3:PutObject)"
    return f"{output}: cannot use bucket '{bucket}': {one_line(err)}"
