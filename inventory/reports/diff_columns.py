"""Which columns `diff` compares, and how a value is compared and shown.

Every column of the inventory's schema (contract/schema.py) is compared, except the few in EXCLUDED, each with
its reason: the key, what differs on every run, what is the account's rather than the function's, and a fact
held twice (the short form of a list the detailed form also holds: the detailed one is compared, the short
one stands in only when a snapshot lacks the detailed column). A column added to the schema is therefore
compared from the day it exists; tests/reports/test_diff_columns.py fails until it has a sample change (or an
exclusion here). A column a snapshot was written without (Snapshot.absent_columns) is not compared.

Enrichment columns are compared only on functions both snapshots read the enrichment for (`enriched` names
it on both rows); ENRICHMENT_OF says which enrichment a column belongs to. The status table's columns are
accounted for in STATUS_COLUMNS: what diff reads them for, or why not.
"""

from __future__ import annotations

import json
from collections.abc import Set
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from inventory.contract.columns import ENRICHED_COLUMN, ENRICHMENT_COLUMNS, ENRICHMENTS, ENV_COLUMN
from inventory.contract.schema import INVENTORY_SCHEMA

_KEY = "the key: a function is matched by account, region, unqualified ARN and version"
_ACCOUNT = "the account's, not the function's: a change would mark every function of the account changed"
_IN_USE = "changes every run for any function in use (usage over a sliding 30-day window)"
_CHANGE_MARK = "changes with every update of the function, saying that it changed, not what (the compared columns)"

# Short form -> the detailed column holding the same fact and more: the detailed one is compared; the short
# one only when a snapshot lacks the detailed one (a file written before it), so the fact counts once.
DETAILED: dict[str, str] = {"layer_arns": "layers", "file_system_arns": "file_system_configs"}

# Columns never compared, each with the reason (docs/usage.md lists them too).
EXCLUDED: dict[str, str] = {
    "snapshot_time": "the run's time: differs on every run",
    "account_id": _KEY,
    "region": _KEY,
    "function_arn": _KEY,
    "version": _KEY,
    "function_name": "part of the function's ARN, the key: a renamed function is removed and added",
    "account_name": _ACCOUNT,
    "account_tags": _ACCOUNT,
    "last_modified": f"{_CHANGE_MARK}; the demo's emulator sets it anew every run",
    "revision_id": f"{_CHANGE_MARK} or its policy; the demo's emulator sets it anew every run",
    "config_sha256": "a hash of the configuration: changes with the compared columns (and unread ones)",
    **{short: f"the same fact as {long} (each element's arn), which is compared" for short, long in DETAILED.items()},
    ENRICHED_COLUMN: "which enrichments were read: decides which enrichment columns are compared, not a fact",
    "invocations_30d": _IN_USE,
    "last_invocation_day": _IN_USE,
}

# Lists whose order carries no meaning (compared as sets); layers, entry point and command keep their order.
UNORDERED = frozenset(
    {
        "architectures",
        "subnet_ids",
        "security_group_ids",
        ENV_COLUMN,
        "file_system_arns",
        "file_system_configs",
        "url_auth_types",
        "invoke_principals",
    }
)

ENRICHMENT_OF: dict[str, str] = {column: enrichment for column, _, enrichment in ENRICHMENT_COLUMNS}

# The status table's columns: what diff reads each for, or why it does not compare it.
STATUS_COLUMNS: dict[str, str] = {
    "snapshot_time": "shown: when each run started",
    "account_id": "the target's key",
    "region": "the target's key",
    "account_name": "shown: the account's name",
    "status": "compared: a target not ok in both makes its functions unknown (Targets not compared)",
    "error_code": "shown with the status of a target not compared",
    "enrichments": "compared: an enrichment not ok in both is not compared there (Enrichments not compared)",
    "function_count": "not compared: the functions themselves are",
    "pages": "not compared: differs run to run (page size, throttling)",
    "retries": "not compared: differs run to run",
    "duration_ms": "not compared: differs run to run",
    "error_message": "not compared: free text; its error_code is shown",
}


def compared_columns(absent: Set[str] = frozenset()) -> tuple[str, ...]:
    """The inventory's columns diff compares, in schema order, when the snapshots lack `absent`."""
    stand_ins = {short for short, long in DETAILED.items() if long in absent}
    return tuple(
        name for name in INVENTORY_SCHEMA.names if name not in absent and (name not in EXCLUDED or name in stand_ins)
    )


def compared_enrichments() -> tuple[str, ...]:
    """The enrichments with a compared column, in run order (usage has none: its values change every run)."""
    compared = set(compared_columns())
    return tuple(e for e in ENRICHMENTS if any(ENRICHMENT_OF[c] == e for c in compared if c in ENRICHMENT_OF))


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str  # as text: lists as JSON arrays, maps as JSON objects, null as ""
    new: str


def as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A compared column as text, null as "": equal text wherever `normal` finds the values equal (and
    different text wherever it finds them different)."""
    if pa.types.is_map(column.type) or (pa.types.is_list(column.type) and pa.types.is_struct(column.type.value_type)):
        column = pa.chunked_array([_struct_text(chunk) for chunk in column.chunks], pa.list_(pa.string()))
    if pa.types.is_list(column.type):
        column = pc.binary_join(column, "\x1f")
    return pc.coalesce(column.cast(pa.string()), pa.scalar(""))


def _struct_text(chunk: pa.ListArray) -> pa.ListArray:
    """list<struct> (or a map: list<struct<key, value>>) -> list<string>, each element's fields joined."""
    values = chunk.values
    parts = [pc.coalesce(values.field(i).cast(pa.string()), pa.scalar("")) for i in range(values.type.num_fields)]
    joined = pc.binary_join_element_wise(*parts, "\x1e") if parts else pa.array([""] * len(values))
    return pa.ListArray.from_arrays(chunk.offsets, joined)  # null lists become [] (the same as empty here)


def normal(field: str, value: Any) -> Any:
    """A value as compared: null and empty are the same (a CSV round trip cannot tell them apart); lists are
    tuples (sorted where their order means nothing, and maps always)."""
    if value is None or value == []:
        return ""
    if isinstance(value, list):
        items = [json.dumps(v, sort_keys=True) if isinstance(v, dict) else str(v) for v in value]
        return tuple(sorted(items) if field in UNORDERED or _is_map(value) else items)
    return value


def _is_map(value: list[Any]) -> bool:
    """A map as read by Arrow: a list of (key, value) tuples."""
    return bool(value) and all(isinstance(v, tuple) for v in value)


def text(value: Any, kind: pa.DataType | None = None) -> str:
    """A value of a column of type `kind` as it is shown: lists as JSON arrays and maps as JSON objects (as in
    the inventory's CSV), bools as true / false, null as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(dict(value) if kind is not None and pa.types.is_map(kind) else value)
    return str(value)
