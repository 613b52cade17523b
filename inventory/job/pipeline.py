"""The job: config -> targets -> credentials -> collect -> schema -> sink -> summary.

All concurrency lives here: one asyncio event loop lists max_workers targets at a time; a target whose listing is
done, or that its own account-region's rate holds back, makes way for the next (`execute`). ListFunctions goes
over aws/http1.py; a target's own reads may overlap (job/enrich.py's `around`, and its per-function calls); the
few blocking AssumeRole calls go to a small thread pool (STS_THREADS). Listings return results (never raise);
results are written to the sink from the loop alone, so the writers need no locks.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from inventory.aws.clients import ClientFactory
from inventory.aws.credentials import AccountCredentials, hub_identity
from inventory.aws.enabled_regions import EnabledRegions
from inventory.aws.lambda_api import LambdaLister
from inventory.aws.organization import OrgAccount, active, list_organization_accounts
from inventory.aws.ratelimit import Pacer
from inventory.aws.regions import lambda_regions, partition_of
from inventory.aws.retry import RetryPolicy
from inventory.contract.estate import run_tables
from inventory.contract.layout import Format
from inventory.contract.record import RunInfo, build_record
from inventory.contract.results import Status, TargetResult
from inventory.contract.rows import RowBuffer
from inventory.contract.status import status_table
from inventory.contract.target import Target
from inventory.job.collect import Collector, Stager
from inventory.job.config import RunConfig
from inventory.job.enrich import Enricher
from inventory.job.process_settings import fewer_collections, pandas_hidden, use_system_allocator
from inventory.job.recorder import Recorder
from inventory.job.summary import RunSummary
from inventory.job.targets import Shard, build_targets
from inventory.logs import Progress
from inventory.writers.destination import Destination, choose_output
from inventory.writers.output import open_output
from inventory.writers.sink import RunSink

if TYPE_CHECKING:
    from inventory.writers.lake import LakeSink

Work = Callable[[Target, Callable[[], None]], Awaitable[TargetResult]]  # a target, and how it gives its place back
WAITING_SHARE = 2  # targets in flight, as a multiple of max_workers: those waiting on their own rate included
STS_THREADS = 16  # AssumeRole runs through botocore in threads: one per account per hour, so a few suffice
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobOptions:
    config: RunConfig
    output: str  # a file, a directory, or s3://bucket/key or s3://bucket/prefix/
    fmt: Format | None
    max_workers: int
    live_progress: bool = False
    lake: bool = False  # a local directory is a lake (s3://bucket/prefix/ always is)
    shard: Shard | None = None
    run_id: str | None = None  # shared by the shards of one run (AWS Batch's array job id); None: a new one
    database: str | None = None  # the lake's Glue database / namespace (None: contract/lake.py's default)
    progress_seconds: float = 10.0  # a progress line at least this often while targets are in flight


def run_job(options: JobOptions, clients: ClientFactory) -> tuple[RunSummary, list[TargetResult]]:
    """Run the whole job. The destination is checked (and its temporary files opened) before any AWS call
    that touches a member account or the organization."""
    use_system_allocator()
    with pandas_hidden(), fewer_collections():
        return _run_job(options, clients)


def _run_job(options: JobOptions, clients: ClientFactory) -> tuple[RunSummary, list[TargetResult]]:
    config = options.config
    shard = (options.shard.index, options.shard.count) if options.shard else None
    chosen = choose_output(options.output, options.fmt, options.lake, options.database, shard)
    clients.require_hub_credentials()  # reads the local credential chain; no AWS API call
    retry = config.retry
    policy = RetryPolicy(
        retry.max_attempts, float(retry.base_delay), float(retry.max_delay), max_unanswered=retry.max_unanswered
    )
    hub_region = config.sts_region or clients.region or "us-east-1"
    s3 = (
        clients.client("s3", clients.region or "us-east-1")
        if isinstance(chosen, Destination) and chosen.bucket
        else None
    )
    info = RunInfo.start(config, shard, run_id=options.run_id)
    tables = run_tables(config.enrich)
    sink = open_output(chosen, info, tables, s3=s3, policy=policy)
    try:
        results, assume = _collect(options, clients, policy, hub_region, info=info, sink=sink)
        record = build_record(info, results, chosen.outputs(tables), datetime.now(UTC))
        sink.commit(status_table(results, info.started_at), record)
    except BaseException:
        sink.abort()
        raise
    summary = RunSummary(
        record.counts,
        retries=sum(r.retries for r in results),
        assume_role_calls=assume[0],
        assume_role_retries=assume[1],
        duration_s=(datetime.now(UTC) - info.started_at).total_seconds(),  # uploads included
        output=str(chosen.inventory) if isinstance(chosen, Destination) else f"{chosen} (run {info.run_id})",
        status_output=str(chosen.status) if isinstance(chosen, Destination) else None,
        manifest_output=str(chosen.manifest) if isinstance(chosen, Destination) else None,
    )
    return summary, results


def _collect(
    options: JobOptions,
    clients: ClientFactory,
    policy: RetryPolicy,
    hub_region: str,
    *,
    info: RunInfo,
    sink: RunSink | LakeSink,
) -> tuple[list[TargetResult], tuple[int, int]]:
    """Discover the targets, list them all, stream their rows to the sink; the results and AssumeRole's
    (calls, retries)."""
    config = options.config
    targets = _targets(options, clients, policy, hub_region)
    if not targets:  # an empty organisation, OU or shard: no STS client, no event loop, nothing to list
        return [], (0, 0)
    credentials = _member_credentials(config, clients, policy, hub_region)
    regions = EnabledRegions(credentials, clients, policy, hub_region)

    def work(lister: LambdaLister) -> Work:
        collector = Collector(
            lister,
            credentials,
            policy,
            config.function_version,
            config.max_requests_per_second,
            regions,
            target_seconds=config.timeouts.target_seconds,
            stager=Stager(),
        )
        enricher = Enricher(lister, credentials, policy, config.enrich, info.started_at, config.timeouts.target_seconds)

        async def one(target: Target, give_back: Callable[[], None]) -> TargetResult:
            pacer = Pacer(config.max_requests_per_second)  # the target's budget: its listing and enrichments
            pacer.on_wait = give_back  # waiting on its own rate, it makes way for the next target (execute)
            return await enricher.around(target, _then(collector(target, pacer), give_back), pacer)

        return one

    progress = Progress(len(targets), options.live_progress, interval=options.progress_seconds)
    rows = RowBuffer(sink.write, info.started_at, write_estate=sink.write_table)
    results = asyncio.run(_collect_all(targets, clients, work, options.max_workers, rows=rows, progress=progress))
    rows.flush()
    return results, (credentials.assume_calls, credentials.assume_retries)


async def _then(listing: Awaitable[TargetResult], make_way: Callable[[], None]) -> TargetResult:
    """The target's listing; once it is done, what the target still reads (its enrichments' later calls) makes
    way for the next target's listing (execute)."""
    result = await listing
    make_way()
    return result


def _member_credentials(
    config: RunConfig, clients: ClientFactory, policy: RetryPolicy, hub_region: str
) -> AccountCredentials:
    """AssumeRole for the member accounts, once the hub is known to reach STS (else the run stops: exit 3)."""
    sts = clients.client("sts", hub_region)
    log.info("hub identity %s", hub_identity(sts, policy))
    return AccountCredentials(sts, config.session_name, config.duration_seconds, policy)


def _targets(options: JobOptions, clients: ClientFactory, policy: RetryPolicy, hub_region: str) -> tuple[Target, ...]:
    """The run's targets: the file's accounts and/or the organization's, cut to this shard."""
    config = options.config
    members: tuple[OrgAccount, ...] = ()
    if config.from_organization:
        organizations = clients.client("organizations", hub_region)
        members = list_organization_accounts(organizations, config.organizational_units, policy)
        log.info("organization lists %d accounts (%d active)", len(members), len(active(members)))
    every_region = sorted(lambda_regions(partition_of(hub_region)))
    return build_targets(config, partition_of, members, every_region, options.shard)


async def _collect_all(
    targets: Sequence[Target],
    clients: ClientFactory,
    work: Callable[[LambdaLister], Work],
    max_workers: int,
    *,
    rows: RowBuffer,
    progress: Progress,
) -> list[TargetResult]:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(min(max_workers, STS_THREADS), thread_name_prefix="inventory-sts"))
    async with clients.lister(max(1, max_workers) * WAITING_SHARE) as lister:  # a pool as large as execute needs
        return await execute(targets, work(lister), max_workers, rows, progress)


async def execute(
    targets: Sequence[Target],
    work: Work,
    max_workers: int,
    rows: RowBuffer,
    progress: Progress,
) -> list[TargetResult]:
    """Run `work` over targets, max_workers at a time; hand each result's rows on as it lands.

    A target holds one of max_workers places until its listing is done (its later enrichment calls then go on
    without it) or until its own pacer first makes it wait (it is then bound by its account-region's rate, not by
    the job), whichever comes first (`give_back`): the next target starts in its place. At most WAITING_SHARE x
    max_workers targets are in flight in all. Each finished target's rows go to `rows`
    (which passes them to the sink every few thousand rows) within job/recorder.py's window, with those of the
    targets that end with it: memory follows the work in flight, not the size of the organisation. An error of
    the job's own (a sink that cannot write) stops the run.
    """
    results: list[TargetResult] = []
    tally = {"started": 0, "functions": 0, "failed": 0}
    places = _Places(max_workers)
    failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()  # the job's own first error
    running: set[asyncio.Task[None]] = set()
    recorder = Recorder(rows)

    async def run(target: Target, give_back: Callable[[], None]) -> None:
        try:
            result = await work(target, give_back)
            give_back()  # its calls are done: the next target starts while its rows are made
            _log_result(result)
            result = await recorder.record(result)
        except Exception as err:  # noqa: BLE001 - raised by execute at once, which then cancels the rest
            if not failed.done():
                failed.set_exception(err)
            return
        finally:
            places.leave(give_back)
        results.append(result)
        tally["functions"] += result.function_count or 0
        tally["failed"] += result.status is Status.FAILED
        progress.update(len(results), tally["functions"], tally["failed"], tally["started"] - len(results))

    async def dispatch() -> None:
        for target in interleave_accounts(targets):
            give_back = await places.enter()
            tally["started"] += 1
            running.add(task := asyncio.create_task(run(target, give_back)))
            task.add_done_callback(running.discard)
        while running:
            await asyncio.wait(set(running))

    beats = asyncio.create_task(_heartbeat(progress, lambda: tally["started"] - len(results)))
    dispatcher = asyncio.create_task(dispatch())
    try:  # the first of: every target done, or an error of the job's own (not waiting for a place to free)
        await asyncio.wait((dispatcher, failed), return_when=asyncio.FIRST_COMPLETED)
        if failed.done():
            failed.result()
        dispatcher.result()
    finally:
        for task in (dispatcher, *running, beats):  # on an error or Ctrl-C, do not wait for listings in flight
            task.cancel()
        progress.close()
    return results


class _Places:
    """max_workers places to list in, and WAITING_SHARE x max_workers targets in flight at most: a target that
    gives its place back (`enter`'s answer, safe to call more than once) stays in flight until it `leave`s."""

    def __init__(self, max_workers: int) -> None:
        self._places = asyncio.Semaphore(max(1, max_workers))
        self._in_flight = asyncio.Semaphore(max(1, max_workers) * WAITING_SHARE)

    async def enter(self) -> Callable[[], None]:
        await self._in_flight.acquire()
        await self._places.acquire()
        given = False

        def give_back() -> None:
            nonlocal given
            if not given:
                given = True
                self._places.release()

        return give_back

    def leave(self, give_back: Callable[[], None]) -> None:
        give_back()
        self._in_flight.release()


async def _heartbeat(progress: Progress, in_flight: Callable[[], int]) -> None:
    """Progress while targets are in flight, even when none finishes for a while (a slow or hanging target)."""
    while True:
        await asyncio.sleep(progress.next_beat())
        progress.beat(in_flight())


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
