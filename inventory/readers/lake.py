"""A lake read back: its runs (contract/record.py's RunRecord, rebuilt from the `runs` table), and one run's
functions and status rows, and its rows of the estate tables it wrote, as a Snapshot for report and diff.

Which run is a day's inventory is contract/current.py's rule, applied here and nowhere else in the readers;
`run_id` reads any run instead (every run stays readable). A run's rows are those of its day's partition
(Iceberg's scan planning) and its write ids, so a reader never sees another run's rows, whatever was
committed beside them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from inventory.contract.current import ChosenRun, current_run, runs_of
from inventory.contract.estate import EstateTable, tables_read_by
from inventory.contract.lake import FUNCTIONS, PARTITION_COLUMN, RUNS, TARGETS, Lake, open_catalog
from inventory.contract.record import RecordError, RunRecord
from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.errors import OutputError, SnapshotError
from inventory.readers.decode import conform
from inventory.readers.snapshot_type import Snapshot
from inventory.redact import one_line

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table


class NoLakeError(SnapshotError):
    """The catalog has no such namespace or table: nothing was ever written there."""


class LakeReader:
    """The tables of one lake, opened once (its catalog too)."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self._tables: dict[str, Table] = {}
        self._catalog: Catalog | None = None

    def table(self, name: str) -> Table:
        if name not in self._tables:
            self._tables[name] = self._load(name)
        return self._tables[name]

    def _load(self, name: str) -> Table:
        from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError  # noqa: PLC0415 - a lake only

        try:
            self._catalog = self._catalog or open_catalog(self.lake, create=False)
            table = self._catalog.load_table(self.lake.identifier(name))
        except (NoSuchTableError, NoSuchNamespaceError) as err:
            raise NoLakeError(f"{self.lake}: no lake here (no table {self.lake.identifier(name)})") from err
        except SnapshotError:
            raise
        except Exception as err:
            raise SnapshotError(
                f"{self.lake}: cannot read the lake: {type(err).__name__}: {one_line(str(err))}"
            ) from err
        try:
            self.lake.check_location(name, table.location())
        except OutputError as err:
            raise SnapshotError(str(err)) from err
        return table

    def records(self, day: date | None = None) -> list[RunRecord]:
        """Every committed run record (of `day` only, when given)."""
        scan = self.table(RUNS).scan(row_filter=_on(day)) if day else self.table(RUNS).scan()
        records = []
        for text in self._scan(scan, RUNS).column("record").to_pylist():
            try:
                records.append(RunRecord.from_json(json.loads(text or "null")))
            except (RecordError, ValueError) as err:
                raise SnapshotError(f"{self.lake}: a runs row is not a run record: {one_line(str(err))}") from err
        return records

    def rows(
        self,
        name: str,
        run: ChosenRun,
        schema: pa.Schema,
        absent: set[str] | None = None,
        *,
        estate: EstateTable | None = None,
    ) -> pa.Table:
        """The rows of `run` in the functions or targets table (its day's partition, its write ids) as `schema`.

        The data files are the job's own Parquet files (writers/lake.py), read here file by file as written:
        a column a file was written without is null and named in `absent`, and a null list of structs stays
        null (pyiceberg's projection reads it as []). A table that another engine gave delete files is read
        through pyiceberg's scan instead, which applies them."""
        table = self.table(name)
        scan = table.scan(row_filter=_on(run.snapshot_date))
        try:
            tasks = list(scan.plan_files())
        except Exception as err:  # a missing manifest, S3 denied, ...: one line
            raise self._failure(name, err) from err
        wanted = pa.array(sorted(run.write_ids), pa.string())
        ids = frozenset(run.write_ids)
        if any(task.delete_files for task in tasks):
            rows = self._scan(scan, name)
            ours = rows.filter(pc.is_in(rows.column("write_id"), wanted))
            return conform(ours, schema, str(self.lake), estate=estate)
        parts = [schema.empty_table()]
        for task in tasks:
            try:
                with table.io.new_input(task.file.file_path).open() as stream:
                    rows = _groups_of(pq.ParquetFile(stream), ids)
            except Exception as err:  # a missing or unreadable data file: one line
                raise self._failure(f"{name} ({task.file.file_path})", err) from err
            rows = rows.filter(pc.is_in(rows.column("write_id"), wanted))
            if rows.num_rows:
                parts.append(conform(rows, schema, task.file.file_path, absent, estate=estate))
        return pa.concat_tables(parts)

    def _failure(self, what: str, err: Exception) -> SnapshotError:
        return SnapshotError(f"{self.lake}: cannot read {what}: {type(err).__name__}: {one_line(str(err))}")

    def _scan(self, scan: object, name: str) -> pa.Table:
        try:
            table: pa.Table = scan.to_arrow()  # type: ignore[attr-defined]
        except Exception as err:
            raise SnapshotError(f"{self.lake}: cannot read {name}: {type(err).__name__}: {one_line(str(err))}") from err
        return table


def _groups_of(parquet: pq.ParquetFile, ids: frozenset[str]) -> pa.Table:
    """The row groups of a data file that may hold rows of `ids` (by the write_id column's statistics): the
    files of a day's other runs are skipped unread, not decoded and filtered out."""
    meta = parquet.metadata
    leaf = next((j for j in range(meta.num_columns) if meta.schema.column(j).path == "write_id"), None)
    groups = [
        i
        for i in range(parquet.num_row_groups)
        if leaf is None or _may_hold(meta.row_group(i).column(leaf).statistics, ids)
    ]
    return parquet.read_row_groups(groups) if groups else parquet.schema_arrow.empty_table()


def _may_hold(statistics: pq.Statistics | None, ids: frozenset[str]) -> bool:
    if statistics is None or not statistics.has_min_max:
        return True
    low, high = (v.decode() if isinstance(v, bytes) else str(v) for v in (statistics.min, statistics.max))
    return any(low <= write_id <= high for write_id in ids)


def _on(day: date) -> str:
    """An Iceberg row filter on one day's partition."""
    return f"{PARTITION_COLUMN} = '{day.isoformat()}'"


def choose_run(records: Sequence[RunRecord], day: date | None, run_id: str | None, where: str) -> ChosenRun:
    """The run a reader reads: `run_id`'s, else the inventory of `day` (default: the latest day with a run)."""
    if run_id is not None:
        runs = [r for r in runs_of(records) if r.run_id == run_id and (day is None or r.snapshot_date == day)]
        if not runs:
            raise SnapshotError(f"{where}: no run {run_id}" + (f" on {day}" if day else "") + " committed")
        return runs[0]
    days = sorted({r.snapshot_date for r in records})
    if not days:
        raise SnapshotError(f"{where}: no run committed yet")
    chosen = current_run(records, day or days[-1])
    if chosen is None:
        raise SnapshotError(f"{where}: no run committed on {day} (latest day is {days[-1]})")
    return chosen


def load_lake_snapshot(lake: Lake, day: date | None = None, run_id: str | None = None) -> Snapshot:
    """One run of the lake (the day's inventory by the rule, or `run_id`) as a Snapshot."""
    reader = LakeReader(lake)
    where = str(lake)
    records = reader.records(day if run_id is None else None)
    if run_id is None and day is not None and not records:  # name the latest day there is
        records = reader.records()
    run = choose_run(records, day, run_id, where)
    absent: set[str] = set()
    functions = reader.rows(FUNCTIONS, run, INVENTORY_SCHEMA, absent)
    status = reader.rows(TARGETS, run, STATUS_SCHEMA)
    warnings = tuple(f"run {run.run_id} of {run.snapshot_date} is incomplete: {p}" for p in run.problems)
    tables, table_absent = _estate(reader, run)
    return Snapshot(
        functions=functions,
        status=status,
        source=f"{lake.location} run {run.run_id}",
        snapshot_date=run.snapshot_date,
        warnings=warnings,
        absent_columns=frozenset(absent),
        tables=tables,
        table_absent_columns=table_absent,
    )


def _estate(reader: LakeReader, run: ChosenRun) -> tuple[dict[str, pa.Table], dict[str, frozenset[str]]]:
    """The run's rows of each estate table it wrote: those whose enrichment its records name (the run asked
    for it). A lake whose catalog has no such table yet (created before it) has none of them."""
    asked = {name for record in run.shards for name in record.enrichments}
    tables: dict[str, pa.Table] = {}
    absent: dict[str, frozenset[str]] = {}
    for table in tables_read_by(asked):
        lacking: set[str] = set()
        try:
            tables[table.name] = reader.rows(table.name, run, table.schema, lacking, estate=table)
        except NoLakeError:
            continue
        absent[table.name] = frozenset(lacking)
    return tables, absent
