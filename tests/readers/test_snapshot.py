"""load_snapshot: single inventory files and lakes, local and in S3 (the emulator over HTTP: S3, and Glue for
an S3 lake), as the job writes them.

Every file here is written by the job's own file sink (write_run), every lake run by the package's lake
writer (write_lake_run: writers/lake.py's open_tables + append_run, real Iceberg tables in an embedded or a
Glue catalog), so the loader is tested against exactly what a run produces. Which run is a day's inventory
is contract/current.py's rule (tests/contract test it alone); here, that the reader applies it, and reads
that run's rows and no other run's.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import new_bucket, subprocess_env
from support.inventories import (
    CONFIG_SHA256,
    DEV,
    PROD,
    SNAPSHOT_DATE,
    at,
    function,
    functions_table,
    sample_functions,
    status,
    status_table,
    write_lake_run,
    write_run,
)

from inventory.aws.clients import ClientFactory
from inventory.contract.lake import FUNCTIONS, RUNS_SCHEMA, TABLES, lake_at
from inventory.contract.layout import Format
from inventory.contract.record import RunInfo
from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.demo.emulator import Emulator
from inventory.errors import ConfigError, InventoryError, SnapshotError
from inventory.exits import ExitCode, for_error
from inventory.readers.snapshot import Snapshot, load_snapshot
from inventory.writers.lake import open_tables, run_columns, runs_row

EARLIER = date(2026, 11, 27)
IMPORT_HINT = "(an older snapshot_date=D/ layout: add it to a lake with `lambda-inventory import`)"


def _prod_rows() -> list[dict[str, Any]]:
    return [r for r in sample_functions() if r["account_id"] == PROD]


def _dev_rows() -> list[dict[str, Any]]:
    return [r for r in sample_functions() if r["account_id"] == DEV]


def _two_shards(lake: str | Path, run_id: str = "run-1", database: str | None = None) -> None:
    """One run in two shards, each committed on its own, as two Batch array children commit them."""
    prod, dev = [status(PROD, "eu-west-1", count=7)], [status(DEV, "eu-central-1", count=3)]
    write_lake_run(lake, _prod_rows(), prod, run_id=run_id, shard=(0, 2), database=database)
    write_lake_run(lake, _dev_rows(), dev, run_id=run_id, shard=(1, 2), database=database)


def _sorted_names(snapshot: Snapshot) -> list[str]:
    return sorted(snapshot.functions.column("function_name").to_pylist())


def _statuses(snapshot: Snapshot) -> list[tuple[str, str]]:
    return sorted(zip(snapshot.status["account_id"].to_pylist(), snapshot.status["status"].to_pylist(), strict=True))


def _one_line(err: InventoryError) -> str:
    text = str(err)
    assert text and "\n" not in text
    assert for_error(err) is ExitCode.USAGE
    return text


def _where(lake: Path, database: str = "lambda_inventory") -> str:
    """How a SnapshotError names a local lake."""
    return f"{lake} (embedded catalog, namespace {database})"


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return tmp_path / "lake"


# --- a local lake: what is read ---------------------------------------------------------------------------


def test_a_run_in_two_shards_reads_every_shard(lake: Path) -> None:
    _two_shards(lake)
    snapshot = load_snapshot(str(lake))
    assert snapshot.functions.schema == INVENTORY_SCHEMA
    assert snapshot.status.schema == STATUS_SCHEMA
    assert _sorted_names(snapshot) == sorted(r["function_name"] for r in sample_functions())
    assert _statuses(snapshot) == [(PROD, "ok"), (DEV, "ok")]
    assert snapshot.snapshot_date == SNAPSHOT_DATE
    assert snapshot.source == f"{lake} run run-1"
    assert (snapshot.warnings, snapshot.absent_columns) == ((), frozenset())


def test_the_rows_read_back_are_the_rows_written(lake: Path) -> None:
    """Typed as written: lists and lists of structs, a map, a date, "" and null kept apart, every column."""
    layer = {"arn": "arn:l:1", "code_size": 7, "signing_profile_version_arn": None, "signing_job_arn": "j"}
    mount = {"arn": "fsap", "local_mount_path": "/mnt/x", "s3_files_direct_read": "AUTO"}
    rows = [
        function(
            PROD,
            "a",
            description="",
            architectures=["arm64"],
            layer_arns=["arn:l:1"],
            layers=[layer],
            file_system_configs=[],
        ),
        function(
            PROD,
            "b",
            description=None,
            environment_variable_names=["A", "B"],
            ipv6_allowed_for_dual_stack=True,
            layers=[],
            file_system_configs=[mount],
            image_command=["x.handler"],
            capacity_provider_memory_gib_per_vcpu=2.5,
            enriched=["tags", "usage"],
            tags=[("team", "payments"), ("env", "")],
            invocations_30d=0,
            last_invocation_day=date(2026, 11, 2),
        ),
    ]
    enrichment = {"name": "tags", "status": "ok", "calls": 2, "error_code": None, "error_message": None}
    statuses = [status(PROD, "eu-west-1", count=2, enrichments=[enrichment])]
    write_lake_run(lake, rows, statuses)
    snapshot = load_snapshot(str(lake))
    assert snapshot.functions.sort_by("function_name").equals(functions_table(rows))
    assert snapshot.status.equals(status_table(statuses))


def test_a_null_list_of_structs_reads_back_null(lake: Path) -> None:
    """pyiceberg (0.12) writes and scans a null list<struct> as [] (its projection rebuilds the array without
    its validity); the lake holds the job's own files and reads them as written, so null stays null."""
    write_lake_run(lake, [function(PROD, "a", layers=None)], [status(PROD, "eu-west-1", count=1, enrichments=None)])
    snapshot = load_snapshot(str(lake))
    assert snapshot.functions.column("layers").to_pylist() == [None]
    assert snapshot.status.column("enrichments").to_pylist() == [None]


def test_the_latest_day_unless_a_date_is_given(lake: Path) -> None:
    write_lake_run(
        lake, [function(PROD, "old")], [status(PROD, "eu-west-1", count=1)], run_id="early", started_at=at(EARLIER)
    )
    new = [function(PROD, "new1"), function(PROD, "new2")]
    write_lake_run(lake, new, [status(PROD, "eu-west-1", count=2)], run_id="late")
    latest = load_snapshot(str(lake))
    assert (_sorted_names(latest), latest.snapshot_date, latest.source) == (
        ["new1", "new2"],
        SNAPSHOT_DATE,
        f"{lake} run late",
    )
    earlier = load_snapshot(str(lake), EARLIER)
    assert (_sorted_names(earlier), earlier.snapshot_date) == (["old"], EARLIER)
    assert earlier.functions["snapshot_time"].to_pylist() == [at(EARLIER)]


def test_a_missing_day_is_one_line(lake: Path) -> None:
    write_lake_run(lake, [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)])
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(lake), date(2026, 1, 1))
    assert _one_line(info.value).startswith(f"{_where(lake)}: no run committed")


def test_a_missing_day_names_the_day_and_the_latest_one(lake: Path) -> None:
    write_lake_run(lake, [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)])
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(lake), date(2026, 1, 1))
    assert _one_line(info.value) == f"{_where(lake)}: no run committed on 2026-01-01 (latest day is 2026-11-28)"


def test_a_lake_with_no_run_committed_yet_is_one_line(lake: Path) -> None:
    open_tables(lake_at(str(lake)))  # the tables a first run creates before it lists anything
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(lake))
    assert _one_line(info.value) == f"{_where(lake)}: no run committed yet"


# --- a local lake: which run of a day ---------------------------------------------------------------------


def test_the_files_of_a_days_other_runs_are_not_decoded(lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs of one day, one data file each per table: reading one run decodes its own files' row groups
    only (the write_id statistics rule the others out), and still gets exactly its rows."""
    write_lake_run(lake, [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)], run_id="one")
    two = [function(PROD, "b"), function(PROD, "c")]
    write_lake_run(lake, two, [status(PROD, "eu-west-1", count=2)], run_id="two", started_at=at(SNAPSHOT_DATE, 5))
    decoded: list[int] = []
    real = pq.ParquetFile.read_row_groups

    def counting(self: pq.ParquetFile, groups: list[int], *args: Any, **kwargs: Any) -> pa.Table:
        table = real(self, groups, *args, **kwargs)
        decoded.append(table.num_rows)
        return table

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", counting)
    assert _sorted_names(load_snapshot(str(lake), run_id="one")) == ["a"]
    assert decoded == [1, 1], "run one's functions and targets files only"


def test_a_later_run_with_fewer_ok_targets_is_not_the_days_inventory(lake: Path) -> None:
    """Run a listed both targets; run b, later that day, could not list dev's. a stays the day's inventory,
    none of b's rows mixed in; b is still there to read by its run id."""
    both = [status(PROD, "eu-west-1", count=7), status(DEV, "eu-central-1", count=3)]
    write_lake_run(lake, sample_functions(), both, run_id="a", started_at=at(SNAPSHOT_DATE, 1))
    worse = [status(PROD, "eu-west-1", count=7), status(DEV, "eu-central-1", "failed", error_code="AccessDenied")]
    write_lake_run(lake, _prod_rows(), worse, run_id="b", started_at=at(SNAPSHOT_DATE, 5))
    day = load_snapshot(str(lake))
    assert (day.source, day.warnings) == (f"{lake} run a", ())
    assert _sorted_names(day) == sorted(r["function_name"] for r in sample_functions())
    assert _statuses(day) == [(PROD, "ok"), (DEV, "ok")]
    later = load_snapshot(str(lake), run_id="b")
    assert (later.source, later.functions.num_rows) == (f"{lake} run b", len(_prod_rows()))
    assert _statuses(later) == [(PROD, "ok"), (DEV, "failed")]


def test_a_later_run_as_good_replaces_an_earlier_one_and_is_read_alone(lake: Path) -> None:
    """A re-run of the day (here unsharded, after a run in two shards) listing as many targets is the day's
    inventory: its rows only, never the earlier run's beside them."""
    _two_shards(lake, run_id="first")
    both = [status(PROD, "eu-west-1", count=7), status(DEV, "eu-central-1", count=1)]
    write_lake_run(
        lake, [*_prod_rows(), function(DEV, "only-now")], both, run_id="rerun", started_at=at(SNAPSHOT_DATE, 9)
    )
    snapshot = load_snapshot(str(lake))
    assert (snapshot.source, snapshot.warnings) == (f"{lake} run rerun", ())
    assert _sorted_names(snapshot) == sorted([*(r["function_name"] for r in _prod_rows()), "only-now"])
    assert snapshot.status.num_rows == 2
    assert _sorted_names(load_snapshot(str(lake), run_id="first")) == sorted(
        r["function_name"] for r in sample_functions()
    )


def test_run_id_reads_that_run_on_any_day(lake: Path) -> None:
    write_lake_run(
        lake, [function(PROD, "old")], [status(PROD, "eu-west-1", count=1)], run_id="early", started_at=at(EARLIER)
    )
    write_lake_run(lake, [function(PROD, "new")], [status(PROD, "eu-west-1", count=1)], run_id="late")
    early = load_snapshot(str(lake), run_id="early")
    assert (_sorted_names(early), early.snapshot_date, early.source) == (["old"], EARLIER, f"{lake} run early")
    assert _sorted_names(load_snapshot(str(lake), EARLIER, run_id="early")) == ["old"]
    for day, run_id, expected in [
        (None, "nope", "no run nope committed"),
        (SNAPSHOT_DATE, "early", "no run early on 2026-11-28 committed"),
    ]:
        with pytest.raises(SnapshotError) as info:
            load_snapshot(str(lake), day, run_id=run_id)
        assert _one_line(info.value) == f"{_where(lake)}: {expected}"


def test_an_incomplete_run_reads_with_a_warning(lake: Path) -> None:
    write_lake_run(lake, _prod_rows(), [status(PROD, "eu-west-1", count=7)], run_id="part", shard=(0, 3))
    snapshot = load_snapshot(str(lake))
    assert snapshot.warnings == ("run part of 2026-11-28 is incomplete: 2 of 3 shard(s) never committed: shard 1, 2",)
    assert (_sorted_names(snapshot), snapshot.source) == (
        sorted(r["function_name"] for r in _prod_rows()),
        f"{lake} run part",
    )


def test_shards_of_different_configs_read_with_a_warning(lake: Path) -> None:
    write_lake_run(lake, _prod_rows(), [status(PROD, "eu-west-1", count=7)], shard=(0, 2))
    write_lake_run(lake, _dev_rows(), [status(DEV, "eu-central-1", count=3)], shard=(1, 2), config_sha256="ff" * 32)
    snapshot = load_snapshot(str(lake))
    assert snapshot.warnings == (
        "run run-1 of 2026-11-28 is incomplete: shards ran with 2 different configs (config_sha256)",
    )
    assert snapshot.functions.num_rows == len(sample_functions())


def test_an_incomplete_run_never_hides_a_complete_one(lake: Path) -> None:
    """The complete run is the day's even though a later, incomplete one listed more targets ok."""
    write_lake_run(
        lake, _dev_rows(), [status(DEV, "eu-central-1", count=3)], run_id="whole", started_at=at(SNAPSHOT_DATE, 1)
    )
    both = [status(PROD, "eu-west-1", count=7), status(PROD, "us-east-1", count=0)]
    write_lake_run(lake, _prod_rows(), both, run_id="part", shard=(0, 2), started_at=at(SNAPSHOT_DATE, 5))
    snapshot = load_snapshot(str(lake))
    assert (snapshot.source, snapshot.warnings) == (f"{lake} run whole", ())
    assert _sorted_names(snapshot) == sorted(r["function_name"] for r in _dev_rows())


def test_a_retried_shard_is_read_once(lake: Path) -> None:
    """A shard's first attempt listed one target of two; its retry listed both. Only the retry's rows."""
    first = [status(PROD, "eu-west-1", count=1), status(DEV, "eu-central-1", "failed", error_code="Throttling")]
    write_lake_run(lake, [function(PROD, "a")], first, write_id="attempt-1")
    second = [status(PROD, "eu-west-1", count=1), status(DEV, "eu-central-1", count=1)]
    write_lake_run(lake, [function(PROD, "a"), function(DEV, "b")], second, write_id="attempt-2")
    snapshot = load_snapshot(str(lake))
    assert (_sorted_names(snapshot), _statuses(snapshot), snapshot.warnings) == (
        ["a", "b"],
        [(PROD, "ok"), (DEV, "ok")],
        (),
    )


def test_rows_of_a_run_that_never_committed_its_record_are_not_read(lake: Path) -> None:
    """A run killed after its functions commit, before its `runs` row: its rows are in the table, unread."""
    write_lake_run(lake, [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)], run_id="done")
    info = RunInfo("killed", at(SNAPSHOT_DATE, 6), CONFIG_SHA256, None, "killed-w")
    ghost = functions_table([function(PROD, "ghost", snapshot_time=info.started_at)])
    table = open_tables(lake_at(str(lake)))[FUNCTIONS]
    table.append(pa.Table.from_arrays([*ghost.columns, *run_columns(info, 1)], schema=TABLES[FUNCTIONS]))
    assert _sorted_names(load_snapshot(str(lake))) == ["a"]
    with pytest.raises(SnapshotError, match="no run killed committed"):
        load_snapshot(str(lake), run_id="killed")


def test_a_run_with_no_function_reads_empty(lake: Path) -> None:
    """Every target failed: no functions commit at all (the table has no snapshot yet), the status rows read."""
    failed = [status(PROD, r, "failed", error_code="AccessDenied") for r in ("eu-west-1", "us-east-1")]
    write_lake_run(lake, [], failed)
    snapshot = load_snapshot(str(lake))
    assert (snapshot.functions.num_rows, snapshot.functions.schema) == (0, INVENTORY_SCHEMA)
    assert (_statuses(snapshot), snapshot.snapshot_date) == ([(PROD, "failed")] * 2, SNAPSHOT_DATE)


# --- a local lake, or not: what is refused ----------------------------------------------------------------


def test_the_database_names_the_lake_in_its_catalog(lake: Path) -> None:
    write_lake_run(lake, [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)], database="nightly")
    assert _sorted_names(load_snapshot(str(lake), database="nightly")) == ["a"]
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(lake))
    assert _one_line(info.value) == f"{_where(lake)}: no lake here (no table lambda_inventory.runs)"


def test_a_directory_that_is_neither_a_file_nor_a_lake_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(tmp_path))
    assert _one_line(info.value) == f"{tmp_path}: no inventory file or lake in it"


def test_a_directory_the_job_wrote_into_reads_its_inventory(tmp_path: Path) -> None:
    """`run --output out/` writes out/inventory.parquet (and the demo a lake beside it): `report out/` reads
    that file, and says which."""
    write_run(str(tmp_path / "out" / "inventory.parquet"), [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)])
    (tmp_path / "out" / "lake").mkdir()  # a folder beside it is not a choice
    snapshot = load_snapshot(str(tmp_path / "out"))
    assert _sorted_names(snapshot) == ["a"] and snapshot.source == str(tmp_path / "out" / "inventory.parquet")


def test_a_directory_of_several_inventory_files_names_them(tmp_path: Path) -> None:
    for name in ("shard-0-of-2.parquet", "shard-1-of-2.parquet"):
        write_run(str(tmp_path / name), [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)])
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(tmp_path))
    assert _one_line(info.value) == (
        f"{tmp_path}: holds 2 inventory files (shard-0-of-2.parquet, shard-1-of-2.parquet); name one"
    )


def test_an_old_hive_directory_is_one_line_naming_import(tmp_path: Path) -> None:
    """The layout written before the lake: report and diff do not read it; `import` adds it to a lake."""
    day = tmp_path / "old" / f"snapshot_date={SNAPSHOT_DATE}"
    write_run(str(day / "inventory.parquet"), [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)])
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(tmp_path / "old"))
    assert _one_line(info.value) == f"{tmp_path / 'old'}: no inventory file or lake in it {IMPORT_HINT}"
    with pytest.raises(SnapshotError, match="import") as info:
        load_snapshot(str(tmp_path / "old"), SNAPSHOT_DATE)  # a date does not make it a lake
    assert _sorted_names(load_snapshot(str(day / "inventory.parquet"))) == ["a"]  # its files still read one by one


def test_a_lake_with_an_unreadable_catalog_is_one_line(lake: Path) -> None:
    lake.mkdir()
    (lake / "catalog.db").write_bytes(b"not a sqlite database, but the name of one")
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(lake))
    assert _one_line(info.value).startswith(f"{_where(lake)}: cannot read the lake: ")


def test_a_lake_missing_a_data_file_is_one_line(lake: Path) -> None:
    write_lake_run(lake, [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)])
    (data,) = (lake / "warehouse" / "lambda_inventory" / "functions" / "data").rglob("*.parquet")
    data.unlink()
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(lake))
    assert _one_line(info.value).startswith(f"{_where(lake)}: cannot read functions (")


# --- single files -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["inventory.parquet", "nightly.csv"])
def test_file_with_its_status_beside_it(tmp_path: Path, name: str) -> None:
    write_run(str(tmp_path / name), _prod_rows(), [status(PROD, "eu-west-1", count=7)])
    snapshot = load_snapshot(str(tmp_path / name))
    assert snapshot.functions.equals(functions_table(_prod_rows()))
    assert snapshot.status.num_rows == 1
    assert snapshot.snapshot_date == SNAPSHOT_DATE  # from the rows' snapshot_time
    assert snapshot.source == str(tmp_path / name)
    assert snapshot.warnings == ()


def test_csv_reads_back_typed_lists_nulls_and_empty_strings(tmp_path: Path) -> None:
    rows = [
        function(PROD, "a", description="", architectures=["arm64"], layer_arns=["arn:l:1", "arn:l:2"]),
        function(PROD, "b", description=None, environment_variable_names=["A", "B"], ipv6_allowed_for_dual_stack=True),
    ]
    dest = write_run(str(tmp_path) + "/", rows, [status(PROD, "eu-west-1", count=2)], fmt=Format.CSV)
    assert dest.inventory == tmp_path / "inventory.csv"
    loaded = load_snapshot(str(dest.inventory)).functions
    assert loaded.equals(functions_table(rows))  # typed, lists as lists, "" and null kept apart, leading zero kept


def test_empty_inventory_file_takes_its_date_from_the_status(tmp_path: Path) -> None:
    write_run(str(tmp_path / "x.parquet"), [], [status(PROD, "eu-west-1")])
    snapshot = load_snapshot(str(tmp_path / "x.parquet"))
    assert (snapshot.functions.num_rows, snapshot.snapshot_date) == (0, SNAPSHOT_DATE)


def test_file_with_missing_status_is_one_line(tmp_path: Path) -> None:
    write_run(str(tmp_path / "x.parquet"), [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)])
    (tmp_path / "x.status.parquet").unlink()
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(tmp_path / "x.parquet"))
    assert _one_line(info.value) == f"{tmp_path}/x.status.parquet: missing (the status file of {tmp_path}/x.parquet)"


def _truncated(directory: Path) -> None:
    whole = directory / "whole.parquet"
    pq.write_table(pa.table({"function_arn": ["arn:aws:lambda:eu-west-1:1:function:f"] * 100}), whole)
    (directory / "nothing.parquet").write_bytes(whole.read_bytes()[:-20])


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: None, "{p}/nothing.parquet: no such file or directory"),
        (lambda p: pq.write_table(pa.table({"a": [1]}), p / "nothing.parquet"), "not an inventory file: no column"),
        (lambda p: (p / "nothing.parquet").write_bytes(b"PAR1 not really"), "not readable as an inventory parquet"),
        (lambda p: (p / "nothing.parquet").write_bytes(b""), "not readable as an inventory parquet"),  # empty
        (_truncated, "not readable as an inventory parquet"),  # a real file cut short (an interrupted copy)
    ],
)
def test_unusable_file_is_one_line(tmp_path: Path, make: Any, expected: str) -> None:
    make(tmp_path)
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(tmp_path / "nothing.parquet"))
    assert expected.format(p=tmp_path) in _one_line(info.value)


def test_csv_with_a_bad_list_cell_is_one_line(tmp_path: Path) -> None:
    dest = write_run(str(tmp_path / "x.csv"), [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)])
    path = Path(str(dest.inventory))
    path.write_text(path.read_text().replace('"[""x86_64""]"', '"x86_64"'), encoding="utf-8")
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(path))
    assert "column architectures" in _one_line(info.value)


def test_a_status_file_or_a_date_or_run_id_with_a_file_is_refused(tmp_path: Path) -> None:
    write_run(str(tmp_path / "x.parquet"), [], [status(PROD, "eu-west-1")])
    with pytest.raises(ConfigError, match="is a status file; give the inventory file beside it"):
        load_snapshot(str(tmp_path / "x.status.parquet"))
    for day, run_id in [(SNAPSHOT_DATE, None), (None, "run-1")]:
        with pytest.raises(ConfigError) as info:
            load_snapshot(str(tmp_path / "x.parquet"), day, run_id=run_id)
        assert (
            _one_line(info.value)
            == f"{tmp_path}/x.parquet: is a single inventory file; a date or run id applies only to a lake"
        )


def test_cli_missing_status_exits_2_with_one_line(tmp_path: Path) -> None:
    write_run(str(tmp_path / "x.parquet"), [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)])
    (tmp_path / "x.status.parquet").unlink()
    done = subprocess.run(
        [sys.executable, "-m", "inventory", "report", str(tmp_path / "x.parquet")],
        env=subprocess_env(None),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == ExitCode.USAGE == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert (
        line
        == f"lambda-inventory: error: {tmp_path}/x.status.parquet: missing (the status file of {tmp_path}/x.parquet)"
    )


# --- S3, over HTTP against the emulator ---------------------------------------------------------------


@pytest.fixture
def writer(emu: Emulator) -> Any:
    """An S3 client made as the job makes it, to write the single files."""
    return ClientFactory.from_environment(4).client("s3", "us-east-1")


@pytest.fixture
def reader(emu: Emulator) -> Any:
    return boto3.client("s3", region_name="us-east-1")


@pytest.fixture
def bucket(reader: Any) -> str:
    return new_bucket(reader, "snapshots")


@pytest.fixture
def database(emu: Emulator) -> str:
    """A Glue database of this test's own: the emulator's Glue catalog is shared by the whole session."""
    return f"t_{uuid.uuid4().hex[:12]}"


def test_s3_lake_with_two_shards_and_the_latest_date(reader: Any, bucket: str, database: str) -> None:
    lake = f"s3://{bucket}/inv/"
    write_lake_run(
        lake,
        [function(PROD, "old")],
        [status(PROD, "eu-west-1", count=1)],
        run_id="early",
        started_at=at(EARLIER),
        database=database,
    )
    _two_shards(lake, database=database)
    snapshot = load_snapshot(lake, database=database)
    assert _sorted_names(snapshot) == sorted(r["function_name"] for r in sample_functions())
    assert _statuses(snapshot) == [(PROD, "ok"), (DEV, "ok")]
    assert (snapshot.snapshot_date, snapshot.source, snapshot.warnings) == (SNAPSHOT_DATE, f"{lake} run run-1", ())
    assert snapshot.functions.schema == INVENTORY_SCHEMA
    assert _sorted_names(load_snapshot(f"s3://{bucket}/inv", EARLIER, database=database)) == ["old"]
    keys = [o["Key"] for o in reader.list_objects_v2(Bucket=bucket, Prefix="inv/functions/data/")["Contents"]]
    assert keys and all(k.startswith("inv/functions/data/snapshot_date=2026-11-2") for k in keys)
    with pytest.raises(SnapshotError) as info:  # the database is this lake's: another prefix is not read from it
        load_snapshot(f"s3://{bucket}/elsewhere/", database=database)
    assert _one_line(info.value) == (
        f"s3://{bucket}/elsewhere/ (Glue database {database}): the table {database}.runs is at {lake}runs, "
        "not in this lake; another lake uses that database (choose another with --database)"
    )


def test_s3_csv_object_with_its_status(writer: Any, reader: Any, bucket: str) -> None:
    rows = _dev_rows()
    write_run(f"s3://{bucket}/x/nightly.csv", rows, [status(DEV, "eu-central-1", count=3)], s3=writer)
    snapshot = load_snapshot(f"s3://{bucket}/x/nightly.csv", s3=reader)
    assert snapshot.functions.equals(functions_table(rows))
    assert snapshot.status.column("status").to_pylist() == ["ok"]


def test_s3_missing_status_bucket_and_lake_are_one_line(writer: Any, reader: Any, bucket: str, database: str) -> None:
    write_run(f"s3://{bucket}/x/a.parquet", [function(PROD, "a")], [status(PROD, "eu-west-1")], s3=writer)
    reader.delete_object(Bucket=bucket, Key="x/a.status.parquet")
    cases = {
        f"s3://{bucket}/x/a.parquet": f"s3://{bucket}/x/a.status.parquet: missing (the status file of ",
        "s3://no-such-bucket-4f1c/p.parquet": "s3://no-such-bucket-4f1c/p.parquet: bucket 'no-such-bucket-4f1c' does "
        "not exist",
        f"s3://{bucket}/nothing/": f"s3://{bucket}/nothing/ (Glue database {database}): no lake here "
        f"(no table {database}.runs)",
    }
    for source, expected in cases.items():
        with pytest.raises(SnapshotError) as info:
            load_snapshot(source, s3=reader, database=database)
        assert _one_line(info.value).startswith(expected)


def test_cli_reads_an_s3_lake_with_the_standard_credential_chain(emu: Emulator, bucket: str, database: str) -> None:
    _two_shards(f"s3://{bucket}/inv/", database=database)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "inventory",
            "report",
            f"s3://{bucket}/inv/",
            "--database",
            database,
            "--format",
            "csv",
            "--as-of",
            "2026-11-28",
        ],
        env=subprocess_env(emu.endpoint),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("account_id,account_name,account_tags,region,function_name,")
    assert "billing-export" in done.stdout  # python3.8 is past every date in any version of the schedule


def test_a_runs_row_that_is_not_a_run_record_is_one_line(lake: Path) -> None:
    """A hostile or broken `record` in the runs table (another writer, a hand edit): one line naming it."""
    record = write_lake_run(lake, [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)], run_id="ok")
    row = runs_row(record).set_column(RUNS_SCHEMA.get_field_index("record"), "record", pa.array(["{not json"]))
    open_tables(lake_at(str(lake)))["runs"].append(row)
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(lake))
    assert _one_line(info.value).startswith(f"{_where(lake)}: a runs row is not a run record: ")
