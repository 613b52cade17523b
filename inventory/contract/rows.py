"""The inventory's rows, made for many targets at once: each target's staged items (contract/staged.py), its
target columns and its enrichment values become INVENTORY_SCHEMA batches of a few thousand rows.

Flattening the staged items into ~60 columns has a fixed cost (~0.6 ms here) whatever the number of rows, and
most targets are small (at 2,000 accounts x 17 regions: 8,461 targets with functions, 22 functions at the
median), so it is paid once per few thousand rows instead of once per target. `RowBuffer` holds finished
targets' staged rows (compact Arrow, in the order they finished) until it has ASSEMBLE_ROWS of them, then
hands one batch to the sink.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

import pyarrow as pa

from inventory.contract.enriched import EnrichmentLike, enrichment_columns
from inventory.contract.schema import INVENTORY_SCHEMA, TargetLike, function_columns, target_columns
from inventory.contract.staged import staged_batch, staged_schema

ASSEMBLE_ROWS = 4096  # rows per batch made: the fixed cost spread thin, a few MB held


class TargetRows(Protocol):
    """What a finished target contributes (job/collect.py's TargetResult is one)."""

    @property
    def target(self) -> TargetLike: ...
    @property
    def functions(self) -> Sequence[pa.RecordBatch]: ...  # staged items (staged_schema)
    @property
    def enrichments(self) -> Sequence[EnrichmentLike]: ...


def row_count(part: TargetRows) -> int:
    return sum(batch.num_rows for batch in part.functions)


def inventory_batch(parts: Sequence[TargetRows], snapshot_time: datetime) -> pa.RecordBatch:
    """The rows of `parts`, in order, as one RecordBatch of INVENTORY_SCHEMA (enrichment values set)."""
    staged = [batch for part in parts for batch in part.functions] or [staged_batch([])]
    combined = pa.RecordBatch.from_arrays(
        [pa.concat_arrays([batch.column(i) for batch in staged]) for i in range(len(staged_schema()))],
        schema=staged_schema(),
    )
    counts = [row_count(part) for part in parts]
    columns = target_columns([(part.target, count) for part, count in zip(parts, counts, strict=True)], snapshot_time)
    columns.extend(function_columns(combined))
    names = combined.column(0).field("FunctionName")
    outcomes = [(count, part.enrichments) for part, count in zip(parts, counts, strict=True)]
    columns.extend(enrichment_columns(outcomes, names.to_pylist))
    return pa.RecordBatch.from_arrays(columns, schema=INVENTORY_SCHEMA)


class RowBuffer:
    """Finished targets' rows on their way to `write` (the sink), ASSEMBLE_ROWS at a time; `flush` the rest."""

    def __init__(self, write: Callable[[pa.RecordBatch], None], snapshot_time: datetime, rows: int = ASSEMBLE_ROWS):
        self._write = write
        self._snapshot_time = snapshot_time
        self._limit = rows
        self._parts: list[TargetRows] = []
        self._rows = 0

    def add(self, part: TargetRows) -> None:
        rows = row_count(part)
        if rows:
            self._parts.append(part)
            self._rows += rows
            if self._rows >= self._limit:
                self.flush()

    def flush(self) -> None:
        if self._parts:
            self._write(inventory_batch(self._parts, self._snapshot_time))
        self._parts, self._rows = [], 0
