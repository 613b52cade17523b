"""The runtime compliance report: a Snapshot judged against the runtime schedule on a given day.

`build_report` turns a Snapshot, a RuntimeCatalog, an as-of date and a look-ahead window into a
`ComplianceReport` (frozen dataclasses, no text): counts by lifecycle status overall, per account and
region and per runtime; the affected functions (deprecation_soon or worse, or an unknown runtime) with the
date that matters; a posture summary; and the coverage taken from the status rows, so that a report never
claims more than was listed. inventory.reports.compliance_render lays it out as text.

Rows are counted as they are in the inventory: one per function, or per published version when the job ran
with `function_version: ALL` (a published version keeps the runtime it was published with).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from inventory.output.snapshot import Snapshot
from inventory.output.status import Status
from inventory.reports.lifecycle import Lifecycle, RuntimeCatalog

_ORDER = tuple(Lifecycle)  # most severe first
# Listed as affected: deprecation_soon or worse, and runtimes the schedule does not know.
AFFECTED = frozenset(s for s in Lifecycle if s.severity <= Lifecycle.DEPRECATION_SOON.severity) | {Lifecycle.UNKNOWN}
LARGEST = 10


@dataclass(frozen=True)
class Tally:
    """Functions per lifecycle status (aligned with `Lifecycle`, most severe first) for one label."""

    label: tuple[str, ...]  # () overall, (account_id, account_name, region) per account-region
    counts: tuple[int, ...]

    def of(self, status: Lifecycle) -> int:
        return self.counts[_ORDER.index(status)]

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def affected(self) -> int:
        return sum(self.of(s) for s in AFFECTED)


@dataclass(frozen=True)
class RuntimeCount:
    runtime: str | None  # None: no runtime (container images)
    status: Lifecycle
    functions: int
    deprecation: date | None
    block_create: date | None
    block_update: date | None


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
class AffectedFunction:
    where: AccountRegion
    account_tags: tuple[str, ...]
    function_name: str
    version: str | None
    function_arn: str | None
    runtime: str | None
    status: Lifecycle
    status_date: date | None  # when the status began (deprecation_soon: the coming deprecation); None if unknown


@dataclass(frozen=True)
class Share:
    label: str
    count: int
    total: int


@dataclass(frozen=True)
class Package:
    where: AccountRegion
    function_name: str
    runtime: str | None
    package_type: str | None
    code_size: int


@dataclass(frozen=True)
class Posture:
    tracing: tuple[Share, ...]  # Active, PassThrough, not reported
    architectures: tuple[Share, ...]  # x86_64, arm64, others as found
    in_vpc: Share
    largest: tuple[Package, ...]  # by code_size, largest first


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


@dataclass(frozen=True)
class ComplianceReport:
    source: str
    snapshot_date: date | None
    as_of: date
    within: timedelta
    catalog_checked: date
    catalog_source: str
    overall: Tally
    by_account_region: tuple[Tally, ...]
    by_runtime: tuple[RuntimeCount, ...]
    affected: tuple[AffectedFunction, ...]
    posture: Posture
    coverage: ReportCoverage

    def gate(self, threshold: Lifecycle) -> bool:
        """Whether any function is `threshold` or more severe (of the affected statuses; `unknown` is the
        widest gate: any affected function trips it; supported and image never do)."""
        return any(
            self.overall.of(s) for s in AFFECTED if s.severity <= threshold.severity or threshold is Lifecycle.UNKNOWN
        )


def build_report(snapshot: Snapshot, catalog: RuntimeCatalog, as_of: date, within: timedelta) -> ComplianceReport:
    functions = snapshot.functions
    table = functions.append_column("status", _statuses(functions, catalog, as_of, within))
    (overall,) = _tallies(table, []) or (Tally((), (0,) * len(_ORDER)),)
    return ComplianceReport(
        source=snapshot.source,
        snapshot_date=snapshot.snapshot_date,
        as_of=as_of,
        within=within,
        catalog_checked=catalog.checked,
        catalog_source=catalog.source,
        overall=overall,
        by_account_region=tuple(_tallies(table, ["account_id", "account_name", "region"])),
        by_runtime=_runtimes(table, catalog),
        affected=_affected(table, catalog),
        posture=_posture(functions),
        coverage=_coverage(snapshot),
    )


def _statuses(functions: pa.Table, catalog: RuntimeCatalog, as_of: date, within: timedelta) -> pa.ChunkedArray:
    """Each row's Lifecycle value, asked of the catalog once per distinct (runtime, package type)."""
    keys = pc.binary_join_element_wise(
        pc.fill_null(functions["runtime"], ""), pc.fill_null(functions["package_type"], ""), "\x1f"
    )
    distinct = pc.unique(keys).to_pylist()
    statuses = []
    for key in distinct:
        runtime, package_type = key.split("\x1f")
        statuses.append(catalog.status(runtime or None, package_type or None, as_of, within).value)
    index = pc.index_in(keys, value_set=pa.array(distinct, pa.string()))
    return pc.take(pa.array(statuses, pa.string()), index)


def _tallies(table: pa.Table, keys: list[str]) -> list[Tally]:
    grouped = table.group_by([*keys, "status"]).aggregate([([], "count_all")]).to_pylist()
    counts: dict[tuple[str, ...], list[int]] = {}
    for row in grouped:
        label = tuple(str(row[k]) for k in keys)
        counts.setdefault(label, [0] * len(_ORDER))[_ORDER.index(Lifecycle(row["status"]))] += row["count_all"]
    return [Tally(label, tuple(values)) for label, values in sorted(counts.items())]


def _runtimes(table: pa.Table, catalog: RuntimeCatalog) -> tuple[RuntimeCount, ...]:
    grouped = table.group_by(["runtime", "status"]).aggregate([([], "count_all")]).to_pylist()
    found = []
    for row in grouped:
        known = catalog.runtimes.get(row["runtime"] or "")
        dates = (known.deprecation, known.block_create, known.block_update) if known else (None, None, None)
        found.append(RuntimeCount(row["runtime"], Lifecycle(row["status"]), row["count_all"], *dates))
    return tuple(sorted(found, key=lambda r: (r.status.severity, -r.functions, r.runtime or "")))


def _status_date(catalog: RuntimeCatalog, runtime: str | None, status: Lifecycle) -> date | None:
    known = catalog.runtimes.get(runtime or "")
    if known is None:
        return None
    return {
        Lifecycle.UPDATE_BLOCKED: known.block_update,
        Lifecycle.CREATE_BLOCKED: known.block_create,
        Lifecycle.DEPRECATED: known.deprecation,
        Lifecycle.DEPRECATION_SOON: known.deprecation,
    }.get(status)


def _affected(table: pa.Table, catalog: RuntimeCatalog) -> tuple[AffectedFunction, ...]:
    chosen = table.filter(pc.is_in(table["status"], value_set=pa.array([s.value for s in AFFECTED])))
    rows = []
    for row in chosen.to_pylist():
        status = Lifecycle(row["status"])
        rows.append(
            AffectedFunction(
                AccountRegion.of(row),
                tuple(row["account_tags"] or ()),
                row["function_name"],
                row["version"],
                row["function_arn"],
                row["runtime"],
                status,
                _status_date(catalog, row["runtime"], status),
            )
        )
    return tuple(sorted(rows, key=_affected_order))


def _affected_order(f: AffectedFunction) -> tuple[int, date, str, str, str, str]:
    where = f.where
    return (
        f.status.severity,
        f.status_date or date.max,
        where.account_id,
        where.region,
        f.function_name,
        f.version or "",
    )


def _shares(values: Iterable[str | None], total: int, first: Sequence[str], missing: str) -> tuple[Share, ...]:
    counted: dict[str, int] = dict.fromkeys(first, 0)
    for value in values:
        label = value or missing
        counted[label] = counted.get(label, 0) + 1
    return tuple(Share(label, n, total) for label, n in counted.items() if n or label in first)


def _posture(functions: pa.Table) -> Posture:
    total = functions.num_rows
    tracing = _shares(functions["tracing_mode"].to_pylist(), total, ("Active", "PassThrough"), "not reported")
    arches = pc.binary_join(functions["architectures"], "+").to_pylist()
    architectures = _shares(arches, total, ("x86_64", "arm64"), "not reported")
    vpc = pc.sum(pc.and_(pc.is_valid(functions["vpc_id"]), pc.not_equal(functions["vpc_id"], ""))).as_py() or 0
    order = [("code_size", "descending"), ("account_id", "ascending"), ("region", "ascending")]
    top = functions.filter(pc.is_valid(functions["code_size"])).sort_by([*order, ("function_name", "ascending")])
    largest = tuple(
        Package(AccountRegion.of(r), r["function_name"], r["runtime"], r["package_type"], r["code_size"])
        for r in top.slice(0, LARGEST).to_pylist()
    )
    return Posture(tracing, architectures, Share("in a VPC", vpc, total), largest)


def _coverage(snapshot: Snapshot) -> ReportCoverage:
    rows = snapshot.status.to_pylist()
    problems = tuple(
        TargetProblem(AccountRegion.of(r), r["status"], r["error_code"], r["error_message"])
        for r in sorted(rows, key=lambda r: (r["status"], r["account_id"], r["region"]))
        if r["status"] != Status.OK
    )
    count = {s: sum(1 for r in rows if r["status"] == s) for s in Status}
    warnings = snapshot.warnings + (() if rows else ("the status file lists no targets: nothing was inventoried",))
    return ReportCoverage(len(rows), count[Status.OK], count[Status.FAILED], count[Status.SKIPPED], problems, warnings)
