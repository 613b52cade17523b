"""What changed in the estate tables (contract/estate.py) between two snapshots: rows added, removed, changed.

Each estate table present in either snapshot is compared row by row on its IDENTITY (with account and region),
every column but those ESTATE_EXCLUDED names (with the reason), as diff_columns.py decides for functions. Only
for the targets listed in both snapshots (diff_coverage.py's rule) where both status rows say the table's
enrichment was read (`ok`), and the snapshot has the table: a table with no rows for a target whose read
failed means "not read", never "none". Everywhere else `gaps` says which table was not compared, its state
in each snapshot and where, one line per case. A target new to coverage (no status row in OLD) whose read is
`ok` in NEW has its rows added, as its functions are.

Newly public (as diff_public.py judges functions): an alias public by `public_invoke` or `public_actions`, a
layer version by `public_actions`, when added and public, public now and not before, or its public_actions
gained an action. Judged columns a snapshot's file lacks are not evidence either way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from inventory.contract.estate import ESTATE, ESTATE_TABLES, EstateTable
from inventory.contract.results import Status
from inventory.readers.snapshot_type import Snapshot
from inventory.reports.diff_columns import FieldChange, normal, text
from inventory.reports.diff_coverage import ABSENT, DiffCoverage, TargetKey

ADDED, REMOVED, CHANGED = "added", "removed", "changed"
NOT_WRITTEN = "no table"  # the status says ok but the snapshot has no file (or lake rows) of the table

# The column a row is known by in its table (with account_id and region): the API's own identifier.
IDENTITY: dict[str, str] = {
    "event_source_mappings": "uuid",
    "layers": "layer_arn",
    "layer_versions": "layer_version_arn",
    "aliases": "alias_arn",
    "event_invoke_configs": "function_arn",  # qualified: one config per function version or alias
    "provisioned_concurrency": "function_arn",  # qualified: one config per version or alias
    "code_signing_configs": "code_signing_config_arn",
}

_KEY = "the key: a row is matched by account, region and its table's identity (IDENTITY)"
_CHANGE_MARK = "changes with every update of the row, saying that it changed, not what (the compared columns)"
_IN_ARN = "part of the row's identity ARN: a different one is a row removed and another added"
# Columns never compared, in any estate table that has them, each with the reason (docs/usage.md lists them);
# and each table's IDENTITY column, the key (a mapping's function_arn is compared: it is not its key).
ESTATE_EXCLUDED: dict[str, str] = {
    "snapshot_time": "the run's time: differs on every run",
    "account_id": _KEY,
    "region": _KEY,
    "account_name": "the account's, not the row's: a change would mark every row of the account changed",
    "function_name": "the function of the row's ARN (its identity; a mapping's compared function_arn)",
    "layer_name": _IN_ARN,
    "name": _IN_ARN,  # an alias's name
    "version": _IN_ARN,  # a layer version's number
    "code_signing_config_id": _IN_ARN,
    "event_source_mapping_arn": "the same mapping as its uuid, the key",
    "last_modified": f"{_CHANGE_MARK}; the demo's emulator sets it anew every run",
    "revision_id": f"{_CHANGE_MARK} (an alias's, or its policy's); the demo's emulator sets it anew every run",
    "last_processing_result": "the poller's latest outcome: changes run to run without any change to the mapping",
    "available": "the allocation's progress: changes while it is IN_PROGRESS; requested and status are compared",
    "allocated": "the allocation's progress: changes while it is IN_PROGRESS; requested and status are compared",
}

# Lists whose order means nothing (compared as sets), beyond diff_columns.UNORDERED.
ESTATE_UNORDERED = frozenset(
    {
        "topics",
        "queues",
        "metrics",
        "function_response_types",
        "filter_patterns",
        "source_access_configurations",
        "compatible_architectures",
        "compatible_runtimes",
        "latest_compatible_architectures",
        "latest_compatible_runtimes",
        "allowed_signing_profile_version_arns",
        "public_actions",
        "principals",
        "invoke_principals",
        "msk_schema_registry_access",
        "kafka_schema_registry_access",
        "msk_schema_validation_attributes",
        "kafka_schema_validation_attributes",
    }
)

# The tables whose rows may be public, and their signals: (table, column).
PUBLIC_SIGNALS: dict[str, tuple[str, ...]] = {
    "aliases": ("public_invoke", "public_actions"),
    "layer_versions": ("public_actions",),
}
# What names a public row for a reader besides its identity: (the function or layer, the alias or version).
_NAMED_BY: dict[str, tuple[str, str]] = {
    "aliases": ("function_name", "name"),
    "layer_versions": ("layer_name", "version"),
}


def compared_columns(table: EstateTable, absent: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The table's columns diff compares, in schema order, when the snapshots lack `absent`."""
    excluded = {*ESTATE_EXCLUDED, IDENTITY[table.name], *absent}
    return tuple(name for name in table.schema.names if name not in excluded)


@dataclass(frozen=True)
class RowChange:
    table: str
    category: str  # added / removed / changed
    account_id: str
    account_name: str
    region: str
    name: str  # the row's function (or layer) name, where the table has one
    identity: str  # the value of IDENTITY's column
    fields: tuple[FieldChange, ...] = ()  # changed: what changed; newly public: why
    detail: str = ""  # newly public: the alias's name or the layer version's number


@dataclass(frozen=True)
class TableDiff:
    table: str
    changes: tuple[RowChange, ...]  # sorted by account, region, name, identity
    unchanged: int
    columns: tuple[str, ...]  # compared

    def count(self, category: str) -> int:
        return sum(1 for c in self.changes if c.category == category)


@dataclass(frozen=True)
class TableGap:
    """A table not compared for some targets listed in both snapshots: its state in each, and where."""

    table: str
    enrichment: str
    old: str  # ok, failed (code), skipped, not read, or NOT_WRITTEN
    new: str
    targets: tuple[TargetKey, ...]
    of: int  # targets listed in both

    @property
    def everywhere(self) -> bool:
        return len(self.targets) == self.of


@dataclass(frozen=True)
class EstateDiff:
    tables: tuple[TableDiff, ...] = ()  # each estate table either snapshot has, in ESTATE_TABLES' order
    gaps: tuple[TableGap, ...] = ()
    newly_public: tuple[RowChange, ...] = ()

    @property
    def has_changes(self) -> bool:
        return any(t.changes for t in self.tables)


def diff_estate(old: Snapshot, new: Snapshot, coverage: DiffCoverage) -> EstateDiff:
    present = [t for t in ESTATE_TABLES if t.name in old.tables or t.name in new.tables]
    sides = _Sides(old, new, coverage)
    tables, gaps, public = [], [], []
    for table in present:
        gaps += sides.gaps(table, table.enrichment)
        compared = sides.read_in_both(table, table.enrichment)
        judged = compared
        if table.judging != table.enrichment:  # its judged columns: where both read what fills them
            gaps += sides.gaps(table, table.judging)
            judged = compared & sides.read_in_both(table, table.judging)
        result, newly = _table_diff(table, old, new, compared, judged)
        tables.append(result)
        public += newly
    return EstateDiff(tuple(tables), tuple(gaps), tuple(sorted(public, key=_order)))


@dataclass(frozen=True)
class _Sides:
    old: Snapshot
    new: Snapshot
    coverage: DiffCoverage

    def states(self, target: TargetKey, table: EstateTable, enrichment: str) -> tuple[str, str]:
        """What each snapshot's status says of `enrichment` for the table at the target."""
        coverage = self.coverage
        return (
            _state(self.old, coverage.old.get(target), table, enrichment),
            _state(self.new, coverage.new.get(target), table, enrichment),
        )

    def read_in_both(self, table: EstateTable, enrichment: str) -> set[TargetKey]:
        """The targets listed in both (or new to coverage) where `enrichment` was read for the table in each."""
        return {t for t in self.coverage.comparable if self._read(t, table, enrichment)}

    def _read(self, target: TargetKey, table: EstateTable, enrichment: str) -> bool:
        before, after = self.states(target, table, enrichment)
        return after == Status.OK and (target not in self.coverage.old or before == Status.OK)

    def gaps(self, table: EstateTable, enrichment: str) -> list[TableGap]:
        both = sorted(t for t in self.coverage.comparable if t in self.coverage.old)
        where: dict[tuple[str, str], list[TargetKey]] = defaultdict(list)
        for target in both:
            pair = self.states(target, table, enrichment)
            if pair != (Status.OK, Status.OK):
                where[pair].append(target)
        return [TableGap(table.name, enrichment, *pair, tuple(t), len(both)) for pair, t in sorted(where.items())]


def _state(snapshot: Snapshot, target: Any, table: EstateTable, enrichment: str) -> str:
    state = target.enrichment(enrichment) if target is not None else ABSENT
    return NOT_WRITTEN if state == Status.OK and table.name not in snapshot.tables else str(state)


def _keyed(snapshot: Snapshot, table: EstateTable, compared: set[TargetKey]) -> dict[tuple[str, str, str], Row]:
    rows = snapshot.tables.get(table.name)
    if rows is None:
        return {}
    identity = IDENTITY[table.name]
    keyed: dict[tuple[str, str, str], Row] = {}
    for row in rows.to_pylist():
        if (row["account_id"], row["region"]) in compared:
            keyed.setdefault((row["account_id"], row["region"], str(row[identity] or "")), row)
    return keyed


Row = dict[str, Any]


def _table_diff(
    table: EstateTable, old: Snapshot, new: Snapshot, compared: set[TargetKey], judged: set[TargetKey]
) -> tuple[TableDiff, list[RowChange]]:
    """The table's changes where `compared`; its judged columns (and so what is newly public) where `judged`."""
    absent = frozenset().union(*(s.table_absent_columns.get(table.name, ()) for s in (old, new)))
    columns = compared_columns(table, absent)
    unjudged = tuple(name for name in columns if name not in {name for name, _, _ in table.judged})
    kinds = {name: table.schema.field(name).type for name in columns}
    before, after = _keyed(old, table, compared), _keyed(new, table, compared)
    changes = [_change(table, REMOVED, before[k]) for k in before.keys() - after.keys()]
    changes += [_change(table, ADDED, after[k]) for k in after.keys() - before.keys()]
    unchanged = 0
    for key in before.keys() & after.keys():
        fields = tuple(
            FieldChange(name, text(before[key][name], kinds[name]), text(after[key][name], kinds[name]))
            for name in (columns if key[:2] in judged else unjudged)
            if _normal(name, before[key][name]) != _normal(name, after[key][name])
        )
        if fields:
            changes.append(_change(table, CHANGED, after[key], fields))
        else:
            unchanged += 1
    public: list[RowChange] = []
    signals = tuple(s for s in PUBLIC_SIGNALS.get(table.name, ()) if s not in absent)
    for key, row in after.items():
        if key[:2] not in judged:
            continue
        why = _public_reasons(before.get(key), row, signals)
        if why:
            public.append(_change(table, CHANGED if key in before else ADDED, row, why))
    return TableDiff(table.name, tuple(sorted(changes, key=_order)), unchanged, columns), public


def _normal(name: str, value: Any) -> Any:
    value = normal(name, value)
    return tuple(sorted(value)) if name in ESTATE_UNORDERED and isinstance(value, tuple) else value


def _exposed(column: str, value: Any) -> frozenset[str]:
    if column == "public_invoke":
        return frozenset({"invoke"}) if value else frozenset()
    return frozenset(value or ())


def _public_reasons(before: Row | None, after: Row, signals: Sequence[str]) -> tuple[FieldChange, ...]:
    """Why the row is newly public (one change per signal), or (): added and public; public now by a signal
    that was not, and nothing made it public before; or its public_actions gained an action."""
    now = {c: _exposed(c, after[c]) for c in signals}
    if before is None:
        return tuple(FieldChange(c, "", text(after[c])) for c in signals if now[c])
    then = {c: _exposed(c, before[c]) for c in signals}
    gained = [c for c in signals if now[c] - then[c]]
    if not gained or (any(then.values()) and "public_actions" not in gained):
        return ()
    return tuple(FieldChange(c, text(before[c]), text(after[c])) for c in gained)


def _change(table: EstateTable, category: str, row: Row, fields: tuple[FieldChange, ...] = ()) -> RowChange:
    named, detail = _NAMED_BY.get(table.name, ("function_name", ""))
    return RowChange(
        table.name,
        category,
        row["account_id"],
        row["account_name"],
        row["region"],
        str(row.get(named) or ""),
        str(row[IDENTITY[table.name]] or ""),
        fields,
        str(row.get(detail) or "") if detail else "",
    )


def _order(change: RowChange) -> tuple[Any, ...]:
    return (ESTATE_TABLES.index(ESTATE[change.table]), change.account_id, change.region, change.name, change.identity)
