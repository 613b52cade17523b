"""Whether a partition holds one complete run: the one place that decides it, for `verify` and the readers.

A partition (`snapshot_date=D` under a dataset's root, layout.py) is *complete* when it holds the objects of
one run layout only (runs.py), the latest run's, and every shard 0..N-1 of it has its manifest and its
inventory and status files as the manifest lists them (bytes; sha256 where the caller read the file), all
shards ran with one config (`config_sha256`) and no account is in two shards. Each way a partition falls
short is one problem line, naming the object (by its path under the dataset's root) or the partition.

The latest run is the one whose manifest finished last (`finished_at`); its layout is the partition's, and
objects of any other layout are left over from an earlier run (or a crash between a run's publishing and its
removal of them, supersede.py): readers skip them. A partition without any manifest (written before
manifests, or by hand) goes by its newest inventory file. `verify` requires manifests; the readers
(snapshot.py) pass `require_manifests=False`, so such an old partition reads with no warning about them.

Pure: a Listing in, a PartitionCheck out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from inventory import __version__
from inventory.output.layout import Format, partition, partition_folders
from inventory.output.runs import Entry, Kind, Layout, RunManifest, of_layout, run_of

__all__ = ["MARKER", "Coverage", "Listing", "PartitionCheck", "check_partition", "current_layout", "marker_document"]

MARKER = "_COMPLETE.json"  # in the partition's manifest folder; written by `verify` when the partition is complete
MARKER_VERSION = 1
_FILE_KEYS = {Kind.DATA: "inventory", Kind.STATUS: "status"}  # the manifest's `files` keys


@dataclass(frozen=True)
class Listing:
    """A partition's objects (temporary, hidden and `_` files left out) and its manifests, read."""

    day: date
    entries: tuple[Entry, ...]
    manifests: Mapping[str, RunManifest]  # by path, those that read as manifests
    unreadable: Mapping[str, str]  # path -> why not (one line)

    def folder(self, kind: Kind) -> str:
        """The folder of `kind`, relative to the dataset's root."""
        data, status, manifests = partition_folders(self.day)
        return {Kind.DATA: data, Kind.STATUS: status, Kind.MANIFEST: manifests}[kind]

    def belongs(self, entry: Entry, layout: Layout) -> bool | None:
        """runs.of_layout, with a manifest's format taken from its content when it was read."""
        manifest = self.manifests.get(entry.path)
        return of_layout(entry.kind, entry.name, layout, None if manifest is None else manifest.fmt)

    def of(self, layout: Layout, kind: Kind) -> dict[str, Entry]:
        """{run name: entry} of the layout's objects in one folder."""
        return {e.run: e for e in self.entries if e.kind is kind and self.belongs(e, layout)}


@dataclass(frozen=True)
class Coverage:
    """Totals over the runs' manifests."""

    shards: int = 0
    targets: int = 0
    ok: int = 0
    skipped: int = 0
    failed: int = 0
    functions: int = 0
    accounts: int = 0

    @property
    def line(self) -> str:
        return (
            f"coverage: {self.targets} targets ({self.ok} ok, {self.skipped} skipped, {self.failed} failed), "
            f"{self.functions} functions, {self.accounts} accounts, from {self.shards} run manifest(s)"
        )

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass(frozen=True)
class PartitionCheck:
    day: date
    layout: Layout | None  # the latest run's; None when the partition holds no run's file
    runs: tuple[RunManifest, ...]  # the layout's manifests, by shard
    problems: tuple[str, ...]  # one line each, empty when complete
    coverage: Coverage

    @property
    def complete(self) -> bool:
        return self.layout is not None and bool(self.runs) and not self.problems


def current_layout(listing: Listing) -> Layout | None:
    """The layout of the run whose manifest finished last; without manifests, that of the newest inventory
    file; None when the partition has neither."""
    if listing.manifests:
        latest = max(listing.manifests.values(), key=lambda m: (m.finished_at, m.run_id))
        return latest.layout
    newest: tuple[float, str, Layout] | None = None
    for entry in listing.entries:
        run = run_of(entry.kind, entry.name) if entry.kind is Kind.DATA else None
        if run is not None and run[1] is not None:
            candidate = (entry.modified, entry.name, Layout(run[0], run[1]))
            newest = candidate if newest is None or candidate[:2] > newest[:2] else newest
    return None if newest is None else newest[2]


def check_partition(
    listing: Listing,
    *,
    shards: int | None = None,
    digests: Mapping[str, str] | None = None,
    require_manifests: bool = True,
) -> PartitionCheck:
    """Every problem of the partition, one line each, and the coverage of its latest run's manifests.

    `shards` is the shard count the caller expects (1 for an unsharded run); `digests` the sha256 of files
    the caller read ({path: hex}), checked against their manifest's."""
    layout = current_layout(listing)
    if layout is None:
        return PartitionCheck(listing.day, None, (), (f"{partition(listing.day)}: no run's files",), Coverage())
    runs = {m.name: m for m in listing.manifests.values() if m.layout == layout}
    ordered = tuple(runs[name] for name in layout.names() if name in runs)
    vouch = require_manifests or bool(listing.manifests)
    problems = [
        *_unreadable(listing),
        *_mixed(listing, layout),
        *_shard_count(listing.day, layout, shards),
        *_shards(listing, layout, runs, digests or {}, vouch),
        *_configs(listing.day, ordered),
        *_accounts(listing.day, ordered),
    ]
    return PartitionCheck(listing.day, layout, ordered, tuple(problems), _coverage(ordered))


def _unreadable(listing: Listing) -> list[str]:
    return [f"{path}: {why}" for path, why in sorted(listing.unreadable.items())]


def _described(kind: Kind, name: str, fmt: Format | None) -> str:
    run = run_of(kind, name)
    count, fmt = (None, fmt) if run is None else (run[0], run[1] or fmt)
    shards = "unsharded" if count is None else f"{count} shards"
    return shards if fmt is None else f"{fmt.value}, {shards}"


def _mixed(listing: Listing, layout: Layout) -> list[str]:
    """An object of another layout, or a table file no run writes, in the data folder: a glob over the
    partition (Athena, duckdb) would add it up with the latest run's."""
    problems = []
    for entry in listing.entries:
        belongs = listing.belongs(entry, layout)
        if belongs is None and entry.kind is Kind.DATA:
            problems.append(f"{entry.path}: not a file a run writes (inventory or shard-I-of-N): not read")
        elif belongs is False:
            manifest = listing.manifests.get(entry.path)
            other = _described(entry.kind, entry.name, None if manifest is None else manifest.fmt)
            problems.append(
                f"{entry.path}: left by a run of another layout ({other}) than the latest run's ({layout}): not read"
            )
    return problems


def _shard_count(day: date, layout: Layout, shards: int | None) -> list[str]:
    has = layout.count or 1
    if shards is None or shards == has:
        return []
    return [f"{partition(day)}: the latest run has {has} shard(s) ({layout}), not {shards}"]


def _shards(
    listing: Listing, layout: Layout, runs: Mapping[str, RunManifest], digests: Mapping[str, str], vouch: bool
) -> list[str]:
    """Per shard: absent altogether, or without its manifest, or without a file its manifest lists, or with
    a file that is not the one its manifest describes."""
    files = {kind: listing.of(layout, kind) for kind in _FILE_KEYS}
    problems = []
    for name in layout.names():
        run = runs.get(name)
        if run is None and all(name not in files[kind] for kind in _FILE_KEYS):
            problems.append(f"{partition(listing.day)}: {name} missing: its accounts are not covered")
            continue
        manifest_path = f"{listing.folder(Kind.MANIFEST)}/{name}.json"
        if run is None and vouch and manifest_path not in listing.unreadable:
            problems.append(f"{manifest_path}: missing: the run of {name} did not finish publishing")
        for kind, key in _FILE_KEYS.items():
            entry = files[kind].get(name)
            if entry is None:
                lists = "" if run is None else f" (its manifest {run.path} lists it)"
                problems.append(f"{listing.folder(kind)}/{name}.{layout.fmt.value}: missing{lists}")
            elif run is not None:
                problems += _file_matches(entry, run.files.get(key, {}), digests.get(entry.path))
    return problems


def _file_matches(entry: Entry, described: Mapping[str, Any], digest: str | None) -> list[str]:
    size, sha256 = described.get("bytes"), described.get("sha256")
    if isinstance(size, int) and size != entry.size:
        return [f"{entry.path}: {entry.size} bytes, its manifest says {size}: not the file its run wrote"]
    if digest is not None and isinstance(sha256, str) and sha256 != digest:
        return [f"{entry.path}: its sha256 is not its manifest's: not the file its run wrote"]
    return []


def _configs(day: date, runs: tuple[RunManifest, ...]) -> list[str]:
    """One line per shard that ran with another config than most (ties: than the lowest shard)."""
    counts = Counter(r.config_sha256 for r in runs)
    if len(counts) < 2:
        return []
    usual = max((r.config_sha256 for r in runs), key=counts.__getitem__)
    first = next(r.name for r in runs if r.config_sha256 == usual)
    return [
        f"{partition(day)}: {r.name} ran with config sha256 {r.config_sha256[:12]}, {first} with {usual[:12]}: "
        "the shards are not one run"
        for r in runs
        if r.config_sha256 != usual
    ]


def _accounts(day: date, runs: tuple[RunManifest, ...]) -> list[str]:
    owners: dict[str, list[str]] = {}
    for run in runs:
        for account in run.accounts:
            owners.setdefault(account, []).append(run.name)
    return [
        f"{partition(day)}: account {account} is in {', '.join(names)}: its functions are counted {len(names)} times"
        for account, names in sorted(owners.items())
        if len(names) > 1
    ]


def _coverage(runs: tuple[RunManifest, ...]) -> Coverage:
    totals = Counter[str]()
    for run in runs:
        totals.update(run.counts)
    accounts = len(frozenset().union(*(r.accounts for r in runs)))
    counted = {k: totals[k] for k in ("targets", "ok", "skipped", "failed", "functions")}
    return Coverage(shards=len(runs), accounts=accounts, **counted)


def marker_document(check: PartitionCheck, verified_at: datetime) -> dict[str, Any]:
    """The `_COMPLETE.json` of a complete partition: which runs, how many shards, the config, the coverage."""
    if not check.complete or check.layout is None:
        raise ValueError("a marker is written for a complete partition only")
    moment = verified_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {
        "marker_version": MARKER_VERSION,
        "snapshot_date": check.day.isoformat(),
        "verified_at": moment,
        "verified_by": f"lambda-inventory {__version__}",
        "shard_count": check.layout.count or 1,
        "sharded": check.layout.count is not None,
        "format": check.layout.fmt.value,
        "config_sha256": check.runs[0].config_sha256,
        "runs": [
            {
                "run_id": run.run_id,
                "shard": run.name,
                "manifest": run.path,
                "finished_at": run.finished_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            }
            for run in check.runs
        ],
        "coverage": check.coverage.as_dict(),
    }
