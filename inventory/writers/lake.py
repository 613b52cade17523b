"""The lake sink: a run (or one shard of it) appended to the lake's Iceberg tables, in its own commits.

Opened before any AWS call to a member account: the catalog is reached, the namespace and the four tables
are created when missing (contract/lake.py declares them) and a table missing a column this version writes
gets it (Iceberg schema evolution: older rows read it as null). Rows stream to a local temporary Parquet
file as targets finish, exactly as for a file output, so memory follows the work in flight.

`commit` then makes three Iceberg commits, each atomic in the catalog (the metadata pointer moves or not):

1. `functions`: the Parquet file copied into the table's data folder and added with `add_files` (no rewrite);
2. `targets`: the status rows appended;
3. `runs`: the run record appended, last: it is the run's commit point. Readers (contract/current.py's rule)
   count a run only from its `runs` row, so a run killed before it leaves rows that no reader takes for
   an inventory (Glue's orphan-file deletion or `maintain` removes files that no commit references).

Nothing is ever deleted or overwritten: another run's rows stay as they were, and conflicting commits of
concurrent shards are retried by pyiceberg (the tables' commit.retry.num-retries). Each commit runs with
SIGTERM/SIGINT held (signals.deferred), so a signal lands between commits, never inside one.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from inventory.contract.lake import (
    COMMIT_RETRIES,
    FUNCTIONS,
    PARTITION_COLUMN,
    RUN_COLUMNS,
    RUNS,
    TABLES,
    TARGETS,
    Lake,
    open_catalog,
    optional,
)
from inventory.contract.layout import Format
from inventory.contract.record import RunInfo, RunRecord, render_manifest
from inventory.errors import OutputError
from inventory.redact import one_line
from inventory.signals import deferred
from inventory.writers.sink import RowGroups, TableFile

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

log = logging.getLogger(__name__)
LOCK_FILE = ".catalog.lock"  # beside a local lake's catalog.db: held while the catalog and tables are made


def lake_failure(lake: Lake, what: str, err: Exception) -> OutputError:
    """One line naming the lake and what failed (the library's message masked and cut)."""
    return OutputError(f"{lake}: {what}: {type(err).__name__}: {one_line(str(err))}")


def open_tables(lake: Lake, names: tuple[str, ...] = tuple(TABLES)) -> dict[str, Table]:
    """The lake's tables, created (and evolved to this version's columns) where needed."""
    try:
        with _one_at_a_time(lake):
            catalog = open_catalog(lake, create=True)
            catalog.create_namespace_if_not_exists(lake.database)
            return {name: _table(catalog, lake, name) for name in names}
    except OutputError:
        raise
    except Exception as err:
        raise lake_failure(lake, "cannot open the lake's tables", err) from err


@contextmanager
def _one_at_a_time(lake: Lake) -> Iterator[None]:
    """A local lake's catalog is made, and its namespace and tables created, by one process at a time: the
    embedded (sqlite) catalog checks then inserts, so shards starting together on the first night would
    otherwise fail on each other's rows. An exclusive lock on a file in the lake's directory; on S3 Glue
    answers races itself (AlreadyExists, handled like an existing table)."""
    if lake.on_s3:
        yield
        return
    root = Path(lake.location)
    try:
        root.mkdir(parents=True, exist_ok=True)
        handle = (root / LOCK_FILE).open("a")
    except OSError as err:
        raise OutputError(f"{root}: cannot create the lake: {err.strerror or err}") from err
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _table(catalog: Catalog, lake: Lake, name: str) -> Table:
    from pyiceberg.exceptions import TableAlreadyExistsError  # noqa: PLC0415 - pyiceberg only for a lake

    schema = optional(TABLES[name])
    identifier = lake.identifier(name)
    if not catalog.table_exists(identifier):
        try:
            iceberg_schema, spec = _schema_and_spec(schema)
            catalog.create_table(
                identifier,
                schema=iceberg_schema,
                location=lake.table_location(name),
                partition_spec=spec,
                properties={"commit.retry.num-retries": COMMIT_RETRIES, "format-version": "2"},
            )
            log.info("created the lake's table %s", identifier, extra={})
        except TableAlreadyExistsError:  # another shard created it first
            pass
    table = catalog.load_table(identifier)
    lake.check_location(name, table.location())
    missing = [field.name for field in schema if field.name not in {f.name for f in table.schema().fields}]
    if missing:
        with table.update_schema() as update:
            update.union_by_name(schema)
        log.info("added column(s) %s to %s", ", ".join(missing), identifier, extra={})
        table = catalog.load_table(identifier)
    return table


def _schema_and_spec(schema: pa.Schema) -> tuple[Any, Any]:
    """The Iceberg schema of an Arrow one, and its identity partition on the day: created with the table in
    one commit (a spec added by a second commit would race with the first appends of other shards)."""
    from pyiceberg.catalog import Catalog  # noqa: PLC0415
    from pyiceberg.partitioning import PartitionField, PartitionSpec  # noqa: PLC0415
    from pyiceberg.schema import assign_fresh_schema_ids  # noqa: PLC0415
    from pyiceberg.transforms import IdentityTransform  # noqa: PLC0415

    iceberg = assign_fresh_schema_ids(Catalog._convert_schema_if_needed(schema))
    source = iceberg.find_field(PARTITION_COLUMN).field_id
    field = PartitionField(source_id=source, field_id=1000, transform=IdentityTransform(), name=PARTITION_COLUMN)
    return iceberg, PartitionSpec(field)


def run_columns(info: RunInfo, rows: int) -> list[pa.Array]:
    """The five columns every functions and targets row of this write carries."""
    index, count = info.shard or (0, 1)
    values = (info.snapshot_date, info.run_id, info.write_id, index, count)
    return [pa.repeat(pa.scalar(v, f.type), rows) for v, f in zip(values, RUN_COLUMNS, strict=True)]


def runs_row(record: RunRecord) -> pa.Table:
    """The `runs` table's row of a record (its JSON form in `record`)."""
    counts = record.counts
    row = {
        PARTITION_COLUMN: record.snapshot_date,
        "run_id": record.run_id,
        "write_id": record.write_id,
        "shard_index": record.shard_index,
        "shard_count": record.shard_count,
        "config_sha256": record.config_sha256,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        **{k: getattr(counts, k) for k in ("targets", "accounts", "functions", "ok", "skipped", "failed")},
        "version": record.versions.get("lambda-inventory", ""),
        "record": render_manifest(record.to_json()).decode(),
    }
    return pa.Table.from_pylist([row], schema=TABLES[RUNS])


class LakeSink:
    """One run's (shard attempt's) rows, appended to the lake at `commit`; `abort` leaves the lake untouched."""

    def __init__(self, lake: Lake, info: RunInfo, tables: Mapping[str, Table]) -> None:
        self.lake = lake
        self._info = info
        self._tables = dict(tables)
        schema = TABLES[FUNCTIONS]
        temp = Path(tempfile.gettempdir())
        self._file = TableFile(temp / f"{info.write_id}.parquet", temp, schema, Format.PARQUET)
        self._groups = RowGroups(lambda rows: self._file.write(with_run_columns(rows, self._info)))
        self._others: dict[str, list[pa.Table]] = {}  # the run's other tables' rows, appended at commit

    @property
    def rows(self) -> int:
        return self._groups.rows

    def write(self, batch: pa.RecordBatch) -> None:
        """Buffer a few targets' rows (INVENTORY_SCHEMA); a row group is written once enough have arrived."""
        self._groups.add(batch)

    def write_table(self, name: str, rows: pa.Table) -> None:
        """Rows of another of the run's tables (the estate's, `runtimes`): held, and appended at commit."""
        self._others.setdefault(name, []).append(rows)

    def commit(self, status: pa.Table, record: RunRecord) -> None:
        """Commits in order: functions, each other table with rows, targets, then the runs row. OutputError (one
        line) if one fails; the commits made before it stay (they are not the day's inventory without the runs
        row)."""
        self._groups.flush()
        local = self._file.finish()
        try:
            if self.rows:
                self._commit(FUNCTIONS, "append the functions", lambda t: add_file(t, local, self._info))
        finally:
            local.unlink(missing_ok=True)
        for name, parts in self._others.items():
            rows = with_run_columns(pa.concat_tables(parts), self._info)
            if rows.num_rows:
                self._commit(name, f"append the {name}", lambda t, rows=rows: add_rows(t, rows, self._info))
        targets = with_run_columns(status, self._info)
        self._commit(TARGETS, "append the targets", lambda t: add_rows(t, targets, self._info))
        self._commit(RUNS, "append the run's record", lambda t: t.append(runs_row(record)))

    def _commit(self, name: str, what: str, commit: Any) -> None:
        _commit_to(self.lake, self._tables[name], what, commit)

    def abort(self) -> None:
        """Delete the temporary file. The lake is untouched unless a commit already landed."""
        self._file.discard()


def append_run(
    lake: Lake, tables: Mapping[str, Table], functions: pa.Table, status: pa.Table, record: RunRecord
) -> None:
    """A whole run read from elsewhere (`import`): its functions and status rows (the schemas' columns, or
    those of an older version: a column the rows lack reads as null and is reported absent) and its record,
    appended in three commits, the runs row last, as a run's own."""
    info = RunInfo(record.run_id, record.started_at, record.config_sha256, record.shard, record.write_id)
    for name, rows in ((FUNCTIONS, functions), (TARGETS, status)):
        table = with_run_columns(rows, info)
        if table.num_rows:
            _commit_to(lake, tables[name], f"append the {name}", lambda t, table=table: add_rows(t, table, info))
    _commit_to(lake, tables[RUNS], "append the run's record", lambda t: t.append(runs_row(record)))


def with_run_columns(rows: pa.Table, info: RunInfo) -> pa.Table:
    """`rows` (typed as written) with the five run columns of this write after its own."""
    for field, column in zip(RUN_COLUMNS, run_columns(info, rows.num_rows), strict=True):
        rows = rows.append_column(field, column)
    return rows


def add_rows(table: Table, rows: pa.Table, info: RunInfo) -> None:
    """`rows` written as one Parquet file of ours, then added to the table (see add_file)."""
    handle, name = tempfile.mkstemp(prefix=f".{info.write_id}.", suffix=".parquet")
    local = Path(name)
    try:
        with open(handle, "wb") as sink:
            pq.write_table(rows, sink, compression="zstd")
        add_file(table, local, info)
    finally:
        local.unlink(missing_ok=True)


def add_file(table: Table, local: Path, info: RunInfo) -> None:
    """A Parquet file of ours copied into the table's data folder (its day's partition) and added to the table
    by `add_files`: one commit, no rewrite. Our own writer keeps every value as written (pyiceberg's append
    turns a null list of structs into an empty list, as its reader does: readers/lake.py reads our files)."""
    day = info.snapshot_date.isoformat()
    path = f"{table.location()}/data/{PARTITION_COLUMN}={day}/{info.write_id}-{uuid.uuid4().hex}.parquet"
    with local.open("rb") as source, table.io.new_output(path).create(overwrite=False) as target:
        shutil.copyfileobj(source, target, 1 << 20)
    table.add_files([path], check_duplicate_files=False)


def _commit_to(lake: Lake, table: Table, what: str, commit: Any) -> None:
    try:
        with deferred():
            commit(table)
    except Exception as err:
        raise lake_failure(lake, f"cannot {what}", err) from err


def open_lake_sink(lake: Lake, info: RunInfo) -> LakeSink:
    """Reach the lake, create or evolve its tables, open the temporary file: before any member-account call."""
    return LakeSink(lake, info, open_tables(lake))
