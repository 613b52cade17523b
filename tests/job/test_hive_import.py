"""`import`: the older Hive layout (snapshot_date=D/ folders with _status/ and _manifests/ beside them) added
to a lake, so report and diff read those days there; the old objects are only read."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from support.inventories import function, functions_table, status, status_table

from inventory.cli import main
from inventory.contract.columns import ADDED_COLUMNS
from inventory.contract.lake import lake_at
from inventory.errors import SnapshotError
from inventory.job.hive_import import import_hive
from inventory.readers.lake import LakeReader
from inventory.readers.snapshot import load_snapshot

DAY = date(2026, 11, 28)


def _manifest(run_id: str, shard: tuple[int, int] | None, accounts: list[str], functions: int) -> dict[str, object]:
    """A manifest as version 1 of the job wrote it (no write_id; one run id per shard)."""
    return {
        "manifest_version": 1,
        "run_id": run_id,
        "started_at": "2026-11-28T02:00:00Z",
        "finished_at": "2026-11-28T02:05:00Z",
        "snapshot_date": DAY.isoformat(),
        "config_sha256": "c" * 64,
        "shard": None if shard is None else {"index": shard[0], "count": shard[1]},
        "counts": {
            "targets": len(accounts),
            "ok": len(accounts),
            "skipped": 0,
            "failed": 0,
            "accounts": len(accounts),
            "functions": functions,
        },
        "functions_by_account": {a: {"us-east-1": functions} for a in accounts},
        "errors": [],
        "outputs": {"format": "parquet"},
    }


def _old_run(root: Path, name: str, shard: tuple[int, int] | None, account: str, n: int) -> None:
    part = f"snapshot_date={DAY}"
    for folder in (root / part, root / "_status" / part, root / "_manifests" / part):
        folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(functions_table([function(account, f"fn-{i}") for i in range(n)]), root / part / f"{name}.parquet")
    pq.write_table(status_table([status(account, "us-east-1", "ok", n)]), root / "_status" / part / f"{name}.parquet")
    manifest = _manifest(f"old-{name}", shard, [account], n)
    (root / "_manifests" / part / f"{name}.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_the_latest_layout_of_each_day_is_imported_once(tmp_path: Path) -> None:
    old, lake = tmp_path / "old", tmp_path / "lake"
    _old_run(old, "shard-0-of-2", (0, 2), "111111111111", 2)
    _old_run(old, "shard-1-of-2", (1, 2), "222222222222", 3)
    (old / "snapshot_date=2026-11-27").mkdir()  # a day with no manifest: left out, said so
    before = sorted(p.relative_to(old) for p in old.rglob("*"))

    lines = list(import_hive(str(old), lake_at(str(lake))))

    assert lines == [
        "2026-11-27: no run manifest: nothing imported",
        "2026-11-28: shard-0-of-2: 2 functions, 1 targets imported as run hive-2026-11-28-2-shards",
        "2026-11-28: shard-1-of-2: 3 functions, 1 targets imported as run hive-2026-11-28-2-shards",
    ]
    snapshot = load_snapshot(str(lake), DAY)
    assert snapshot.functions.num_rows == 5 and snapshot.warnings == ()
    records = LakeReader(lake_at(str(lake))).records()
    assert sorted(r.write_id for r in records) == ["old-shard-0-of-2", "old-shard-1-of-2"]
    assert sorted(p.relative_to(old) for p in old.rglob("*")) == before, "the old layout is only read"

    again = list(import_hive(str(old), lake_at(str(lake))))
    assert [line.split(": ", 2)[2] for line in again[1:]] == [
        "already in the lake (write id old-shard-0-of-2)",
        "already in the lake (write id old-shard-1-of-2)",
    ]
    assert load_snapshot(str(lake), DAY).functions.num_rows == 5


def test_report_on_the_old_layout_points_to_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _old_run(tmp_path / "old", "inventory", None, "111111111111", 1)
    assert main(["report", str(tmp_path / "old")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "add it to a lake with `lambda-inventory import`" in err
    assert main(["import", str(tmp_path / "old"), "--into", str(tmp_path / "lake")]) == 0
    assert "1 functions, 1 targets imported as run hive-2026-11-28-1-shards" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "lake"), "--snapshot-date", "2026-11-28", "--as-of", "2026-11-28"]) == 0


def test_nothing_to_import_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="no snapshot_date=YYYY-MM-DD folders to import"):
        list(import_hive(str(tmp_path), lake_at(str(tmp_path / "lake"))))


def test_columns_an_old_file_lacks_stay_absent_in_the_lake(tmp_path: Path) -> None:
    """An old day written before some columns existed: in the lake they read as null and are reported absent
    (diff then does not call them changed), not stored as values."""
    old = tmp_path / "old"
    _old_run(old, "inventory", None, "111111111111", 2)
    path = old / f"snapshot_date={DAY}" / "inventory.parquet"
    table = pq.read_table(path)
    dropped = sorted(ADDED_COLUMNS & set(table.column_names))[:3]
    pq.write_table(table.drop_columns(dropped), path)
    list(import_hive(str(old), lake_at(str(tmp_path / "lake"))))
    snapshot = load_snapshot(str(tmp_path / "lake"), DAY)
    assert len(dropped) == 3 and set(dropped) <= snapshot.absent_columns
