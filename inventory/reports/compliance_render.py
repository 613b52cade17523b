"""A ComplianceReport laid out for inventory.reports.document: the Markdown/HTML document and the CSV.

The CSV is the affected functions, one row per function, with stable columns (`AFFECTED_COLUMNS`; account
tags as a JSON array, as in the inventory's CSV), and `owner` last with an owner tag (the function's own tag
value). The document heads them `account tags` and `owner (function tag KEY)`, so the account's tags are not
read as the function's. The document is the same
content for people: summary (with the usage of the affected functions), coverage, affected functions, counts
by runtime and by account and region or by owner (compliance_groups.py, with the charts in HTML), the
public functions (exposure.py) and the public aliases and layer versions (exposure_estate.py), posture, the
estate and its layers (estate_render.py), and the targets that were not listed. The CSV's `public_actions`
names what anyone may do to each affected function by its policy (a JSON array; empty where not read).
"""

from __future__ import annotations

import json

from inventory.contract.results import Status
from inventory.contract.runtimes import Lifecycle
from inventory.reports.compliance import AffectedFunction, ComplianceReport
from inventory.reports.compliance_groups import STATUSES, count_sections, day
from inventory.reports.document import (
    Cell,
    Document,
    Section,
    Table,
    render_html,
    render_markdown,
    require_charts,
    table_csv,
)
from inventory.reports.estate_render import estate_section, layers_section
from inventory.reports.exposure import public_section
from inventory.reports.exposure_estate import estate_public_section
from inventory.reports.owners import owner_notes
from inventory.reports.posture import LARGEST, Share
from inventory.reports.usage import usage_cell

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
    "invocations_30d",
    "last_invocation_day",
    "usage",
    "public",
    "public_actions",
)
OWNER_COLUMN = "owner"  # last, with an owner tag


def affected_table(report: ComplianceReport) -> Table:
    """The CSV: every affected function, most severe first; `owner` last with an owner tag."""
    owners = report.owner_tag is not None
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
            day(f.status_date),
            f.invocations_30d,
            day(f.last_invocation_day),
            f.usage.value,
            f.public,
            json.dumps(list(f.public_actions)) if f.public_actions is not None else None,
            *((f.owner,) if owners else ()),
        )
        for f in report.affected
    )
    return Table(AFFECTED_COLUMNS + (OWNER_COLUMN,) * owners, rows)


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f}"


def _percent(share: Share) -> str:
    return f"{100 * share.count / share.total:.1f}%" if share.total else "-"


def _lead(report: ComplianceReport) -> tuple[str, ...]:
    days = report.within.days
    horizon = report.as_of + report.within
    return (
        f"Source: {report.source}; snapshot date {day(report.snapshot_date) or 'unknown'}.",
        f"As of {report.as_of}; look-ahead {days} days (a deprecation by {horizon} counts as deprecation_soon).",
        f"Runtime schedule checked {report.catalog_checked} against {report.catalog_source or 'its source'}.",
    )


def _summary(report: ComplianceReport) -> Section:
    rows: list[tuple[Cell, ...]] = [(s, report.overall.of(Lifecycle(s))) for s in STATUSES]
    rows.append(("total", report.overall.total))
    text = (
        f"{report.overall.total} functions; {report.overall.affected} affected "
        "(deprecation_soon or worse, or a runtime the schedule does not list).",
        report.usage.line,
    )
    return Section("Summary", text, Table(("status", "functions"), tuple(rows)))


def _affected_row(f: AffectedFunction, owners: bool) -> tuple[Cell, ...]:
    return (
        f.where.account_id,
        f.where.account_name,
        ", ".join(f.account_tags),
        *((f.owner,) if owners else ()),
        f.where.region,
        f.function_name,
        f.version,
        f.runtime,
        f.status.value,
        day(f.status_date),
        usage_cell(f.usage, f.invocations_30d),
        f.public,
        f.function_arn,
    )


def _affected(report: ComplianceReport) -> Section:
    owners = report.owner_tag is not None
    rows = tuple(_affected_row(f, owners) for f in report.affected)
    owner = (f"owner (function tag {report.owner_tag})",) * owners
    columns = ("account_id", "account", "account tags", *owner, "region", "function", "version", "runtime")
    columns += ("status", "date", "usage", "public", "ARN")
    coverage = report.coverage
    whole = not coverage.failed and not coverage.warnings
    unlisted = f"; {coverage.failed} targets could not be listed (see below)" if coverage.failed else ""
    return Section(
        "Affected functions",
        (
            "The date is when the status began; for deprecation_soon, the coming deprecation. "
            "Usage: invocations in the 30 days to the snapshot day (unused: a candidate for deletion; "
            "unknown: not read). Public: whether anyone may invoke it, or act on it by its policy (see Public "
            "functions).",
            _tags_note(report.owner_tag),
        ),
        Table(columns, rows),
        empty="No function is deprecation_soon or worse, or on an unknown runtime."
        if whole
        else f"None among the targets listed{unlisted}: this is not a clean bill of health.",
    )


def _tags_note(owner_tag: str | None) -> str:
    """Which tags are whose: the account's (the accounts file) beside the function's own (its owner)."""
    note = "Account tags: the tags the accounts file gives the function's account, not the function's own"
    if owner_tag is None:
        return note + "."
    return f"{note}; owner: the value of the function's own tag {owner_tag!r}."


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


def _estate(report: ComplianceReport) -> tuple[Section, ...]:
    """The estate's figures, and its layers where they were read."""
    layers = layers_section(report.estate)
    return (estate_section(report.estate),) if layers is None else (estate_section(report.estate), layers)


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
    """The report for people (Markdown or HTML); `charts` draws the charts (needs matplotlib)."""
    owned = () if report.tags is None or report.owner_tag is None else owner_notes(report.owner_tag, report.tags)[1]
    warnings = (f"Coverage: {report.coverage.line}.", *report.coverage.warnings, *owned)
    return Document(
        title=f"Lambda runtime compliance, {day(report.snapshot_date) or report.as_of}",
        lead=_lead(report),
        warnings=warnings,
        sections=(
            _summary(report),
            _affected(report),
            *count_sections(report, charts),
            public_section(report.exposure, report.owner_tag is not None),
            estate_public_section(report.estate_exposure),
            *_posture(report),
            *_estate(report),
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
