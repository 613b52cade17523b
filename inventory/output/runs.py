"""The runs behind a partition's objects: each object's run layout, and what a run manifest says.

A run's *layout* is its shard count and file format. An unsharded run writes `inventory.<fmt>`, shard I of N
`shard-I-of-N.<fmt>`, each in the partition's data and status folders, and `<name>.json` in its manifest
folder (layout.py). Runs of one layout complete each other (the other shards) or replace each other's files
(a re-run of a shard); runs of two layouts cover the same accounts twice, so a partition holds one layout's
objects only (partition.py says which, supersede.py removes the rest).

Pure: names and manifest bytes in, facts out. A manifest that cannot be read as one is a ManifestError whose
message is one line, for a problem line of its own.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from inventory.output.layout import SUFFIXES, UNSHARDED, Format, run_name, shard_of

__all__ = ["Entry", "Kind", "Layout", "ManifestError", "RunManifest", "of_layout", "parse_manifest", "run_of"]

MANIFEST_SUFFIX = ".json"
_COUNTS = ("targets", "ok", "skipped", "failed", "functions")


class Kind(StrEnum):
    """The three folders of a partition."""

    DATA = "data"
    STATUS = "status"
    MANIFEST = "manifest"


@dataclass(frozen=True)
class Layout:
    """One run layout: `count` shards (None: unsharded) written as `fmt` files."""

    count: int | None
    fmt: Format

    def names(self) -> list[str]:
        """The run names of the layout's files: ['inventory'], or 'shard-I-of-N' for I in 0..N-1."""
        return [UNSHARDED] if self.count is None else [run_name((i, self.count)) for i in range(self.count)]

    def __str__(self) -> str:
        return f"{self.fmt.value}, {'unsharded' if self.count is None else f'{self.count} shards'}"


@dataclass(frozen=True)
class Entry:
    """One object in a partition's folder, as listed."""

    kind: Kind
    name: str  # the file name in its folder
    path: str  # relative to the dataset's root, '/'-joined: 'snapshot_date=2026-11-28/inventory.parquet'
    size: int = 0
    modified: float = 0.0  # seconds since the epoch

    @property
    def run(self) -> str:
        """The file's run name ('inventory', 'shard-0-of-2', or anything else for a foreign file)."""
        return posixpath.splitext(self.name)[0]


def run_of(kind: Kind, name: str) -> tuple[int | None, Format | None] | None:
    """A file name in a partition folder -> (shard count or None, format; None for a manifest's name), or
    None when no run writes that name (a foreign file)."""
    stem, ext = posixpath.splitext(name)
    shard = shard_of(stem)
    if stem != UNSHARDED and (shard is None or not 0 <= shard[0] < shard[1]):
        return None
    count = None if shard is None else shard[1]
    if kind is Kind.MANIFEST:
        return (count, None) if ext == MANIFEST_SUFFIX else None
    if ext.lower() not in SUFFIXES:
        return None
    return count, Format(ext.lower().removeprefix("."))


def of_layout(kind: Kind, name: str, layout: Layout, manifest_fmt: Format | None = None) -> bool | None:
    """Whether the object `name` of folder `kind` belongs to `layout`: True, False (another layout's), or
    None (no run writes that name). A manifest's name does not say its format: `manifest_fmt`, when its
    content was read, does; without it a manifest is judged by its shard count alone."""
    run = run_of(kind, name)
    if run is None:
        return None
    count, fmt = run
    fmt = fmt or manifest_fmt
    return count == layout.count and (fmt is None or fmt is layout.fmt)


class ManifestError(ValueError):
    """A file in the manifest folder that is not a run manifest; the message is one line."""


@dataclass(frozen=True)
class RunManifest:
    """What a partition check needs of one run manifest (manifest.py writes it)."""

    path: str  # relative to the dataset's root
    run_id: str
    finished_at: datetime
    config_sha256: str
    shard: tuple[int, int] | None
    fmt: Format
    counts: Mapping[str, int]
    accounts: frozenset[str]  # functions_by_account's keys
    files: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # inventory/status: sha256, bytes, rows

    @property
    def layout(self) -> Layout:
        return Layout(None if self.shard is None else self.shard[1], self.fmt)

    @property
    def name(self) -> str:
        return run_name(self.shard)


def parse_manifest(data: bytes, path: str) -> RunManifest:
    """A manifest's bytes -> RunManifest; ManifestError (one line) when it is not one, or when its file
    name is not its run's (`shard-0-of-2.json` holding the manifest of `inventory`)."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise ManifestError("not a run manifest: not JSON") from err
    if not isinstance(doc, dict):
        raise ManifestError("not a run manifest: not a JSON object")
    shard = _shard(doc.get("shard"))
    outputs = doc.get("outputs")
    fmt = outputs.get("format") if isinstance(outputs, dict) else None
    if fmt not in {f.value for f in Format}:
        raise ManifestError("not a run manifest: no outputs.format")
    name = posixpath.splitext(posixpath.basename(path))[0]
    if name != run_name(shard):
        raise ManifestError(f"holds the manifest of {run_name(shard)}, not of {name}")
    accounts = doc.get("functions_by_account")
    files = doc.get("files", {})
    if not isinstance(accounts, dict) or not isinstance(files, dict):
        raise ManifestError("not a run manifest: no functions_by_account")
    return RunManifest(
        path=path,
        run_id=_text(doc, "run_id"),
        finished_at=_moment(_text(doc, "finished_at")),
        config_sha256=_text(doc, "config_sha256"),
        shard=shard,
        fmt=Format(fmt),
        counts=_counts(doc.get("counts")),
        accounts=frozenset(str(a) for a in accounts),
        files={k: v for k, v in files.items() if isinstance(v, dict)},
    )


def _text(doc: Mapping[str, Any], key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise ManifestError(f"not a run manifest: no {key}")
    return value


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise ManifestError("not a run manifest: finished_at is not a time") from err
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _shard(value: object) -> tuple[int, int] | None:
    if value is None:
        return None
    index = value.get("index") if isinstance(value, dict) else None
    count = value.get("count") if isinstance(value, dict) else None
    if not isinstance(index, int) or not isinstance(count, int) or not 0 <= index < count:
        raise ManifestError("not a run manifest: shard is not {index, count} with 0 <= index < count")
    return index, count


def _counts(value: object) -> dict[str, int]:
    if not isinstance(value, dict) or not all(isinstance(value.get(k), int) for k in _COUNTS):
        raise ManifestError(f"not a run manifest: counts lacks one of {', '.join(_COUNTS)}")
    return {k: int(value[k]) for k in _COUNTS}
