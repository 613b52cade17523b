"""Enrichment values on the rows: the columns job/enrich.py read for a target, set on its rows when contract/rows.py
makes them.

An enrichment is all-or-nothing per target: only an `ok` one sets its columns (and is named in the row's
`enriched` list); a failed or skipped one leaves them null, and the status file's `enrichments` says why.
Every row of a function (several with `function_version: ALL`) gets the function's value: tags, URLs, the
(unqualified) resource policy, reserved concurrency and the Invocations metric are all per function name.
A function an ok enrichment found deleted since the listing (its `gone`) gets nulls, and its rows do not name
the enrichment in `enriched`.

A target's values are typed when its rows are added (`target_enrichment`), one target at a time, so one
target's value that cannot be stored in its column (an integer past int64, a tag that is not text) fails that
enrichment for that target alone (`InvalidValue`, its columns null), never the batch or the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from inventory.contract.columns import ENRICHMENT_COLUMNS
from inventory.contract.results import EnrichmentOutcome, Status
from inventory.redact import clean

UNSTORABLE_CODE = "InvalidValue"
_STRINGS = pa.list_(pa.string())


@dataclass(frozen=True)
class TargetEnrichment:
    """One target's enrichment columns (ENRICHMENT_FIELDS: `enriched`, then ENRICHMENT_COLUMNS), typed, and its
    outcomes as written (an ok one that could not be typed failed instead: `unstorable`)."""

    rows: int
    columns: tuple[pa.Array | None, ...] | None  # None: no enrichment ok, every column null and `enriched` []; a
    # column None: null on every row (typed for all targets at once, not a pa.nulls per target)
    outcomes: tuple[EnrichmentOutcome, ...]


class _CannotStore(ValueError):
    pass


def unstorable(outcome: EnrichmentOutcome, err: Exception) -> EnrichmentOutcome:
    """An ok enrichment whose values could not be stored in its columns (or estate tables): failed for its target,
    no values."""
    message = clean(f"{outcome.name}: {err}")
    return EnrichmentOutcome(outcome.name, Status.FAILED, outcome.calls, {}, UNSTORABLE_CODE, message)


def target_enrichment(
    rows: int, outcomes: Sequence[EnrichmentOutcome], function_names: Callable[[], Sequence[str]]
) -> TargetEnrichment:
    """The enrichment columns of a target's `rows` rows; `function_names` gives every row's function name (asked
    only when some enrichment is ok). A function an ok enrichment has no value for gets the column's empty value
    for lists and maps ([] / {}) and null otherwise: the outcome maps every listed function it read."""
    if not rows or all(outcome.status is not Status.OK for outcome in outcomes):
        return TargetEnrichment(rows, None, tuple(outcomes))
    names = function_names()
    typed: dict[str, pa.Array] = {}
    written: list[EnrichmentOutcome] = []
    for outcome in outcomes:
        try:
            typed.update(_typed(outcome, names) if outcome.status is Status.OK else {})
            written.append(outcome)
        except _CannotStore as err:
            written.append(unstorable(outcome, err))
    ok = [outcome for outcome in written if outcome.status is Status.OK]
    if any(outcome.gone for outcome in ok):
        enriched = [sorted(o.name for o in ok if name not in o.gone) for name in names]
    else:
        enriched = [sorted(outcome.name for outcome in ok)] * rows
    columns = [typed.get(column) for column, _, _ in ENRICHMENT_COLUMNS]
    return TargetEnrichment(rows, (pa.array(enriched, _STRINGS), *columns), tuple(written))


def _typed(outcome: EnrichmentOutcome, names: Sequence[str]) -> dict[str, pa.Array]:
    """The ok outcome's columns on the target's rows (a gone function's null), or _CannotStore naming the column."""
    found: dict[str, pa.Array] = {}
    for column, kind, enrichment in ENRICHMENT_COLUMNS:
        if enrichment != outcome.name:
            continue
        read, empty, gone = outcome.values.get(column, {}), _empty(kind), outcome.gone
        values = [None if name in gone else read.get(name, empty) for name in names]
        try:
            found[column] = pa.array(values, kind)
        except (pa.ArrowException, OverflowError, TypeError, ValueError) as err:
            reason = f"{type(err).__name__}: {err}"
            raise _CannotStore(f"a value cannot be stored in {column} ({kind}): {reason}") from err
    return found


def enrichment_columns(parts: Sequence[TargetEnrichment]) -> list[pa.Array]:
    """The enrichment columns of consecutive runs of rows, each target's typed by target_enrichment."""
    rows = sum(part.rows for part in parts)
    if all(part.columns is None for part in parts):  # the usual run: no enrichment asked for
        return [_nothing_enriched(rows), *(pa.nulls(rows, kind) for _, kind, _ in ENRICHMENT_COLUMNS)]
    kinds = [_STRINGS, *(kind for _, kind, _ in ENRICHMENT_COLUMNS)]
    columns = []
    for index, kind in enumerate(kinds):
        typed = [None if part.columns is None else part.columns[index] for part in parts]
        if index and all(column is None for column in typed):  # not read for any of these targets
            columns.append(pa.nulls(rows, kind))
            continue
        pieces = [
            column
            if column is not None
            else (_nothing_enriched(part.rows) if index == 0 else pa.nulls(part.rows, kind))
            for part, column in zip(parts, typed, strict=True)
        ]
        columns.append(pa.concat_arrays(pieces))
    return columns


def _nothing_enriched(rows: int) -> pa.Array:
    """`enriched` of rows no enrichment was read for: [] each (never null)."""
    return pa.ListArray.from_arrays(pa.repeat(pa.scalar(0, pa.int32()), rows + 1), pa.array([], pa.string()))


def _empty(kind: pa.DataType) -> Any:
    if pa.types.is_map(kind) or pa.types.is_list(kind):
        return []  # Arrow takes [] as an empty map too
    return None
