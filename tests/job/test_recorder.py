"""Targets that end together are handed to the rows in one call (job/recorder.py), each gets its own outcome back,
and the values and rows it read are not kept in the run's results; a batch that breaks (job/batching.py) fails
its callers rather than leave them waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from inventory.contract.results import EnrichmentOutcome, EstateRow, Status, TargetResult
from inventory.contract.rows import RowBuffer
from inventory.contract.target import Account, Target
from inventory.job.batching import Batcher
from inventory.job.pipeline import execute
from inventory.job.recorder import Recorder
from inventory.logs import Progress

SNAPSHOT = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
MAPPING = {"UUID": "u1", "BatchSize": 10, "FunctionArn": "arn:aws:lambda:eu-west-1:111111111111:function:orders"}


class Counting(RowBuffer):
    """The real RowBuffer, counting how many targets each call hands it."""

    def __init__(self, write_estate: list[pa.Table]) -> None:
        super().__init__(lambda batch: None, SNAPSHOT, write_estate=lambda name, table: write_estate.append(table))
        self.calls: list[int] = []

    def add(self, parts: Sequence[TargetResult]) -> list[tuple[EnrichmentOutcome, ...]]:
        self.calls.append(len(parts))
        return super().add(parts)


def _result(region: str, batch_size: object) -> TargetResult:
    target = Target(Account("111111111111", "payments", (), "arn:aws:iam::111111111111:role/R", None), region)
    rows = (EstateRow(("orders",), {**MAPPING, "BatchSize": batch_size}),)
    outcome = EnrichmentOutcome("event_source_mappings", Status.OK, 1, tables={"event_source_mappings": rows})
    return TargetResult(target, Status.OK, 0, (), 1, 0, 0.1, enrichments=(outcome,))


def test_targets_ending_together_are_handed_on_in_one_call() -> None:
    written: list[pa.Table] = []
    rows = Counting(written)

    async def main() -> list[TargetResult]:
        recorder = Recorder(rows, window_s=0.05)
        parts = [_result(region, size) for region, size in [("eu-west-1", 1), ("us-east-1", "ten"), ("eu-north-1", 3)]]
        return await asyncio.gather(*(recorder.record(part) for part in parts))

    results = asyncio.run(main())
    rows.flush()
    assert rows.calls == [3]
    assert [r.enrichments[0].status for r in results] == [Status.OK, Status.FAILED, Status.OK]
    assert all(not o.tables and not o.values for r in results for o in r.enrichments)  # the rows' now, not kept
    (table,) = written
    assert table.column("region").to_pylist() == ["eu-west-1", "eu-north-1"]


def test_enough_rows_waiting_are_handed_on_without_waiting_for_the_window() -> None:
    rows = Counting([])

    async def main() -> float:
        recorder = Recorder(rows, window_s=30.0, max_rows=2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(recorder.record(_result("eu-west-1", 1)), recorder.record(_result("us-east-1", 2)))
        return loop.time() - started

    assert asyncio.run(main()) < 5.0  # not the 30 s window: the second target's row made two
    assert rows.calls == [2]


def test_a_sink_that_cannot_write_fails_every_target_waiting() -> None:
    def broken(name: str, table: pa.Table) -> None:
        raise OSError("No space left on device")

    rows = RowBuffer(lambda batch: None, SNAPSHOT, 1, write_estate=broken)

    async def main() -> list[BaseException | TargetResult]:
        recorder = Recorder(rows, window_s=0.01)
        parts = [_result("eu-west-1", 1), _result("us-east-1", 2)]
        return await asyncio.gather(*(recorder.record(part) for part in parts), return_exceptions=True)

    got = asyncio.run(main())
    assert all(isinstance(item, OSError) and "No space left" in str(item) for item in got), got


def test_a_batch_that_breaks_fails_its_callers_instead_of_leaving_them_waiting() -> None:
    """job/batching.py: whatever `process` raises (a bug of the job's own) reaches every caller of the batch."""

    def broken(items: list[int]) -> list[int]:
        raise KeyError("a bug")

    async def main() -> list[BaseException | int]:
        batcher: Batcher[int, int] = Batcher(broken, window_s=0.01, max_size=100)
        return await asyncio.wait_for(
            asyncio.gather(batcher.submit(1, 1), batcher.submit(2, 1), return_exceptions=True), 5
        )

    assert [type(answer) for answer in asyncio.run(main())] == [KeyError, KeyError]


def test_a_sink_that_fails_mid_run_stops_execute_with_its_error_and_cancels_the_rest() -> None:
    """job/pipeline.py's `execute` with a sink whose estate write fails (disk full): the error reaches the caller
    at once (pipeline.run_job then aborts the sink: no file), though the targets holding both places never end and
    the dispatcher waits for a place (the first version waited for one to free: up to timeouts.target_seconds)."""
    started: list[str] = []
    hanging = asyncio.Event()

    def broken(name: str, table: pa.Table) -> None:
        raise OSError(28, "No space left on device")

    async def work(target: Target, give_back: Callable[[], None]) -> TargetResult:
        started.append(target.region)
        if target.region != "eu-west-1":
            await hanging.wait()  # a target that would never end: the failure must not wait for it
        return _result(target.region, 1)

    regions = ["eu-west-1", "us-east-1", "eu-north-1", "ap-south-1"]
    account = Account("111111111111", "payments", (), "arn:aws:iam::111111111111:role/R", None)
    targets = [Target(account, region) for region in regions]
    rows = RowBuffer(lambda batch: None, SNAPSHOT, 1, write_estate=broken)

    async def main() -> None:
        await asyncio.wait_for(execute(targets, work, 2, rows, Progress(len(targets), live=False)), 10)

    with pytest.raises(OSError, match="No space left on device"):
        asyncio.run(main())
    assert started == ["eu-west-1", "us-east-1", "eu-north-1"]  # the first made way at its end, then failed
