"""Enrichment values on the rows: the columns job/enrich.py read for a target, set on its rows when contract/rows.py
makes them.

An enrichment is all-or-nothing per target: only an `ok` one sets its columns (and is named in the row's
`enriched` list); a failed or skipped one leaves them null, and the status file's `enrichments` says why.
Every row of a function (several with `function_version: ALL`) gets the function's value: tags, URLs, the
(unqualified) resource policy, reserved concurrency and the Invocations metric are all per function name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import pyarrow as pa

from inventory.contract.columns import ENRICHMENT_COLUMNS
from inventory.contract.status import Status


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


def enrichment_columns(
    parts: Sequence[tuple[int, Sequence[EnrichmentLike]]], function_names: Callable[[], Sequence[str]]
) -> list[pa.Array]:
    """The enrichment columns (ENRICHMENT_FIELDS: `enriched`, then ENRICHMENT_COLUMNS) of consecutive runs of
    rows: each (a target's number of rows, its enrichment outcomes). `function_names` gives every row's
    function name; it is asked only when some enrichment is ok.

    A function an ok enrichment has no value for gets the column's empty value for lists and maps
    ([] / {}) and null otherwise: the outcome maps every listed function it read."""
    rows = sum(count for count, _ in parts)
    done = [[outcome for outcome in outcomes if outcome.status is Status.OK] for _, outcomes in parts]
    if not any(done):  # the usual run: no enrichment asked for
        nothing = pa.ListArray.from_arrays(pa.repeat(pa.scalar(0, pa.int32()), rows + 1), pa.array([], pa.string()))
        return [nothing, *(pa.nulls(rows, kind) for _, kind, _ in ENRICHMENT_COLUMNS)]
    names = function_names()
    enriched: list[list[str]] = []
    values: dict[str, list[Any]] = {column: [] for column, _, _ in ENRICHMENT_COLUMNS}
    start = 0
    for (count, _), ok in zip(parts, done, strict=True):
        own = names[start : start + count]
        start += count
        enriched.extend([sorted(outcome.name for outcome in ok)] * count)
        by_name = {outcome.name: outcome for outcome in ok}
        for column, kind, enrichment in ENRICHMENT_COLUMNS:
            outcome = by_name.get(enrichment)
            if outcome is None:
                values[column].extend([None] * count)
            else:
                read, empty = outcome.values.get(column, {}), _empty(kind)
                values[column].extend(read.get(name, empty) for name in own)
    columns = [pa.array(enriched, pa.list_(pa.string()))]
    columns.extend(pa.array(values[column], kind) for column, kind, _ in ENRICHMENT_COLUMNS)
    return columns


def _empty(kind: pa.DataType) -> Any:
    if pa.types.is_map(kind) or pa.types.is_list(kind):
        return []  # Arrow takes [] as an empty map too
    return None
