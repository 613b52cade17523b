"""The schema: the inventory's contract. An explicit pyarrow schema, and ListFunctions items flattened into it.

Only the fields named here are read from the API, so a newer API's extra fields cannot break a run, and
environment variable *values* are never read at all (only their names). Every member of botocore's model of
a ListFunctions item is either a column here or in EXCLUDED_MEMBERS with its reason
(tests/output/test_model_coverage.py), so a botocore upgrade that adds one fails a test instead of dropping
it. Every column is documented in docs/schema.md; keep the two in step (tests/output/test_schema.py checks).

Flattening is done by Arrow, not a Python loop: the items are converted once to a struct array of just the
fields below (in C++), and each column is a field of it. That is ~6x cheaper per function than building rows
in Python, which matters at a million functions on a quarter of a CPU.

Items are validated by that same conversion: when Arrow refuses a batch (an item that is not an object, a
field of the wrong type such as `"MemorySize": "128"`), the batch is walked again in Python, only then, to
find the first bad item and field, and `InvalidItem` names them. The happy path pays nothing for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any, Protocol

import pyarrow as pa

from inventory.output.columns import (
    ENRICHED_COLUMN,
    ENRICHMENT_COLUMNS,
    ENV_COLUMN,
    FUNCTION_COLUMNS,
    ITEM_FIELDS,
    PYTHON_COLUMNS,
)
from inventory.output.items import InvalidItem, check_items, describe_item

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


class AccountLike(Protocol):
    """What the rows say about an account (job/targets.py's Account is one)."""

    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def account_id(self) -> str: ...
    @property
    def name(self) -> str: ...


class TargetLike(Protocol):
    """What the rows say about an (account, region) target: the target columns (TARGET_FIELDS) of every
    row. job/targets.py's Target is one."""

    @property
    def account(self) -> AccountLike: ...
    @property
    def region(self) -> str: ...


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


def _api_fields(path: str, kind: pa.DataType) -> dict[str, Any]:
    """'VpcConfig.SubnetIds' -> {'VpcConfig': {'SubnetIds': list<string>}} (as nested dicts of types)."""
    if "{" in path:  # 'Layers[]{Arn,CodeSize}' -> {'Layers': [{'Arn': string, 'CodeSize': int64}]}
        outer, _, inner = path.partition("{")
        names = inner.rstrip("}").split(",")
        element: dict[str, Any] = {}
        for name, field in zip(names, kind.value_type, strict=True):  # a name may be dotted: S3FilesConfig.X
            _merge(element, _api_fields(name, field.type))
        return {outer.removesuffix("[]"): [element]}
    head, _, rest = path.partition(".")
    if head.endswith("[]"):
        return {head[:-2]: [_api_fields(rest, kind.value_type)]}  # a list of objects: one field of each
    if not rest:
        return {head: pa.string() if kind == _TS else kind}  # timestamps arrive as text
    return {head: _api_fields(rest, kind)}


def _merge(into: dict[str, Any], more: dict[str, Any]) -> None:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, list) and isinstance(into.get(key), list):  # fields of the same list's elements
            _merge(into[key][0], value[0])
        else:
            into[key] = value


def _to_arrow(spec: Any) -> pa.DataType:
    if isinstance(spec, dict):
        return pa.struct([(name, _to_arrow(child)) for name, child in spec.items()])
    if isinstance(spec, list):
        return pa.list_(_to_arrow(spec[0]))
    return spec


@cache
def api_item_type() -> pa.StructType:
    """The Arrow type of the part of a ListFunctions item the inventory reads (never Environment)."""
    fields: dict[str, Any] = {}
    for name, kind, path in FUNCTION_COLUMNS:
        if name not in PYTHON_COLUMNS:
            _merge(fields, _api_fields(path, kind))
    return _to_arrow(fields)


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


def _environment(items: Sequence[Mapping[str, Any]]) -> tuple[pa.Array, pa.Array, bool]:
    """The variable names of each item (sorted), its Environment.Error.ErrorCode, and whether a list field
    arrived as a string (which Arrow silently splits into characters): one Python pass over the items, which
    these columns need anyway (Arrow never reads Environment, so no value can reach it)."""
    names = []
    errors = []
    split = False
    for index, item in enumerate(items):  # the values may hold secrets: only the keys are read, never shown
        environment = item.get("Environment")
        variables = environment.get("Variables") if isinstance(environment, dict) else None
        if isinstance(variables, dict):
            names.append(sorted(variables))  # JSON object keys are always strings
        elif variables is None and (environment is None or isinstance(environment, dict)):
            names.append([])
        else:
            field = "Environment.Variables" if isinstance(environment, dict) else "Environment"
            raise InvalidItem(f"{describe_item(index, item)}: {field} is not an object")
        error = environment.get("Error") if environment is not None else None  # a dict here, if not None
        code = error.get("ErrorCode") if type(error) is dict else None
        if error is not None and (type(error) is not dict or (code is not None and type(code) is not str)):
            field = (
                "Environment.Error.ErrorCode is not text"
                if type(error) is dict
                else "Environment.Error is not an object"
            )
            raise InvalidItem(f"{describe_item(index, item)}: {field}")
        errors.append(code)
        vpc = item.get("VpcConfig")
        image = item.get("ImageConfigResponse")
        config = image.get("ImageConfig") if type(image) is dict else None
        if (
            type(item.get("Architectures")) is str
            or (type(vpc) is dict and (type(vpc.get("SubnetIds")) is str or type(vpc.get("SecurityGroupIds")) is str))
            or (type(config) is dict and (type(config.get("EntryPoint")) is str or type(config.get("Command")) is str))
        ):
            split = True
    return pa.array(names, _STRINGS), pa.array(errors, _S), split


def function_batch(target: TargetLike, snapshot_time: datetime, items: Iterable[Mapping[str, Any]]) -> pa.RecordBatch:
    """Flatten one target's ListFunctions items into a RecordBatch of INVENTORY_SCHEMA.

    Raises InvalidItem (naming the item and field) when an item is not an object or a field has the wrong type.
    """
    items = items if isinstance(items, list) else list(items)
    n = len(items)
    try:
        api = pa.array(items, type=api_item_type())
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as err:
        raise check_items(items, ITEM_FIELDS) or InvalidItem(f"ListFunctions items could not be typed: {err}") from err
    if api.null_count:  # an item that is null: Arrow takes it as a null struct
        raise check_items(items, ITEM_FIELDS) or InvalidItem("a ListFunctions item is null")
    env_names, env_errors, split = _environment(items)
    if split:  # a string where a list belongs: Arrow would have split it into characters
        raise check_items(items, ITEM_FIELDS) or InvalidItem("a ListFunctions list field is a string")
    fields = _Fields(api)
    account = target.account
    columns: list[pa.Array] = [
        pa.array([snapshot_time] * n, _TS),
        pa.array([account.account_id] * n, _S),
        pa.array([account.name] * n, _S),
        pa.array([list(account.tags)] * n, _STRINGS),
        pa.array([target.region] * n, _S),
    ]
    for name, kind, path in FUNCTION_COLUMNS:
        if name in PYTHON_COLUMNS:
            columns.append(env_names if name == ENV_COLUMN else env_errors)
        else:
            columns.append(fields.column(path, kind))
    columns.append(pa.array([[]] * n, _STRINGS))  # enriched: none yet (output/enriched.py sets them)
    columns.extend(pa.nulls(n, field.type) for field in ENRICHMENT_FIELDS[1:])
    return pa.RecordBatch.from_arrays(columns, schema=INVENTORY_SCHEMA)
