"""A Diff as a report: Markdown tables, CSV (one row per changed field) or one self-contained HTML page.

Markdown and HTML are the same document (inventory.reports.document), newly public functions first; CSV has
one row per function change with the columns `category, account_id, account_name, region, function_name,
function_arn, field, old, new`: first `newly_public`, one row per reason (the signal, old -> new), then one
row per changed field for `changed`, an empty field for `added` / `removed`, and `target_status` with the
target's old and new status for `unknown`. The enrichments not compared are in Markdown and HTML only.

The estate tables either snapshot has (diff_estate.py) follow: in Markdown and HTML a section per table (its
rows added, removed and changed) after "Estate tables not compared"; in CSV rows of category
`<table>:added|removed|changed`, `function_name` the row's function (or layer) name and `function_arn` its
identity (its ARN; a mapping's UUID). An alias or a layer version newly public is a `newly_public` row (in
Markdown and HTML, in Newly public) whose field names its table (`aliases.public_invoke`).
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

import pyarrow.compute as pc

from inventory.contract.columns import ENRICHMENTS
from inventory.contract.estate import ESTATE
from inventory.contract.results import Status
from inventory.readers.snapshot import Snapshot
from inventory.reports.diff import AccountCounts, Category, Diff, FunctionChange
from inventory.reports.diff_columns import EXCLUDED, compared_columns, compared_enrichments
from inventory.reports.diff_coverage import NOT_READ, EnrichmentGap, UnknownTarget
from inventory.reports.diff_estate import (
    ADDED,
    CHANGED,
    ESTATE_EXCLUDED,
    IDENTITY,
    NOT_WRITTEN,
    REMOVED,
    RowChange,
    TableDiff,
    TableGap,
)
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
        if category == NEWLY_PUBLIC:
            rows += [
                (NEWLY_PUBLIC, *_row(c), f"{c.table}.{f.field}", f.old, f.new)
                for c in diff.estate.newly_public
                for f in c.fields
            ]
    for table in diff.estate.tables:
        for row in table.changes:
            changed: list[tuple[Cell, Cell, Cell]] = [(f.field, f.old, f.new) for f in row.fields] or [
                (None, None, None)
            ]
            rows += [(f"{table.table}:{row.category}", *_row(row), *field) for field in changed]
    return Table(CSV_COLUMNS, tuple(rows))


def _row(change: RowChange) -> tuple[Cell, ...]:
    return change.account_id, change.account_name, change.region, change.name, change.identity


def diff_document(diff: Diff) -> Document:
    counts = diff.counts()
    none = "no function changes" if diff.estate.tables else "no changes"
    total = ", ".join(f"{counts[c]} {c.value}" for c in Category) if diff.changes else none
    warnings = [f"old snapshot: {w}" for w in diff.old.warnings] + [f"new snapshot: {w}" for w in diff.new.warnings]
    if diff.any_newly_public:
        rows = len(diff.estate.newly_public)
        estate = f", {rows} alias(es) or layer version(s)" if rows else ""
        warnings.append(f"Newly public: {len(diff.newly_public)} function(s){estate} (see Newly public).")
    warnings += _absent(diff)
    if counts[Category.UNKNOWN]:
        warnings.append(
            f"Unknown functions: {counts[Category.UNKNOWN]}. Their account and region were not listed in both "
            "snapshots (see Targets not compared)."
        )
    return Document(
        title="Lambda inventory diff",
        lead=(
            f"From {diff.old.source} to {diff.new.source}: {total}; {diff.unchanged} unchanged.",
            *_estate_lead(diff),
        ),
        warnings=tuple(warnings),
        sections=(
            _public_section(diff.newly_public, diff.estate.newly_public),
            Section("Snapshots", table=_snapshots(diff.old, diff.new)),
            Section("By account", table=_by_account(diff), empty="No functions in either snapshot."),
            _targets_section(diff.unknown_targets),
            _gaps_section(diff.enrichment_gaps),
            *(_category_section(category, diff.of(category)) for category in Category),
            *_estate_sections(diff),
        ),
    )


def _estate_lead(diff: Diff) -> tuple[str, ...]:
    if not diff.estate.tables:
        return ()
    counts = "; ".join(
        f"{t.table} {t.count(ADDED)} added, {t.count(REMOVED)} removed, {t.count(CHANGED)} changed"
        for t in diff.estate.tables
    )
    return (f"Estate tables: {counts}.",)


def _estate_sections(diff: Diff) -> tuple[Section, ...]:
    if not diff.estate.tables:
        return ()
    return (_table_gaps_section(diff.estate.gaps), *(_table_section(t) for t in diff.estate.tables))


def _table_gaps_section(gaps: tuple[TableGap, ...]) -> Section:
    rows = tuple((g.table, g.enrichment, g.old, g.new, f"all {g.of}" if g.everywhere else _targets_of(g)) for g in gaps)
    explained = (
        "An estate table is compared only for the targets listed in both snapshots whose status rows both say "
        "its enrichment was read (ok): a table with no rows where the read failed means not read, never none. "
        f"Here it was not: {NOT_READ} means the run did not ask for it, {NOT_WRITTEN} that the status says ok "
        "but the snapshot has no such table.",
    )
    columns = ("table", "enrichment", "old", "new", "targets")
    return Section("Estate tables not compared", explained if rows else (), Table(columns, rows))


def _targets_of(gap: TableGap) -> str:
    return ", ".join(f"{account} {region}" for account, region in gap.targets)


def _table_section(table: TableDiff) -> Section:
    counts = ", ".join(f"{table.count(c)} {c}" for c in (ADDED, REMOVED, CHANGED))
    columns = ("change", "account_id", "account_name", "region", "name", IDENTITY[table.table], "field", "old", "new")
    rows: list[tuple[Cell, ...]] = []
    for change in table.changes:
        fields: list[tuple[Cell, Cell, Cell]] = [(f.field, f.old, f.new) for f in change.fields] or [(None, None, None)]
        rows += [(change.category, *_row(change), *field) for field in fields]
    excluded = sorted(
        name for name in ESTATE_EXCLUDED if name not in table.columns and name in ESTATE[table.table].schema.names
    )
    explained = (
        f"Rows matched by account, region and {IDENTITY[table.table]}; {table.unchanged} unchanged. Every column "
        f"is compared but {', '.join(excluded)} (docs/usage.md says why). One row per changed field.",
    )
    return Section(f"Estate: {table.table} ({counts})", explained if rows else (), Table(columns, tuple(rows)))


def _absent(diff: Diff) -> list[str]:
    """A warning naming the columns not compared because a snapshot was written without them, if any."""
    missing = [name for name in compared_columns() if name not in diff.columns]
    if not missing:
        return []
    sides = " and ".join(side for side, s in (("old", diff.old), ("new", diff.new)) if s.absent_columns)
    return [f"Not compared, as the {sides} snapshot was written without them: {', '.join(missing)}."]


def _public_section(changes: tuple[FunctionChange, ...], estate: tuple[RowChange, ...] = ()) -> Section:
    columns = (*_FUNCTION, "function", "why", "old", "new")
    rows = tuple((*_function(c), c.category.value, f.field, f.old, f.new) for c in changes for f in c.fields)
    rows += tuple(
        (c.account_id, c.account_name, c.region, c.name, c.detail, c.category, f"{c.table}.{f.field}", f.old, f.new)
        for c in estate
        for f in c.fields
    )
    explained: tuple[str, ...] = (
        "Public in the new snapshot and not in the old one, or added and public; or its public_actions gained "
        "an action. Public: public_invoke true or public_actions not empty (policy), or a function URL with "
        "auth type NONE (urls), as read by the enrichments both snapshots read (see Enrichments not compared).",
    )
    if estate:
        explained += (
            "An alias (public_invoke, public_actions: aliases) or a layer version (public_actions: layer_versions) "
            "counts too, where both snapshots read its table: its why names the table, its function_name the "
            "function or layer, its version the alias or the layer version.",
        )
    count = len(changes) + len(estate)
    return Section(f"Newly public ({count})", explained if rows else (), Table(columns, rows))


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
    for name in dict.fromkeys([*old.tables, *new.tables]):
        rows.append((f"{name} rows", *(_table_rows(s, name) for s in (old, new))))
    return Table(("", "old", "new"), tuple(rows))


def _table_rows(snapshot: Snapshot, name: str) -> str:
    table = snapshot.tables.get(name)
    return "no table" if table is None else str(table.num_rows)


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
