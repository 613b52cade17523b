"""Where a run's output goes: resolve_destination for local files, directories and S3 objects, lake_output for
a lake (an S3 prefix, or a local directory with --lake), and the file sink's S3 store against the emulator."""

from __future__ import annotations

import csv
import hashlib
import http.client
import io
import re
import secrets
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest
from boto3.s3.transfer import TransferConfig
from conftest import new_bucket
from support.batches import function_batch
from support.hostile_lambda import POLL

from inventory.aws.clients import ClientFactory, botocore_config
from inventory.aws.retry import RetryPolicy
from inventory.contract.lake import DEFAULT_DATABASE, FUNCTIONS, Lake
from inventory.contract.layout import Format
from inventory.contract.record import RunInfo, build_record, parse_record
from inventory.contract.results import Status, TargetResult
from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.contract.status import status_table
from inventory.contract.target import Account, Target
from inventory.demo.emulator import Emulator
from inventory.errors import OutputError
from inventory.exits import ExitCode, for_error
from inventory.writers.destination import (
    Destination,
    S3Object,
    lake_output,
    location_text,
    resolve_destination,
)
from inventory.writers.sink import RunSink, open_sink
from inventory.writers.stores import S3Store


def _resolve(output: str, fmt: Format | None = None, shard: tuple[int, int] | None = None) -> Destination:
    return resolve_destination(output, fmt, shard)


def _names(dest: Destination) -> tuple[str, str, str]:
    return str(dest.inventory), str(dest.status), str(dest.manifest)


def _usage_error(err: OutputError) -> str:
    """The message of an OutputError: one line, exit code 2."""
    text = str(err)
    assert text and "\n" not in text
    assert for_error(err) is ExitCode.USAGE
    return text


# --- local files and directories ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("x.parquet", None, (Format.PARQUET, "x.status.parquet", "x.manifest.json")),
        ("x.csv", None, (Format.CSV, "x.status.csv", "x.manifest.json")),
        ("x.parquet", Format.PARQUET, (Format.PARQUET, "x.status.parquet", "x.manifest.json")),
        (
            "lambda-2026.x.parquet",
            None,
            (Format.PARQUET, "lambda-2026.x.status.parquet", "lambda-2026.x.manifest.json"),
        ),
        ("x.txt", Format.CSV, (Format.CSV, "x.status.csv", "x.manifest.json")),
    ],
)
def test_local_file(tmp_path: Path, name: str, fmt: Format | None, expected: tuple[Format, str, str]) -> None:
    expected_fmt, status, manifest = expected
    dest = _resolve(str(tmp_path / name), fmt)
    assert dest == Destination(
        str(tmp_path / name), expected_fmt, tmp_path / name, tmp_path / status, tmp_path / manifest
    )
    assert dest.bucket is None


@pytest.mark.parametrize(("fmt", "ext"), [(None, "parquet"), (Format.CSV, "csv")])
def test_local_directory_existing_or_trailing_slash(tmp_path: Path, fmt: Format | None, ext: str) -> None:
    for output in (str(tmp_path), f"{tmp_path}/new/"):
        root = Path(output)
        assert _names(_resolve(output, fmt)) == (
            str(root / f"inventory.{ext}"),
            str(root / f"inventory.status.{ext}"),
            str(root / "inventory.manifest.json"),
        )
    assert not (tmp_path / "new").exists()  # resolving creates nothing


def test_local_directory_sharded_names_each_shard(tmp_path: Path) -> None:
    dest = _resolve(f"{tmp_path}/", shard=(2, 8))
    assert dest.inventory == tmp_path / "shard-2-of-8.parquet"
    assert dest.status == tmp_path / "shard-2-of-8.status.parquet"
    assert dest.manifest == tmp_path / "shard-2-of-8.manifest.json"


def test_local_file_is_used_as_named_sharded_or_not(tmp_path: Path) -> None:
    assert _resolve(str(tmp_path / "x.parquet"), shard=(1, 2)) == _resolve(str(tmp_path / "x.parquet"))


def test_location_text_is_absolute_for_a_local_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """How a manifest names its files: a relative --output is made absolute; an S3 object is its URL."""
    monkeypatch.chdir(tmp_path)
    dest = _resolve("out/", Format.PARQUET)
    assert dest.inventory == Path("out/inventory.parquet")
    assert location_text(dest.inventory) == str(tmp_path / "out" / "inventory.parquet")
    assert location_text(dest.status) == str(tmp_path / "out" / "inventory.status.parquet")
    assert location_text(S3Object("b-1", "a/x.parquet")) == "s3://b-1/a/x.parquet"


# --- S3 objects -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "fmt", "expected"),
    [
        ("s3://b-1/k.parquet", None, ("k.parquet", "k.status.parquet", "k.manifest.json", Format.PARQUET)),
        ("s3://b-1/d/e/k.csv", None, ("d/e/k.csv", "d/e/k.status.csv", "d/e/k.manifest.json", Format.CSV)),
        ("s3://b-1/d/k.csv", Format.CSV, ("d/k.csv", "d/k.status.csv", "d/k.manifest.json", Format.CSV)),
    ],
)
def test_s3_exact_key(output: str, fmt: Format | None, expected: tuple[str, str, str, Format]) -> None:
    dest = _resolve(output, fmt, shard=(1, 2))  # an explicit key is used as given, sharded or not
    keys = tuple(loc.key for loc in dest.locations if isinstance(loc, S3Object))
    assert (*keys, dest.fmt) == expected
    assert dest.bucket == "b-1"
    assert dest.s3_prefix == ("d/e/" if "/e/" in output else "d/" if "/d/" in output else "")


@pytest.mark.parametrize("output", ["s3://bucket/lambda-inventory/", "s3://bucket/a/b/", "s3://bucket/", "s3://bucket"])
def test_s3_prefix_is_a_lake_not_a_file(output: str) -> None:
    with pytest.raises(OutputError) as info:
        _resolve(output)
    assert _usage_error(info.value) == (
        f"{output}: an S3 prefix is a lake; name an object (s3://bucket/key.parquet) for a file"
    )


def test_s3_object_str() -> None:
    assert str(S3Object("b-1", "a/b.parquet")) == "s3://b-1/a/b.parquet"


# --- lake_output: a lake, not files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "location"),
    [
        ("s3://bucket/lambda-inventory/", "s3://bucket/lambda-inventory/"),
        ("s3://bucket/a/b/", "s3://bucket/a/b/"),
        ("s3://bucket/", "s3://bucket/"),
        ("s3://bucket", "s3://bucket/"),
    ],
)
@pytest.mark.parametrize("lake", [False, True])
def test_lake_output_s3_prefix_or_bucket(output: str, location: str, lake: bool) -> None:
    """An S3 prefix (ending in '/') or a bare bucket is always a lake, --lake or not."""
    found = lake_output(output, None, lake)
    assert found == Lake(location, DEFAULT_DATABASE)
    assert found is not None and found.on_s3 and found.location.endswith("/")
    assert found.table_location(FUNCTIONS) == f"{location}functions"
    assert lake_output(output, Format.PARQUET, lake) == found  # Parquet is what a lake holds


def test_lake_output_database() -> None:
    found = lake_output("s3://bucket/p/", None, False, "nightly_inventory")
    assert found == Lake("s3://bucket/p/", "nightly_inventory")
    assert found is not None and found.identifier(FUNCTIONS) == "nightly_inventory.functions"
    assert lake_output("s3://bucket/p/", None, False, None) == Lake("s3://bucket/p/", DEFAULT_DATABASE)


def test_lake_output_s3_key_is_a_prefix_only_with_lake() -> None:
    assert lake_output("s3://b-1/data", None, True) == Lake("s3://b-1/data/")
    assert lake_output("s3://b-1/data", None, False) is None  # a file (which then needs an extension)
    assert lake_output("s3://b-1/d/k.parquet", None, False) is None
    assert lake_output("s3://b-1/d/k.csv", Format.CSV, False) is None  # CSV is fine for a file


def test_lake_output_local_directory_only_with_lake(tmp_path: Path) -> None:
    assert lake_output(str(tmp_path), None, False) is None  # a directory of files
    assert lake_output(f"{tmp_path}/", None, False) is None
    assert lake_output(str(tmp_path / "inv.parquet"), None, False) is None
    found = lake_output(str(tmp_path), None, True)
    assert found == Lake(str(tmp_path), DEFAULT_DATABASE) and not found.on_s3
    assert lake_output(f"{tmp_path}/", None, True) == found
    assert lake_output(str(tmp_path), None, True, "nightly") == Lake(str(tmp_path), "nightly")


def test_lake_output_local_directory_need_not_exist_and_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert lake_output("lake/", None, True) == Lake(str(tmp_path / "lake"))
    assert lake_output("a/b", None, True) == Lake(str(tmp_path / "a" / "b"))
    assert list(tmp_path.iterdir()) == []  # nothing created: the lake sink creates it


def test_lake_output_local_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "inv.parquet"
    path.write_bytes(b"an inventory")
    with pytest.raises(OutputError) as info:
        lake_output(str(path), None, True)
    assert _usage_error(info.value) == f"{path}: is a file; a local lake is a directory"
    assert path.read_bytes() == b"an inventory"
    assert lake_output(str(path), None, False) is None  # without --lake: a file to write


@pytest.mark.parametrize(("output", "lake"), [("s3://b-1/p/", False), ("s3://b-1", False), ("s3://b-1/p", True)])
def test_csv_to_an_s3_lake_is_one_line(output: str, lake: bool) -> None:
    with pytest.raises(OutputError) as info:
        lake_output(output, Format.CSV, lake)
    assert _usage_error(info.value) == (
        f"{output}: a lake is Apache Iceberg tables (Parquet); --format csv writes a file"
    )


def test_csv_to_a_local_lake_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(OutputError) as info:
        lake_output(str(tmp_path), Format.CSV, True)
    assert _usage_error(info.value) == (
        f"{tmp_path}: a lake is Apache Iceberg tables (Parquet); --format csv writes a file"
    )
    assert lake_output(str(tmp_path), Format.CSV, False) is None  # a directory of CSV files is fine


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("gs://bucket/x/", "gs://bucket/x/: a lake is an s3://bucket/prefix/ or a local directory"),
        ("https://b.s3.amazonaws.com/x/", "https://b.s3.amazonaws.com/x/: a lake is an s3://bucket/prefix/ or a local"),
        ("", "--output: a lake is an s3://bucket/prefix/ or a local directory"),
    ],
)
def test_lake_output_not_s3_nor_local_is_one_line(output: str, message: str) -> None:
    with pytest.raises(OutputError) as info:
        lake_output(output, None, True)
    assert _usage_error(info.value).startswith(message)
    assert lake_output(output, None, False) is None  # not a lake: resolve_destination says what is wrong


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("s3://", "s3://: no bucket name (expected s3://bucket/prefix/ or s3://bucket/key.parquet)"),
        ("s3:///p/", "s3:///p/: no bucket name (expected s3://bucket/prefix/ or s3://bucket/key.parquet)"),
        ("s3://My_Bucket/x/", "s3://My_Bucket/x/: 'My_Bucket' is not a valid S3 bucket name"),
        ("s3://bucket_1/", "s3://bucket_1/: 'bucket_1' is not a valid S3 bucket name"),
        ("s3://ab", "s3://ab: 'ab' is not a valid S3 bucket name"),
        ("s3://-bucket/p/", "s3://-bucket/p/: '-bucket' is not a valid S3 bucket name"),
        ("s3://bucket-/p/", "s3://bucket-/p/: 'bucket-' is not a valid S3 bucket name"),
        ("s3://" + "b" * 64 + "/p/", f"s3://{'b' * 64}/p/: '{'b' * 64}' is not a valid S3 bucket name"),
        ("s3://bucket//x/", "s3://bucket//x/: empty path segment in the key"),
        ("s3://b-1/a/../b/", "s3://b-1/a/../b/: the S3 key has a '.' or '..' segment"),
        ("s3://b-1/./p/", "s3://b-1/./p/: the S3 key has a '.' or '..' segment"),
        ("s3://b-1/a\nb/", "s3://b-1/a b/: the S3 key has a control character (e.g. a newline)"),
    ],
)
@pytest.mark.parametrize("lake", [False, True])
def test_unusable_lake_is_one_line_exit_2(output: str, message: str, lake: bool) -> None:
    with pytest.raises(OutputError) as info:
        lake_output(output, None, lake)
    assert _usage_error(info.value) == message


def test_bucket_names_at_the_limits_are_a_lake() -> None:
    for bucket in ("abc", "b" * 63, "my.bucket-1", "1bucket9"):
        assert lake_output(f"s3://{bucket}/p/", None, False) == Lake(f"s3://{bucket}/p/")


def test_lake_prefix_leaves_room_for_the_tables_keys() -> None:
    """A lake's prefix may be up to 1024 - 200 bytes: its tables' keys go under it."""
    assert lake_output("s3://b-1/" + "p" * 823 + "/", None, False) == Lake("s3://b-1/" + "p" * 823 + "/")
    with pytest.raises(OutputError) as info:
        lake_output("s3://b-1/" + "p" * 824 + "/", None, False)
    text = _usage_error(info.value)
    assert "is over 824 bytes" in text and len(text) < 400


@pytest.mark.parametrize("output", ["s3://bad\nname/p/", "s3:///p\n/", "s3://bucket//x\n/"])
@pytest.mark.parametrize("lake", [False, True])
def test_an_output_with_a_newline_is_refused_on_one_line(output: str, lake: bool) -> None:
    with pytest.raises(OutputError) as info:
        lake_output(output, None, lake)
    _usage_error(info.value)


# --- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("s3://", "s3://: no bucket name (expected s3://bucket/prefix/ or s3://bucket/key.parquet)"),
        (
            "s3:///key.parquet",
            "s3:///key.parquet: no bucket name (expected s3://bucket/prefix/ or s3://bucket/key.parquet)",
        ),
        ("s3://My_Bucket/x.parquet", "s3://My_Bucket/x.parquet: 'My_Bucket' is not a valid S3 bucket name"),
        ("s3://ab/x.parquet", "s3://ab/x.parquet: 'ab' is not a valid S3 bucket name"),
        ("s3://bucket//x.parquet", "s3://bucket//x.parquet: empty path segment in the key"),
        ("gs://bucket/x/", "gs://bucket/x/: not a local path or an s3:// URL"),
        ("https://bucket.s3.amazonaws.com/x/", "https://bucket.s3.amazonaws.com/x/: not a local path or an s3:// URL"),
        ("", "--output: must not be empty"),
    ],
)
def test_bad_output_is_one_line_exit_2(output: str, message: str) -> None:
    with pytest.raises(OutputError) as info:
        _resolve(output)
    assert _usage_error(info.value) == message


@pytest.mark.parametrize("shard", [(4, 4), (-1, 4), (0, 0), (5, 2)])
def test_bad_shard_is_a_programming_error(shard: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="0 <= index < count"):
        _resolve("out/", shard=shard)


def test_format_content_types() -> None:
    assert Format.PARQUET.content_type == "application/vnd.apache.parquet"
    assert Format.CSV.content_type.startswith("text/csv")


# --- S3 over HTTP against the emulator ----------------------------------------------------------------
#
# The sink writes through a client made exactly as the job makes it (ClientFactory: botocore retries off,
# every call through the job's RetryPolicy). Faults S3 would answer (throttling, a denied bucket, a failed
# multipart completion) come from FaultProxy, a small HTTP proxy in front of the emulator.

FAST = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01)
SNAPSHOT = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)


def _target(account_id: str = "012345678901", region: str = "eu-west-1") -> Target:
    return Target(Account(account_id, f"acct-{account_id}", (), f"arn:aws:iam::{account_id}:role/R", None), region)


def _batch(*names: str, account_id: str = "012345678901") -> pa.RecordBatch:
    items = [{"FunctionName": n, "FunctionArn": f"arn:aws:lambda:eu-west-1:{account_id}:function:{n}"} for n in names]
    return function_batch(_target(account_id), SNAPSHOT, items)


def _result(account_id: str, region: str, count: int) -> TargetResult:
    return TargetResult(_target(account_id, region), Status.OK, count, (), 1, 0, 0.1)


def _status_rows(results: list[TargetResult]) -> pa.Table:
    return status_table(results, SNAPSHOT)


def _outputs(dest: Destination) -> dict[str, str]:
    """What a run's record says it wrote to a file destination (as job/pipeline.py says it)."""
    return {"format": dest.fmt.value, "inventory": location_text(dest.inventory), "status": location_text(dest.status)}


def _write(
    dest: Destination, client: Any, names: list[str], policy: RetryPolicy = FAST, shard: tuple[int, int] | None = None
) -> RunSink:
    """One run, as the pipeline does it: open, stream rows, commit with its record; abort on any error."""
    sink = open_sink(dest, STATUS_SCHEMA, s3=client, policy=policy)
    try:
        sink.write(_batch(*names))
        results = [_result("012345678901", "eu-west-1", len(names))]
        info = RunInfo("20261128T153000Z-0123abcd", SNAPSHOT, "0" * 64, shard, "20261128T153000Z-0123456789ab")
        sink.commit(_status_rows(results), build_record(info, results, _outputs(dest), SNAPSHOT + timedelta(minutes=3)))
    except BaseException:
        sink.abort()
        raise
    return sink


@pytest.fixture
def client(emu: Emulator) -> Any:
    """An S3 client made as the job makes it."""
    return ClientFactory.from_environment(4).client("s3", "us-east-1")


@pytest.fixture
def admin(emu: Emulator) -> Any:
    """A plain boto3 client for the test's own setup and checks."""
    return boto3.client("s3", region_name="us-east-1")


@pytest.fixture
def bucket(admin: Any) -> str:
    return new_bucket(admin, "inventory")


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temp directory, for this test alone: S3 destinations stream rows to files here."""
    directory = tmp_path / "systemp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def _keys(admin: Any, bucket: str) -> list[str]:
    pages = admin.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


@pytest.fixture
def fs(emu: Emulator) -> pafs.S3FileSystem:
    """pyarrow's S3 filesystem on the emulator, as pandas and duckdb readers would use it."""
    host = emu.endpoint.removeprefix("http://")
    return pafs.S3FileSystem(
        endpoint_override=host, scheme="http", access_key="testing", secret_key="testing", region="us-east-1"
    )


def _one_line(err: OutputError) -> str:
    text = _usage_error(err)
    assert int(for_error(err)) == 2
    return text


def test_s3_object_read_back_with_pandas_and_duckdb(
    fs: pafs.S3FileSystem, client: Any, admin: Any, bucket: str, scratch: Path
) -> None:
    dest = resolve_destination(f"s3://{bucket}/lambda-inventory/inventory.parquet", None)
    sink = _write(dest, client, ["a", "b", "c"])
    assert sink.rows == 3
    assert _keys(admin, bucket) == [
        "lambda-inventory/inventory.manifest.json",
        "lambda-inventory/inventory.parquet",
        "lambda-inventory/inventory.status.parquet",
    ]
    assert list(scratch.iterdir()) == []  # temporary files gone
    for key in ("lambda-inventory/inventory.parquet", "lambda-inventory/inventory.status.parquet"):
        assert admin.head_object(Bucket=bucket, Key=key)["ContentType"] == "application/vnd.apache.parquet"

    frame = pd.read_parquet(f"{bucket}/lambda-inventory/inventory.parquet", filesystem=fs)
    assert sorted(frame["function_name"]) == ["a", "b", "c"]
    assert list(frame.columns) == INVENTORY_SCHEMA.names
    status = pd.read_parquet(f"{bucket}/lambda-inventory/inventory.status.parquet", filesystem=fs)
    assert status["status"].tolist() == ["ok"]

    dset = ds.dataset(f"{bucket}/lambda-inventory/inventory.parquet", filesystem=fs, format="parquet")
    assert dset.schema.equals(INVENTORY_SCHEMA)
    rows = duckdb.connect().sql("select account_id, count(*) from dset group by all").fetchall()
    assert rows == [("012345678901", 3)]


def test_s3_rerun_to_the_same_key_replaces_its_objects(
    fs: pafs.S3FileSystem, client: Any, admin: Any, bucket: str, scratch: Path
) -> None:
    dest = resolve_destination(f"s3://{bucket}/p/inventory.parquet", None, (1, 4))
    _write(dest, client, ["old1", "old2"], shard=(1, 4))
    before = _keys(admin, bucket)
    _write(dest, client, ["new"], shard=(1, 4))
    assert _keys(admin, bucket) == before
    table = pd.read_parquet(f"{bucket}/p/inventory.parquet", filesystem=fs)
    assert table["function_name"].tolist() == ["new"]
    manifest = admin.get_object(Bucket=bucket, Key="p/inventory.manifest.json")["Body"].read()
    assert parse_record(manifest, "p/inventory.manifest.json").files["inventory"]["rows"] == 1


def test_s3_abort_mid_run_publishes_nothing(client: Any, admin: Any, bucket: str, scratch: Path) -> None:
    dest = resolve_destination(f"s3://{bucket}/p/inventory.parquet", None)
    sink = open_sink(dest, STATUS_SCHEMA, s3=client, policy=FAST)
    with pytest.raises(KeyboardInterrupt):
        try:
            sink.write(_batch("a", "b"))
            temps = sorted(p.name for p in scratch.iterdir())  # rows stream to local temp files meanwhile
            assert [n.split(".parquet.")[0] for n in temps] == [
                "lambda-inventory-inventory",
                "lambda-inventory-inventory.status",
            ]
            raise KeyboardInterrupt
        except BaseException:
            sink.abort()
            raise
    assert _keys(admin, bucket) == []
    assert list(scratch.iterdir()) == []
    sink.abort()  # twice is harmless


def test_s3_abort_keeps_the_previous_run(
    fs: pafs.S3FileSystem, client: Any, admin: Any, bucket: str, scratch: Path
) -> None:
    dest = resolve_destination(f"s3://{bucket}/p/inventory.parquet", None)
    _write(dest, client, ["old"])
    before = {key: admin.get_object(Bucket=bucket, Key=key)["Body"].read() for key in _keys(admin, bucket)}
    sink = open_sink(dest, STATUS_SCHEMA, s3=client, policy=FAST)
    sink.write(_batch("new"))
    sink.abort()
    assert pd.read_parquet(f"{bucket}/p/inventory.parquet", filesystem=fs)["function_name"].tolist() == ["old"]
    assert {key: admin.get_object(Bucket=bucket, Key=key)["Body"].read() for key in _keys(admin, bucket)} == before


def test_s3_missing_bucket_is_one_line_exit_2_before_any_file(client: Any, scratch: Path) -> None:
    output = f"s3://missing-{uuid.uuid4().hex[:8]}/lambda-inventory/inventory.parquet"
    dest = resolve_destination(output, None)
    with pytest.raises(OutputError) as info:
        open_sink(dest, STATUS_SCHEMA, s3=client, policy=FAST)
    bucket = output.split("/")[2]
    assert _one_line(info.value) == f"{output}: bucket '{bucket}' does not exist"
    assert list(scratch.iterdir()) == []


def test_s3_exact_key_layout(fs: pafs.S3FileSystem, client: Any, admin: Any, bucket: str, scratch: Path) -> None:
    dest = resolve_destination(f"s3://{bucket}/nightly/inventory-x.parquet", None)
    _write(dest, client, ["a"])
    assert _keys(admin, bucket) == [
        "nightly/inventory-x.manifest.json",
        "nightly/inventory-x.parquet",
        "nightly/inventory-x.status.parquet",
    ]
    frame = pd.read_parquet(f"{bucket}/nightly/inventory-x.parquet", filesystem=fs)
    assert frame["function_name"].tolist() == ["a"]


def test_s3_csv_object(client: Any, admin: Any, bucket: str, scratch: Path) -> None:
    dest = resolve_destination(f"s3://{bucket}/csv/inv.csv", None)
    assert dest.fmt is Format.CSV
    _write(dest, client, ["a", "b"])
    assert _keys(admin, bucket) == ["csv/inv.csv", "csv/inv.manifest.json", "csv/inv.status.csv"]
    obj = admin.get_object(Bucket=bucket, Key="csv/inv.csv")
    assert obj["ContentType"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(obj["Body"].read().decode())))
    assert [r["function_name"] for r in rows] == ["a", "b"]
    assert rows[0]["account_id"] == "012345678901"
    status = admin.get_object(Bucket=bucket, Key="csv/inv.status.csv")
    assert status["ContentType"].startswith("text/csv")
    assert [r["status"] for r in csv.DictReader(io.StringIO(status["Body"].read().decode()))] == ["ok"]


def test_s3_manifest_is_published_last_and_valid(client: Any, admin: Any, bucket: str, scratch: Path) -> None:
    dest = resolve_destination(f"s3://{bucket}/p/shard.parquet", None, (1, 2))
    _write(dest, client, ["a", "b"], shard=(1, 2))
    obj = admin.get_object(Bucket=bucket, Key="p/shard.manifest.json")
    assert obj["ContentType"] == "application/json"
    text = obj["Body"].read().decode()
    assert text.endswith("}\n")
    record = parse_record(text.encode(), "p/shard.manifest.json")
    assert record.outputs == {
        "format": "parquet",
        "inventory": f"s3://{bucket}/p/shard.parquet",
        "status": f"s3://{bucket}/p/shard.status.parquet",
    }
    assert record.shard == (1, 2)
    assert record.counts.functions == 2
    assert record.snapshot_date == SNAPSHOT.date()
    for name, key, rows in (("inventory", "p/shard.parquet", 2), ("status", "p/shard.status.parquet", 1)):
        data = admin.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert record.files[name] == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "rows": rows}
    stamps = {o["Key"]: o["LastModified"] for o in admin.list_objects_v2(Bucket=bucket)["Contents"]}
    assert stamps["p/shard.manifest.json"] >= max(stamps.values())


def test_s3_large_inventory_goes_up_in_parts(client: Any, admin: Any, bucket: str, scratch: Path) -> None:
    dest = resolve_destination(f"s3://{bucket}/big/inventory.parquet", None)
    transfer = TransferConfig(multipart_threshold=1024 * 1024)  # parts are S3's minimum 5 MiB
    sink = RunSink(dest, STATUS_SCHEMA, S3Store(client, FAST, transfer))
    names = [secrets.token_urlsafe(3000) for _ in range(2500)]  # ~7 MiB that zstd cannot shrink much
    sink.write(_batch(*names))
    sink.commit(_status_rows([_result("012345678901", "eu-west-1", len(names))]))
    head = admin.head_object(Bucket=bucket, Key="big/inventory.parquet")
    assert head["ContentLength"] > 5 * 1024 * 1024
    assert head["ETag"].strip('"').endswith("-2")  # a multipart object's ETag counts its parts
    assert admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert list(scratch.iterdir()) == []


def test_open_sink_for_s3_needs_a_client(bucket: str) -> None:
    dest = resolve_destination(f"s3://{bucket}/p/inventory.parquet", None)
    with pytest.raises(TypeError, match="needs an S3 client"):
        open_sink(dest, STATUS_SCHEMA)


# --- S3 faults, through a proxy in front of the emulator ----------------------------------------------


@dataclass
class Fault:
    method: str
    pattern: str  # searched in the request's path and query
    status: int
    code: str
    times: int = 1_000_000
    hits: int = 0


class FaultProxy:
    """An HTTP proxy in front of the emulator that answers chosen requests with an S3 error."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.faults: list[Fault] = []
        self.seen: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def handle_one(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.seen.append(f"{self.command} {self.path}")
                status, headers, data = proxy.answer(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(POLL,), daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        for fault in self.faults:
            if fault.method == method and re.search(fault.pattern, path) and fault.hits < fault.times:
                fault.hits += 1
                error = f"<Error><Code>{fault.code}</Code><Message>injected {fault.code}</Message></Error>"
                return fault.status, [("Content-Type", "application/xml")], error.encode()
        connection = http.client.HTTPConnection(self.upstream, timeout=30)
        skip = {"host", "content-length", "connection"}
        connection.request(method, path, body, {k: v for k, v in headers.items() if k.lower() not in skip})
        response = connection.getresponse()
        data = response.read()
        connection.close()
        kept = [(k, v) for k, v in response.getheaders() if k.lower() not in {"content-length", "connection"}]
        return response.status, kept, data

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def proxy(emu: Emulator) -> Iterator[FaultProxy]:
    with FaultProxy(emu.endpoint) as running:
        yield running


@pytest.fixture
def proxied(proxy: FaultProxy) -> Any:
    """An S3 client made like the job's (retries off) that talks to S3 through the proxy."""
    return boto3.client("s3", region_name="us-east-1", endpoint_url=proxy.endpoint, config=botocore_config(4))


def test_s3_access_denied_is_one_line_exit_2(proxy: FaultProxy, proxied: Any, bucket: str, scratch: Path) -> None:
    proxy.faults.append(Fault("GET", r"list-type=2", 403, "AccessDenied"))
    dest = resolve_destination(f"s3://{bucket}/p/inventory.parquet", None)
    with pytest.raises(OutputError) as info:
        open_sink(dest, STATUS_SCHEMA, s3=proxied, policy=FAST)
    assert _one_line(info.value) == (
        f"s3://{bucket}/p/inventory.parquet: access to bucket '{bucket}' denied "
        "(the job needs s3:ListBucket and s3:PutObject)"
    )
    assert proxy.faults[0].hits == 1  # access denied is never retried
    assert list(scratch.iterdir()) == []


def test_s3_preflight_lists_only_the_destination_prefix(proxy: FaultProxy, proxied: Any, bucket: str) -> None:
    dest = resolve_destination(f"s3://{bucket}/lambda-inventory/inventory.parquet", None)
    open_sink(dest, STATUS_SCHEMA, s3=proxied, policy=FAST).abort()
    (listing,) = proxy.seen
    assert listing.startswith(f"GET /{bucket}?") and "prefix=lambda-inventory%2F" in listing
    assert "max-keys=1" in listing


def test_s3_throttled_upload_is_retried(
    fs: pafs.S3FileSystem, proxy: FaultProxy, proxied: Any, bucket: str, scratch: Path
) -> None:
    proxy.faults.append(Fault("PUT", r"/p/inventory\.parquet", 503, "SlowDown", times=2))
    dest = resolve_destination(f"s3://{bucket}/p/inventory.parquet", None)
    _write(dest, proxied, ["a", "b"])
    assert proxy.faults[0].hits == 2
    assert len(_keys(proxied, bucket)) == 3
    assert pd.read_parquet(f"{bucket}/p/inventory.parquet", filesystem=fs)["function_name"].tolist() == ["a", "b"]
    assert list(scratch.iterdir()) == []


def test_s3_upload_that_keeps_failing_is_one_line_and_no_manifest(
    proxy: FaultProxy, proxied: Any, admin: Any, bucket: str, scratch: Path
) -> None:
    proxy.faults.append(Fault("PUT", r"/p/inventory\.status\.parquet", 500, "InternalError"))
    dest = resolve_destination(f"s3://{bucket}/p/inventory.parquet", None)
    with pytest.raises(OutputError) as info:
        _write(dest, proxied, ["a"])
    assert _one_line(info.value).startswith(f"{dest.status}: upload failed: ")
    assert "InternalError" in str(info.value)
    assert proxy.faults[0].hits == FAST.max_attempts
    # each object is all or nothing: the inventory is complete, the status never appeared, and no
    # manifest says the run finished
    assert _keys(admin, bucket) == ["p/inventory.parquet"]
    assert list(scratch.iterdir()) == []


def test_s3_failed_multipart_upload_leaves_no_object_and_no_parts(
    proxy: FaultProxy, proxied: Any, admin: Any, bucket: str, scratch: Path
) -> None:
    proxy.faults.append(Fault("POST", r"uploadId=", 500, "InternalError"))  # CompleteMultipartUpload
    dest = resolve_destination(f"s3://{bucket}/big/inventory.parquet", None)
    transfer = TransferConfig(multipart_threshold=1024 * 1024)
    sink = RunSink(dest, STATUS_SCHEMA, S3Store(proxied, FAST, transfer))
    try:
        sink.write(_batch(*[secrets.token_urlsafe(3000) for _ in range(2500)]))
        with pytest.raises(OutputError, match="upload failed"):
            sink.commit(_status_rows([]))
    finally:
        sink.abort()
    assert proxy.faults[0].hits == FAST.max_attempts
    assert _keys(admin, bucket) == []
    assert admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []  # every attempt was aborted
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("s3://b-1/a/../b.parquet", "the S3 key has a '.' or '..' segment"),
        ("s3://b-1/./k.parquet", "the S3 key has a '.' or '..' segment"),
        ("s3://b-1/a\nb.parquet", "the S3 key has a control character"),
        ("s3://b-1/a\x00b.parquet", "the S3 key has a control character"),
        ("s3://b-1/" + "é" * 600 + ".parquet", "is over 1024 bytes"),  # 1208 bytes of UTF-8: over S3's limit
    ],
)
def test_unusable_s3_key_is_one_line(output: str, expected: str) -> None:
    with pytest.raises(OutputError) as info:
        _resolve(output, None)
    text = _usage_error(info.value)
    assert expected in text
    assert len(text) < 400


def test_s3_file_key_within_s3s_limit_is_accepted() -> None:
    """A 900-byte key: it, its status key and its manifest key are all within S3's 1024 bytes."""
    key = "k" * 892 + ".parquet"
    dest = _resolve(f"s3://b-1/{key}")
    assert all(len(loc.key.encode()) <= 1024 for loc in dest.locations if isinstance(loc, S3Object))
    assert dest.inventory == S3Object("b-1", key)


@pytest.mark.parametrize(
    ("output", "fmt", "expected"),
    [
        ("x.csv", Format.PARQUET, "the name ends in .csv but the format is parquet; name it x.parquet"),
        ("x.parquet", Format.CSV, "the name ends in .parquet but the format is csv; name it x.csv"),
        ("out", None, "no file extension and not an existing directory; write {p}/ for a directory or {p}.parquet"),
        ("out", Format.CSV, "write {p}/ for a directory or {p}.csv for a file"),
        ("s3://b-1/d/k", None, "write s3://b-1/d/k/ for a directory or s3://b-1/d/k.parquet"),
    ],
)
def test_output_name_and_format_must_agree(tmp_path: Path, output: str, fmt: Format | None, expected: str) -> None:
    target = output if output.startswith("s3://") else str(tmp_path / output)
    with pytest.raises(OutputError) as info:
        _resolve(target, fmt)
    assert expected.format(p=target) in _usage_error(info.value)
