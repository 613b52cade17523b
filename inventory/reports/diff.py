"""What changed between two inventory snapshots: functions added, removed, changed, or unknown.

Functions are keyed by (function ARN without its qualifier, version). Lambda's `FunctionArn` carries the
`:N` qualifier for a published version, and `$LATEST` is sometimes qualified (`:$LATEST`) and sometimes not,
so the qualifier is stripped and the `version` column (null read as `$LATEST`) keys the version instead.
Inventories listed with `function_version: ALL` therefore compare version by version, and a `$LATEST` whose
ARN changed form between two runs is still the same function. Reports show the canonical ARN: unqualified
for `$LATEST`, `<arn>:<version>` for a published version.

A function can only be called added or removed when both snapshots really looked at its (account, region)
target. The rules, by the target's status in the old and new status tables (`absent` = no row):

* new `ok`, old `ok`: compared; added / removed / changed as the rows say;
* new `ok`, old `absent`: new coverage (an account that joined the organization): its functions are added;
* new anything else (`failed`, `skipped`, `absent`), or old `failed` / `skipped`: its functions are unknown.

Only the functions' rows are compared, never the environment variable values (the inventory has none).
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from inventory.contract.results import Status
from inventory.readers.snapshot import Snapshot

_LISTS = ("architectures", "layer_arns", "environment_variable_names")
# Added with the model-coverage columns (issue 12): compared only when both snapshots have the column (an
# older file reads it as null: see Snapshot.absent_columns). `layers` also catches a layer whose code size or
# signing changed under the same ARN; `config_sha256` is left out (it changes with any field, these say which).
_ADDED_LISTS = ("layers", "file_system_configs", "image_entry_point", "image_command")
_ADDED = (
    *_ADDED_LISTS,
    "image_working_directory",
    "environment_error_code",
    "capacity_provider_arn",
    "durable_retention_period_days",
    "durable_execution_timeout",
    "runtime_config_arn",
    "tenant_isolation_mode",
)
COMPARED_FIELDS = ("runtime", "memory_size", "timeout", "role", "code_sha256", *_LISTS, *_ADDED)
_SORTED_LISTS = frozenset({"environment_variable_names"})  # order carries no meaning (layer order does)
_IDENTITY = ("account_id", "account_name", "region", "function_name")
_KEY = ("account_id", "region", "base_arn", "version_key")
_UNQUALIFIED = r"^(arn:[^:]*:lambda:[^:]*:[^:]*:function:[^:]*):.*$"
LATEST = "$LATEST"
ABSENT = "absent"  # a target with no row in a status table
_BATCH = 8192  # rows materialised at a time when comparing functions present in both snapshots


class Category(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class TargetState:
    status: str  # a Status (ok / skipped / failed), or ABSENT
    error_code: str | None = None

    def __str__(self) -> str:
        return f"{self.status} ({self.error_code})" if self.error_code else self.status


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str  # as text: lists as JSON arrays, null as ""
    new: str


@dataclass(frozen=True)
class FunctionChange:
    category: Category
    account_id: str
    account_name: str
    region: str
    function_name: str
    function_arn: str  # canonical: unqualified for $LATEST, `<arn>:<version>` for a published version
    version: str
    fields: tuple[FieldChange, ...] = ()  # changed: what changed; unknown: the target's status old -> new


@dataclass(frozen=True)
class UnknownTarget:
    """A target not compared: some of its functions (maybe none) are unknown; listed if any or if it failed."""

    account_id: str
    account_name: str
    region: str
    old: TargetState
    new: TargetState
    functions: int  # functions of it reported unknown


@dataclass(frozen=True)
class AccountCounts:
    account_id: str
    account_name: str
    counts: Mapping[Category, int]
    unchanged: int


@dataclass(frozen=True)
class Diff:
    old: Snapshot
    new: Snapshot
    changes: tuple[FunctionChange, ...]  # sorted by account, region, function, version
    accounts: tuple[AccountCounts, ...]  # every account with a function in either snapshot
    unknown_targets: tuple[UnknownTarget, ...]

    def of(self, category: Category) -> tuple[FunctionChange, ...]:
        return tuple(c for c in self.changes if c.category is category)

    def counts(self) -> dict[Category, int]:
        counted = Counter(c.category for c in self.changes)
        return {category: counted[category] for category in Category}

    @property
    def unchanged(self) -> int:
        """Functions compared and found equal."""
        return sum(a.unchanged for a in self.accounts)

    @property
    def has_changes(self) -> bool:
        """Anything added, removed or changed (unknown functions are not changes)."""
        return any(c.category is not Category.UNKNOWN for c in self.changes)


def diff_snapshots(old: Snapshot, new: Snapshot) -> Diff:
    coverage = DiffCoverage.of(old.status, new.status)
    joined = _keys(old.functions, "old_row").join(_keys(new.functions, "new_row"), list(_KEY), join_type="full outer")
    target = pc.binary_join_element_wise(joined["account_id"], joined["region"], "\x1f")
    known = pc.is_in(target, value_set=pa.array(["\x1f".join(t) for t in coverage.comparable], pa.string()))
    has_old, has_new = pc.is_valid(joined["old_row"]), pc.is_valid(joined["new_row"])
    added = _listed(Category.ADDED, new.functions, joined.filter(pc.and_(known, pc.invert(has_old)))["new_row"])
    removed = _listed(Category.REMOVED, old.functions, joined.filter(pc.and_(known, pc.invert(has_new)))["old_row"])
    both = joined.filter(pc.and_(known, pc.and_(has_old, has_new)))
    absent = old.absent_columns | new.absent_columns
    fields = tuple(name for name in COMPARED_FIELDS if name not in absent)
    changed = list(_changed(old.functions, new.functions, both, fields))
    unknown = _unknown(old.functions, new.functions, joined.filter(pc.invert(known)), coverage)
    changes = tuple(sorted(added + removed + changed + unknown, key=_order))
    return Diff(
        old=old,
        new=new,
        changes=changes,
        accounts=_accounts(changes, Counter(both["account_id"].to_pylist()), coverage.names),
        unknown_targets=coverage.unknown_targets(Counter((c.account_id, c.region) for c in unknown)),
    )


def _accounts(
    changes: tuple[FunctionChange, ...], compared: Counter[str], names: Mapping[str, str]
) -> tuple[AccountCounts, ...]:
    """Per account: functions in each category, and those compared and found equal."""
    counted: dict[str, Counter[Category]] = {account: Counter() for account in compared}
    named = {c.account_id: c.account_name for c in changes} | dict(names)
    for change in changes:
        counted.setdefault(change.account_id, Counter())[change.category] += 1
    return tuple(
        AccountCounts(
            account,
            named.get(account, account),
            {c: counted[account][c] for c in Category},
            compared[account] - counted[account][Category.CHANGED],
        )
        for account in sorted(counted)
    )


TargetKey = tuple[str, str]  # (account_id, region): a target as the status tables name it


@dataclass(frozen=True)
class DiffCoverage:
    """Each target's status in the old and the new snapshot, and which targets can be compared."""

    old: Mapping[TargetKey, TargetState]
    new: Mapping[TargetKey, TargetState]
    names: Mapping[str, str]  # account id -> name (the new snapshot's if both have it)

    @classmethod
    def of(cls, old: pa.Table, new: pa.Table) -> DiffCoverage:
        return cls(_states(old), _states(new), _names(old) | _names(new))

    def states(self, target: TargetKey) -> tuple[TargetState, TargetState]:
        return self.old.get(target, TargetState(ABSENT)), self.new.get(target, TargetState(ABSENT))

    @property
    def comparable(self) -> frozenset[TargetKey]:
        """Listed in the new snapshot, and listed in the old one or not a target of it at all (new coverage)."""
        return frozenset(
            t
            for t in self.new
            if self.states(t)[1].status == Status.OK and self.states(t)[0].status in (Status.OK, ABSENT)
        )

    def unknown_targets(self, unknown: Mapping[TargetKey, int]) -> tuple[UnknownTarget, ...]:
        """Targets not compared that matter: some of their functions are unknown, or one side failed."""
        listed = []
        for target in sorted((set(self.old) | set(self.new) | set(unknown)) - self.comparable):
            before, after = self.states(target)
            count = unknown.get(target, 0)
            if count or Status.FAILED in (before.status, after.status):
                name = self.names.get(target[0], target[0])
                listed.append(UnknownTarget(target[0], name, target[1], before, after, count))
        return tuple(listed)


def _states(status: pa.Table) -> dict[TargetKey, TargetState]:
    rows = status.select(["account_id", "region", "status", "error_code"]).to_pylist()
    return {(r["account_id"], r["region"]): TargetState(r["status"], r["error_code"]) for r in rows}


def _names(status: pa.Table) -> dict[str, str]:
    return dict(zip(status["account_id"].to_pylist(), status["account_name"].to_pylist(), strict=True))


def _keys(functions: pa.Table, row: str) -> pa.Table:
    """One row per function key with the index of its (first) row in `functions`."""
    keyed = pa.table(
        {
            "account_id": functions["account_id"],
            "region": functions["region"],
            "base_arn": pc.replace_substring_regex(functions["function_arn"], _UNQUALIFIED, r"\1"),
            "version_key": pc.coalesce(functions["version"], pa.scalar(LATEST)),
            row: pa.array(range(functions.num_rows), pa.int64()),
        }
    )
    return keyed.group_by(list(_KEY), use_threads=False).aggregate([(row, "min")]).rename_columns([*_KEY, row])


def _rows(functions: pa.Table, indices: pa.Array | pa.ChunkedArray, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    return functions.select(["function_arn", "version", *columns]).take(indices).to_pylist()  # type: ignore[no-any-return]


def _arn(row: Mapping[str, Any]) -> tuple[str, str]:
    """(canonical ARN, version) of a row: see the module docstring."""
    version = row["version"] or LATEST
    base = re.sub(_UNQUALIFIED, r"\1", str(row["function_arn"] or ""))
    return (base if version == LATEST else f"{base}:{version}"), version


def _change(category: Category, row: Mapping[str, Any], fields: tuple[FieldChange, ...] = ()) -> FunctionChange:
    where = (row["account_id"], row["account_name"], row["region"], row["function_name"] or "")
    return FunctionChange(category, *where, *_arn(row), fields)


def _listed(category: Category, functions: pa.Table, indices: pa.ChunkedArray) -> list[FunctionChange]:
    return [_change(category, row) for row in _rows(functions, indices, _IDENTITY)]


def _changed(
    old: pa.Table, new: pa.Table, both: pa.Table, compared: tuple[str, ...] = COMPARED_FIELDS
) -> Iterator[FunctionChange]:
    """Functions in both snapshots whose compared fields differ. Arrow flags the fields that may differ
    (as text, null as ""); Python confirms only those (list order, see _normal), a batch of rows at a time."""
    columns = (*_IDENTITY, *compared)
    old, new = (t.select(["function_arn", "version", *columns]).combine_chunks() for t in (old, new))
    flags = pa.table(
        {
            name: pc.not_equal(_as_text(old[name].take(both["old_row"])), _as_text(new[name].take(both["new_row"])))
            for name in compared
        }
    )
    candidate = functools.reduce(pc.or_, flags.columns)
    candidates, flags = both.filter(candidate), flags.filter(candidate)
    for start in range(0, candidates.num_rows, _BATCH):
        part = candidates.slice(start, _BATCH)
        olds, news = _rows(old, part["old_row"], columns), _rows(new, part["new_row"], columns)
        for before, after, flagged in zip(olds, news, flags.slice(start, _BATCH).to_pylist(), strict=True):
            fields = tuple(
                FieldChange(name, text(before[name]), text(after[name]))
                for name in compared
                if flagged[name] and _normal(name, before[name]) != _normal(name, after[name])
            )
            if fields:
                yield _change(Category.CHANGED, after, fields)


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A compared column as text, null as "": equal text wherever _normal finds the values equal."""
    if pa.types.is_list(column.type):
        if pa.types.is_struct(column.type.value_type):  # each element's fields joined: list<struct> -> list<string>
            column = pa.chunked_array([_struct_text(chunk) for chunk in column.chunks], pa.list_(pa.string()))
        column = pc.binary_join(column, "\x1f")
    return pc.coalesce(column.cast(pa.string()), pa.scalar(""))


def _struct_text(chunk: pa.ListArray) -> pa.ListArray:
    values = chunk.values
    parts = [pc.coalesce(values.field(i).cast(pa.string()), pa.scalar("")) for i in range(values.type.num_fields)]
    joined = pc.binary_join_element_wise(*parts, "\x1e") if parts else pa.array([""] * len(values))
    return pa.ListArray.from_arrays(chunk.offsets, joined)  # null lists become [] (the same as empty here)


def _normal(field: str, value: Any) -> Any:
    """Null and empty are the same (a CSV round trip cannot tell them apart)."""
    if field in _LISTS or field in _ADDED_LISTS:
        items = [json.dumps(v, sort_keys=True) if isinstance(v, dict) else str(v) for v in value or []]
        return tuple(sorted(items) if field in _SORTED_LISTS else items)
    return "" if value is None else value


def text(value: Any) -> str:
    """A value as it is shown: lists as JSON arrays (as in the inventory's CSV), null as empty."""
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)


def _unknown(old: pa.Table, new: pa.Table, joined: pa.Table, coverage: DiffCoverage) -> list[FunctionChange]:
    """Functions of targets not compared, from whichever snapshot has them (the new one if both do)."""
    from_new = _rows(new, joined.filter(pc.is_valid(joined["new_row"]))["new_row"], _IDENTITY)
    from_old = _rows(old, joined.filter(pc.is_null(joined["new_row"]))["old_row"], _IDENTITY)
    found = []
    for row in from_new + from_old:
        before, after = coverage.states((row["account_id"], row["region"]))
        found.append(_change(Category.UNKNOWN, row, (FieldChange("target_status", str(before), str(after)),)))
    return found


def _order(change: FunctionChange) -> tuple[Any, ...]:
    """Account, region, function name, then $LATEST before versions 1, 2, ... 10."""
    number = int(change.version) if change.version.isdigit() else -1 if change.version == LATEST else 1 << 62
    return (change.account_id, change.region, change.function_name, number, change.function_arn, change.category)
