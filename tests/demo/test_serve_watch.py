"""`demo --serve`'s watch of the output folder: only a run written after the serve started counts, a sharded
one once every shard is new; and the line it prints leaves out what would steer the job elsewhere."""

from __future__ import annotations

import os
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

from inventory.contract.layout import Format
from inventory.contract.record import Counts, RunRecord, render_manifest
from inventory.demo.serve import Watch, inventory_of, job_command, new_run


def _manifest(folder: Path, name: str, write_id: str, shard: tuple[int, int] | None, started: datetime) -> Path:
    record = RunRecord("run", write_id, started, started, "c" * 64, shard, Counts(), outputs={"format": "csv"})
    path = folder / f"{name}.manifest.json"
    path.write_bytes(render_manifest(record.to_json()))
    return path


def test_an_earlier_run_rewritten_in_place_is_not_a_new_run(tmp_path: Path) -> None:
    old = _manifest(tmp_path, "inventory", "old", None, datetime.now(UTC) - timedelta(days=1))
    watch = Watch.start(tmp_path)
    os.utime(old)  # touched (copied back, restored): still the earlier run's write
    assert new_run(watch) is None
    _manifest(tmp_path, "x", "older-copy", None, datetime.now(UTC) - timedelta(hours=1))  # new file, old run
    assert new_run(watch) is None


def test_a_sharded_run_is_found_once_each_of_its_shards_is_new(tmp_path: Path) -> None:
    _manifest(tmp_path, "shard-1-of-2", "yesterday", (1, 2), datetime.now(UTC) - timedelta(days=1))
    watch = Watch.start(tmp_path)
    now = datetime.now(UTC) + timedelta(seconds=1)
    first = _manifest(tmp_path, "shard-0-of-2", "w0", (0, 2), now)
    assert new_run(watch) is None  # shard 1 is yesterday's
    second = _manifest(tmp_path, "shard-1-of-2", "w1", (1, 2), now)
    found = new_run(watch)
    assert found is not None and [path for path, _ in found] == [first, second]
    assert inventory_of(*found[0]) == (tmp_path / "shard-0-of-2.csv", Format.CSV)


def test_the_printed_line_removes_what_would_steer_the_job_and_names_absolute_paths(tmp_path: Path) -> None:
    environ = {"AWS_ENDPOINT_URL_STS": "http://elsewhere", "LAMBDA_INVENTORY_SHARD": "0/2", "HOME": "/home/x"}
    line = job_command(
        "http://127.0.0.1:4566", Path("out/demo-accounts.yaml"), Path("out/inventory.parquet"), Format.PARQUET, environ
    )
    words = shlex.split(line)
    assert words[0] == "env"
    unset = {words[i + 1] for i, word in enumerate(words) if word == "-u"}
    assert unset == {"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_STS", "LAMBDA_INVENTORY_SHARD"}
    assert {
        "AWS_ENDPOINT_URL=http://127.0.0.1:4566",
        "AWS_ACCESS_KEY_ID=testing",
        "AWS_DEFAULT_REGION=us-east-1",
    } <= set(words)
    flags = words[words.index("run") :]
    assert flags[flags.index("--output") + 1] == f"{Path('out').resolve()}/"
    assert Path(flags[flags.index("--config") + 1]).is_absolute()
