"""A Diff as a report: Markdown tables, CSV (one row per changed field) or one self-contained HTML page.

Markdown and HTML are the same document (inventory.reports.document); CSV has one row per function change with the
columns `category, account_id, account_name, region, function_name, function_arn, field, old, new`: one row
per changed field for `changed`, an empty field for `added` / `removed`, and `target_status` with the
target's old and new status for `unknown`.
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

import pyarrow.compute as pc

from inventory.contract.results import Status
from inventory.readers.snapshot import Snapshot
from inventory.reports.diff import COMPARED_FIELDS, AccountCounts, Category, Diff, FunctionChange, UnknownTarget
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
_COMPARED = ", ".join(
    f"{name} (names only)" if name == "environment_variable_names" else name for name in COMPARED_FIELDS
)
_FUNCTION = ("account_id", "account_name", "region", "function_name", "version")
_STATUS_ORDER = tuple(Status)  # ok, skipped, failed
_EXPLAINED = {
    Category.ADDED: "In the new snapshot only (its target was listed in both, or is new coverage).",
    Category.REMOVED: "In the old snapshot only, and its target was listed in the new one.",
    Category.CHANGED: f"Fields compared: {_COMPARED}. One row per changed field.",
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
    rows: list[tuple[Cell, ...]] = []
    for category in Category:
        for change in diff.of(category):
            identity = (category.value, change.account_id, change.account_name, change.region, change.function_name)
            fields: list[tuple[Cell, Cell, Cell]] = [(f.field, f.old, f.new) for f in change.fields] or [
                (None, None, None)
            ]
            rows += [(*identity, change.function_arn, *field) for field in fields]
    return Table(CSV_COLUMNS, tuple(rows))


def diff_document(diff: Diff) -> Document:
    counts = diff.counts()
    total = ", ".join(f"{counts[c]} {c.value}" for c in Category) if diff.changes else "no changes"
    warnings = [f"old snapshot: {w}" for w in diff.old.warnings] + [f"new snapshot: {w}" for w in diff.new.warnings]
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
            Section("Snapshots", table=_snapshots(diff.old, diff.new)),
            Section("By account", table=_by_account(diff), empty="No functions in either snapshot."),
            _targets_section(diff.unknown_targets),
            *(_category_section(category, diff.of(category)) for category in Category),
        ),
    )


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
