"""The inventory's rows, made for many targets at once: each target's staged items (contract/staged.py), its
target columns and its enrichment values become INVENTORY_SCHEMA batches of a few thousand rows.

Flattening the staged items into ~60 columns has a fixed cost (~0.6 ms here) whatever the number of rows, and
most targets are small (at 2,000 accounts x 17 regions: 8,461 targets with functions, 22 functions at the
median), so it is paid once per few thousand rows instead of once per target. `RowBuffer` holds finished
targets' staged rows (compact Arrow, in the order they finished) until it has ASSEMBLE_ROWS of them, then
hands one batch to the sink. A target's enrichment values are typed when it is added (contract/enrichment_columns.py),
so that a value one target's enrichment cannot store fails that enrichment for that target, which the status
file then says, and never the batch: the rows of the other targets, and the run, go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import pyarrow as pa

from inventory.contract.enrichment_columns import TargetEnrichment, enrichment_columns, target_enrichment
from inventory.contract.estate import ESTATE
from inventory.contract.estate_rows import EstateValues, estate_batch, many_targets_estate
from inventory.contract.results import EnrichmentOutcome, TargetResult
from inventory.contract.schema import INVENTORY_SCHEMA, function_columns, target_columns
from inventory.contract.staged import function_names, staged_batch, staged_schema
from inventory.contract.target import Target

ASSEMBLE_ROWS = 4096  # rows per batch made: the fixed cost spread thin, a few MB held


def row_count(part: TargetResult) -> int:
    return sum(batch.num_rows for batch in part.functions)


@dataclass(frozen=True)
class Held:
    """A finished target's rows as they wait to be assembled: its staged items and its typed enrichment columns."""

    target: Target
    functions: tuple[pa.RecordBatch, ...]
    enrichment: TargetEnrichment


def hold(part: TargetResult) -> Held:
    """The target's rows, its enrichment values typed (target_enrichment: one that cannot be is failed)."""
    count = row_count(part)
    enrichment = target_enrichment(count, part.enrichments, lambda: function_names(part.functions))
    return Held(part.target, tuple(part.functions), enrichment)


def inventory_batch(parts: Sequence[TargetResult], snapshot_time: datetime) -> pa.RecordBatch:
    """The rows of `parts`, in order, as one RecordBatch of INVENTORY_SCHEMA (enrichment values set)."""
    return assemble([hold(part) for part in parts], snapshot_time)


def assemble(held: Sequence[Held], snapshot_time: datetime) -> pa.RecordBatch:
    """The rows of held targets, in order, as one RecordBatch of INVENTORY_SCHEMA."""
    staged = [batch for part in held for batch in part.functions] or [staged_batch([])]
    combined = pa.RecordBatch.from_arrays(
        [pa.concat_arrays([batch.column(i) for batch in staged]) for i in range(len(staged_schema()))],
        schema=staged_schema(),
    )
    columns = target_columns([(part.target, part.enrichment.rows) for part in held], snapshot_time)
    columns.extend(function_columns(combined))
    columns.extend(enrichment_columns([part.enrichment for part in held]))
    return pa.RecordBatch.from_arrays(columns, schema=INVENTORY_SCHEMA)


class RowBuffer:
    """Finished targets' rows on their way to `write` (the sink), ASSEMBLE_ROWS at a time; `flush` the rest."""

    def __init__(
        self,
        write: Callable[[pa.RecordBatch], None],
        snapshot_time: datetime,
        rows: int = ASSEMBLE_ROWS,
        *,
        write_estate: Callable[[str, pa.Table], None] | None = None,
    ):
        self._write = write
        self._write_estate = write_estate
        self._snapshot_time = snapshot_time
        self._limit = rows
        self._parts: list[Held] = []
        self._rows = 0
        self._tables: dict[str, list[EstateValues]] = {}  # estate table -> targets' rows not yet written
        self._table_rows: dict[str, int] = {}

    def add(self, parts: Sequence[TargetResult]) -> list[tuple[EnrichmentOutcome, ...]]:
        """Take finished targets' rows; each one's enrichments as they will be written (the status file must say
        what the rows say: an ok one whose values could not be typed is failed)."""
        parts = self._estate(parts)
        written = []
        for part in parts:
            held = hold(part)
            written.append(held.enrichment.outcomes)
            if held.enrichment.rows:
                self._parts.append(held)
                self._rows += held.enrichment.rows
                if self._rows >= self._limit:
                    self.flush()
        return written

    def _estate(self, parts: Sequence[TargetResult]) -> list[TargetResult]:
        """Take the targets' estate rows (read and checked now, many targets at once: a value that cannot be typed
        fails its target's enrichment, not the run); typed and handed on ASSEMBLE_ROWS at a time."""
        parts = list(parts)
        reading = [index for index, part in enumerate(parts) if any(o.tables for o in part.enrichments)]
        if not reading:
            return parts
        found = [(parts[index].target, parts[index].enrichments) for index in reading]
        outcomes, tables = many_targets_estate(found, self._snapshot_time)
        if tables and self._write_estate is None:
            raise TypeError("estate tables were read but the sink takes none")
        for index, written in zip(reading, outcomes, strict=True):
            parts[index] = replace(parts[index], enrichments=written)
        for values in tables:  # one Parquet write per target cost ~2 ms, one pa.array per column ~0.25 ms a table
            self._tables.setdefault(values.table, []).append(values)
            self._table_rows[values.table] = self._table_rows.get(values.table, 0) + values.rows
            if self._table_rows[values.table] >= self._limit:
                self._write_table(values.table)
        return parts

    def _write_table(self, name: str) -> None:
        parts = self._tables.pop(name, [])
        self._table_rows.pop(name, None)
        if parts and self._write_estate is not None:
            self._write_estate(name, estate_batch(ESTATE[name], parts))

    def flush(self) -> None:
        if self._parts:
            self._write(assemble(self._parts, self._snapshot_time))
        self._parts, self._rows = [], 0
        for name in list(self._tables):
            self._write_table(name)
