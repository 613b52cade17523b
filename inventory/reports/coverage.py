"""What a report can vouch for: which targets were listed, and for which the enrichments were read.

`listing_coverage` reads the status rows: how many targets were listed (`ok`), failed or skipped, so that a
report never claims more than was listed. `reading` says the same of one enrichment (tags, urls, policy,
usage...): for how many listed targets the status file says it was read, and on how many rows it is named
in `enriched`. A report built on an enrichment says that line next to what it found, so that an empty
"publicly invocable" list never reads as "nothing is public" when nothing was checked.

`read_mask` is the per-row truth: an enrichment's columns are meaningful exactly on the rows whose
`enriched` names it (a file written before enrichments existed has `enriched` null: nothing was read).

`table_reading` says it of an estate enrichment (contract/estate.py) and its tables: the listed targets whose
status says it was read, those where it failed (named, with the error code) and those it was not asked for,
and whether the snapshot holds its tables at all. A table's rows mean "none" only for the targets in `read`:
`rows_read` keeps exactly those rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from inventory.contract.columns import ENRICHED_COLUMN
from inventory.contract.estate import ESTATE_TABLES
from inventory.contract.results import Status
from inventory.readers.snapshot import Snapshot


@dataclass(frozen=True)
class AccountRegion:
    """Where a function or a target is, as the inventory and the status file name it."""

    account_id: str
    account_name: str
    region: str

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> AccountRegion:
        return cls(row["account_id"], row["account_name"], row["region"])


@dataclass(frozen=True)
class TargetProblem:
    where: AccountRegion
    status: str  # Status.FAILED or Status.SKIPPED, as the status file has it
    error_code: str | None
    error_message: str | None


@dataclass(frozen=True)
class ReportCoverage:
    """Which of the snapshot's targets were listed, from its status rows: the counts cover only the ok ones."""

    targets: int
    ok: int
    failed: int
    skipped: int
    problems: tuple[TargetProblem, ...]  # every failed or skipped target
    warnings: tuple[str, ...]  # from the snapshot (e.g. a missing shard)

    @property
    def line(self) -> str:
        return (
            f"{self.ok} of {self.targets} targets ok; {self.failed} failed, {self.skipped} skipped"
            " — counts below cover only ok targets"
        )


def listing_coverage(snapshot: Snapshot) -> ReportCoverage:
    rows = snapshot.status.to_pylist()
    problems = tuple(
        TargetProblem(AccountRegion.of(r), r["status"], r["error_code"], r["error_message"])
        for r in sorted(rows, key=lambda r: (r["status"], r["account_id"], r["region"]))
        if r["status"] != Status.OK
    )
    count = {s: sum(1 for r in rows if r["status"] == s) for s in Status}
    warnings = snapshot.warnings + (() if rows else ("the status file lists no targets: nothing was inventoried",))
    return ReportCoverage(len(rows), count[Status.OK], count[Status.FAILED], count[Status.SKIPPED], problems, warnings)


@dataclass(frozen=True)
class Reading:
    """How far one enrichment was read: of the listed (ok) targets and of the inventory's rows."""

    name: str
    targets: int  # targets listed ok
    targets_read: int  # of them, those whose status says the enrichment is ok
    targets_failed: int  # of them, those whose status says it failed
    functions: int  # rows of the inventory
    functions_read: int  # rows whose `enriched` names it

    @property
    def collected(self) -> bool:
        """Read anywhere at all (False: the run never asked for it, or it failed everywhere)."""
        return self.functions_read > 0 or self.targets_read > 0

    @property
    def complete(self) -> bool:
        return self.targets_read == self.targets and self.functions_read == self.functions

    @property
    def line(self) -> str:
        """e.g. `policy: read for 2 of 3 listed targets (7 of 10 functions); failed for 1 target`, or
        `urls: not collected (enable enrich: [urls])`."""
        if not self.collected and self.targets_failed:
            why = "the status file's enrichments say why"
            return f"{self.name}: not read: failed for {_targets(self.targets_failed)} ({why})"
        if not self.collected:
            return f"{self.name}: not collected ({enable_hint([self.name])})"
        failed = f"; failed for {_targets(self.targets_failed)}" if self.targets_failed else ""
        return (
            f"{self.name}: read for {self.targets_read} of {self.targets} listed targets"
            f" ({self.functions_read} of {self.functions} functions){failed}"
        )


def _targets(count: int) -> str:
    return f"{count} target" if count == 1 else f"{count} targets"


def enable_hint(names: Sequence[str]) -> str:
    """`enable enrich: [policy, urls]`: how to collect what was not."""
    return f"enable enrich: [{', '.join(names)}]"


def read_mask(functions: pa.Table, name: str) -> pa.Array:
    """One bool per row: its `enriched` list names `name` (null lists, from older files, name nothing)."""
    enriched = functions.column(ENRICHED_COLUMN).combine_chunks()
    return contains(enriched, name)


def contains(lists: pa.Array, value: str) -> pa.Array:
    """One bool per list (never null): `value` is one of its elements; a null list contains nothing. Counted
    with running sums over the flattened elements (no per-row Python, no hash set of row numbers)."""
    hits = pc.cast(pc.fill_null(pc.equal(pc.list_flatten(lists), value), False), pa.int64())
    running = pa.concat_arrays([pa.array([0], pa.int64()), pc.cumulative_sum(hits)])  # hits before element i
    lengths = pc.cast(pc.fill_null(pc.list_value_length(lists), 0), pa.int64())
    ends = pc.cumulative_sum(lengths)
    found = pc.subtract(pc.take(running, ends), pc.take(running, pc.subtract(ends, lengths)))
    return pc.greater(found, 0)


def reading(snapshot: Snapshot, name: str) -> Reading:
    targets = read = failed = 0
    for row in snapshot.status.select(["status", "enrichments"]).to_pylist():
        if row["status"] != Status.OK:
            continue
        targets += 1
        outcome = next((e["status"] for e in row["enrichments"] or () if e["name"] == name), None)
        read += outcome == Status.OK
        failed += outcome == Status.FAILED
    functions = snapshot.functions
    functions_read = pc.sum(read_mask(functions, name)).as_py() if functions.num_rows else 0
    return Reading(name, targets, read, failed, functions.num_rows, functions_read or 0)


FAILED_NAMED = 3  # failed targets named on a table's coverage line; the rest counted


@dataclass(frozen=True)
class TableReading:
    """How far one estate enrichment was read, and so its tables: of the listed (ok) targets."""

    enrichment: str
    tables: tuple[str, ...]  # its estate tables, in ESTATE_TABLES' order (`layers`: layers, layer_versions)
    targets: int  # targets listed ok
    read: frozenset[tuple[str, str]]  # (account_id, region) of those whose status says it is ok
    failed: tuple[TargetProblem, ...]  # of them, those where it failed, with the error code
    written: bool  # the snapshot holds its tables (a run that asks writes them, even with no rows)

    @property
    def collected(self) -> bool:
        """Read for some target, and its tables are there to say what was read."""
        return bool(self.read) and self.written

    @property
    def complete(self) -> bool:
        return self.collected and len(self.read) == self.targets

    @property
    def line(self) -> str:
        """e.g. `aliases: read for 2 of 3 listed targets; failed for 1 target: 012345678901 us-east-1
        (AccessDeniedException)`, or `layers: not collected (enable enrich: [layers])`."""
        name, failed = self.enrichment, _failures(self.failed)
        if self.read and not self.written:
            return f"{name}: not read: the status says read, but the snapshot has no {' or '.join(self.tables)} table"
        if not self.read and self.failed:
            return f"{name}: not read: failed for {failed}"
        if not self.read:
            return f"{name}: not collected ({enable_hint([name])})"
        others = self.targets - len(self.read) - len(self.failed)
        return (
            f"{name}: read for {len(self.read)} of {self.targets} listed targets"
            + (f"; failed for {failed}" if self.failed else "")
            + (f"; not asked for {_targets(others)}" if others else "")
        )


def _failures(failed: Sequence[TargetProblem]) -> str:
    shown = failed[:FAILED_NAMED]
    named = ", ".join(f"{p.where.account_id} {p.where.region} ({p.error_code or 'no code'})" for p in shown)
    more = f", and {len(failed) - FAILED_NAMED} more" if len(failed) > FAILED_NAMED else ""
    return f"{_targets(len(failed))}: {named}{more}"


def table_reading(snapshot: Snapshot, enrichment: str) -> TableReading:
    """`enrichment` is one of contract/estate.py's ESTATE_ENRICHMENTS."""
    tables = tuple(t.name for t in ESTATE_TABLES if enrichment in (t.enrichment, t.judging))
    targets = 0
    read: set[tuple[str, str]] = set()
    failed: list[TargetProblem] = []
    for row in snapshot.status.select(["account_id", "account_name", "region", "status", "enrichments"]).to_pylist():
        if row["status"] != Status.OK:
            continue
        targets += 1
        outcome = next((e for e in row["enrichments"] or () if e["name"] == enrichment), None)
        if outcome is not None and outcome["status"] == Status.OK:
            read.add((row["account_id"], row["region"]))
        elif outcome is not None and outcome["status"] == Status.FAILED:
            failed.append(TargetProblem(AccountRegion.of(row), Status.FAILED, outcome["error_code"], None))
    failed.sort(key=lambda p: (p.where.account_id, p.where.region))
    written = all(name in snapshot.tables for name in tables)
    return TableReading(enrichment, tables, targets, frozenset(read), tuple(failed), written)


def rows_read(snapshot: Snapshot, reading: TableReading, table: str) -> pa.Table | None:
    """The rows of `table` of the targets `reading` read (None when the snapshot has no such table)."""
    rows = snapshot.tables.get(table)
    if rows is None or not reading.collected:
        return None
    keys = pc.binary_join_element_wise(rows["account_id"], rows["region"], "\x1f")
    read = pa.array(sorted(f"{account}\x1f{region}" for account, region in reading.read), pa.string())
    return rows.filter(pc.is_in(keys, value_set=read))
