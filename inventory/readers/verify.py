"""`verify`: whether the run that was meant to happen is in the lake, complete, and how many targets failed.

It checks the run it is given (`--run-id`: the AWS Batch array job's id, or the ECS task's), else the
inventory of a day (default: today, UTC) by contract/current.py's rule, so a night on which nothing committed
fails instead of re-checking an older day. A run is judged from its `runs` rows (every shard 0..N-1
committed, one config, the shard count asked for, no account in two shards) and never called simply
"complete" when targets failed: the verdict says how many (contract/current.py's Verdict).

The verdict is recorded as an Iceberg commit to the `verifications` table (not a marker object), unless
told not to; a lake without tables records nothing (there is no run to vouch for).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from inventory import __version__
from inventory.contract.current import ChosenRun, Verdict, current_run, runs_of
from inventory.contract.lake import VERIFICATIONS, VERIFICATIONS_SCHEMA, Lake
from inventory.contract.record import RunRecord
from inventory.errors import OutputError, SnapshotError
from inventory.readers.lake import LakeReader, NoLakeError
from inventory.redact import one_line
from inventory.signals import deferred

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Finding", "verify_run"]
_FAILED_SHOWN = 5


@dataclass(frozen=True)
class Finding:
    """What `verify` found, and whether it recorded it."""

    where: str
    day: date
    run_id: str | None
    verdict: Verdict
    problems: tuple[str, ...]
    run: ChosenRun | None
    recorded: bool = False

    def lines(self) -> list[str]:
        """One line per problem, the coverage line, the failed targets (a few), then the verdict."""
        run = self.run
        lines = list(self.problems)
        if run is not None:
            accounts = len({a for r in run.shards for a in r.functions_by_account})
            lines.append(
                f"coverage: {run.targets} targets ({run.ok} ok, {run.skipped} skipped, {run.failed} failed), "
                f"{run.functions} functions, {accounts} accounts, {len(run.shards)} of {run.shard_count} shard(s)"
            )
            lines.extend(_failed_lines(run.shards))
        name = f"run {self.run_id}" if self.run_id else "no run"
        said = {
            Verdict.COMPLETE: "complete: every shard committed, every target ok or skipped",
            Verdict.COMPLETE_WITH_FAILURES: f"complete with failures: {run.failed if run else 0} target(s) failed",
            Verdict.INCOMPLETE: f"incomplete: {len(self.problems)} problem(s)",
            Verdict.MISSING: "missing: nothing committed",
        }[self.verdict]
        recorded = "; recorded in verifications" if self.recorded else "; not recorded"
        lines.append(f"{self.where}: {name} of {self.day}: {said}{recorded}")
        return lines


def verify_run(
    lake: Lake,
    *,
    run_id: str | None = None,
    day: date | None = None,
    shards: int | None = None,
    record: bool = True,
    now: datetime | None = None,
) -> Finding:
    """Check a run (or the day's); record the verdict unless `record` is False. SnapshotError (one line)
    when the lake cannot be read, OutputError when the verdict cannot be committed."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    reader = LakeReader(lake)
    try:
        records = reader.records(day if run_id is None else None)
    except NoLakeError:
        records = []
        record = False  # no tables: nothing to vouch for, nowhere to record it
    finding = judge(records, run_id, day or now.date(), shards, str(lake))
    if record:
        _record(reader, finding, now)
        return replace(finding, recorded=True)
    return finding


def judge(records: Sequence[RunRecord], run_id: str | None, day: date, shards: int | None, where: str) -> Finding:
    """The verdict on `run_id`'s run (any day), or on `day`'s inventory; pure."""
    if run_id is not None:
        runs = [r for r in runs_of(records) if r.run_id == run_id]
        run = runs[0] if runs else None
        missing = f"no shard of run {run_id} committed"
    else:
        run = current_run(records, day)
        missing = f"no run committed on {day} (UTC)"
    if run is None:
        return Finding(where, day, run_id, Verdict.MISSING, (missing,), None)
    problems = list(run.problems)
    if shards is not None and run.shard_count != shards:
        problems.append(f"the run has {run.shard_count} shard(s), {shards} expected")
    problems.extend(_accounts_in_two_shards(run.shards))
    verdict = Verdict.INCOMPLETE if problems else run.verdict
    return Finding(where, run.snapshot_date, run.run_id, verdict, tuple(problems), run)


def _accounts_in_two_shards(shards: Sequence[RunRecord]) -> list[str]:
    seen = Counter(account for r in shards for account in r.functions_by_account)
    twice = sorted(a for a, n in seen.items() if n > 1)
    return [f"{len(twice)} account(s) in two shards, e.g. {', '.join(twice[:3])}"] if twice else []


def _failed_lines(shards: Sequence[RunRecord]) -> list[str]:
    failed = [e for r in shards for e in r.errors if e.get("status") == "failed"]
    lines = [f"failed: {e.get('account_id')} {e.get('region')}: {e.get('error_code')}" for e in failed[:_FAILED_SHOWN]]
    if len(failed) > _FAILED_SHOWN:
        lines.append(f"failed: ... and {len(failed) - _FAILED_SHOWN} more (the targets table has every one)")
    return lines


def _record(reader: LakeReader, finding: Finding, now: datetime) -> None:
    run = finding.run
    row = {
        "snapshot_date": finding.day,
        "run_id": finding.run_id,
        "verified_at": now,
        "verdict": finding.verdict.value,
        "shards_expected": run.shard_count if run else None,
        "shards_found": len(run.shards) if run else 0,
        "targets": run.targets if run else 0,
        "ok": run.ok if run else 0,
        "skipped": run.skipped if run else 0,
        "failed": run.failed if run else 0,
        "functions": run.functions if run else 0,
        "problems": list(finding.problems),
        "version": __version__,
    }
    table = pa.Table.from_pylist([row], schema=VERIFICATIONS_SCHEMA)
    try:
        with deferred():
            reader.table(VERIFICATIONS).append(table)
    except SnapshotError:
        raise
    except Exception as err:
        raise OutputError(
            f"{reader.lake}: cannot record the verdict: {type(err).__name__}: {one_line(str(err))}"
        ) from err
