"""Enrichment values on the rows: the columns job/enrich.py read for a target, set on that target's batches.

An enrichment is all-or-nothing per target: only an `ok` one sets its columns (and is named in the row's
`enriched` list); a failed or skipped one leaves them null, and the status file's `enrichments` says why.
Every row of a function (several with `function_version: ALL`) gets the function's value: tags, URLs, the
(unqualified) resource policy, reserved concurrency and the Invocations metric are all per function name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import pyarrow as pa

from inventory.output.columns import ENRICHED_COLUMN, ENRICHMENT_COLUMNS
from inventory.output.schema import INVENTORY_SCHEMA
from inventory.output.status import Status


class EnrichmentLike(Protocol):
    """How one enrichment ended for one target (job/enrich.py's EnrichmentOutcome is one)."""

    @property
    def name(self) -> str: ...
    @property
    def status(self) -> Status: ...
    @property
    def calls(self) -> int: ...
    @property
    def error_code(self) -> str | None: ...
    @property
    def error_message(self) -> str | None: ...
    @property
    def values(self) -> Mapping[str, Mapping[str, Any]]: ...  # column -> function name -> value


def enrich_batch(batch: pa.RecordBatch, outcomes: Sequence[EnrichmentLike]) -> pa.RecordBatch:
    """The batch with the columns of every ok enrichment set from its values, by function name.

    A function an ok enrichment has no value for gets the column's empty value for lists and maps
    ([] / {}) and null otherwise: the outcome maps every listed function it read."""
    done = [outcome for outcome in outcomes if outcome.status is Status.OK]
    if not done or batch.num_rows == 0:
        return batch
    names = batch.column("function_name").to_pylist()
    columns = dict(zip(batch.schema.names, batch.columns, strict=True))
    columns[ENRICHED_COLUMN] = pa.array([sorted(o.name for o in done)] * batch.num_rows, pa.list_(pa.string()))
    by_name = {outcome.name: outcome for outcome in done}
    for column, kind, enrichment in ENRICHMENT_COLUMNS:
        outcome = by_name.get(enrichment)
        if outcome is None:
            continue
        values = outcome.values.get(column, {})
        empty = _empty(kind)
        columns[column] = pa.array([values.get(name, empty) for name in names], kind)
    return pa.RecordBatch.from_arrays([columns[name] for name in INVENTORY_SCHEMA.names], schema=INVENTORY_SCHEMA)


def _empty(kind: pa.DataType) -> Any:
    if pa.types.is_map(kind) or pa.types.is_list(kind):
        return []  # Arrow takes [] as an empty map too
    return None
