"""Where a run's files go: a local file or directory, or an S3 object; and whether --output names a lake.

`resolve_destination` turns `--output` into the three locations of one run (inventory, status, manifest)
without touching the filesystem beyond asking whether a local path is a directory, and without any AWS
call. The names are layout.py's:

* a file `out/x.parquet`: `out/x.parquet`, `out/x.status.parquet`, `out/x.manifest.json`;
* a directory `out/` (existing, or written with a trailing slash): the same with the run's name,
  `inventory` (`shard-<I>-of-<N>` for a sharded run);
* an object `s3://bucket/key.parquet`: that object, `key.status.parquet` and `key.manifest.json`.

A re-run writes the same names, so it replaces its own files. The files are published by a store
(stores.py). A lake (`lake_output`: any `s3://bucket/prefix/` ending in `/`, or just `s3://bucket`, or a
local directory with `--lake`) is not a destination of files: writers/lake.py writes its tables.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from inventory.contract.lake import Lake, lake_at
from inventory.contract.layout import S3_SCHEME, Format, manifest_name, run_name, status_name, table_name
from inventory.errors import OutputError, shown_text

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# S3's rules for new buckets: 3-63 of lowercase letters, digits, dots and hyphens, letter or digit at the ends.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
S3_KEY_BYTES = 1024  # S3's limit on a key's UTF-8 length
LAKE_PREFIX_BYTES = S3_KEY_BYTES - 200  # a lake's prefix leaves room for its tables' own keys under it


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

    def beside(self, table: str) -> Location:
        """The file of another of the run's tables beside the inventory: x.<table>.<fmt> (contract/layout.py)."""
        inventory = self.inventory
        if isinstance(inventory, S3Object):
            key = PurePosixPath(inventory.key)
            return S3Object(inventory.bucket, str(key.with_name(table_name(key.stem, table, self.fmt))))
        return inventory.with_name(table_name(inventory.stem, table, self.fmt))

    def outputs(self, tables: Iterable[str] = ()) -> dict[str, str]:
        """Where the run wrote, as its record (the manifest's `outputs`) says: with the run's other `tables`."""
        written = {"inventory": location_text(self.inventory), "status": location_text(self.status)}
        return {"format": self.fmt.value, **written, **{name: location_text(self.beside(name)) for name in tables}}


def choose_output(
    output: str, fmt: Format | None, lake: bool, database: str | None = None, shard: tuple[int, int] | None = None
) -> Lake | Destination:
    """--output (with --format, --lake, --database and the run's shard) -> the lake it names, or where the run's
    files go. OutputError (one line) for an unusable one."""
    location = _lake_location(output, fmt, lake)
    if location is None:
        return resolve_destination(output, fmt, shard)
    return lake_at(location, database)


def lake_output(output: str, fmt: Format | None, lake: bool, database: str | None = None) -> Lake | None:
    """The lake that --output names (`s3://bucket/prefix/`, `s3://bucket`, or a local directory with
    --lake), or None when it names a file or a directory of files. OutputError (one line) for an unusable one."""
    location = _lake_location(output, fmt, lake)
    return None if location is None else lake_at(location, database)


def _lake_location(output: str, fmt: Format | None, lake: bool) -> str | None:
    """The lake's location as --output gives it, or None when it names files (lake_output)."""
    if output.startswith(S3_SCHEME):
        bucket, _, key = output.removeprefix(S3_SCHEME).partition("/")
        _check_bucket(output, bucket, key)
        if not (lake or not key or key.endswith("/")):
            return None
        where = f"{S3_SCHEME}{bucket}/{key if not key or key.endswith('/') else key + '/'}"
        if len(key.encode()) > LAKE_PREFIX_BYTES:
            raise OutputError(f"{_said(output)}: the prefix {shown_text(key)} is over {LAKE_PREFIX_BYTES} bytes")
    elif not lake:
        return None
    elif not output or _SCHEME.match(output):
        raise OutputError(f"{_said(output) or '--output'}: a lake is an s3://bucket/prefix/ or a local directory")
    elif Path(output).is_file():
        raise OutputError(f"{_said(output)}: is a file; a local lake is a directory")
    else:
        where = output
    if fmt is Format.CSV:
        raise OutputError(f"{_said(output)}: a lake is Apache Iceberg tables (Parquet); --format csv writes a file")
    return where


def resolve_destination(output: str, fmt: Format | None, shard: tuple[int, int] | None = None) -> Destination:
    """--output (and --format and the run's shard) -> where the run's files go (not a lake: lake_output).

    `shard` is (index, count), 0 <= index < count. Raises OutputError (one line) for an unusable output.
    """
    if shard is not None and not 0 <= shard[0] < shard[1]:
        raise ValueError(f"shard {shard!r}: need 0 <= index < count")
    name = run_name(shard)
    if output.startswith(S3_SCHEME):
        return _s3_destination(output, fmt)
    if _SCHEME.match(output):
        raise OutputError(f"{output}: not a local path or an s3:// URL")
    if not output:
        raise OutputError("--output: must not be empty")
    path = Path(output)
    if output.endswith(("/", os.sep)) or path.is_dir():
        chosen = fmt or Format.PARQUET
        return _beside(output, chosen, path / f"{name}.{chosen.value}")
    return _beside(output, _file_format(output, path, fmt), path)


def _check_bucket(output: str, bucket: str, key: str) -> None:
    if not bucket:
        raise OutputError(f"{_said(output)}: no bucket name (expected s3://bucket/prefix/ or s3://bucket/key.parquet)")
    if not _BUCKET.match(bucket):
        raise OutputError(f"{_said(output)}: {bucket[:80]!r} is not a valid S3 bucket name")
    if "//" in key or key.startswith("/"):
        raise OutputError(f"{_said(output)}: empty path segment in the key")
    _check_key(output, key)


def _s3_destination(output: str, fmt: Format | None) -> Destination:
    bucket, _, key = output.removeprefix(S3_SCHEME).partition("/")
    _check_bucket(output, bucket, key)
    if not key or key.endswith("/"):
        raise OutputError(f"{output}: an S3 prefix is a lake; name an object (s3://bucket/key.parquet) for a file")
    destination = _beside(output, _file_format(output, PurePosixPath(key), fmt), S3Object(bucket, key))
    for location in destination.locations:
        key = s3_object(location).key
        if len(key.encode()) > S3_KEY_BYTES:
            raise OutputError(f"{_said(output)}: the key {shown_text(key)} is over {S3_KEY_BYTES} bytes")
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


def _beside(output: str, fmt: Format, inventory: Location) -> Destination:
    """A named file or object, its status and manifest next to it: x.parquet, x.status.parquet, x.manifest.json."""
    if isinstance(inventory, S3Object):
        key = PurePosixPath(inventory.key)
        status: Location = S3Object(inventory.bucket, str(key.with_name(status_name(key.stem, fmt))))
        manifest: Location = S3Object(inventory.bucket, str(key.with_name(manifest_name(key.stem))))
    else:
        status = inventory.with_name(status_name(inventory.stem, fmt))
        manifest = inventory.with_name(manifest_name(inventory.stem))
    return Destination(output, fmt, inventory, status, manifest)


def resolve_output(output: str, fmt: Format | None) -> tuple[Path, Format]:
    """A local --output as one file path and its format (the demo's view of resolve_destination)."""
    destination = resolve_destination(output, fmt)
    if not isinstance(destination.inventory, Path):
        raise OutputError(f"{output}: a local path is needed here")
    return destination.inventory, destination.fmt


def location_text(location: Location) -> str:
    """How a manifest names a file: its s3:// URL, or its absolute local path."""
    return str(location) if isinstance(location, S3Object) else os.path.abspath(location)


def s3_object(location: Location) -> S3Object:
    """`location` when it is an S3 object; TypeError when it is a local path."""
    if not isinstance(location, S3Object):
        raise TypeError(f"{location}: not an S3 object")
    return location


def local_path(location: Location) -> Path:
    """`location` when it is a local path; TypeError when it is an S3 object."""
    if not isinstance(location, Path):
        raise TypeError(f"{location}: not a local path")
    return location
