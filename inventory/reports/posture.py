"""The compliance report's posture: tracing, architectures, VPC, and the largest deployment packages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from inventory.reports.coverage import AccountRegion

LARGEST = 10


@dataclass(frozen=True)
class Share:
    label: str
    count: int
    total: int


@dataclass(frozen=True)
class Package:
    where: AccountRegion
    function_name: str
    runtime: str | None
    package_type: str | None
    code_size: int


@dataclass(frozen=True)
class Posture:
    tracing: tuple[Share, ...]  # Active, PassThrough, not reported
    architectures: tuple[Share, ...]  # x86_64, arm64, others as found
    in_vpc: Share
    largest: tuple[Package, ...]  # by code_size, largest first


def _shares(values: Iterable[str | None], total: int, first: Sequence[str], missing: str) -> tuple[Share, ...]:
    counted: dict[str, int] = dict.fromkeys(first, 0)
    for value in values:
        label = value or missing
        counted[label] = counted.get(label, 0) + 1
    return tuple(Share(label, n, total) for label, n in counted.items() if n or label in first)


def posture_of(functions: pa.Table) -> Posture:
    total = functions.num_rows
    tracing = _shares(functions["tracing_mode"].to_pylist(), total, ("Active", "PassThrough"), "not reported")
    arches = pc.binary_join(functions["architectures"], "+").to_pylist()
    architectures = _shares(arches, total, ("x86_64", "arm64"), "not reported")
    vpc = pc.sum(pc.and_(pc.is_valid(functions["vpc_id"]), pc.not_equal(functions["vpc_id"], ""))).as_py() or 0
    order = [("code_size", "descending"), ("account_id", "ascending"), ("region", "ascending")]
    top = functions.filter(pc.is_valid(functions["code_size"])).sort_by([*order, ("function_name", "ascending")])
    largest = tuple(
        Package(AccountRegion.of(r), r["function_name"], r["runtime"], r["package_type"], r["code_size"])
        for r in top.slice(0, LARGEST).to_pylist()
    )
    return Posture(tracing, architectures, Share("in a VPC", vpc, total), largest)
