"""The estate around the functions (issue 20): one table per read beyond ListFunctions, declared once here.

Each table is read by an opt-in enrichment (`enrich:`; job/estate_reads.py), one account-region (or one of its
functions, or layers) at a time, and written as a table of the lake and as a file beside a single-file output
(`<stem>.<table>.<fmt>`: contract/layout.py). Its rows start with the target's columns (snapshot_time,
account_id, account_name, region), then the keys the read sets (`function_name`, `layer_name`), then every
member of the API's list item (estate_columns.py). They join the functions table on (account_id, region,
function_name), or on a function's `layers[].arn` = `layer_versions.layer_version_arn`.

A table whose read failed for an account-region has no rows for it, and the status rows (`enrichments`) say
so: never read "no rows" as "none" without that table's enrichment being `ok` for the target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import pyarrow as pa

from inventory.contract import estate_columns as cols
from inventory.contract.columns import ENRICHMENTS
from inventory.contract.runtime_table import RUNTIMES, RUNTIMES_SCHEMA
from inventory.contract.schema import TARGET_FIELDS

KEY_FIELDS: tuple[pa.Field, ...] = tuple(f for f in TARGET_FIELDS if f.name != "account_tags")


@dataclass(frozen=True)
class EstateTable:
    """One table of the estate: what reads it, which API list its rows come from, and its columns."""

    name: str  # the lake's table and the sibling file's infix
    enrichment: str  # the opt-in (`enrich:`) that reads it
    operation: str  # the botocore operation whose list items are the rows
    items: str  # the output member holding that list
    keys: tuple[str, ...]  # text columns the read sets from where it read, after the target's
    columns: cols.Columns
    excluded: Mapping[str, str] = field(default_factory=dict)  # members not read, and why
    judged: cols.Columns = ()  # columns the read judges from another answer (a policy), after the item's
    judged_by: str = ""  # the opt-in that fills `judged` when it is not `enrichment` (null where it was not read)

    @property
    def judging(self) -> str:
        """The enrichment whose read fills the judged columns."""
        return self.judged_by or self.enrichment

    @property
    def all_columns(self) -> cols.Columns:
        return (*self.columns, *self.judged)

    @cached_property
    def schema(self) -> pa.Schema:
        keys = [pa.field(name, pa.string(), nullable=False) for name in self.keys]
        return pa.schema([*KEY_FIELDS, *keys, *(pa.field(name, kind) for name, kind, _ in self.all_columns)])


_FUNCTION = ("function_name",)
ESTATE_TABLES: tuple[EstateTable, ...] = (
    EstateTable(
        "event_source_mappings",
        "event_source_mappings",
        "ListEventSourceMappings",
        "EventSourceMappings",
        _FUNCTION,  # the function the mapping invokes, from its FunctionArn (an alias's or version's too)
        cols.EVENT_SOURCE_MAPPING_COLUMNS,
        cols.EVENT_SOURCE_MAPPING_EXCLUDED,
    ),
    EstateTable("layers", "layers", "ListLayers", "Layers", (), cols.LAYER_COLUMNS),
    EstateTable(
        "layer_versions",
        "layers",
        "ListLayerVersions",
        "LayerVersions",
        ("layer_name",),
        cols.LAYER_VERSION_COLUMNS,
        judged=cols.LAYER_VERSION_JUDGED,
        judged_by="layer_policies",  # GetLayerVersionPolicy per version: its own opt-in, after `layers`
    ),
    EstateTable(
        "aliases", "aliases", "ListAliases", "Aliases", _FUNCTION, cols.ALIAS_COLUMNS, judged=cols.ALIAS_JUDGED
    ),
    EstateTable(
        "event_invoke_configs",
        "event_invoke_configs",
        "ListFunctionEventInvokeConfigs",
        "FunctionEventInvokeConfigs",
        _FUNCTION,
        cols.EVENT_INVOKE_CONFIG_COLUMNS,
    ),
    EstateTable(
        "provisioned_concurrency",
        "provisioned_concurrency",
        "ListProvisionedConcurrencyConfigs",
        "ProvisionedConcurrencyConfigs",
        _FUNCTION,
        cols.PROVISIONED_CONCURRENCY_COLUMNS,
    ),
    EstateTable(
        "code_signing_configs",
        "code_signing",
        "ListCodeSigningConfigs",
        "CodeSigningConfigs",
        (),
        cols.CODE_SIGNING_CONFIG_COLUMNS,
    ),
)
ESTATE: dict[str, EstateTable] = {table.name: table for table in ESTATE_TABLES}
# The enrichments that read estate tables, in the order they run (after columns.py's ENRICHMENTS).
ESTATE_ENRICHMENTS: tuple[str, ...] = tuple(
    dict.fromkeys(name for table in ESTATE_TABLES for name in (table.enrichment, table.judging))
)
# An enrichment that judges what another reads, and that one: asked without it, the config is refused.
NEEDS: dict[str, str] = {t.judged_by: t.enrichment for t in ESTATE_TABLES if t.judged_by}
ENRICHMENT_ORDER: tuple[str, ...] = (*ENRICHMENTS, *ESTATE_ENRICHMENTS)  # every enrichment, in the order they run


def tables_read_by(enrichments: Iterable[str]) -> tuple[EstateTable, ...]:
    """The estate tables a run with these enrichments writes, in ESTATE_TABLES' order."""
    asked = set(enrichments)
    return tuple(table for table in ESTATE_TABLES if table.enrichment in asked)


def run_tables(enrichments: Iterable[str]) -> dict[str, pa.Schema]:
    """The tables a run writes beside its functions: `runtimes` always, and the estate tables it reads."""
    return {RUNTIMES: RUNTIMES_SCHEMA, **{table.name: table.schema for table in tables_read_by(enrichments)}}


BESIDE_TABLES: tuple[str, ...] = (RUNTIMES, *ESTATE)  # every table that may be written beside the functions
