"""Public aliases and layer versions: the estate's own resource policies, as `aliases` and `layer_policies` judged.

An alias has a resource policy of its own (GetPolicy with the alias as Qualifier): it is public, whatever its
function's policy says, when that policy lets anyone perform an action on it (`public_actions`; `public_invoke`
its invoke subset). A layer version is shared with anyone when its policy (GetLayerVersionPolicy) grants
`lambda:GetLayerVersion` to `*` without an organization condition (`public_actions`); one shared with named
accounts or an organization is not public (its `principals` say with whom).

Each is known only for the targets whose status says its enrichment was read (coverage.py's table_reading):
the section says how far each was read, names the targets where it failed, and an empty list says whether that
means "none public" or only "none among those read". A table written before the policies were judged (its
file lacks `public_actions`) judges nothing, and the section says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from inventory.readers.snapshot import Snapshot
from inventory.reports.coverage import AccountRegion, TableReading, rows_read, table_reading
from inventory.reports.document import Cell, Section, Table
from inventory.reports.exposure import actions_cell

ALIAS, LAYER_VERSION = "alias", "layer version"
_JUDGED = "public_actions"
# kind -> (enrichment, table, the column naming its function or layer, the qualifier, the ARN, the principals)
_SOURCES: dict[str, tuple[str, str, str, str, str, str]] = {
    ALIAS: ("aliases", "aliases", "function_name", "name", "alias_arn", "invoke_principals"),
    LAYER_VERSION: ("layer_policies", "layer_versions", "layer_name", "version", "layer_version_arn", "principals"),
}


@dataclass(frozen=True)
class PublicResource:
    kind: str  # ALIAS or LAYER_VERSION
    where: AccountRegion
    name: str  # the alias's function, or the layer
    qualifier: str  # the alias's name, or the version's number
    arn: str | None
    actions: tuple[str, ...]  # public_actions
    principals: tuple[str, ...]  # an alias's invoke principals; a layer version's principals
    target: str  # an alias's function version (with its routing weights); "" for a layer version


@dataclass(frozen=True)
class KindReading:
    """How far one kind was read: its enrichment's reading, and whether its table's file judged the policies."""

    kind: str
    reading: TableReading
    judged: bool  # the table has public_actions (a file written before them does not)

    @property
    def checked(self) -> bool:
        return self.reading.collected and self.judged

    @property
    def line(self) -> str:
        if self.reading.collected and not self.judged:
            return f"{self.reading.enrichment}: read, but written before {_JUDGED} was judged: not checked"
        return self.reading.line


@dataclass(frozen=True)
class EstateExposure:
    resources: tuple[PublicResource, ...]  # aliases first, then layer versions; each by account, region, name
    readings: tuple[KindReading, ...]  # aliases, layer versions

    @property
    def checked(self) -> str:
        lines = "; ".join(r.line for r in self.readings)
        return f"Checked: {lines}." if any(r.checked for r in self.readings) else f"Not checked: {lines}."

    @property
    def empty(self) -> str:
        if not any(r.checked for r in self.readings):
            return "None listed because nothing was checked: this does not mean that no alias or layer is public."
        if all(r.checked and r.reading.complete for r in self.readings):
            return "No alias or layer version is public: both were read for every listed target."
        return (
            "None among the aliases and layer versions read, but not every target was read (see above): "
            "this is not a clean bill of health."
        )


def estate_exposure_of(snapshot: Snapshot) -> EstateExposure:
    found: list[PublicResource] = []
    readings = []
    for kind, (enrichment, table, *_) in _SOURCES.items():
        reading = table_reading(snapshot, enrichment)
        judged = _JUDGED not in snapshot.table_absent_columns.get(table, frozenset())
        readings.append(KindReading(kind, reading, judged))
        rows = rows_read(snapshot, reading, table)
        if rows is not None and judged and rows.num_rows:
            found += _public(kind, rows)
    return EstateExposure(tuple(found), tuple(readings))


def _public(kind: str, rows: pa.Table) -> list[PublicResource]:
    _, _, name, qualifier, arn, principals = _SOURCES[kind]
    public = pc.fill_null(pc.greater(pc.list_value_length(rows[_JUDGED]), 0), False)
    if kind == ALIAS:  # its verdict's invoke subset: public_actions holds it too, but either says public
        public = pc.or_(public, pc.fill_null(rows["public_invoke"], False))
    found = [
        PublicResource(
            kind,
            AccountRegion.of(row),
            row[name],
            str(row[qualifier]),
            row[arn],
            tuple(row[_JUDGED] or ()),
            tuple(row[principals] or ()),
            _routing(row) if kind == ALIAS else "",
        )
        for row in rows.filter(public).to_pylist()
    ]
    return sorted(found, key=lambda r: (r.where.account_id, r.where.region, r.name, r.qualifier))


def _routing(row: dict[str, Any]) -> str:
    """`3`, or `3 (4: 10%)` for an alias that sends a share of its invocations to another version."""
    weights = ", ".join(f"{version}: {share:.0%}" for version, share in row["routing_weights"] or ())
    return f"{row['function_version']} ({weights})" if weights else str(row["function_version"])


def estate_public_section(exposure: EstateExposure) -> Section:
    rows: tuple[tuple[Cell, ...], ...] = tuple(
        (
            r.where.account_id,
            r.where.account_name,
            r.where.region,
            r.kind,
            r.name,
            r.qualifier,
            r.target or None,
            actions_cell(r.actions, ""),
            ", ".join(r.principals) or "(none)",
            r.arn,
        )
        for r in exposure.resources
    )
    columns: tuple[str, ...] = ("account_id", "account", "region", "kind", "function or layer", "alias or version")
    columns += ("routes to", "public actions", "principals", "ARN")
    return Section(
        "Public aliases and layer versions",
        (
            "An alias's own resource policy lets anyone act on it (invoke it, most often), whatever its function's "
            "policy says; a layer version is shared with anyone (lambda:GetLayerVersion to *: anyone may download "
            "its content). One shared only with named accounts or an organization is not listed.",
            exposure.checked,
        ),
        Table(columns, rows),
        empty=exposure.empty,
    )
