"""A Diff as a report: Markdown tables, CSV (one row per changed field) or one self-contained HTML page.

Markdown and HTML are the same document (inventory.reports.document), newly public functions first; CSV has
one row per function change with the columns `category, account_id, account_name, region, function_name,
function_arn, field, old, new`: first `newly_public`, one row per reason (the signal, old -> new), then one
row per changed field for `changed`, an empty field for `added` / `removed`, and `target_status` with the
target's old and new status for `unknown`. The enrichments not compared are in Markdown and HTML only.
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

import pyarrow.compute as pc

from inventory.contract.columns import ENRICHMENTS
from inventory.contract.results import Status
from inventory.readers.snapshot import Snapshot
from inventory.reports.diff import AccountCounts, Category, Diff, FunctionChange
from inventory.reports.diff_columns import EXCLUDED, compared_columns, compared_enrichments
from inventory.reports.diff_coverage import NOT_READ, EnrichmentGap, UnknownTarget
from inventory.reports.document import Cell, Document, Section, Table, render_html, render_markdown, table_csv

CSV_COLUMNS = (
    "category",
    "account_id",
    "account_name",
    "region",
    "function_name",
    "function_arn",
    "field",
    "old",
    "new",
)
NEWLY_PUBLIC = "newly_public"  # the CSV category of a newly public function's rows
_FUNCTION = ("account_id", "account_name", "region", "function_name", "version")
_STATUS_ORDER = tuple(Status)  # ok, skipped, failed
_EXPLAINED = {
    Category.ADDED: "In the new snapshot only (its target was listed in both, or is new coverage).",
    Category.REMOVED: "In the old snapshot only, and its target was listed in the new one.",
    Category.CHANGED: f"Every column is compared but {', '.join(EXCLUDED)} (docs/usage.md says why); environment "
    "variables by name only; an enrichment's columns only where both snapshots read it. One row per changed field.",
    Category.UNKNOWN: "Its account and region were not listed in both snapshots, so whether it was added, "
    "removed or changed cannot be known.",
}


class DiffFormat(StrEnum):
    MARKDOWN = "markdown"
    CSV = "csv"
    HTML = "html"


def render_diff(diff: Diff, fmt: DiffFormat) -> str:
    if fmt is DiffFormat.CSV:
        return table_csv(csv_table(diff))
    document = diff_document(diff)
    return render_html(document) if fmt is DiffFormat.HTML else render_markdown(document)


def csv_table(diff: Diff) -> Table:
    listed = [(NEWLY_PUBLIC, diff.newly_public), *((c.value, diff.of(c)) for c in Category)]
    rows: list[tuple[Cell, ...]] = []
    for category, changes in listed:
        for change in changes:
            identity = (category, change.account_id, change.account_name, change.region, change.function_name)
            fields: list[tuple[Cell, Cell, Cell]] = [(f.field, f.old, f.new) for f in change.fields] or [
                (None, None, None)
            ]
            rows += [(*identity, change.function_arn, *field) for field in fields]
    return Table(CSV_COLUMNS, tuple(rows))


def diff_document(diff: Diff) -> Document:
    counts = diff.counts()
    total = ", ".join(f"{counts[c]} {c.value}" for c in Category) if diff.changes else "no changes"
    warnings = [f"old snapshot: {w}" for w in diff.old.warnings] + [f"new snapshot: {w}" for w in diff.new.warnings]
    if diff.newly_public:
        warnings.append(f"Newly public: {len(diff.newly_public)} function(s) (see Newly public).")
    warnings += _absent(diff)
    if counts[Category.UNKNOWN]:
        warnings.append(
            f"Unknown functions: {counts[Category.UNKNOWN]}. Their account and region were not listed in both "
            "snapshots (see Targets not compared)."
        )
    return Document(
        title="Lambda inventory diff",
        lead=(f"From {diff.old.source} to {diff.new.source}: {total}; {diff.unchanged} unchanged.",),
        warnings=tuple(warnings),
        sections=(
            _public_section(diff.newly_public),
            Section("Snapshots", table=_snapshots(diff.old, diff.new)),
            Section("By account", table=_by_account(diff), empty="No functions in either snapshot."),
            _targets_section(diff.unknown_targets),
            _gaps_section(diff.enrichment_gaps),
            *(_category_section(category, diff.of(category)) for category in Category),
        ),
    )


def _absent(diff: Diff) -> list[str]:
    """A warning naming the columns not compared because a snapshot was written without them, if any."""
    missing = [name for name in compared_columns() if name not in diff.columns]
    if not missing:
        return []
    sides = " and ".join(side for side, s in (("old", diff.old), ("new", diff.new)) if s.absent_columns)
    return [f"Not compared, as the {sides} snapshot was written without them: {', '.join(missing)}."]


def _public_section(changes: tuple[FunctionChange, ...]) -> Section:
    columns = (*_FUNCTION, "function", "why", "old", "new")
    rows = tuple((*_function(c), c.category.value, f.field, f.old, f.new) for c in changes for f in c.fields)
    explained = (
        "Public in the new snapshot and not in the old one, or added and public; or its public_actions gained "
        "an action. Public: public_invoke true or public_actions not empty (policy), or a function URL with "
        "auth type NONE (urls), as read by the enrichments both snapshots read (see Enrichments not compared).",
    )
    return Section(f"Newly public ({len(changes)})", explained if rows else (), Table(columns, rows))


def _gaps_section(gaps: tuple[EnrichmentGap, ...]) -> Section:
    rows = tuple((", ".join(g.enrichments), g.old, g.new, _where(g)) for g in gaps)
    never = [name for name in ENRICHMENTS if name not in compared_enrichments()]
    explained = (
        "An enrichment's columns are compared only for the targets listed in both snapshots whose status rows "
        f"both say it was read (ok). Here it was not: {NOT_READ} means the run did not ask for it, all N every "
        f"target listed in both. Never compared: {', '.join(never)} (its columns change every run).",
    )
    columns = ("enrichments", "old", "new", "targets")
    return Section("Enrichments not compared", explained if rows else (), Table(columns, rows))


def _where(gap: EnrichmentGap) -> str:
    if gap.everywhere:
        return f"all {gap.of}"
    return ", ".join(f"{account} {region}" for account, region in gap.targets)


def _targets(snapshot: Snapshot) -> str:
    counts = Counter(snapshot.status["status"].to_pylist())
    order = [s for s in _STATUS_ORDER if s in counts] + sorted(set(counts) - set(_STATUS_ORDER))
    return ", ".join(f"{counts[s]} {s}" for s in order) or "none"


def _started(snapshot: Snapshot) -> str:
    """The earliest run start in its status rows (UTC)."""
    status = snapshot.status
    started = pc.min(status["snapshot_time"]).as_py() if status.num_rows else None
    return "" if started is None else f"{started:%Y-%m-%d %H:%M:%S}Z"


def _snapshots(old: Snapshot, new: Snapshot) -> Table:
    rows: list[tuple[Cell, ...]] = [
        ("source", old.source, new.source),
        ("snapshot date", *(str(s.snapshot_date or "") for s in (old, new))),
        ("run started (UTC)", _started(old), _started(new)),
        ("functions", str(old.functions.num_rows), str(new.functions.num_rows)),
        ("targets", _targets(old), _targets(new)),
    ]
    return Table(("", "old", "new"), tuple(rows))


def _by_account(diff: Diff) -> Table:
    columns = ("account_id", "account_name", *(c.value for c in Category), "unchanged")
    return Table(columns, tuple(_account_row(a) for a in diff.accounts))


def _account_row(account: AccountCounts) -> tuple[Cell, ...]:
    counts: list[Cell] = [account.counts[c] for c in Category]
    return account.account_id, account.account_name, *counts, account.unchanged


def _targets_section(targets: tuple[UnknownTarget, ...]) -> Section:
    columns = ("account_id", "account_name", "region", "old status", "old error", "new status", "new error")
    rows = tuple(_target_row(t) for t in targets)
    explained = (
        "A target's functions are compared only when it is ok in the new snapshot and ok (or not yet a "
        "target: new coverage) in the old one; the functions of any other target are unknown. Listed: "
        "targets with unknown functions or a failure.",
    )
    return Section("Targets not compared", explained if rows else (), Table((*columns, "unknown functions"), rows))


def _target_row(t: UnknownTarget) -> tuple[Cell, ...]:
    return (
        t.account_id,
        t.account_name,
        t.region,
        t.old.status,
        t.old.error_code,
        t.new.status,
        t.new.error_code,
        t.functions,
    )


def _category_section(category: Category, changes: tuple[FunctionChange, ...]) -> Section:
    heading = f"{category.value.capitalize()} ({len(changes)})"
    if category is Category.CHANGED:
        columns: tuple[str, ...] = (*_FUNCTION, "field", "old", "new")
        rows = tuple((*_function(c), f.field, f.old, f.new) for c in changes for f in c.fields)
    elif category is Category.UNKNOWN:
        columns = (*_FUNCTION, "old target status", "new target status")
        rows = tuple((*_function(c), f.old, f.new) for c in changes for f in c.fields)
    else:
        columns = (*_FUNCTION, "function_arn")
        rows = tuple((*_function(c), c.function_arn) for c in changes)
    return Section(heading, text=(_EXPLAINED[category],) if rows else (), table=Table(columns, rows))


def _function(change: FunctionChange) -> tuple[Cell, ...]:
    return change.account_id, change.account_name, change.region, change.function_name, change.version
