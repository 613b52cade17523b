"""The storage layout of the on-disk contract: the names the writer (destination.py) gives a run's files
and the reader (snapshot.py) looks for. Spelled out here only.

* an inventory file `x.<fmt>` has its status file `x.status.<fmt>` and its manifest `x.manifest.json` beside it,
  and the run's other tables (the estate's, contract/estate.py, and `runtimes`) as `x.<table>.<fmt>`;
* in a directory, a run's file is named `inventory`, or `shard-<I>-of-<N>` for shard I of N (0-based), so
  the shards of one night never overwrite each other;
* the Hive layout written before the lake (contract/lake.py), read only by `import` (job/hive_import.py):
  `PREFIX/snapshot_date=YYYY-MM-DD/<name>.<fmt>`, `PREFIX/_status/snapshot_date=YYYY-MM-DD/<name>.<fmt>`
  and `PREFIX/_manifests/snapshot_date=YYYY-MM-DD/<name>.json`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from pathlib import Path, PurePosixPath

S3_SCHEME = "s3://"
UNSHARDED = "inventory"  # the name of an unsharded run's files in a directory or a partition
STATUS_FOLDER = "_status"
MANIFEST_FOLDER = "_manifests"
_STATUS = ".status"
_PARTITION = re.compile(r"^snapshot_date=(\d{4}-\d\d-\d\d)$")
_SHARD = re.compile(r"^shard-(\d+)-of-(\d+)$")


class Format(StrEnum):
    """A table file's format; its value is the file extension."""

    PARQUET = "parquet"
    CSV = "csv"

    @classmethod
    def from_path(cls, path: PurePosixPath | Path) -> Format:
        return cls.CSV if path.suffix.lower() == ".csv" else cls.PARQUET

    @property
    def content_type(self) -> str:
        return "text/csv; charset=utf-8" if self is Format.CSV else "application/vnd.apache.parquet"


SUFFIXES = tuple(f".{fmt.value}" for fmt in Format)  # the extensions of table files


def run_name(shard: tuple[int, int] | None) -> str:
    """The name of a run's files in a directory or a partition: `inventory`, or `shard-I-of-N`."""
    return UNSHARDED if shard is None else f"shard-{shard[0]}-of-{shard[1]}"


def shard_of(name: str) -> tuple[int, int] | None:
    """'shard-2-of-8' -> (2, 8); None for any other name."""
    match = _SHARD.match(name)
    return (int(match.group(1)), int(match.group(2))) if match else None


def partition(day: date) -> str:
    """The partition folder of a night: `snapshot_date=YYYY-MM-DD`."""
    return f"snapshot_date={day.isoformat()}"


def partition_date(name: str) -> date | None:
    """'snapshot_date=2026-11-28' -> that date; None for any other name (or an impossible date)."""
    match = _PARTITION.match(name)
    try:
        return date.fromisoformat(match.group(1)) if match else None
    except ValueError:
        return None


def partition_folders(day: date) -> tuple[str, str, str]:
    """The folders of a night's inventory, status and manifest files, relative to the dataset's root."""
    name = partition(day)
    return name, f"{STATUS_FOLDER}/{name}", f"{MANIFEST_FOLDER}/{name}"


def status_name(stem: str, fmt: Format) -> str:
    """The status file beside an inventory file: `x` -> `x.status.<fmt>`."""
    return f"{stem}{_STATUS}.{fmt.value}"


def is_status_stem(stem: str) -> bool:
    """Whether a file named `<stem>.<fmt>` is a status file (`x.status`)."""
    return stem.endswith(_STATUS)


def table_name(stem: str, table: str, fmt: Format) -> str:
    """Another table of the run beside an inventory file: `x` -> `x.<table>.<fmt>`."""
    return f"{stem}.{table}.{fmt.value}"


def is_beside_stem(stem: str, tables: Iterable[str]) -> bool:
    """Whether a file named `<stem>.<fmt>` is one beside an inventory file (its status, or one of `tables`)."""
    return is_status_stem(stem) or any(stem.endswith(f".{table}") for table in tables)


def manifest_name(stem: str) -> str:
    """The manifest beside an inventory file: `x` -> `x.manifest.json`."""
    return f"{stem}.manifest.json"
