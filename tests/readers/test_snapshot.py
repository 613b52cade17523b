"""load_snapshot: files and partitioned prefixes, local and in S3 (the emulator over HTTP), as the job writes them.

Every snapshot here is written by the job's own sink (resolve_destination + open_sink), so the loader is
tested against exactly the layouts and encodings a run produces.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import new_bucket, subprocess_env
from support.inventories import (
    DEV,
    PROD,
    SNAPSHOT_DATE,
    function,
    functions_table,
    sample_functions,
    status,
    write_run,
)

from inventory.aws.credentials import ClientFactory
from inventory.demo.emulator import Emulator
from inventory.errors import ConfigError, InventoryError, SnapshotError
from inventory.exits import ExitCode, for_error
from inventory.contract.layout import Format
from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.readers.snapshot import Snapshot, load_snapshot

EARLIER = date(2026, 11, 27)


def _prod_rows() -> list[dict[str, Any]]:
    return [r for r in sample_functions() if r["account_id"] == PROD]


def _dev_rows() -> list[dict[str, Any]]:
    return [r for r in sample_functions() if r["account_id"] == DEV]


def _two_shards(output: str, fmt: Format | None = None, s3: Any = None) -> None:
    write_run(output, _prod_rows(), [status(PROD, "eu-west-1", count=7)], fmt=fmt, shard=(0, 2), s3=s3)
    write_run(output, _dev_rows(), [status(DEV, "eu-central-1", count=3)], fmt=fmt, shard=(1, 2), s3=s3)


def _sorted_names(snapshot: Snapshot) -> list[str]:
    return sorted(snapshot.functions.column("function_name").to_pylist())


def _one_line(err: InventoryError) -> str:
    text = str(err)
    assert text and "\n" not in text
    assert for_error(err) is ExitCode.USAGE
    return text


# --- local partitioned --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [Format.PARQUET, Format.CSV])
def test_local_partition_with_two_shards_reads_every_shard(tmp_path: Path, fmt: Format) -> None:
    _two_shards(str(tmp_path), fmt)
    snapshot = load_snapshot(str(tmp_path))
    assert snapshot.functions.schema == INVENTORY_SCHEMA
    assert snapshot.status.schema == STATUS_SCHEMA
    assert _sorted_names(snapshot) == sorted(r["function_name"] for r in sample_functions())
    assert sorted(snapshot.status.column("account_id").to_pylist()) == [PROD, DEV]
    assert snapshot.snapshot_date == SNAPSHOT_DATE
    assert snapshot.source == str(tmp_path)
    assert snapshot.warnings == ()


def test_csv_reads_back_typed_lists_nulls_and_empty_strings(tmp_path: Path) -> None:
    rows = [
        function(PROD, "a", description="", architectures=["arm64"], layer_arns=["arn:l:1", "arn:l:2"]),
        function(PROD, "b", description=None, environment_variable_names=["A", "B"], ipv6_allowed_for_dual_stack=True),
    ]
    write_run(str(tmp_path), rows, [status(PROD, "eu-west-1", count=2)], fmt=Format.CSV)
    loaded = load_snapshot(str(tmp_path)).functions
    assert loaded.equals(functions_table(rows))  # typed, lists as lists, "" and null kept apart, leading zero kept


def test_latest_partition_unless_a_date_is_given(tmp_path: Path) -> None:
    write_run(str(tmp_path), [function(PROD, "old")], [status(PROD, "eu-west-1", count=1)], day=EARLIER)
    write_run(str(tmp_path), [function(PROD, "new1"), function(PROD, "new2")], [status(PROD, "eu-west-1", count=2)])
    (tmp_path / "snapshot_date=not-a-date").mkdir()  # ignored
    (tmp_path / "snapshot_date=2026-13-45").mkdir()  # shaped like a date, but none: ignored
    assert _sorted_names(load_snapshot(str(tmp_path))) == ["new1", "new2"]
    earlier = load_snapshot(str(tmp_path), EARLIER)
    assert (_sorted_names(earlier), earlier.snapshot_date) == (["old"], EARLIER)
    folder = load_snapshot(str(tmp_path / f"snapshot_date={EARLIER}"))  # a partition folder itself
    assert (_sorted_names(folder), folder.snapshot_date) == (["old"], EARLIER)


def test_missing_partition_is_one_line(tmp_path: Path) -> None:
    write_run(str(tmp_path), [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)])
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(tmp_path), date(2026, 1, 1))
    assert _one_line(info.value) == (
        f"{tmp_path}/snapshot_date=2026-01-01: no such partition or no inventory in it (latest is 2026-11-28)"
    )


def test_prefix_without_partitions_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(tmp_path))
    assert _one_line(info.value).startswith(f"{tmp_path}: no snapshot_date=YYYY-MM-DD partitions")


def test_missing_status_of_a_shard_is_one_line(tmp_path: Path) -> None:
    _two_shards(str(tmp_path))
    status_file = tmp_path / "_status" / f"snapshot_date={SNAPSHOT_DATE}" / "shard-1-of-2.parquet"
    status_file.unlink()
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(tmp_path))
    inventory_file = tmp_path / f"snapshot_date={SNAPSHOT_DATE}" / "shard-1-of-2.parquet"
    assert _one_line(info.value) == f"{status_file}: missing (the status file of {inventory_file})"


def test_status_without_its_inventory_is_one_line(tmp_path: Path) -> None:
    _two_shards(str(tmp_path))
    inventory_file = tmp_path / f"snapshot_date={SNAPSHOT_DATE}" / "shard-0-of-2.parquet"
    inventory_file.unlink()
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(tmp_path))
    assert _one_line(info.value).startswith(f"{inventory_file}: missing (its status file ")


def test_absent_shard_is_a_warning_not_an_error(tmp_path: Path) -> None:
    write_run(str(tmp_path), _prod_rows(), [status(PROD, "eu-west-1", count=7)], shard=(0, 3))
    snapshot = load_snapshot(str(tmp_path))
    assert snapshot.warnings == (
        f"snapshot_date={SNAPSHOT_DATE}: shard-1-of-3 missing: its accounts are not covered",
        f"snapshot_date={SNAPSHOT_DATE}: shard-2-of-3 missing: its accounts are not covered",
    )


def test_an_unsharded_run_after_two_shards_is_read_alone(tmp_path: Path) -> None:
    """The later run supersedes the shards (output/supersede.py): the partition is one run's again."""
    _two_shards(str(tmp_path))
    write_run(str(tmp_path), _prod_rows(), [status(PROD, "eu-west-1", count=7)])
    snapshot = load_snapshot(str(tmp_path))
    assert (snapshot.functions.num_rows, snapshot.status.num_rows, snapshot.warnings) == (len(_prod_rows()), 1, ())
    assert sorted(p.name for p in (tmp_path / f"snapshot_date={SNAPSHOT_DATE}").iterdir()) == ["inventory.parquet"]


def test_temporary_files_of_a_run_in_progress_are_ignored(tmp_path: Path) -> None:
    write_run(str(tmp_path), [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)])
    partition = tmp_path / f"snapshot_date={SNAPSHOT_DATE}"
    (partition / ".shard-0-of-2.parquet.abc.tmp").write_bytes(b"half a file")
    assert _sorted_names(load_snapshot(str(tmp_path))) == ["a"]


# --- single files -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["inventory.parquet", "nightly.csv"])
def test_file_with_its_status_beside_it(tmp_path: Path, name: str) -> None:
    write_run(str(tmp_path / name), _prod_rows(), [status(PROD, "eu-west-1", count=7)], partitioned=False)
    snapshot = load_snapshot(str(tmp_path / name))
    assert snapshot.functions.equals(functions_table(_prod_rows()))
    assert snapshot.status.num_rows == 1
    assert snapshot.snapshot_date == SNAPSHOT_DATE  # from the rows' snapshot_time
    assert snapshot.source == str(tmp_path / name)


def test_empty_inventory_file_takes_its_date_from_the_status(tmp_path: Path) -> None:
    write_run(str(tmp_path / "x.parquet"), [], [status(PROD, "eu-west-1")], partitioned=False)
    snapshot = load_snapshot(str(tmp_path / "x.parquet"))
    assert (snapshot.functions.num_rows, snapshot.snapshot_date) == (0, SNAPSHOT_DATE)


def test_file_with_missing_status_is_one_line(tmp_path: Path) -> None:
    write_run(
        str(tmp_path / "x.parquet"), [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)], partitioned=False
    )
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
    dest = write_run(
        str(tmp_path / "x.csv"), [function(PROD, "a")], [status(PROD, "eu-west-1", count=1)], partitioned=False
    )
    path = Path(str(dest.inventory))
    path.write_text(path.read_text().replace('"[""x86_64""]"', '"x86_64"'), encoding="utf-8")
    with pytest.raises(SnapshotError) as info:
        load_snapshot(str(path))
    assert "column architectures" in _one_line(info.value)


def test_a_status_file_or_a_date_with_a_file_is_refused(tmp_path: Path) -> None:
    write_run(str(tmp_path / "x.parquet"), [], [status(PROD, "eu-west-1")], partitioned=False)
    with pytest.raises(ConfigError, match="is a status file; give the inventory file beside it"):
        load_snapshot(str(tmp_path / "x.status.parquet"))
    with pytest.raises(ConfigError, match="a snapshot date applies only to a partitioned prefix"):
        load_snapshot(str(tmp_path / "x.parquet"), SNAPSHOT_DATE)


def test_cli_missing_status_exits_2_with_one_line(tmp_path: Path) -> None:
    _two_shards(str(tmp_path))
    (tmp_path / "_status" / f"snapshot_date={SNAPSHOT_DATE}" / "shard-0-of-2.parquet").unlink()
    done = subprocess.run(
        [sys.executable, "-m", "inventory", "report", str(tmp_path)],
        env=subprocess_env(None),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == ExitCode.USAGE == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("lambda-inventory: error: ") and "shard-0-of-2.parquet: missing (the status file of" in line


# --- S3, over HTTP against the emulator ---------------------------------------------------------------


@pytest.fixture
def writer(emu: Emulator) -> Any:
    """An S3 client made as the job makes it, to write the snapshots."""
    return ClientFactory.from_environment(4).client("s3", "us-east-1")


@pytest.fixture
def reader(emu: Emulator) -> Any:
    return boto3.client("s3", region_name="us-east-1")


@pytest.fixture
def bucket(reader: Any) -> str:
    return new_bucket(reader, "snapshots")


def test_s3_partition_with_two_shards_and_the_latest_date(writer: Any, reader: Any, bucket: str) -> None:
    write_run(
        f"s3://{bucket}/inv/", [function(PROD, "old")], [status(PROD, "eu-west-1", count=1)], day=EARLIER, s3=writer
    )
    _two_shards(f"s3://{bucket}/inv/", s3=writer)
    snapshot = load_snapshot(f"s3://{bucket}/inv/", s3=reader)
    assert _sorted_names(snapshot) == sorted(r["function_name"] for r in sample_functions())
    assert snapshot.status.num_rows == 2
    assert snapshot.snapshot_date == SNAPSHOT_DATE
    assert snapshot.functions.schema == INVENTORY_SCHEMA
    assert _sorted_names(load_snapshot(f"s3://{bucket}/inv", EARLIER, s3=reader)) == ["old"]


def test_s3_csv_object_with_its_status(writer: Any, reader: Any, bucket: str) -> None:
    rows = _dev_rows()
    write_run(
        f"s3://{bucket}/x/nightly.csv", rows, [status(DEV, "eu-central-1", count=3)], partitioned=False, s3=writer
    )
    snapshot = load_snapshot(f"s3://{bucket}/x/nightly.csv", s3=reader)
    assert snapshot.functions.equals(functions_table(rows))
    assert snapshot.status.column("status").to_pylist() == ["ok"]


def test_s3_missing_status_bucket_and_partition_are_one_line(writer: Any, reader: Any, bucket: str) -> None:
    write_run(
        f"s3://{bucket}/x/a.parquet", [function(PROD, "a")], [status(PROD, "eu-west-1")], partitioned=False, s3=writer
    )
    reader.delete_object(Bucket=bucket, Key="x/a.status.parquet")
    cases = {
        f"s3://{bucket}/x/a.parquet": f"s3://{bucket}/x/a.status.parquet: missing (the status file of ",
        f"s3://{bucket}/nothing/": f"s3://{bucket}/nothing/: no snapshot_date=YYYY-MM-DD partitions",
        "s3://no-such-bucket-4f1c/p/": "s3://no-such-bucket-4f1c/p: bucket 'no-such-bucket-4f1c' does not exist",
    }
    for source, expected in cases.items():
        with pytest.raises(SnapshotError) as info:
            load_snapshot(source, s3=reader)
        assert _one_line(info.value).startswith(expected)


def test_cli_reads_s3_with_the_standard_credential_chain(emu: Emulator, writer: Any, bucket: str) -> None:
    _two_shards(f"s3://{bucket}/inv/", s3=writer)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "inventory",
            "report",
            f"s3://{bucket}/inv/",
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
