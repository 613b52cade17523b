"""The compliance report's tables of counts per group, and their charts (HTML).

The runtime table (with the schedule's dates) is always there. `--group-by` picks the other table of counts
by lifecycle status, and what the HTML page charts: per account and region (the default), or per owner
(with an owner tag); `runtime` leaves the runtime table alone. With an owner tag, the owner table is there
whatever the grouping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from inventory.contract.runtimes import Lifecycle
from inventory.reports.compliance import ComplianceReport, Tally
from inventory.reports.coverage import Reading
from inventory.reports.document import Cell, Chart, Section, Table, stacked_bars
from inventory.reports.owners import Grouping, owner_notes

COLORS = {
    Lifecycle.UPDATE_BLOCKED.value: "#7f1d1d",
    Lifecycle.CREATE_BLOCKED.value: "#c62828",
    Lifecycle.DEPRECATED.value: "#ef6c00",
    Lifecycle.DEPRECATION_SOON.value: "#f9a825",
    Lifecycle.SUPPORTED.value: "#2e7d32",
    Lifecycle.UNKNOWN.value: "#757575",
    Lifecycle.IMAGE.value: "#1565c0",
}
CHART_ACCOUNTS = 25  # the accounts (or owners) with the most affected functions; the table has them all
STATUSES = tuple(s.value for s in Lifecycle)


def day(value: object) -> str | None:
    return None if value is None else str(value)


def count_sections(report: ComplianceReport, charts: bool) -> tuple[Section, ...]:
    """The runtime table, then the table per account and region or per owner (as --group-by says)."""
    group = report.group_by
    sections = [_by_runtime(report, charts)]
    if group is Grouping.ACCOUNT:
        sections.append(_by_account_region(report, charts))
    if report.owner_tag and report.tags:
        sections.append(_by_owner(report, report.owner_tag, report.tags, charts and group is Grouping.OWNER))
    return tuple(sections)


def _by_runtime(report: ComplianceReport, charts: bool) -> Section:
    rows = tuple(
        (
            r.runtime or "(none: container image)",
            r.status.value,
            r.functions,
            day(r.deprecation),
            day(r.block_create),
            day(r.block_update),
        )
        for r in report.by_runtime
    )
    columns = ("runtime", "status", "functions", "deprecation", "block create", "block update")
    chart = _runtime_chart(report) if charts and rows else None
    return Section("Functions by runtime", (), Table(columns, rows), empty="No functions.", chart=chart)


def _by_account_region(report: ComplianceReport, charts: bool) -> Section:
    rows: tuple[tuple[Cell, ...], ...] = tuple((*t.label, *t.counts, t.total) for t in report.by_account_region)
    columns = ("account_id", "account", "region", *STATUSES, "total")
    chart = _account_chart(report) if charts and rows else None
    return Section("Functions by account and region", (), Table(columns, rows), empty="No functions.", chart=chart)


def _by_owner(report: ComplianceReport, key: str, tags: Reading, charts: bool) -> Section:
    rows: tuple[tuple[Cell, ...], ...] = tuple((*t.label, *t.counts, t.total) for t in report.by_owner)
    chart = _chart("owner", list(report.by_owner), lambda label: label[0]) if charts and rows else None
    paragraphs, _ = owner_notes(key, tags)
    table = Table(("owner", *STATUSES, "total"), rows)
    return Section("Functions by owner", paragraphs, table, empty="No functions.", chart=chart)


def _series(tallies: Sequence[Tally]) -> dict[str, list[int]]:
    return {s: [t.of(Lifecycle(s)) for t in tallies] for s in STATUSES}


def _account_chart(report: ComplianceReport) -> Chart:
    accounts: dict[tuple[str, ...], list[int]] = {}
    for tally in report.by_account_region:
        counts = accounts.setdefault(tally.label[:2], [0] * len(STATUSES))
        accounts[tally.label[:2]] = [a + b for a, b in zip(counts, tally.counts, strict=True)]
    merged = [Tally(label, tuple(counts)) for label, counts in accounts.items()]
    return _chart("account", merged, lambda label: f"{label[1]} ({label[0]})")


def _chart(kind: str, tallies: list[Tally], name: Callable[[tuple[str, ...]], str]) -> Chart:
    """Functions by lifecycle status per account or owner: the CHART_ACCOUNTS with the most affected."""
    tallies = sorted(tallies, key=lambda t: (-t.affected, -t.total, t.label))
    shown = tallies[:CHART_ACCOUNTS]
    more = f" (the {len(shown)} with the most affected, of {len(tallies)})" if len(tallies) > len(shown) else ""
    labels = [name(t.label) for t in shown]
    return stacked_bars(f"Functions by lifecycle status per {kind}{more}", labels, _series(shown), COLORS)


def _runtime_chart(report: ComplianceReport) -> Chart:
    runtimes = report.by_runtime
    labels = [r.runtime or "(container image)" for r in runtimes]
    series = {s: [r.functions if r.status.value == s else 0 for r in runtimes] for s in STATUSES}
    return stacked_bars("Functions by runtime (coloured by lifecycle status)", labels, series, COLORS)
