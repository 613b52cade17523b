"""`import`: the runs of the layout lambda-inventory wrote before the lake (`PREFIX/snapshot_date=D/` folders,
`_status/` and `_manifests/` beside them) appended to a lake, so report, diff and verify read them there.

For each day, the run layout whose manifest finished last (shard count and format, as that layout's readers
chose it) is imported: each of its shards' inventory and status files, with its manifest as the run record.
The shards of one old run had one run id each; in the lake they become one run, `hive-<day>-<N>-shards`,
each shard keeping its old run id as its write id. Objects without a manifest, and other layouts (left
over), are not imported: one line each says so. Importing twice adds nothing the second time (a write id
already in the lake is skipped). The old objects are only read, never changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

import pyarrow as pa

from inventory.contract.lake import Lake
from inventory.contract.layout import UNSHARDED, Format, partition_date, partition_folders, run_name
from inventory.contract.record import RecordError, parse_record
from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.errors import SnapshotError
from inventory.readers.decode import decode_table
from inventory.readers.lake import LakeReader
from inventory.readers.sources import Source, join, locate
from inventory.writers.lake import append_run, open_tables

if TYPE_CHECKING:
    from pyiceberg.table import Table

Tables = Mapping[str, "Table"]


def import_hive(source: str, lake: Lake) -> Iterator[str]:
    """Import every day under `source`; yields one line per day (or object) imported or left out."""
    store, root, is_file = locate(source, None)
    if is_file:
        raise SnapshotError(f"{source}: is a single file; import reads a snapshot_date=YYYY-MM-DD/ layout")
    folders, _ = store.listdir(root)
    days = sorted(d for name in folders if (d := partition_date(name)) is not None)
    if not days:
        raise SnapshotError(f"{source}: no snapshot_date=YYYY-MM-DD folders to import")
    tables = open_tables(lake)
    known = {r.write_id for r in LakeReader(lake).records()}
    for day in days:
        yield from _import_day(store, root, day, (lake, tables), known)


def _import_day(store: Source, root: str, day: date, into: tuple[Lake, Tables], known: set[str]) -> Iterator[str]:
    data, status, manifests = partition_folders(day)
    records = []
    for name in sorted(store.listdir(join(root, manifests))[1]):
        if name.endswith(".json") and not name.startswith(("_", ".")):
            try:
                records.append((name, parse_record(store.read(join(root, manifests, name)), name)))
            except RecordError as err:
                yield f"{day}: {manifests}/{name}: not imported: {err}"
    if not records:
        yield f"{day}: no run manifest: nothing imported"
        return
    latest = max(records, key=lambda pair: pair[1].finished_at)[1]
    count = latest.shard_count
    fmt = Format(latest.outputs.get("format", "parquet"))
    run_id = f"hive-{day}-{count}-shards"
    for _, record in sorted(records, key=lambda pair: pair[1].shard_index):
        if record.shard_count != count or Format(record.outputs.get("format", "parquet")) is not fmt:
            yield f"{day}: {run_name(record.shard)}: another layout than the latest run's: not imported"
            continue
        if record.run_id in known:
            yield f"{day}: {run_name(record.shard)}: already in the lake (write id {record.run_id})"
            continue
        stem = run_name(record.shard) if record.shard else UNSHARDED
        functions = _read(store, join(root, data, f"{stem}.{fmt.value}"), INVENTORY_SCHEMA, fmt)
        rows = _read(store, join(root, status, f"{stem}.{fmt.value}"), STATUS_SCHEMA, fmt)
        moved = replace(record, run_id=run_id, write_id=record.run_id, files={})
        append_run(*into, functions, rows, moved)
        known.add(record.run_id)
        yield f"{day}: {stem}: {functions.num_rows} functions, {rows.num_rows} targets imported as run {run_id}"


def _read(store: Source, path: str, schema: pa.Schema, fmt: Format) -> pa.Table:
    """The file as the schema's types, without the columns it was written without: in the lake they stay
    absent (read as null and reported absent), not values."""
    try:
        data = store.read(path)
    except FileNotFoundError as err:
        raise SnapshotError(f"{store.url(path)}: missing (its manifest names it)") from err
    absent: set[str] = set()
    table = decode_table(data, fmt, schema, store.url(path), absent)
    return table.drop_columns(sorted(absent))
