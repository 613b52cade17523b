"""Which run is "the inventory of day D": the one rule, in Python for report, diff and verify, and in SQL for
Athena (the hub stack's named query, infra/README.md). tests/contract/test_current.py runs both over the same
runs and checks they choose the same.

The rule, over the `runs` table's rows of day D (one per shard attempt that committed):

1. Each shard of a run keeps one attempt: the one with the most `ok` targets, then the latest
   `finished_at` (then the greatest `write_id`). A retried shard never counts twice.
2. A run is *complete* when it has every shard 0..N-1 of one `shard_count` N, all with one `config_sha256`.
3. The day's run is the complete one with the most `ok` targets, then the latest `finished_at` (then the
   greatest `run_id`); when no run is complete, the incomplete one chosen the same way (readers warn).

So a later run that lists fewer targets `ok` than an earlier complete run of that day never replaces it,
an incomplete run never hides a complete one, and a run that failed everywhere (0 ok) is the day's only when
it is the only run. Nothing is deleted: every run stays readable by its run id (report --run-id) and by
Iceberg time travel.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from inventory.contract.record import RunRecord


class Verdict(StrEnum):
    """What `verify` says of a run; recorded in the verifications table."""

    COMPLETE = "complete"  # every shard committed, every target ok or skipped
    COMPLETE_WITH_FAILURES = "complete_with_failures"  # every shard committed, but some targets failed
    INCOMPLETE = "incomplete"  # a shard is missing, or shards disagree (config, shard count)
    MISSING = "missing"  # no run committed at all


@dataclass(frozen=True)
class ChosenRun:
    """One run of a day: the attempt kept for each shard, and whether they make a complete run."""

    run_id: str
    snapshot_date: date
    shards: tuple[RunRecord, ...]  # one per shard index present, in index order
    problems: tuple[str, ...]  # empty when complete

    @property
    def complete(self) -> bool:
        return not self.problems

    @property
    def write_ids(self) -> frozenset[str]:
        return frozenset(r.write_id for r in self.shards)

    @property
    def ok(self) -> int:
        return sum(r.counts.ok for r in self.shards)

    @property
    def failed(self) -> int:
        return sum(r.counts.failed for r in self.shards)

    @property
    def skipped(self) -> int:
        return sum(r.counts.skipped for r in self.shards)

    @property
    def targets(self) -> int:
        return sum(r.counts.targets for r in self.shards)

    @property
    def functions(self) -> int:
        return sum(r.counts.functions for r in self.shards)

    @property
    def shard_count(self) -> int:
        return max(r.shard_count for r in self.shards)

    @property
    def verdict(self) -> Verdict:
        if not self.complete:
            return Verdict.INCOMPLETE
        return Verdict.COMPLETE_WITH_FAILURES if self.failed else Verdict.COMPLETE

    def _rank(self) -> tuple[bool, int, object, str]:
        return (self.complete, self.ok, max(r.finished_at for r in self.shards), self.run_id)


def _attempt_rank(record: RunRecord) -> tuple[int, object, str]:
    return (record.counts.ok, record.finished_at, record.write_id)


def runs_of(records: Iterable[RunRecord]) -> list[ChosenRun]:
    """Every run in `records` (rule 1 and 2 applied), best first by rule 3."""
    by_shard: dict[tuple[date, str, int], RunRecord] = {}
    for record in records:
        key = (record.snapshot_date, record.run_id, record.shard_index)
        kept = by_shard.get(key)
        if kept is None or _attempt_rank(record) > _attempt_rank(kept):
            by_shard[key] = record
    grouped: dict[tuple[date, str], list[RunRecord]] = {}
    for (day, run_id, _), record in sorted(by_shard.items()):
        grouped.setdefault((day, run_id), []).append(record)
    runs = [ChosenRun(run_id, day, tuple(shards), _problems(shards)) for (day, run_id), shards in grouped.items()]
    return sorted(runs, key=ChosenRun._rank, reverse=True)


def current_run(records: Iterable[RunRecord], day: date) -> ChosenRun | None:
    """The inventory of `day` by the rule, or None when no run of that day committed."""
    runs = runs_of(r for r in records if r.snapshot_date == day)
    return runs[0] if runs else None


def _problems(shards: Sequence[RunRecord]) -> tuple[str, ...]:
    counts = sorted({r.shard_count for r in shards})
    problems = []
    if len(counts) > 1:
        problems.append(f"shards of different layouts: shard counts {', '.join(map(str, counts))}")
    expected = counts[-1]
    missing = sorted(set(range(expected)) - {r.shard_index for r in shards})
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        problems.append(f"{len(missing)} of {expected} shard(s) never committed: shard {shown}")
    configs = {r.config_sha256 for r in shards}
    if len(configs) > 1:
        problems.append(f"shards ran with {len(configs)} different configs (config_sha256)")
    return tuple(problems)


# The same rule in SQL (Athena/Trino; duckdb runs it in the tests). `{database}` is the Glue database.
_CURRENT_SQL = """\
-- lambda-inventory: the inventory of each day, one run per day by the rule in inventory/contract/current.py
WITH attempts AS (
  SELECT snapshot_date, run_id, write_id, shard_index, shard_count, config_sha256, ok, finished_at,
         row_number() OVER (PARTITION BY snapshot_date, run_id, shard_index
                            ORDER BY ok DESC, finished_at DESC, write_id DESC) AS attempt_rank
  FROM {database}.runs
),
kept AS (
  SELECT * FROM attempts WHERE attempt_rank = 1
),
run_totals AS (
  SELECT snapshot_date, run_id,
         CASE WHEN count(*) = max(shard_count) AND min(shard_count) = max(shard_count)
                   AND count(DISTINCT config_sha256) = 1 THEN 1 ELSE 0 END AS complete,
         sum(ok) AS ok, max(finished_at) AS finished_at
  FROM kept
  GROUP BY snapshot_date, run_id
),
day_choice AS (
  SELECT snapshot_date, run_id,
         row_number() OVER (PARTITION BY snapshot_date
                            ORDER BY complete DESC, ok DESC, finished_at DESC, run_id DESC) AS day_rank
  FROM run_totals
),
current_writes AS (
  SELECT kept.snapshot_date, kept.write_id
  FROM kept JOIN day_choice
    ON kept.snapshot_date = day_choice.snapshot_date AND kept.run_id = day_choice.run_id
  WHERE day_choice.day_rank = 1
)
SELECT f.*
FROM {database}.functions f
JOIN current_writes w ON f.snapshot_date = w.snapshot_date AND f.write_id = w.write_id"""


def current_inventory_sql(database: str) -> str:
    """The SQL (Athena/Trino) of every day's inventory by the rule: the `functions` rows of each day's run.
    Add `WHERE f.snapshot_date = DATE '2026-12-06'` for one day."""
    return _CURRENT_SQL.format(database=database)
