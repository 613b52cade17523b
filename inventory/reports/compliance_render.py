"""A ComplianceReport laid out for inventory.reports.document: the Markdown/HTML document, the CSV and the charts.

The CSV is the affected functions, one row per function, with stable columns (`AFFECTED_COLUMNS`; account
tags as a JSON array, as in the inventory's CSV). The document is the same content for people: summary,
coverage, affected functions, counts by runtime and by account and region, posture, and the targets that
were not listed. HTML adds two charts (functions by lifecycle status per account, functions by runtime).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from inventory.output.status import Status
from inventory.reports.compliance import LARGEST, ComplianceReport, Share, Tally
from inventory.reports.document import (
    Cell,
    Chart,
    Document,
    Section,
    Table,
    render_html,
    render_markdown,
    require_charts,
    stacked_bars,
    table_csv,
)
from inventory.reports.lifecycle import Lifecycle

AFFECTED_COLUMNS = (
    "account_id",
    "account_name",
    "account_tags",
    "region",
    "function_name",
    "version",
    "function_arn",
    "runtime",
    "status",
    "status_date",
)
COLORS = {
    Lifecycle.UPDATE_BLOCKED.value: "#7f1d1d",
    Lifecycle.CREATE_BLOCKED.value: "#c62828",
    Lifecycle.DEPRECATED.value: "#ef6c00",
    Lifecycle.DEPRECATION_SOON.value: "#f9a825",
    Lifecycle.SUPPORTED.value: "#2e7d32",
    Lifecycle.UNKNOWN.value: "#757575",
    Lifecycle.IMAGE.value: "#1565c0",
}
CHART_ACCOUNTS = 25  # the accounts with the most affected functions; the table has them all
_STATUSES = tuple(s.value for s in Lifecycle)


def _day(value: object) -> str | None:
    return None if value is None else str(value)


def affected_table(report: ComplianceReport) -> Table:
    """The CSV: every affected function, most severe first."""
    rows = tuple(
        (
            f.where.account_id,
            f.where.account_name,
            json.dumps(list(f.account_tags)),
            f.where.region,
            f.function_name,
            f.version,
            f.function_arn,
            f.runtime,
            f.status.value,
            _day(f.status_date),
        )
        for f in report.affected
    )
    return Table(AFFECTED_COLUMNS, rows)


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f}"


def _percent(share: Share) -> str:
    return f"{100 * share.count / share.total:.1f}%" if share.total else "-"


def _lead(report: ComplianceReport) -> tuple[str, ...]:
    days = report.within.days
    horizon = report.as_of + report.within
    return (
        f"Source: {report.source}; snapshot date {_day(report.snapshot_date) or 'unknown'}.",
        f"As of {report.as_of}; look-ahead {days} days (a deprecation by {horizon} counts as deprecation_soon).",
        f"Runtime schedule checked {report.catalog_checked} against {report.catalog_source or 'its source'}.",
    )


def _summary(report: ComplianceReport) -> Section:
    rows: list[tuple[Cell, ...]] = [(s, report.overall.of(Lifecycle(s))) for s in _STATUSES]
    rows.append(("total", report.overall.total))
    text = (
        f"{report.overall.total} functions; {report.overall.affected} affected "
        "(deprecation_soon or worse, or a runtime the schedule does not list).",
    )
    return Section("Summary", text, Table(("status", "functions"), tuple(rows)))


def _affected(report: ComplianceReport) -> Section:
    rows = tuple(
        (
            f.where.account_id,
            f.where.account_name,
            ", ".join(f.account_tags),
            f.where.region,
            f.function_name,
            f.version,
            f.runtime,
            f.status.value,
            _day(f.status_date),
            f.function_arn,
        )
        for f in report.affected
    )
    columns = ("account_id", "account", "tags", "region", "function", "version", "runtime", "status", "date", "ARN")
    coverage = report.coverage
    whole = not coverage.failed and not coverage.warnings
    unlisted = f"; {coverage.failed} targets could not be listed (see below)" if coverage.failed else ""
    return Section(
        "Affected functions",
        ("The date is when the status began; for deprecation_soon, the coming deprecation.",),
        Table(columns, rows),
        empty="No function is deprecation_soon or worse, or on an unknown runtime."
        if whole
        else f"None among the targets listed{unlisted}: this is not a clean bill of health.",
    )


def _by_runtime(report: ComplianceReport, charts: bool) -> Section:
    rows = tuple(
        (
            r.runtime or "(none: container image)",
            r.status.value,
            r.functions,
            _day(r.deprecation),
            _day(r.block_create),
            _day(r.block_update),
        )
        for r in report.by_runtime
    )
    columns = ("runtime", "status", "functions", "deprecation", "block create", "block update")
    chart = _runtime_chart(report) if charts and rows else None
    return Section("Functions by runtime", (), Table(columns, rows), empty="No functions.", chart=chart)


def _by_account_region(report: ComplianceReport, charts: bool) -> Section:
    rows: tuple[tuple[Cell, ...], ...] = tuple((*t.label, *t.counts, t.total) for t in report.by_account_region)
    columns = ("account_id", "account", "region", *_STATUSES, "total")
    chart = _account_chart(report) if charts and rows else None
    return Section("Functions by account and region", (), Table(columns, rows), empty="No functions.", chart=chart)


def _posture(report: ComplianceReport) -> tuple[Section, Section]:
    posture = report.posture
    shares = [("tracing", s) for s in posture.tracing] + [("architecture", s) for s in posture.architectures]
    shares.append(("network", posture.in_vpc))
    rows = tuple((kind, s.label, s.count, _percent(s)) for kind, s in shares)
    largest = tuple(
        (
            p.where.account_id,
            p.where.account_name,
            p.where.region,
            p.function_name,
            p.runtime or p.package_type,
            p.code_size,
            _mib(p.code_size),
        )
        for p in posture.largest
    )
    return (
        Section("Posture", (), Table(("aspect", "value", "functions", "share"), rows)),
        Section(
            "Largest deployment packages",
            (f"The {LARGEST} largest by code_size (bytes of the deployment package; 0 for container images).",),
            Table(("account_id", "account", "region", "function", "runtime", "code_size", "MiB"), largest),
            empty="No functions.",
        ),
    )


def _not_listed(report: ComplianceReport) -> Section:
    coverage = report.coverage
    rows = tuple(
        (p.where.account_id, p.where.account_name, p.where.region, p.status, p.error_code, p.error_message)
        for p in coverage.problems
    )
    columns = ("account_id", "account", "region", "status", "error_code", "error_message")
    return Section(
        "Targets not listed",
        (
            coverage.line + ".",
            f"{Status.SKIPPED}: the region is not enabled for the account; {Status.FAILED}: it could not be listed.",
        ),
        Table(columns, rows),
        empty="Every target was listed.",
    )


def report_document(report: ComplianceReport, *, charts: bool = False) -> Document:
    """The report for people (Markdown or HTML); `charts` draws the two charts (needs matplotlib)."""
    warnings = (f"Coverage: {report.coverage.line}.", *report.coverage.warnings)
    return Document(
        title=f"Lambda runtime compliance, {_day(report.snapshot_date) or report.as_of}",
        lead=_lead(report),
        warnings=warnings,
        sections=(
            _summary(report),
            _affected(report),
            _by_runtime(report, charts),
            _by_account_region(report, charts),
            *_posture(report),
            _not_listed(report),
        ),
    )


def render_report(report: ComplianceReport, fmt: str) -> str:
    """`markdown`, `csv` (the affected functions) or `html` (with the charts; needs matplotlib)."""
    if fmt == "csv":
        return table_csv(affected_table(report))
    if fmt == "html":
        require_charts()
        return render_html(report_document(report, charts=True))
    return render_markdown(report_document(report))


def _series(tallies: Sequence[Tally]) -> dict[str, list[int]]:
    return {s: [t.of(Lifecycle(s)) for t in tallies] for s in _STATUSES}


def _account_chart(report: ComplianceReport) -> Chart:
    accounts: dict[tuple[str, str], list[int]] = {}
    for tally in report.by_account_region:
        counts = accounts.setdefault((tally.label[0], tally.label[1]), [0] * len(_STATUSES))
        accounts[(tally.label[0], tally.label[1])] = [a + b for a, b in zip(counts, tally.counts, strict=True)]
    merged = [Tally(label, tuple(counts)) for label, counts in accounts.items()]
    merged.sort(key=lambda t: (-t.affected, -t.total, t.label))
    shown = merged[:CHART_ACCOUNTS]
    more = f" (the {len(shown)} with the most affected, of {len(merged)})" if len(merged) > len(shown) else ""
    labels = [f"{name} ({account})" for account, name in (t.label for t in shown)]
    return stacked_bars(f"Functions by lifecycle status per account{more}", labels, _series(shown), COLORS)


def _runtime_chart(report: ComplianceReport) -> Chart:
    runtimes = report.by_runtime
    labels = [r.runtime or "(container image)" for r in runtimes]
    series = {s: [r.functions if r.status.value == s else 0 for r in runtimes] for s in _STATUSES}
    return stacked_bars("Functions by runtime (coloured by lifecycle status)", labels, series, COLORS)
