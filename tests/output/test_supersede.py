"""One run per partition: a run's commit removes the objects of a run with another layout and the partition's
marker, in the order supersede.py gives, never its own layout's (output/supersede.py, sink.py), locally
and on S3 (the emulator over HTTP)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import new_bucket
from partition_runs import PART, A, B, C, copy_run, run, two_shards

from inventory.aws.credentials import ClientFactory
from inventory.demo.emulator import Emulator
from inventory.errors import OutputError
from inventory.output.destination import Location
from inventory.output.layout import Format
from inventory.output.partition import MARKER
from inventory.output.snapshot import load_snapshot
from inventory.output.stores import LocalStore
from inventory.output.verify import verify_partition


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _manifest(root: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((root / "_manifests" / PART / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def _unsharded() -> list[str]:
    return [f"{PART}/inventory.parquet", f"_status/{PART}/inventory.parquet", f"_manifests/{PART}/inventory.json"]


def test_a_shard_after_an_unsharded_run_supersedes_it(tmp_path: Path) -> None:
    run(str(tmp_path), {A: 3, B: 2, C: 4})
    run(str(tmp_path), {A: 3, B: 2}, shard=(0, 2), minutes=2)
    assert _files(tmp_path) == [
        f"_manifests/{PART}/shard-0-of-2.json",
        f"_status/{PART}/shard-0-of-2.parquet",
        f"{PART}/shard-0-of-2.parquet",
    ]
    assert _manifest(tmp_path, "shard-0-of-2")["superseded"] == [
        os.path.abspath(tmp_path / path) for path in _unsharded()
    ]  # inventory first, then status, then manifest


def test_the_same_layout_and_foreign_files_are_never_touched(tmp_path: Path) -> None:
    two_shards(tmp_path)
    foreign = [f"{PART}/notes.txt", f"{PART}/.shard-9-of-9.parquet.abc.tmp", f"_manifests/{PART}/_SUCCESS"]
    for path in foreign:
        (tmp_path / path).write_text("x", encoding="utf-8")
    before = {p: (tmp_path / p).read_bytes() for p in _files(tmp_path) if "shard-0-of-2" in p}
    run(str(tmp_path), {C: 4}, shard=(1, 2), minutes=3)  # a re-run of shard 1
    assert _manifest(tmp_path, "shard-1-of-2")["superseded"] == []
    assert {p: (tmp_path / p).read_bytes() for p in before} == before
    assert all((tmp_path / path).exists() for path in foreign)


def test_another_shard_count_or_format_is_another_layout(tmp_path: Path) -> None:
    for shard in ((0, 2), (1, 2)):
        run(str(tmp_path / "csv"), {A: 1}, shard=shard, fmt=Format.CSV)
    run(str(tmp_path / "three"), {A: 1}, shard=(2, 3))
    lake = tmp_path / "lake"
    copy_run(tmp_path / "csv", lake)
    copy_run(tmp_path / "three", lake)
    run(str(lake), {A: 1}, shard=(0, 2), minutes=5)
    assert _files(lake) == [
        f"_manifests/{PART}/shard-0-of-2.json",
        f"_manifests/{PART}/shard-1-of-2.json",  # the CSV run's: its name does not say its format (see below)
        f"_status/{PART}/shard-0-of-2.parquet",
        f"{PART}/shard-0-of-2.parquet",
    ]
    assert len(_manifest(lake, "shard-0-of-2")["superseded"]) == 7  # 2 CSV x (data, status), 3-shard x 3
    (problem,) = [p for p in verify_partition(str(lake)).check.problems if "shard-1-of-2.json" in p]
    assert problem.startswith(f"_manifests/{PART}/shard-1-of-2.json: left by a run of another layout (csv, 2 shards)")


@dataclass(frozen=True)
class Recording(LocalStore):
    """The local store, noting each publish and delete; deletes fail with `refuse_deletes`, and the manifest's
    publish with `crash_at_manifest` (as a crash there would leave the partition)."""

    events: list[str] = field(default_factory=list)
    refuse_deletes: bool = False
    crash_at_manifest: bool = False

    def publish_file(self, tmp: Path, location: Location, content_type: str) -> None:
        if self.crash_at_manifest and content_type == "application/json":
            raise OutputError(f"{location}: crashed")
        self.events.append(f"publish {_short(location)}")
        super().publish_file(tmp, location, content_type)

    def delete(self, location: Location) -> None:
        self.events.append(f"delete {_short(location)}")
        if self.refuse_deletes:
            raise OutputError(f"{location}: cannot delete: Permission denied")
        super().delete(location)


def _short(location: Location) -> str:
    path = Path(str(location))
    return f"{path.parent.parent.name}/{path.name}" if path.parent.parent.name.startswith("_") else path.name


def test_own_files_then_the_marker_then_the_manifest_then_the_other_layout(tmp_path: Path) -> None:
    run(str(tmp_path), {A: 3, B: 2, C: 4})
    (tmp_path / "_manifests" / PART / MARKER).write_text("{}", encoding="utf-8")
    store = Recording()
    run(str(tmp_path), {A: 3, B: 2}, shard=(0, 2), minutes=2, store=store)
    assert store.events == [
        "publish shard-0-of-2.parquet",
        "publish _status/shard-0-of-2.parquet",
        f"delete _manifests/{MARKER}",
        "publish _manifests/shard-0-of-2.json",
        "delete inventory.parquet",
        "delete _status/inventory.parquet",
        "delete _manifests/inventory.json",
    ]
    assert not (tmp_path / "_manifests" / PART / MARKER).exists()


def test_a_removal_that_fails_is_logged_and_the_run_stands(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    run(str(tmp_path), {A: 3, B: 2, C: 4})
    with caplog.at_level(logging.INFO, logger="inventory.output.supersede"):
        run(str(tmp_path), {A: 3, B: 2}, shard=(0, 2), minutes=2, store=Recording(refuse_deletes=True))
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 3 and all("could not remove an object of a run with another layout" in e for e in errors)
    assert len(_manifest(tmp_path, "shard-0-of-2")["superseded"]) == 3
    snapshot = load_snapshot(str(tmp_path))
    assert snapshot.functions.num_rows == 5, "the latest run's rows only"
    assert len(snapshot.warnings) == 4  # three leftovers, and shard-1-of-2 missing
    assert not verify_partition(str(tmp_path)).complete


def test_a_crash_before_the_manifest_leaves_the_run_before_whole(tmp_path: Path) -> None:
    run(str(tmp_path), {A: 3, B: 2, C: 4})
    (tmp_path / "_manifests" / PART / MARKER).write_text("{}", encoding="utf-8")
    with pytest.raises(OutputError, match="crashed"):
        run(str(tmp_path), {A: 3, B: 2}, shard=(0, 2), minutes=2, store=Recording(crash_at_manifest=True))
    assert all((tmp_path / path).exists() for path in _unsharded()), "nothing of the run before removed"
    assert not (tmp_path / "_manifests" / PART / MARKER).exists(), "but what vouched for it is gone"
    snapshot = load_snapshot(str(tmp_path))
    assert snapshot.functions.num_rows == 9, "the run before, whole, is what is read"
    assert [w.split(":")[0] for w in snapshot.warnings] == [
        f"{PART}/shard-0-of-2.parquet",
        f"_status/{PART}/shard-0-of-2.parquet",
    ]


# --- S3, over HTTP against the emulator ---------------------------------------------------------------


def test_s3_an_unsharded_run_then_both_shards(emu: Emulator) -> None:
    admin = boto3.client("s3", region_name="us-east-1")
    writer = ClientFactory.from_environment(4).client("s3", "us-east-1")
    bucket = new_bucket(admin, "supersede")
    prefix = f"s3://{bucket}/inv/"

    def keys() -> list[str]:
        return sorted(o["Key"] for o in admin.list_objects_v2(Bucket=bucket).get("Contents", []))

    def manifest(name: str) -> Any:
        return json.loads(admin.get_object(Bucket=bucket, Key=f"inv/_manifests/{PART}/{name}.json")["Body"].read())

    run(prefix, {A: 3, B: 2, C: 4}, s3=writer)
    admin.put_object(Bucket=bucket, Key=f"inv/_manifests/{PART}/{MARKER}", Body=b"{}")
    run(prefix, {A: 3, B: 2}, shard=(0, 2), s3=writer, minutes=2)
    assert keys() == [
        f"inv/_manifests/{PART}/shard-0-of-2.json",
        f"inv/_status/{PART}/shard-0-of-2.parquet",
        f"inv/{PART}/shard-0-of-2.parquet",
    ]
    assert manifest("shard-0-of-2")["superseded"] == [
        f"s3://{bucket}/inv/{PART}/inventory.parquet",
        f"s3://{bucket}/inv/_status/{PART}/inventory.parquet",
        f"s3://{bucket}/inv/_manifests/{PART}/inventory.json",
    ]
    run(prefix, {C: 4}, shard=(1, 2), s3=writer, minutes=3)
    assert manifest("shard-1-of-2")["superseded"] == []
    assert len(keys()) == 6
    assert verify_partition(prefix, s3=admin).complete
