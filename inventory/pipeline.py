"""The job: config -> targets -> credentials -> collect -> schema -> sink -> report.

All concurrency lives here: one asyncio event loop lists max_workers targets at a time (ListFunctions
over aiohttp), and the few blocking AssumeRole calls go to a small thread pool (STS_THREADS). Listings
return results (never raise); results are written to the sink from the loop alone, so the writers need
no locks.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from inventory.collect import Collector, Status, TargetResult
from inventory.config import RunConfig
from inventory.credentials import AccountCredentials, ClientFactory
from inventory.logs import Progress
from inventory.report import RunSummary, status_table, summarise
from inventory.retry import RetryPolicy
from inventory.schema import STATUS_SCHEMA
from inventory.sink import Format, InventorySink
from inventory.targets import Target, build_targets

STS_THREADS = 16  # AssumeRole runs through boto3 in threads: one per account per hour, so a few suffice
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobOptions:
    config: RunConfig
    output: Path
    fmt: Format
    max_workers: int
    live_progress: bool = False


def run_job(options: JobOptions, clients: ClientFactory) -> tuple[RunSummary, list[TargetResult]]:
    """Run the whole job. Output files are opened (and so checked) before the first AWS call."""
    started = time.monotonic()
    use_system_allocator()
    config = options.config
    targets = build_targets(config, clients.partition_of)
    clients.require_hub_credentials()  # reads the local credential chain; no AWS API call
    sink = InventorySink(options.output, options.fmt, STATUS_SCHEMA)
    try:
        snapshot_time = datetime.now(UTC)
        retry = config.retry
        policy = RetryPolicy(retry.max_attempts, float(retry.base_delay), float(retry.max_delay))
        sts = clients.client("sts", config.sts_region or clients.region or "us-east-1")
        credentials = AccountCredentials(sts, config.session_name, config.duration_seconds, policy)
        progress = Progress(len(targets), options.live_progress)

        async def collect_all() -> list[TargetResult]:
            asyncio.get_running_loop().set_default_executor(
                ThreadPoolExecutor(min(options.max_workers, STS_THREADS), thread_name_prefix="inventory-sts")
            )
            async with clients.lister() as lister:
                collector = Collector(
                    lister, credentials, policy, config.function_version, snapshot_time, config.max_requests_per_second
                )
                return await execute(targets, collector, options.max_workers, sink, progress)

        results = asyncio.run(collect_all())
        sink.commit(status_table(results, snapshot_time))
    except BaseException:
        sink.abort()
        raise
    summary = summarise(
        results,
        assume_role_calls=credentials.assume_calls,
        duration_s=time.monotonic() - started,
        output=sink.path,
        status_output=sink.status_path,
    )
    return summary, results


def use_system_allocator() -> None:
    """Arrow's default allocator (mimalloc) held ~80 MiB more at peak than the system allocator for this
    job's many small batches. ARROW_DEFAULT_MEMORY_POOL still wins when set."""
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        pa.set_memory_pool(pa.system_memory_pool())


async def execute(
    targets: Sequence[Target],
    work: Callable[[Target], Awaitable[TargetResult]],
    max_workers: int,
    sink: InventorySink,
    progress: Progress,
) -> list[TargetResult]:
    """Run `work` over targets, max_workers at a time; stream each result's rows to the sink as it lands.

    Each of max_workers tasks takes the next target when its last one is done and hands the result's
    rows to the sink straight away: memory follows the work in flight, not the size of the organisation.
    """
    results: list[TargetResult] = []
    tally = {"functions": 0, "failed": 0}
    queue = iter(interleave_accounts(targets))  # shared by the tasks: one thread, so no lock

    async def worker() -> None:
        for target in queue:
            result = _record(await work(target), sink)
            results.append(result)
            tally["functions"] += result.function_count or 0
            tally["failed"] += result.status is Status.FAILED
            progress.update(len(results), tally["functions"], tally["failed"])

    tasks = [asyncio.create_task(worker()) for _ in range(max(1, min(max_workers, len(targets))))]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:  # on an error or Ctrl-C, do not wait for listings in flight to exhaust retries
            task.cancel()
        progress.close()
    return results


def _record(result: TargetResult, sink: InventorySink) -> TargetResult:
    """Stream a finished target's rows to the sink, log it, and keep only its status."""
    for batch in result.functions:
        sink.write(batch)
    _log_result(result)
    return replace(result, functions=())  # the rows are in the sink now


def interleave_accounts(targets: Sequence[Target]) -> list[Target]:
    """Order work round-robin over accounts: the first wave assumes many roles at once instead of queueing
    every region of one account behind that account's single AssumeRole."""
    by_account: dict[str, list[Target]] = {}
    for target in targets:
        by_account.setdefault(target.account.account_id, []).append(target)
    waves = itertools.zip_longest(*by_account.values())
    return [target for wave in waves for target in wave if target is not None]


def _log_result(result: TargetResult) -> None:
    fields = {
        **Collector.log_fields(result.target),
        "status": result.status.value,
        "functions": result.function_count,
        "error_code": result.error_code,
    }
    if result.status is Status.FAILED:
        log.warning("target failed: %s: %s", result.error_code, result.error_message, extra=fields)
    elif result.status is Status.SKIPPED:
        log.info("target skipped: %s", result.error_message, extra=fields)
    else:
        log.debug("target ok: %d functions in %d pages", result.function_count, result.pages, extra=fields)
