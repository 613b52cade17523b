"""A target's ListFunctions items, checked and compacted to Arrow when its listing ends (job/collect.py): the
first of the two steps that make the inventory's rows (schema.py's `function_columns` is the second, for many
targets at once; contract/rows.py).

Only the fields named in columns.py are read, so a newer API's extra fields cannot break a run; Environment
is read here, in Python, for its variable *names* only: Arrow never sees it, so no value can reach a row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

import pyarrow as pa

from inventory.contract.columns import ENV_COLUMN, ENV_ERROR_COLUMN, FUNCTION_COLUMNS, ITEM_FIELDS, PYTHON_COLUMNS
from inventory.contract.items import InvalidItem, check_items, describe_item

_TS = pa.timestamp("us", tz="UTC")
_STRINGS = pa.list_(pa.string())
_S = pa.string()


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


@cache
def staged_schema() -> pa.Schema:
    """A page's items as `staged_batch` keeps them: the part of each item the inventory reads, and the names
    of its environment variables (read in Python; Arrow never sees Environment)."""
    return pa.schema([("item", api_item_type()), (ENV_COLUMN, _STRINGS), (ENV_ERROR_COLUMN, _S)])


def staged_batch(items: Iterable[Mapping[str, Any]]) -> pa.RecordBatch:
    """ListFunctions items checked and compacted to Arrow (`staged_schema`, ~5x smaller than the dicts).

    Raises InvalidItem (naming the item and field) when an item is not an object or a field has the wrong type.
    """
    items = items if isinstance(items, list) else list(items)
    try:
        api = pa.array(items, type=api_item_type())
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as err:
        raise check_items(items, ITEM_FIELDS) or InvalidItem(f"ListFunctions items could not be typed: {err}") from err
    if api.null_count:  # an item that is null: Arrow takes it as a null struct
        raise check_items(items, ITEM_FIELDS) or InvalidItem("a ListFunctions item is null")
    env_names, env_errors, split = _environment(items)
    if split:  # a string where a list belongs: Arrow would have split it into characters
        raise check_items(items, ITEM_FIELDS) or InvalidItem("a ListFunctions list field is a string")
    return pa.RecordBatch.from_arrays([api, env_names, env_errors], schema=staged_schema())


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


def function_names(batches: Iterable[pa.RecordBatch]) -> list[str]:
    """The FunctionName of every staged row, in order."""
    return [name for batch in batches for name in batch.column(0).field("FunctionName").to_pylist()]
