"""`verify`: whether a partition holds one complete run, and its completion marker when it does.

It reads the partition's listing and manifests (sources.py), reads each of the latest run's inventory and
status files once to check its sha256 against its manifest's, and judges the partition with
partition.check_partition: the same judgement the readers warn with. On a complete partition it writes
`_manifests/snapshot_date=D/_COMPLETE.json` (partition.marker_document) whole or not at all (an atomic
rename locally, one PutObject on S3), unless told not to. Any run that commits into the partition later
removes the marker (supersede.py): a marker vouches for the runs it names only.

No pyarrow here: a verify step (e.g. an AWS Batch array job's dependent job) reads bytes and JSON only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from inventory.errors import ConfigError, SnapshotError
from inventory.output.layout import partition
from inventory.output.partition import MARKER, Listing, PartitionCheck, check_partition, current_layout, marker_document
from inventory.output.runs import Kind
from inventory.output.sources import Source, choose_partition, join, locate, partition_dates, read_listing

__all__ = ["Verdict", "verify_partition"]


@dataclass(frozen=True)
class Verdict:
    """What `verify` found, and where it wrote the marker (None: not written)."""

    where: str  # the partition's URL or path
    check: PartitionCheck
    marker: str | None = None

    @property
    def complete(self) -> bool:
        return self.check.complete

    def lines(self) -> list[str]:
        """One line per problem, the coverage line, then the verdict."""
        check = self.check
        if not check.complete:
            return [*check.problems, check.coverage.line, f"{self.where}: incomplete: {len(check.problems)} problem(s)"]
        shards = len(check.runs)
        config = check.runs[0].config_sha256[:12]
        marker = f"; marker {self.marker}" if self.marker else "; no marker written"
        verdict = (
            f"{self.where}: complete: {shards} of {shards} shard(s) ({check.layout}), "
            f"one config (sha256 {config}), no account in two shards{marker}"
        )
        return [check.coverage.line, verdict]


def verify_partition(
    source: str,
    snapshot_date: date | None = None,
    *,
    shards: int | None = None,
    write_marker: bool = True,
    s3: Any = None,
    now: datetime | None = None,
) -> Verdict:
    """Check the partition of `snapshot_date` (default: the latest) under a prefix, local or s3://.

    `shards`, when given, must be the latest run's shard count (1 for an unsharded run). Raises ConfigError
    for a single file, SnapshotError (one line) when the prefix or the partition is missing or unreadable,
    or when the marker cannot be written."""
    store, path, is_file = locate(source, s3)
    if is_file:
        raise ConfigError(f"{source}: is a single inventory file; verify reads a partitioned prefix")
    root, day = choose_partition(store, path, snapshot_date, source)
    listing = read_listing(store, root, day)
    where = store.url(join(root, partition(day)))
    if not listing.entries:
        dates = partition_dates(store, root)
        hint = f" (latest is {dates[-1]})" if dates else ""
        raise SnapshotError(f"{where}: no such partition or nothing in it{hint}")
    check = check_partition(listing, shards=shards, digests=_digests(store, root, listing))
    if not (check.complete and write_marker):
        return Verdict(where, check)
    marker = join(root, listing.folder(Kind.MANIFEST), MARKER)
    document = marker_document(check, now or datetime.now(UTC))
    store.write(marker, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())
    return Verdict(where, check, store.url(marker))


def _digests(store: Source, root: str, listing: Listing) -> dict[str, str]:
    """sha256 of the latest run's inventory and status files that a manifest describes by sha256."""
    layout = current_layout(listing)
    if layout is None:
        return {}
    runs = {m.name: m for m in listing.manifests.values() if m.layout == layout}
    digests = {}
    for kind, key in ((Kind.DATA, "inventory"), (Kind.STATUS, "status")):
        for name, entry in listing.of(layout, kind).items():
            described = runs[name].files.get(key, {}) if name in runs else {}
            if isinstance(described.get("sha256"), str) and described.get("bytes") == entry.size:
                try:
                    digests[entry.path] = store.digest(join(root, entry.path))
                except FileNotFoundError:
                    continue  # removed since the listing: its manifest's check says so
    return digests
