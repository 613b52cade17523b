"""What a report can vouch for: which targets were listed, and for which the enrichments were read.

`listing_coverage` reads the status rows: how many targets were listed (`ok`), failed or skipped, so that a
report never claims more than was listed. `reading` says the same of one enrichment (tags, urls, policy,
usage...): for how many listed targets the status file says it was read, and on how many rows it is named
in `enriched`. A report built on an enrichment says that line next to what it found, so that an empty
"publicly invocable" list never reads as "nothing is public" when nothing was checked.

`read_mask` is the per-row truth: an enrichment's columns are meaningful exactly on the rows whose
`enriched` names it (a file written before enrichments existed has `enriched` null: nothing was read).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from inventory.contract.columns import ENRICHED_COLUMN
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
