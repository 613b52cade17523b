"""One run per partition: what a run's commit removes from its partition, and when.

A run into a partitioned dataset supersedes the objects of a run with another layout (runs.py: unsharded vs
sharded, another shard count, another format) in its partition: their inventory, status and manifest
objects, found by name when the run commits. It never touches its own layout's objects (the other shards of
the same count: a sibling's, whether finished or still running). Any `_COMPLETE.json` marker of the
partition goes too: it vouched for the runs before this one. The sink (sink.py) then publishes in this order:

1. its inventory and status files;
2. removes the marker;
3. its manifest, whose `superseded` lists the other layout's objects: from here on the run is the
   partition's latest (partition.py), and readers skip those objects even while they still exist;
4. removes them: inventory files first (what a glob over the partition, Athena's, would add up), then
   status files, then manifests.

Why the manifest before the removals, not after: the manifest is the commit point. A crash before it
leaves the earlier run whole (and what it vouched for still vouched for) beside this run's unvouched files,
which readers ignore; a crash after it leaves this run whole beside leftovers that readers ignore and that
`verify` names. Removing first would open a window in which a partly removed earlier run is still the one
with the latest manifest. A removal that fails (e.g. the role may not delete) is logged as an error and the
run still succeeds: its output is complete and its manifest names what is left over, and `verify` fails on
the mix until it is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from inventory.errors import OutputError
from inventory.output.destination import Destination, Location, folder_of, in_folder, location_text
from inventory.output.layout import shard_of
from inventory.output.partition import MARKER
from inventory.output.runs import Kind, Layout, of_layout
from inventory.output.stores import Store

__all__ = ["Supersede", "plan_supersede", "remove"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Supersede:
    """What a run's commit removes: the partition's marker, and the objects of another layout."""

    marker: Location | None = None
    objects: tuple[Location, ...] = ()  # inventory files, then status files, then manifests

    @property
    def listed(self) -> list[str]:
        """The objects as the manifest's `superseded` names them: s3:// URLs or absolute paths."""
        return [location_text(o) for o in self.objects]


def run_layout(destination: Destination) -> Layout:
    """The layout of the run writing `destination` (its file name says its shard)."""
    location = destination.inventory
    shard = shard_of(location.stem if isinstance(location, Path) else PurePosixPath(location.key).stem)
    return Layout(None if shard is None else shard[1], destination.fmt)


def plan_supersede(destination: Destination, store: Store) -> Supersede:
    """List the run's partition: its marker, and the objects of another layout. Nothing for a destination
    that is not a partition. Raises OutputError when a folder cannot be listed (nothing is published then)."""
    if destination.snapshot_date is None:
        return Supersede()
    layout = run_layout(destination)
    marker: Location | None = None
    objects: list[Location] = []
    kinds = (Kind.DATA, Kind.STATUS, Kind.MANIFEST)
    for kind, location in zip(kinds, destination.locations, strict=True):
        folder = folder_of(location)
        for name in store.list_names(folder):
            if kind is Kind.MANIFEST and name == MARKER:
                marker = in_folder(folder, name)
            elif not name.startswith((".", "_")) and of_layout(kind, name, layout) is False:
                objects.append(in_folder(folder, name))
    return Supersede(marker, tuple(objects))


def remove(store: Store, locations: Iterable[Location | None], what: str) -> None:
    """Delete each location; a failure is logged (an error) and the rest are still tried."""
    for location in locations:
        if location is None:
            continue
        try:
            store.delete(location)
        except OutputError as err:
            log.error("could not remove %s (%s): %s", what, location_text(location), err, extra={})
        else:
            log.info("removed %s: %s", what, location_text(location), extra={})
