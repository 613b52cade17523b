"""The job: config -> targets -> credentials -> collect -> schema -> sink -> report.

All concurrency lives here: one bounded thread pool over targets. Workers return results (never raise);
the main thread alone writes to the sink, so the writers need no locks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from inventory.collect import Collector, Status, TargetResult
from inventory.config import RunConfig
from inventory.credentials import AccountCredentials, ClientFactory
from inventory.logs import Progress
from inventory.report import RunSummary, status_table, summarise
from inventory.retry import RetryPolicy
from inventory.schema import STATUS_SCHEMA
from inventory.sink import Format, InventorySink
from inventory.targets import Target, build_targets

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
        collector = Collector(
            clients, credentials, policy, config.function_version, snapshot_time, config.max_requests_per_second
        )
        progress = Progress(len(targets), options.live_progress)
        results = execute(targets, collector, options.max_workers, sink, progress)
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


def execute(
    targets: Sequence[Target],
    work: Callable[[Target], TargetResult],
    max_workers: int,
    sink: InventorySink,
    progress: Progress,
) -> list[TargetResult]:
    """Run `work` over targets on a bounded pool; stream each result's rows to the sink as it lands."""
    results: list[TargetResult] = []
    functions = failed = 0
    pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="inventory")
    finished = False
    try:
        futures = [pool.submit(work, target) for target in targets]
        for future in as_completed(futures):
            result = future.result()
            if result.functions is not None:
                sink.write(result.functions)
            functions += result.function_count or 0
            failed += result.status is Status.FAILED
            _log_result(result)
            results.append(replace(result, functions=None))  # rows are in the sink now; keep memory flat
            progress.update(len(results), functions, failed)
        finished = True
    finally:
        # On Ctrl-C do not wait for targets in flight to exhaust their retries.
        pool.shutdown(wait=finished, cancel_futures=True)
        progress.close()
    return results


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
