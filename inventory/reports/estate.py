"""The estate around the functions, counted: what a platform team asks of the estate tables first.

Per estate enrichment (contract/estate.py), over the listed targets whose status says it was read (coverage.py's
table_reading and rows_read; a table has no rows for a target where it failed, and those rows would mean
"none"): event source mappings by source and state, and those whose last poll reported a problem; asynchronous
invocation configs without an on-failure destination; provisioned concurrency (functions, the concurrency
requested and allocated, configs not READY); aliases and those routing a share to another version; layers,
their versions, with whom those are shared and which functions run them (estate_layers.py); code signing
configs, those that only warn, and the functions with one attached. A table read nowhere gives no figure: its
reading's line says why (not collected, failed where, or not written).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from inventory.contract.estate import ESTATE_ENRICHMENTS
from inventory.readers.snapshot import Snapshot
from inventory.reports.coverage import TableReading, read_mask, rows_read, table_reading
from inventory.reports.estate_layers import LayerUse, layer_estate

READY = "READY"  # a provisioned concurrency config whose allocation is complete
# An event source ARN's service -> the source's name as people say it (a self-managed Kafka has no ARN).
SOURCES = {
    "sqs": "SQS",
    "kinesis": "Kinesis",
    "dynamodb": "DynamoDB stream",
    "kafka": "MSK (Kafka)",
    "mq": "Amazon MQ",
    "rds": "DocumentDB",
}


@dataclass(frozen=True)
class Figure:
    table: str  # the estate table counted
    label: str
    count: int


@dataclass(frozen=True)
class EstateSummary:
    readings: tuple[TableReading, ...]  # one per estate enrichment, in the order they run
    figures: tuple[Figure, ...]  # for the tables read somewhere, in ESTATE_TABLES' order
    layers: tuple[LayerUse, ...]  # the layers read, most used first (the section shows the first few)

    @property
    def collected(self) -> bool:
        return any(r.collected for r in self.readings)


Rows = dict[str, pa.Table]  # an enrichment's tables, the rows of the targets it read
_Count = Callable[[Rows, pa.Table], list[Figure]]
LAYERS = "layers"  # the enrichment reading layers and layer_versions
LAYER_POLICIES = "layer_policies"  # the one judging layer_versions' policies


def estate_of(snapshot: Snapshot) -> EstateSummary:
    readings = tuple(table_reading(snapshot, name) for name in ESTATE_ENRICHMENTS)
    figures: list[Figure] = []
    layers: tuple[LayerUse, ...] = ()
    judging = {reading.enrichment: reading for reading in readings}.get(LAYER_POLICIES)
    for reading in readings:
        if not reading.collected or reading.enrichment == LAYER_POLICIES:  # it judges layer_versions: below
            continue
        rows = {name: rows_read(snapshot, reading, name) for name in reading.tables}
        tables = {name: table for name, table in rows.items() if table is not None}
        if reading.enrichment == LAYERS:
            judged = "public_actions" not in snapshot.table_absent_columns.get("layer_versions", frozenset())
            judged = judged and judging is not None and judging.collected
            found = layer_estate(tables["layers"], tables["layer_versions"], snapshot.functions, judged)
            figures += [Figure(*figure) for figure in found.figures]
            layers = found.uses
        else:
            figures += _COUNTS.get(reading.enrichment, _rows)(tables, snapshot.functions)
    return EstateSummary(readings, tuple(figures), layers)


def _rows(tables: Rows, _: pa.Table) -> list[Figure]:
    """A table no figure is written for yet: its rows."""
    return [Figure(name, "rows", table.num_rows) for name, table in tables.items()]


def _true(values: pa.Array | pa.ChunkedArray) -> int:
    return int(pc.sum(pc.fill_null(values, False)).as_py() or 0)


def _total(values: pa.ChunkedArray) -> int:
    return int(pc.sum(values).as_py() or 0)


def _functions(rows: pa.Table) -> int:
    """Distinct functions (account, region, name) among the rows."""
    keys = ["account_id", "region", "function_name"]
    distinct: pa.Table = rows.select(keys).group_by(keys).aggregate([])
    return int(distinct.num_rows)


def source_of(arn: str | None, endpoints: object) -> str:
    """`SQS`, `Kinesis`, ...: the service of an event source ARN; a mapping without one reads a self-managed
    Kafka cluster when it names its endpoints."""
    if not arn:
        return "self-managed Kafka" if endpoints else "(no source ARN)"
    parts = arn.split(":")
    service = parts[2] if len(parts) > 2 else ""
    return SOURCES.get(service, service or "(no source ARN)")


def _mappings(tables: Rows, _: pa.Table) -> list[Figure]:
    rows = tables["event_source_mappings"]
    name = "event_source_mappings"
    pairs = Counter(
        (source_of(r["event_source_arn"], r["self_managed_endpoints"]), r["state"] or "(no state)")
        for r in rows.select(["event_source_arn", "self_managed_endpoints", "state"]).to_pylist()
    )
    problems = pc.starts_with(pc.fill_null(rows["last_processing_result"], ""), "PROBLEM")
    return [
        Figure(name, "mappings", rows.num_rows),
        *(Figure(name, f"{source}, {state}", n) for (source, state), n in sorted(pairs.items())),
        Figure(name, "last poll reported a problem (last_processing_result PROBLEM)", _true(problems)),
    ]


def _invoke_configs(tables: Rows, _: pa.Table) -> list[Figure]:
    rows = tables["event_invoke_configs"]
    name = "event_invoke_configs"
    missing = pc.equal(pc.fill_null(rows["on_failure_destination"], ""), "")
    return [
        Figure(name, "configs (a function's, a version's or an alias's)", rows.num_rows),
        Figure(name, "without an on-failure destination", _true(missing)),
    ]


def _provisioned(tables: Rows, _: pa.Table) -> list[Figure]:
    rows = tables["provisioned_concurrency"]
    name = "provisioned_concurrency"
    not_ready = pc.not_equal(pc.fill_null(rows["status"], ""), READY)
    return [
        Figure(name, "functions with provisioned concurrency", _functions(rows)),
        Figure(name, "configs (per version or alias)", rows.num_rows),
        Figure(name, "concurrency requested, in total", _total(rows["requested"])),
        Figure(name, "concurrency allocated, in total", _total(rows["allocated"])),
        Figure(name, f"configs not {READY} (allocating, or failed)", _true(not_ready)),
    ]


def _aliases(tables: Rows, _: pa.Table) -> list[Figure]:
    rows = tables["aliases"]
    weighted = sum(1 for weights in rows["routing_weights"].to_pylist() if weights)  # a map: no list kernel
    return [
        Figure("aliases", "aliases", rows.num_rows),
        Figure("aliases", "routing a share of invocations to another version", weighted),
    ]


def _code_signing(tables: Rows, functions: pa.Table) -> list[Figure]:
    rows = tables["code_signing_configs"]
    name = "code_signing_configs"
    warn = pc.equal(pc.fill_null(rows["untrusted_artifact_on_deployment"], ""), "Warn")
    attached = functions.filter(
        pc.and_(read_mask(functions, "code_signing"), pc.is_valid(functions["code_signing_config_arn"]))
    )
    return [
        Figure(name, "configs", rows.num_rows),
        Figure(name, "configs that only warn on an unsigned deployment (Warn)", _true(warn)),
        Figure(name, "functions with a config attached", _functions(attached)),
    ]


_COUNTS: dict[str, _Count] = {
    "event_source_mappings": _mappings,
    "aliases": _aliases,
    "event_invoke_configs": _invoke_configs,
    "provisioned_concurrency": _provisioned,
    "code_signing": _code_signing,
}
