"""The lake sink (writers/lake.py) on an embedded lake: three commits, the runs row last; nothing deleted;
a failed commit leaves the day's inventory as it was; columns added by a later version appear (older rows
null) and older runs stay readable; maintain deletes only what it is told to."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog import load_catalog
from pyiceberg.table import Table
from support.inventories import function, functions_table, status, status_table

from inventory.contract.lake import FUNCTIONS, RUNS, TABLES, TARGETS, lake_at, optional
from inventory.contract.record import Counts, RunInfo, RunRecord, build_record
from inventory.errors import OutputError
from inventory.readers.lake import LakeReader
from inventory.readers.snapshot import load_snapshot
from inventory.writers.lake import append_run, open_lake_sink, open_tables, run_columns, runs_row
from inventory.writers.maintain import maintain

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


def _info(run_id: str, shard: tuple[int, int] | None = None, now: datetime = NOW) -> RunInfo:
    return RunInfo.start({"config": 1}, shard, now=now, run_id=run_id)


def _record(info: RunInfo, ok: int, failed: int = 0, functions: int = 0) -> RunRecord:
    record = build_record(info, [], {"format": "iceberg"}, info.started_at + timedelta(minutes=1))
    counts = Counts(targets=ok + failed, accounts=1, functions=functions, ok=ok, failed=failed)
    return RunRecord(**{**vars(record), "counts": counts})


def _functions(account: str, n: int) -> pa.Table:
    return functions_table([function(account, f"fn-{i}", snapshot_time=NOW) for i in range(n)])


def _status(account: str, state: str = "ok", n: int = 1) -> pa.Table:
    return status_table([status(account, "us-east-1", state, n if state == "ok" else None, snapshot_time=NOW)])


def _write(lake_dir: Path, info: RunInfo, account: str, n: int, state: str = "ok") -> None:
    sink = open_lake_sink(lake_at(str(lake_dir)), info)
    try:
        for batch in _functions(account, n).to_batches():
            sink.write(batch)
        ok, failed = (1, 0) if state == "ok" else (0, 1)
        sink.commit(_status(account, state, n), _record(info, ok, failed, n))
    except BaseException:
        sink.abort()
        raise


def _snapshots(lake_dir: Path) -> dict[str, list[Any]]:
    tables = open_tables(lake_at(str(lake_dir)))
    return {name: table.snapshots() for name, table in tables.items()}


def test_a_run_commits_functions_then_targets_then_its_runs_row(tmp_path: Path) -> None:
    _write(tmp_path, _info("r1"), "111111111111", 3)
    snapshots = _snapshots(tmp_path)
    assert [len(snapshots[name]) for name in (FUNCTIONS, TARGETS, RUNS)] == [1, 1, 1]
    times = [snapshots[name][-1].timestamp_ms for name in (FUNCTIONS, TARGETS, RUNS)]
    assert times == sorted(times), "the runs row is the last commit"
    snapshot = load_snapshot(str(tmp_path))
    assert snapshot.functions.num_rows == 3 and snapshot.status.num_rows == 1


def test_a_failed_targets_commit_leaves_the_day_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, _info("good"), "111111111111", 3)
    real_add_files = Table.add_files

    def failing(self: Table, paths: list[str], *args: Any, **kwargs: Any) -> None:
        if self.name()[-1] == TARGETS:
            raise OSError("the catalog went away")
        real_add_files(self, paths, *args, **kwargs)

    monkeypatch.setattr(Table, "add_files", failing)
    with pytest.raises(OutputError, match="cannot append the targets: OSError: the catalog went away"):
        _write(tmp_path, _info("broken", now=NOW + timedelta(hours=1)), "111111111111", 5)
    monkeypatch.undo()

    records = LakeReader(lake_at(str(tmp_path))).records()
    assert [r.run_id for r in records] == ["good"], "no runs row: the broken run never became an inventory"
    snapshot = load_snapshot(str(tmp_path))
    assert snapshot.functions.num_rows == 3 and "run good" in snapshot.source


def test_abort_leaves_the_lake_untouched(tmp_path: Path) -> None:
    _write(tmp_path, _info("good"), "111111111111", 2)
    before = _snapshots(tmp_path)
    sink = open_lake_sink(lake_at(str(tmp_path)), _info("aborted"))
    sink.write(_functions("222222222222", 4).to_batches()[0])
    sink.abort()
    assert {k: len(v) for k, v in _snapshots(tmp_path).items()} == {k: len(v) for k, v in before.items()}


def test_an_empty_run_commits_targets_and_runs_with_the_same_columns(tmp_path: Path) -> None:
    _write(tmp_path, _info("empty"), "111111111111", 0)
    snapshot = load_snapshot(str(tmp_path))
    assert snapshot.functions.num_rows == 0 and snapshot.status.num_rows == 1
    full = load_snapshot(str(tmp_path))
    assert full.functions.schema.names == _functions("1", 1).schema.names


def test_a_column_added_later_appears_and_older_runs_still_read(tmp_path: Path) -> None:
    """A lake made by an older version (no last_invocation_day) gets the column on the next run; the old
    run reads with it null, the new one with its values."""
    lake = lake_at(str(tmp_path))
    (tmp_path / "warehouse").mkdir()
    uri, warehouse = f"sqlite:///{tmp_path}/catalog.db", (tmp_path / "warehouse").as_uri()
    catalog = load_catalog("lake", type="sql", uri=uri, warehouse=warehouse)
    catalog.create_namespace(lake.database)
    old = {name: optional(schema) for name, schema in TABLES.items()}
    old[FUNCTIONS] = old[FUNCTIONS].remove(old[FUNCTIONS].get_field_index("last_invocation_day"))
    for name, schema in old.items():
        catalog.create_table(lake.identifier(name), schema=schema, location=lake.table_location(name))
    tables = {name: catalog.load_table(lake.identifier(name)) for name in TABLES}
    info = _info("old")
    rows = _functions("111111111111", 2).drop_columns(["last_invocation_day"])
    targets = _status("111111111111")
    tables[FUNCTIONS].append(pa.Table.from_arrays([*rows.columns, *run_columns(info, 2)], schema=old[FUNCTIONS]))
    tables[TARGETS].append(pa.Table.from_arrays([*targets.columns, *run_columns(info, 1)], schema=old[TARGETS]))
    tables[RUNS].append(runs_row(_record(info, 1, 0, 2)))

    new_rows = functions_table([function("222222222222", "fn-new", snapshot_time=NOW, last_invocation_day=NOW.date())])
    new = _info("new", now=NOW + timedelta(hours=1))
    append_run(lake, open_tables(lake), new_rows, _status("222222222222"), _record(new, 1, 0, 1))

    assert "last_invocation_day" in {f.name for f in open_tables(lake)[FUNCTIONS].schema().fields}
    older = load_snapshot(str(tmp_path), run_id="old")
    assert older.functions.column("last_invocation_day").to_pylist() == [None, None]
    newer = load_snapshot(str(tmp_path), run_id="new")
    assert newer.functions.column("last_invocation_day").to_pylist() == [NOW.date()]


def test_maintain_deletes_only_days_past_keep_days_and_keeps_every_run_of_the_rest(tmp_path: Path) -> None:
    lake = lake_at(str(tmp_path))
    _write(tmp_path, _info("old", now=NOW - timedelta(days=40)), "111111111111", 2)
    _write(tmp_path, _info("recent", now=NOW), "111111111111", 3)
    files_before = {p for p in tmp_path.rglob("*.parquet")}

    done = maintain(lake, keep_days=30, expire_days=7, now=NOW + timedelta(hours=1))

    assert {d.table for d in done} == set(TABLES)
    reader = LakeReader(lake)
    assert [r.run_id for r in reader.records()] == ["recent"]
    assert load_snapshot(str(tmp_path)).functions.num_rows == 3
    assert files_before <= {p for p in tmp_path.rglob("*.parquet")}, "maintain removes no file itself"


def test_a_normal_run_deletes_nothing(tmp_path: Path) -> None:
    _write(tmp_path, _info("one"), "111111111111", 2)
    files = {p: p.stat().st_size for p in tmp_path.rglob("*") if p.is_file() and p.name != "catalog.db"}
    _write(tmp_path, _info("two", now=NOW + timedelta(hours=1)), "111111111111", 2)
    after = {p: p.stat().st_size for p in tmp_path.rglob("*") if p.is_file() and p.name != "catalog.db"}
    assert all(after.get(p) == size for p, size in files.items()), "every file of the first run is unchanged"
    assert {r.run_id for r in LakeReader(lake_at(str(tmp_path))).records()} == {"one", "two"}
    data = [p for p in tmp_path.rglob("*.parquet") if "/functions/data/" in str(p)]
    assert sum(pq.read_metadata(p).num_rows for p in data) == 4


OPEN_TABLES = """
import sys
from inventory.contract.lake import lake_at
from inventory.writers.lake import open_tables
open_tables(lake_at(sys.argv[1]))
"""


def test_shards_creating_a_local_lake_at_once_all_succeed(tmp_path: Path) -> None:
    """The first night: N shards start together on an empty directory. The embedded catalog checks then
    inserts (without the lock: UNIQUE constraint / 'table already exists' in 2 of 6 trials of 4 processes); the
    lake directory's lock makes them take turns."""
    for trial in range(2):
        lake = tmp_path / f"lake-{trial}"
        procs = [
            subprocess.Popen([sys.executable, "-c", OPEN_TABLES, str(lake)], stderr=subprocess.PIPE, text=True)
            for _ in range(5)
        ]
        errors = [proc.communicate(timeout=120)[1] for proc in procs]
        assert [proc.returncode for proc in procs] == [0] * 5, errors
        assert set(open_tables(lake_at(str(lake)))) == set(TABLES)
