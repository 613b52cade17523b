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

Every column is compared but those diff_columns.py excludes (with the reason): enrichment columns only on
functions both snapshots read the enrichment for, and the enrichments not read in both are named per target
(diff_coverage.py's gaps). Newly public functions (diff_public.py) are listed apart, and are a gate of their
own (`--fail-on newly-public`). Never the environment variable values (the inventory has none). The estate
tables either snapshot has are compared row by row (diff_estate.py): their changes count for `--fail-on
change`, and an alias or a layer version newly public for `--fail-on newly-public`.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from inventory.readers.snapshot import Snapshot
from inventory.reports.coverage import read_mask
from inventory.reports.diff_columns import (
    ENRICHMENT_OF,
    FieldChange,
    as_text,
    compared_columns,
    compared_enrichments,
    normal,
    text,
)
from inventory.reports.diff_coverage import DiffCoverage, EnrichmentGap, UnknownTarget
from inventory.reports.diff_estate import EstateDiff, diff_estate
from inventory.reports.diff_public import newly_public

_IDENTITY = ("account_id", "account_name", "region", "function_name")
_KEY = ("account_id", "region", "base_arn", "version_key")
_UNQUALIFIED = r"^(arn:[^:]*:lambda:[^:]*:[^:]*:function:[^:]*):.*$"
LATEST = "$LATEST"
_BATCH = 8192  # rows materialised at a time when comparing functions present in both snapshots


class Category(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    UNKNOWN = "unknown"


class Gate(StrEnum):
    """`diff --fail-on GATE`: what makes it exit with the gate's code."""

    CHANGE = "change"  # anything added, removed or changed (`--fail-on-change` says the same)
    NEWLY_PUBLIC = "newly-public"  # a function (diff_public.py), an alias or a layer version (diff_estate.py)


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
    newly_public: tuple[FunctionChange, ...]  # added or changed; fields: why (diff_public.py); sorted as changes
    columns: tuple[str, ...]  # the columns compared (diff_columns.py)
    enrichment_gaps: tuple[EnrichmentGap, ...]  # enrichments not compared for targets listed in both
    estate: EstateDiff = field(default_factory=EstateDiff)  # estate rows added, removed, changed; newly public

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
        """Anything added, removed or changed, functions or estate rows (unknown functions are not changes)."""
        return any(c.category is not Category.UNKNOWN for c in self.changes) or self.estate.has_changes

    @property
    def any_newly_public(self) -> bool:
        """A function, an alias or a layer version newly public."""
        return bool(self.newly_public or self.estate.newly_public)

    def tripped(self, gates: Collection[Gate]) -> bool:
        """Whether any of `gates` trips: a change (CHANGE) or something newly public (NEWLY_PUBLIC)."""
        return (Gate.CHANGE in gates and self.has_changes) or (Gate.NEWLY_PUBLIC in gates and self.any_newly_public)


def diff_snapshots(old: Snapshot, new: Snapshot) -> Diff:
    coverage = DiffCoverage.of(old.status, new.status)
    joined = _keys(old.functions, "old_row").join(_keys(new.functions, "new_row"), list(_KEY), join_type="full outer")
    target = pc.binary_join_element_wise(joined["account_id"], joined["region"], "\x1f")
    known = pc.is_in(target, value_set=pa.array(["\x1f".join(t) for t in coverage.comparable], pa.string()))
    has_old, has_new = pc.is_valid(joined["old_row"]), pc.is_valid(joined["new_row"])
    added_rows = joined.filter(pc.and_(known, pc.invert(has_old)))["new_row"].combine_chunks()
    added = _listed(Category.ADDED, new.functions, added_rows)
    removed = _listed(Category.REMOVED, old.functions, joined.filter(pc.and_(known, pc.invert(has_new)))["old_row"])
    both = joined.filter(pc.and_(known, pc.and_(has_old, has_new)))
    columns = compared_columns(old.absent_columns | new.absent_columns)
    changed = list(_changed(old.functions, new.functions, both, columns))
    unknown = _unknown(old.functions, new.functions, joined.filter(pc.invert(known)), coverage)
    changes = tuple(sorted(added + removed + changed + unknown, key=_order))
    return Diff(
        old=old,
        new=new,
        changes=changes,
        accounts=_accounts(changes, Counter(both["account_id"].to_pylist()), coverage.names),
        unknown_targets=coverage.unknown_targets(Counter((c.account_id, c.region) for c in unknown)),
        newly_public=_newly_public(old, new, added_rows, both),
        columns=columns,
        enrichment_gaps=coverage.gaps(compared_enrichments()),
        estate=diff_estate(old, new, coverage),
    )


def _newly_public(old: Snapshot, new: Snapshot, added: pa.Array, both: pa.Table) -> tuple[FunctionChange, ...]:
    """The functions newly public, as FunctionChanges (added or changed) whose fields say why."""
    found = [(index, why) for index, why in newly_public(old, new, added, both) if why]
    rows = _rows(new.functions, pa.array([index for index, _ in found], pa.int64()), _IDENTITY)
    added_rows = set(added.to_pylist())
    listed = [
        _change(Category.ADDED if index in added_rows else Category.CHANGED, row, why)
        for (index, why), row in zip(found, rows, strict=True)
    ]
    return tuple(sorted(listed, key=_order))


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


def _changed(old: pa.Table, new: pa.Table, both: pa.Table, compared: tuple[str, ...]) -> Iterator[FunctionChange]:
    """Functions in both snapshots whose compared fields differ. Arrow flags the fields that may differ
    (as text, null as ""; an enrichment's only where both rows read it); Python confirms only those (list
    order, see diff_columns.normal), a batch of rows at a time."""
    columns = (*_IDENTITY, *compared)
    kinds = {name: new.schema.field(name).type for name in compared}
    readable = _both_read(old, new, both, compared)
    old, new = (t.select(["function_arn", "version", *columns]).combine_chunks() for t in (old, new))
    flags = pa.table(
        {
            name: _differs(old[name].take(both["old_row"]), new[name].take(both["new_row"]), readable.get(name))
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
                FieldChange(name, text(before[name], kinds[name]), text(after[name], kinds[name]))
                for name in compared
                if flagged[name] and normal(name, before[name]) != normal(name, after[name])
            )
            if fields:
                yield _change(Category.CHANGED, after, fields)


def _differs(before: pa.ChunkedArray, after: pa.ChunkedArray, readable: pa.Array | None) -> pa.ChunkedArray:
    """Per row: the values' text differs (and, for an enrichment's column, both rows read it)."""
    differs = pc.not_equal(as_text(before), as_text(after))
    return differs if readable is None else pc.and_(differs, readable)


def _both_read(old: pa.Table, new: pa.Table, both: pa.Table, compared: tuple[str, ...]) -> dict[str, pa.Array]:
    """Each compared enrichment column -> per row of `both`: both rows' `enriched` name its enrichment."""
    masks: dict[str, pa.Array] = {}
    for enrichment in {ENRICHMENT_OF[name] for name in compared if name in ENRICHMENT_OF}:
        before = read_mask(old, enrichment).take(both["old_row"].combine_chunks())
        after = read_mask(new, enrichment).take(both["new_row"].combine_chunks())
        masks[enrichment] = pc.and_(before, after)
    return {name: masks[ENRICHMENT_OF[name]] for name in compared if name in ENRICHMENT_OF}


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
