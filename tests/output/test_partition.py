"""A partition that knows it is complete: verify_partition and the readers' warnings (output/partition.py),
on local partitioned directories and on S3 (the emulator over HTTP).

Every partition is written by the job's own sink with a real manifest (build_manifest), as a run writes it;
a mix of layouts is made as a crash or an older version leaves one: files of another run copied beside.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import new_bucket
from partition_runs import CONFIG, NOW, OTHER_CONFIG, PART, A, B, C, copy_run, run, two_shards
from support.inventories import SNAPSHOT_DATE, function, write_run

from inventory.aws.credentials import ClientFactory
from inventory.demo.emulator import Emulator
from inventory.errors import ConfigError, SnapshotError
from inventory.output.destination import resolve_destination
from inventory.output.partition import MARKER
from inventory.output.snapshot import load_snapshot
from inventory.output.verify import verify_partition

# --- verify, local -----------------------------------------------------------------------------------


def test_a_complete_two_shard_partition_passes_and_gets_its_marker(tmp_path: Path) -> None:
    two_shards(tmp_path)
    verdict = verify_partition(str(tmp_path), now=NOW)
    assert verdict.complete and verdict.check.problems == ()
    marker = tmp_path / "_manifests" / PART / MARKER
    assert verdict.marker == str(marker)
    coverage, last = verdict.lines()
    assert (
        coverage == "coverage: 3 targets (3 ok, 0 skipped, 0 failed), 9 functions, 3 accounts, from 2 run manifest(s)"
    )
    assert last.startswith(f"{tmp_path}/{PART}: complete: 2 of 2 shard(s) (parquet, 2 shards), one config")
    document = json.loads(marker.read_text(encoding="utf-8"))
    manifests = [json.loads((tmp_path / "_manifests" / PART / f"shard-{i}-of-2.json").read_text()) for i in range(2)]
    assert document["runs"] == [
        {
            "run_id": m["run_id"],
            "shard": f"shard-{i}-of-2",
            "manifest": f"_manifests/{PART}/shard-{i}-of-2.json",
            "finished_at": m["finished_at"],
        }
        for i, m in enumerate(manifests)
    ]
    assert (document["shard_count"], document["sharded"], document["format"]) == (2, True, "parquet")
    assert document["config_sha256"] == CONFIG
    assert document["coverage"] == {
        "shards": 2,
        "targets": 3,
        "ok": 3,
        "skipped": 0,
        "failed": 0,
        "functions": 9,
        "accounts": 3,
    }
    assert (document["snapshot_date"], document["verified_at"]) == (str(SNAPSHOT_DATE), "2026-11-28T04:00:00Z")
    assert load_snapshot(str(tmp_path)).warnings == ()  # the marker is not read as a manifest


def test_no_marker_and_the_expected_shard_count(tmp_path: Path) -> None:
    two_shards(tmp_path)
    assert verify_partition(str(tmp_path), shards=2, write_marker=False).marker is None
    assert not (tmp_path / "_manifests" / PART / MARKER).exists()
    verdict = verify_partition(str(tmp_path), shards=3)
    assert verdict.check.problems == (f"{PART}: the latest run has 2 shard(s) (parquet, 2 shards), not 3",)
    assert not verdict.complete and verdict.marker is None
    assert verify_partition(str(tmp_path / PART), SNAPSHOT_DATE).complete  # a partition folder itself


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (
            lambda root: run(str(root), {A: 3}, shard=(0, 2)),
            f"{PART}: shard-1-of-2 missing: its accounts are not covered",
        ),
        (
            lambda root: two_shards(root, config=OTHER_CONFIG),
            f"{PART}: shard-1-of-2 ran with config sha256 bbbbbbbbbbbb, shard-0-of-2 with aaaaaaaaaaaa: "
            "the shards are not one run",
        ),
        (
            lambda root: two_shards(root, accounts={B: 1, C: 4}),
            f"{PART}: account {B} is in shard-0-of-2, shard-1-of-2: its functions are counted 2 times",
        ),
    ],
    ids=["missing shard", "config hash", "account in two shards"],
)
def test_an_incomplete_partition_fails_with_one_line(tmp_path: Path, make: Any, problem: str) -> None:
    make(tmp_path)
    verdict = verify_partition(str(tmp_path))
    assert verdict.check.problems == (problem,)
    lines = verdict.lines()
    assert lines[0] == problem
    assert lines[-1] == f"{tmp_path}/{PART}: incomplete: 1 problem(s)"
    assert not verdict.complete and verdict.marker is None
    assert not (tmp_path / "_manifests" / PART / MARKER).exists()
    assert load_snapshot(str(tmp_path)).warnings == (problem,)  # the readers warn with the same line


def test_a_mix_of_layouts_fails_one_line_per_object_and_readers_use_the_latest_run_only(tmp_path: Path) -> None:
    old = tmp_path / "old"
    run(str(old), {A: 3, B: 2, C: 4}, minutes=1)  # an unsharded run, finished first
    lake = tmp_path / "lake"
    two_shards(lake)  # then two shards, finished later
    leftovers = copy_run(old, lake)  # as if their removal had not happened (a crash, an older version)
    assert leftovers == [
        f"_manifests/{PART}/inventory.json",
        f"_status/{PART}/inventory.parquet",
        f"{PART}/inventory.parquet",
    ]
    verdict = verify_partition(str(lake))
    expected = tuple(
        f"{path}: left by a run of another layout ({kind}) than the latest run's (parquet, 2 shards): not read"
        for path, kind in [
            (f"{PART}/inventory.parquet", "parquet, unsharded"),
            (f"_status/{PART}/inventory.parquet", "parquet, unsharded"),
            (f"_manifests/{PART}/inventory.json", "parquet, unsharded"),
        ]
    )
    assert verdict.check.problems == expected and not verdict.complete
    snapshot = load_snapshot(str(lake))
    assert snapshot.functions.num_rows == 9, "the two shards' rows only, never added to the unsharded run's"
    assert sorted(snapshot.status.column("account_id").to_pylist()) == [A, B, C]
    assert snapshot.warnings == expected


def test_the_latest_manifest_decides_even_when_the_other_layout_is_newer_on_disk(tmp_path: Path) -> None:
    """A crash after a run published its files but before its manifest: the run before stays the one read."""
    two_shards(tmp_path)
    unfinished = tmp_path / "unfinished"
    run(str(unfinished), {A: 1}, minutes=30)
    (unfinished / "_manifests" / PART / "inventory.json").unlink()
    copy_run(unfinished, tmp_path)
    snapshot = load_snapshot(str(tmp_path))
    assert snapshot.functions.num_rows == 9
    assert [w.split(":")[0] for w in snapshot.warnings] == [
        f"{PART}/inventory.parquet",
        f"_status/{PART}/inventory.parquet",
    ]


def test_a_file_that_is_not_the_one_its_manifest_describes(tmp_path: Path) -> None:
    two_shards(tmp_path)
    other = tmp_path / "other"
    run(str(other), {C: 5}, shard=(1, 2))  # the same shard's file from another run
    shutil.copy2(other / PART / "shard-1-of-2.parquet", tmp_path / PART / "shard-1-of-2.parquet")
    (problem,) = verify_partition(str(tmp_path)).check.problems
    assert problem.startswith(f"{PART}/shard-1-of-2.parquet: ") and problem.endswith("not the file its run wrote")
    assert load_snapshot(str(tmp_path)).warnings == (problem,)


def test_same_size_other_content_is_caught_by_its_sha256(tmp_path: Path) -> None:
    two_shards(tmp_path)
    path = tmp_path / PART / "shard-0-of-2.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert verify_partition(str(tmp_path)).check.problems == (
        f"{PART}/shard-0-of-2.parquet: its sha256 is not its manifest's: not the file its run wrote",
    )


def test_without_manifests_verify_fails_and_readers_read_as_before(tmp_path: Path) -> None:
    rows = [function(A, "f")]
    write_run(str(tmp_path), rows, [], shard=(0, 2))  # no manifest: written before manifests existed
    write_run(str(tmp_path), rows, [], shard=(1, 2))
    assert verify_partition(str(tmp_path)).check.problems == tuple(
        f"_manifests/{PART}/shard-{i}-of-2.json: missing: the run of shard-{i}-of-2 did not finish publishing"
        for i in range(2)
    )
    assert load_snapshot(str(tmp_path)).warnings == ()


def test_without_manifests_a_mix_reads_the_newest_inventory_file(tmp_path: Path) -> None:
    write_run(str(tmp_path / "old"), [function(A, "f"), function(B, "g")], [], shard=None)
    copy_run(tmp_path / "old", tmp_path / "lake")
    write_run(str(tmp_path / "lake"), [function(A, "new")], [], shard=(0, 3))  # supersedes the copy...
    copy_run(tmp_path / "old", tmp_path / "lake")  # ...which comes back, older on disk
    old = tmp_path / "lake" / PART / "inventory.parquet"
    stamp = (tmp_path / "lake" / PART / "shard-0-of-3.parquet").stat().st_mtime - 60
    for path in (old, tmp_path / "lake" / "_status" / PART / "inventory.parquet"):
        os.utime(path, (stamp, stamp))
    snapshot = load_snapshot(str(tmp_path / "lake"))
    assert snapshot.functions.column("function_name").to_pylist() == ["new"]
    assert snapshot.warnings[:2] == tuple(
        f"{p}: left by a run of another layout (parquet, unsharded) than the latest run's (parquet, 3 shards): not read"
        for p in (f"{PART}/inventory.parquet", f"_status/{PART}/inventory.parquet")
    )
    assert snapshot.warnings[2:] == tuple(
        f"{PART}: shard-{i}-of-3 missing: its accounts are not covered" for i in (1, 2)
    )


def test_an_unreadable_manifest_is_one_line(tmp_path: Path) -> None:
    two_shards(tmp_path)
    (tmp_path / "_manifests" / PART / "shard-1-of-2.json").write_text("{not json", encoding="utf-8")
    assert verify_partition(str(tmp_path)).check.problems == (
        f"_manifests/{PART}/shard-1-of-2.json: not a run manifest: not JSON",
    )


def test_a_manifest_under_another_run_name_is_one_line(tmp_path: Path) -> None:
    two_shards(tmp_path)
    manifests = tmp_path / "_manifests" / PART
    shutil.copy2(manifests / "shard-0-of-2.json", manifests / "shard-1-of-2.json")
    assert verify_partition(str(tmp_path)).check.problems == (
        f"_manifests/{PART}/shard-1-of-2.json: holds the manifest of shard-0-of-2, not of shard-1-of-2",
    )


def test_bad_sources_are_one_line_errors(tmp_path: Path) -> None:
    dest = write_run(str(tmp_path / "x.parquet"), [], [], partitioned=False)
    with pytest.raises(ConfigError, match="is a single inventory file; verify reads a partitioned prefix"):
        verify_partition(str(dest.inventory))
    two_shards(tmp_path / "lake")
    with pytest.raises(SnapshotError) as info:
        verify_partition(str(tmp_path / "lake"), date(2026, 1, 1))
    assert (
        str(info.value)
        == f"{tmp_path}/lake/snapshot_date=2026-01-01: no such partition or nothing in it (latest is {SNAPSHOT_DATE})"
    )
    (tmp_path / "empty").mkdir()
    with pytest.raises(SnapshotError, match="no snapshot_date=YYYY-MM-DD partitions"):
        verify_partition(str(tmp_path / "empty"))


# --- S3, over HTTP against the emulator ---------------------------------------------------------------


@pytest.fixture
def writer(emu: Emulator) -> Any:
    """An S3 client made as the job makes it."""
    return ClientFactory.from_environment(4).client("s3", "us-east-1")


@pytest.fixture
def admin(emu: Emulator) -> Any:
    return boto3.client("s3", region_name="us-east-1")


def _keys(admin: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in admin.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_s3_verify_writes_the_marker_and_a_later_run_removes_it(writer: Any, admin: Any, tmp_path: Path) -> None:
    bucket = new_bucket(admin, "verify")
    prefix = f"s3://{bucket}/inv/"
    run(prefix, {A: 3, B: 2}, shard=(0, 2), s3=writer)
    missing = verify_partition(prefix, s3=admin)
    assert missing.check.problems == (f"{PART}: shard-1-of-2 missing: its accounts are not covered",)
    run(prefix, {C: 4}, shard=(1, 2), s3=writer, minutes=2)
    verdict = verify_partition(prefix, s3=admin, now=NOW)
    assert verdict.complete and verdict.marker == f"s3://{bucket}/inv/_manifests/{PART}/{MARKER}"
    marker = admin.get_object(Bucket=bucket, Key=f"inv/_manifests/{PART}/{MARKER}")
    assert json.loads(marker["Body"].read())["coverage"]["functions"] == 9
    assert marker["ContentType"] == "application/json"

    run(prefix, {C: 4}, shard=(1, 2), s3=writer, minutes=3)  # a re-run of a shard: the marker vouched for another
    assert f"inv/_manifests/{PART}/{MARKER}" not in _keys(admin, bucket)
    assert verify_partition(prefix, s3=admin).complete


def test_s3_a_mix_is_read_as_the_latest_run_and_fails_verify(writer: Any, admin: Any) -> None:
    bucket = new_bucket(admin, "verify")
    run(f"s3://{bucket}/old/", {A: 3, B: 2, C: 4}, s3=writer)
    run(f"s3://{bucket}/inv/", {A: 3, B: 2}, shard=(0, 2), s3=writer, minutes=2)
    run(f"s3://{bucket}/inv/", {C: 4}, shard=(1, 2), s3=writer, minutes=3)
    for key in _keys(admin, bucket):
        if key.startswith("old/"):
            admin.copy_object(
                Bucket=bucket, Key="inv/" + key.removeprefix("old/"), CopySource={"Bucket": bucket, "Key": key}
            )
    verdict = verify_partition(f"s3://{bucket}/inv/", s3=admin)
    assert [p.split(":")[0] for p in verdict.check.problems] == [
        f"{PART}/inventory.parquet",
        f"_status/{PART}/inventory.parquet",
        f"_manifests/{PART}/inventory.json",
    ]
    snapshot = load_snapshot(f"s3://{bucket}/inv/", s3=admin)
    assert snapshot.functions.num_rows == 9 and snapshot.warnings == verdict.check.problems


def test_only_a_partitioned_destination_has_a_partition(tmp_path: Path) -> None:
    assert resolve_destination("s3://b-bucket/p/", None, False, SNAPSHOT_DATE, (0, 2)).snapshot_date == SNAPSHOT_DATE
    assert resolve_destination(str(tmp_path), None, True, SNAPSHOT_DATE).snapshot_date == SNAPSHOT_DATE
    assert resolve_destination("s3://b-bucket/p/x.parquet", None, False, SNAPSHOT_DATE).snapshot_date is None
    assert resolve_destination(f"{tmp_path}/", None, False, SNAPSHOT_DATE).snapshot_date is None
