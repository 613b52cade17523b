"""The schema: the inventory's contract. An explicit pyarrow schema, and ListFunctions items flattened into it.

Only the fields named here are read from the API, so a newer API's extra fields cannot break a run, and
environment variable *values* are never read at all (only their names). Every member of botocore's model of
a ListFunctions item is either a column here or in EXCLUDED_MEMBERS with its reason
(tests/contract/test_model_coverage.py), so a botocore upgrade that adds one fails a test instead of dropping
it. Every column is documented in docs/schema.md; keep the two in step (tests/contract/test_schema.py checks).

Flattening is done by Arrow, not a Python loop, in two steps: staged.py's `staged_batch` converts a target's
items once to a struct array of just the fields the inventory reads (in C++) when its listing ends;
`function_columns` here later makes each column a field of it, for the staged rows of many targets at once
(contract/rows.py), so its fixed cost (~0.6 ms) is paid per thousands of rows, not per target. That is ~6x
cheaper per function than building rows in Python, which matters at a million functions on a quarter of a CPU.

Items are validated by that same conversion: when Arrow refuses a batch (an item that is not an object, a
field of the wrong type such as `"MemorySize": "128"`), the batch is walked again in Python, only then, to
find the first bad item and field, and `InvalidItem` names them. The happy path pays nothing for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from itertools import accumulate
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from inventory.contract.columns import ENRICHED_COLUMN, ENRICHMENT_COLUMNS, FUNCTION_COLUMNS, PYTHON_COLUMNS
from inventory.contract.target import Target

_TS = pa.timestamp("us", tz="UTC")
_STRINGS = pa.list_(pa.string())
_S = pa.string()
_LAMBDA_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$")


def parse_lambda_time(text: object) -> datetime | None:
    """Real Lambda sends `2019-10-30T18:27:32.783+0000`; moto `2026-11-28T11:55:26.113611000Z`."""
    match = _LAMBDA_TIME.match(text) if isinstance(text, str) else None
    if not match:
        return None
    base, fraction, zone = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    offset = timedelta(0)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    try:
        moment = datetime.fromisoformat(base)
        return moment.replace(microsecond=micros, tzinfo=timezone(offset)).astimezone(UTC)
    except ValueError:  # shaped like a time but impossible (Feb 30, +2400): unknown, not a crash
        return None


# The columns every row takes from its target (contract/target.py): target_columns.
TARGET_FIELDS: tuple[pa.Field, ...] = (
    pa.field("snapshot_time", _TS, nullable=False),
    pa.field("account_id", pa.string(), nullable=False),
    pa.field("account_name", pa.string(), nullable=False),
    pa.field("account_tags", _STRINGS, nullable=False),
    pa.field("region", pa.string(), nullable=False),
)

ENRICHMENT_FIELDS: tuple[pa.Field, ...] = (
    pa.field(ENRICHED_COLUMN, _STRINGS, nullable=False),
    *(pa.field(name, kind) for name, kind, _ in ENRICHMENT_COLUMNS),
)
INVENTORY_SCHEMA = pa.schema(
    [*TARGET_FIELDS, *(pa.field(name, kind) for name, kind, _ in FUNCTION_COLUMNS), *ENRICHMENT_FIELDS]
)
# One element per enrichment the run asked for: how it went for the target (job/enrich.py).
ENRICHMENT_STATUS = pa.struct(
    [
        ("name", pa.string()),
        ("status", pa.string()),
        ("calls", pa.int32()),
        ("error_code", pa.string()),
        ("error_message", pa.string()),
    ]
)

STATUS_SCHEMA = pa.schema(
    [
        pa.field("snapshot_time", _TS, nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("account_name", pa.string(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("function_count", pa.int64()),
        pa.field("pages", pa.int32(), nullable=False),
        pa.field("retries", pa.int32(), nullable=False),
        pa.field("error_code", pa.string()),
        pa.field("error_message", pa.string()),
        pa.field("duration_ms", pa.int64(), nullable=False),
        pa.field("enrichments", pa.list_(ENRICHMENT_STATUS)),
    ]
)


class _Fields:
    """The leaves of a struct array by dotted path, flattening each struct once (parent nulls carried down)."""

    def __init__(self, api: pa.StructArray) -> None:
        self._structs: dict[str, dict[str, pa.Array]] = {"": self._flatten(api)}

    @staticmethod
    def _flatten(array: pa.StructArray) -> dict[str, pa.Array]:
        return dict(zip((f.name for f in array.type), array.flatten(), strict=True))

    def get(self, path: str) -> pa.Array:
        parent, _, leaf = path.rpartition(".")
        if parent not in self._structs:
            grand, _, name = parent.rpartition(".")
            self._structs[parent] = self._flatten(self.get(parent) if grand else self._structs[""][name])
        return self._structs[parent][leaf]

    def column(self, path: str, kind: pa.DataType) -> pa.Array:
        if "{" in path:  # list<struct<API names>> -> list<struct<column's names>>, in the type's order
            outer, _, inner = path.partition("[]{")
            column = self.get(outer)
            children = self._flatten(column.values)  # once per list; a dotted name goes deeper
            element = pa.StructArray.from_arrays(
                [
                    children[name] if "." not in name else _leaf(children[name.split(".")[0]], name.split(".", 1)[1])
                    for name in inner.rstrip("}").split(",")
                ],
                fields=list(kind.value_type),
            )
            return pa.ListArray.from_arrays(column.offsets, element, type=kind)
        outer, _, inner = path.partition("[].")
        column = self.get(outer)
        if inner:  # list<struct<Arn>> -> list<string>
            return pa.ListArray.from_arrays(column.offsets, self._flatten(column.values)[inner])
        if pa.types.is_list(kind):  # null -> []
            return pa.ListArray.from_arrays(column.offsets, column.values)
        if kind == _TS:
            return _timestamps(column)
        return column


def _leaf(array: pa.StructArray, path: str) -> pa.Array:
    """A field of a struct array by dotted path (parent nulls carried down)."""
    for name in path.split("."):
        array = array.flatten()[array.type.get_field_index(name)]
    return array


def _timestamps(text: pa.Array) -> pa.Array:
    try:  # Arrow parses both Lambda's `...32.783+0000` and moto's nanosecond `...Z`
        return text.cast(pa.timestamp("ns", tz="UTC")).cast(_TS, safe=False)  # imports pyarrow.compute (~0.1 s)
    except pa.ArrowInvalid:  # an odd value somewhere: parse one by one, unknown -> null
        return pa.array([parse_lambda_time(value) for value in text.to_pylist()], _TS)


def function_columns(staged: pa.RecordBatch) -> list[pa.Array]:
    """The FUNCTION_COLUMNS of staged rows, in order (the rows of any number of targets)."""
    fields = _Fields(staged.column(0))
    return [
        staged.column(name) if name in PYTHON_COLUMNS else fields.column(path, kind)
        for name, kind, path in FUNCTION_COLUMNS
    ]


def target_columns(targets: Sequence[tuple[Target, int]], snapshot_time: datetime) -> list[pa.Array]:
    """TARGET_FIELDS for consecutive runs of rows: each (target, its number of rows). Each target's values are
    typed once and run-length decoded by Arrow, not repeated row by row in Python (~3% of the job's CPU)."""
    runs = [(target, count) for target, count in targets if count]  # run ends must increase
    ends = pa.array(list(accumulate(count for _, count in runs)), pa.int64())
    accounts = [target.account for target, _ in runs]

    def repeated(values: list[Any], kind: pa.DataType) -> pa.Array:
        return pc.run_end_decode(pa.RunEndEncodedArray.from_arrays(ends, pa.array(values, kind)))

    return [
        pa.repeat(pa.scalar(snapshot_time, _TS), sum(count for _, count in runs)),
        repeated([account.account_id for account in accounts], _S),
        repeated([account.name for account in accounts], _S),
        repeated([list(account.tags) for account in accounts], _STRINGS),
        repeated([target.region for target, _ in runs], _S),
    ]
