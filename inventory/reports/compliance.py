"""The runtime compliance report: a Snapshot judged against the runtime schedule on a given day.

`build_report` turns a Snapshot, a RuntimeCatalog, an as-of date and a look-ahead window into a
`ComplianceReport` (frozen dataclasses, no text): counts by lifecycle status overall, per account and
region and per runtime; the affected functions (deprecation_soon or worse, or an unknown runtime) with the
date that matters; a posture summary; and the coverage taken from the status rows, so that a report never
claims more than was listed. inventory.reports.compliance_render lays it out as text.

From the opt-in enrichments (each only where it was read, see coverage.py): with an owner tag, each
function's owner and the counts per owner (owners.py); the public functions (exposure.py) and the public
aliases and layer versions (exposure_estate.py); whether each affected function was used in the last 30 days
(usage.py); and the estate around the functions, counted (estate.py).

Rows are counted as they are in the inventory: one per function, or per published version when the job ran
with `function_version: ALL` (a published version keeps the runtime it was published with).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from inventory.contract.runtimes import Lifecycle, RuntimeCatalog
from inventory.readers.snapshot import Snapshot
from inventory.reports.coverage import AccountRegion, Reading, ReportCoverage, listing_coverage, reading
from inventory.reports.estate import EstateSummary, estate_of
from inventory.reports.exposure import Exposure, exposure_of, public_actions_of, public_label
from inventory.reports.exposure_estate import EstateExposure, estate_exposure_of
from inventory.reports.owners import TAGS, Grouping, check_grouping, owner_column, owner_order
from inventory.reports.posture import Posture, posture_of
from inventory.reports.usage import USAGE, Usage, UsageCounts, usage_of

_ORDER = tuple(Lifecycle)  # most severe first
# Listed as affected: deprecation_soon or worse, and runtimes the schedule does not know.
AFFECTED = frozenset(s for s in Lifecycle if s.severity <= Lifecycle.DEPRECATION_SOON.severity) | {Lifecycle.UNKNOWN}


@dataclass(frozen=True)
class Tally:
    """Functions per lifecycle status (aligned with `Lifecycle`, most severe first) for one label."""

    label: tuple[str, ...]  # () overall, (account_id, account_name, region) per account-region, (owner,)
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
class AffectedFunction:
    where: AccountRegion
    account_tags: tuple[str, ...]
    function_name: str
    version: str | None
    function_arn: str | None
    runtime: str | None
    status: Lifecycle
    status_date: date | None  # when the status began (deprecation_soon: the coming deprecation); None if unknown
    owner: str | None  # owners.py's label; None when the report has no owner tag
    usage: Usage
    invocations_30d: int | None  # None: usage not read
    last_invocation_day: date | None
    public: str  # exposure.public_label: policy / policy (no invoke) / URL / no / not checked ...
    public_actions: tuple[str, ...] | None  # what anyone may do by its policy; None: the policy not read


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
    usage: UsageCounts  # of the affected functions
    exposure: Exposure
    estate_exposure: EstateExposure  # public aliases and layer versions
    estate: EstateSummary
    group_by: Grouping = Grouping.ACCOUNT
    owner_tag: str | None = None
    by_owner: tuple[Tally, ...] = ()  # with an owner tag
    tags: Reading | None = None  # with an owner tag: how far the tags were read

    def gate(self, threshold: Lifecycle) -> bool:
        """Whether any function is `threshold` or more severe (of the affected statuses; `unknown` is the
        widest gate: any affected function trips it; supported and image never do)."""
        return any(
            self.overall.of(s) for s in AFFECTED if s.severity <= threshold.severity or threshold is Lifecycle.UNKNOWN
        )


def build_report(
    snapshot: Snapshot,
    catalog: RuntimeCatalog,
    as_of: date,
    within: timedelta,
    *,
    owner_tag: str | None = None,
    group_by: Grouping = Grouping.ACCOUNT,
) -> ComplianceReport:
    """`owner_tag`: the tag whose value names a function's owner; `group_by` owner needs it (ConfigError)."""
    check_grouping(group_by, owner_tag)
    functions = snapshot.functions
    table = functions.append_column("status", _statuses(functions, catalog, as_of, within))
    if owner_tag:
        table = table.append_column("owner", owner_column(functions, owner_tag))
    (overall,) = _tallies(table, []) or (Tally((), (0,) * len(_ORDER)),)
    affected = _affected(table, catalog)
    by_owner = sorted(_tallies(table, ["owner"]), key=lambda t: owner_order(t.label[0])) if owner_tag else []
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
        affected=affected,
        posture=posture_of(functions),
        coverage=listing_coverage(snapshot),
        usage=UsageCounts.of((f.usage for f in affected), reading(snapshot, USAGE)),
        exposure=exposure_of(snapshot, table),
        estate_exposure=estate_exposure_of(snapshot),
        estate=estate_of(snapshot),
        group_by=group_by,
        owner_tag=owner_tag or None,
        by_owner=tuple(by_owner),
        tags=reading(snapshot, TAGS) if owner_tag else None,
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
        usage, invocations = usage_of(row)
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
                row.get("owner"),
                usage,
                invocations,
                row["last_invocation_day"] if invocations is not None else None,
                public_label(row),
                public_actions_of(row),
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
