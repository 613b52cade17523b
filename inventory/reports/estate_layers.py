"""Layers, their versions, and the functions that run them: the `layers` read joined with the functions table.

A function's `layer_arns` are layer version ARNs (`arn:...:layer:<name>:<version>`); the part before the version
is the layer's `layer_arn` in the `layers` table, whose `latest_version` says whether the function runs an older
version. Function rows are counted as the report counts them (one per function, or per published version with
`function_version: ALL`), from every listed target: a layer may be used from another account or region. Only the
layers read are counted (an account's own, where its `layers` read is ok); a function's layer owned by AWS or an
account not read matches none of them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from inventory.reports.coverage import AccountRegion

LAYERS_SHOWN = 10  # the section's rows: the most used layers


@dataclass(frozen=True)
class LayerUse:
    where: AccountRegion
    layer: str
    layer_arn: str | None
    versions: int  # its versions listed (not deleted)
    latest: int | None  # its latest version's number
    functions: int  # function rows running one of its versions
    older: int  # of them, those on a version older than the latest
    public: int | None  # its versions shared with anyone; None: not judged (a file written before)


@dataclass(frozen=True)
class LayerEstate:
    figures: tuple[tuple[str, str, int], ...]  # (table, label, count)
    uses: tuple[LayerUse, ...]  # every layer read, most used first


def _version(arn: str) -> tuple[str, int | None]:
    base, _, number = arn.rpartition(":")
    return base, int(number) if number.isdigit() else None


@dataclass(frozen=True)
class _Running:
    layers: Counter[str]  # per layer ARN, the function rows running one of its versions
    older: Counter[str]  # per layer ARN, those on a version older than its latest
    rows: frozenset[int]  # the function rows running any of the layers
    rows_older: frozenset[int]  # those running an older version of any
    versions: frozenset[str]  # every layer version ARN a function row runs


def _running(functions: pa.Table, latest: dict[str, int | None]) -> _Running:
    lists = functions["layer_arns"].combine_chunks()
    arns = pc.list_flatten(lists).to_pylist()
    parents = pc.list_parent_indices(lists).to_pylist()
    layers: Counter[str] = Counter()
    older: Counter[str] = Counter()
    seen: set[tuple[str, int]] = set()
    rows_older: set[int] = set()
    for arn, row in zip(arns, parents, strict=True):
        base, version = _version(arn or "")
        if base not in latest or (base, row) in seen:
            continue
        seen.add((base, row))
        layers[base] += 1
        newest = latest[base]
        if version is not None and newest is not None and version < newest:
            older[base] += 1
            rows_older.add(row)
    rows = frozenset(row for _, row in seen)
    return _Running(layers, older, rows, frozenset(rows_older), frozenset(arn for arn in arns if arn))


def _used(versions: list[dict[str, Any]], run: frozenset[str]) -> int:
    return sum(1 for r in versions if r["layer_version_arn"] in run)


Key = tuple[str, str, str]  # (account_id, region, layer_name)


def _shared(versions: pa.Table) -> tuple[Counter[Key], int]:
    """Per layer, its versions shared with anyone; and the versions shared with named accounts or an
    organization only (principals, but no public action)."""
    wide = pc.fill_null(pc.greater(pc.list_value_length(versions["public_actions"]), 0), False)
    named = pc.fill_null(pc.greater(pc.list_value_length(versions["principals"]), 0), False)
    public: Counter[Key] = Counter()
    for r in versions.filter(wide).select(["account_id", "region", "layer_name"]).to_pylist():
        public[(r["account_id"], r["region"], r["layer_name"])] += 1
    return public, int(pc.sum(pc.and_(named, pc.invert(wide))).as_py() or 0)


def layer_estate(layers: pa.Table, versions: pa.Table, functions: pa.Table, judged: bool) -> LayerEstate:
    """`layers` and `versions` are the rows read; `judged`: `versions` has public_actions (and principals)."""
    listed = layers.select(["account_id", "account_name", "region", "layer_name", "layer_arn", "latest_version"])
    latest = {r["layer_arn"]: r["latest_version"] for r in listed.to_pylist() if r["layer_arn"]}
    running = _running(functions, latest)
    counted = versions.select(["account_id", "region", "layer_name", "layer_version_arn"]).to_pylist()
    per_layer = Counter((r["account_id"], r["region"], r["layer_name"]) for r in counted)
    public, shared = _shared(versions) if judged else (Counter[Key](), 0)
    uses = [
        LayerUse(
            AccountRegion.of(r),
            r["layer_name"],
            r["layer_arn"],
            per_layer[(r["account_id"], r["region"], r["layer_name"])],
            r["latest_version"],
            running.layers[r["layer_arn"]],
            running.older[r["layer_arn"]],
            public[(r["account_id"], r["region"], r["layer_name"])] if judged else None,
        )
        for r in listed.to_pylist()
    ]
    uses.sort(key=lambda u: (-u.functions, u.where.account_id, u.where.region, u.layer))
    figures = [
        ("layers", "layers", layers.num_rows),
        ("layers", "function rows running one of these layers", len(running.rows)),
        ("layers", "of them, on an older version than its layer's latest", len(running.rows_older)),
        ("layer_versions", "versions", versions.num_rows),
        (
            "layer_versions",
            "versions a listed function runs",
            sum(r["layer_version_arn"] in running.versions for r in counted),
        ),
    ]
    if judged:
        figures.append(("layer_versions", "shared with anyone (listed above)", sum(public.values())))
        figures.append(("layer_versions", "shared with named accounts or an organization only", shared))
    return LayerEstate(tuple(figures), tuple(uses))
