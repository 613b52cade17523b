"""Partitions for the tests of output/partition.py, verify.py and supersede.py: runs committed by the job's own
sink with a real manifest (build_manifest), as the pipeline commits them."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from support.inventories import SNAPSHOT_DATE, SNAPSHOT_TIME, function, functions_table

from inventory.aws.retry import RetryPolicy
from inventory.job.collect import TargetResult
from inventory.job.targets import Account, Target
from inventory.output.destination import Destination, resolve_destination
from inventory.output.layout import Format
from inventory.output.manifest import RunInfo, build_manifest
from inventory.output.schema import STATUS_SCHEMA
from inventory.output.sink import RunSink, open_sink
from inventory.output.status import Status, status_table
from inventory.output.stores import Store

PART = f"snapshot_date={SNAPSHOT_DATE}"
A, B, C, D = "111100000001", "111100000002", "111100000003", "111100000004"
CONFIG, OTHER_CONFIG = "a" * 64, "b" * 64
FAST = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01)
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def run(
    output: str,
    accounts: dict[str, int],
    *,
    shard: tuple[int, int] | None = None,
    config: str = CONFIG,
    fmt: Format | None = None,
    s3: Any = None,
    minutes: int = 1,
    store: Store | None = None,
) -> Destination:
    """One run as the pipeline commits it: `accounts` {account id: functions} (one region each), with its
    manifest (finished `minutes` after SNAPSHOT_TIME: a later run finishes later); through `store` if given."""
    info = RunInfo(f"run-{uuid.uuid4().hex[:8]}", SNAPSHOT_TIME, config, shard)
    dest = resolve_destination(output, fmt, True, SNAPSHOT_DATE, shard)
    results = [
        TargetResult(
            Target(Account(a, f"acct-{a}", (), f"arn:aws:iam::{a}:role/R", None), "eu-west-1"),
            Status.OK,
            n,
            (),
            1,
            0,
            0.1,
        )
        for a, n in accounts.items()
    ]
    rows = [function(a, f"fn-{i}") for a, n in accounts.items() for i in range(n)]
    sink = RunSink(dest, STATUS_SCHEMA, store) if store else open_sink(dest, STATUS_SCHEMA, s3=s3, policy=FAST)
    for batch in functions_table(rows).to_batches():
        sink.write(batch)
    finished = SNAPSHOT_TIME + timedelta(minutes=minutes)
    sink.commit(status_table(results, SNAPSHOT_TIME), build_manifest(info, results, dest, finished))
    return dest


def two_shards(root: Path, **second: Any) -> None:
    run(str(root), {A: 3, B: 2}, shard=(0, 2))
    run(str(root), second.pop("accounts", {C: 4}), shard=(1, 2), minutes=2, **second)


def copy_run(source: Path, target: Path) -> list[str]:
    """Copy every file of the dataset `source` into `target` (a mix, as a crash or an older version leaves
    it); their paths relative to the root."""
    copied = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        relative = path.relative_to(source)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / relative)
        copied.append(relative.as_posix())
    return copied
