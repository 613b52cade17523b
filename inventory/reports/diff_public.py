"""Newly public functions: what a security team asks of `diff` first.

A function is public, on a row whose enrichment read it (`enriched` names it), when `public_invoke` is true or
`public_actions` is not empty (`policy`: anyone may invoke it, or perform those Lambda actions), or a function
URL has AuthType NONE (`urls`: `url_auth_types` holds NONE) and answers anyone: where the row's `public_url`
(judged with the policy) says whether it does, that is the answer; where it is null or absent (the policy not
read, or a file written before it), a NONE URL leans public. It is newly public when:

* it was added (in NEW only, its target compared) and is public in NEW; or
* it is in both, public in NEW by some signal read in both snapshots that was not public in OLD, and OLD
  read nothing that made it public; or
* its `public_actions` (read in both) gained an action, public before or not.

A signal a snapshot did not read (the enrichment not ok for its target, or `public_actions` missing from a
file written before that column) is never evidence either way: Enrichments not compared says where.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from inventory.contract.columns import ENRICHED_COLUMN
from inventory.readers.snapshot import Snapshot
from inventory.reports.coverage import contains, read_mask
from inventory.reports.diff_columns import FieldChange, text
from inventory.reports.exposure import POLICY, PUBLIC_URL, URLS

PUBLIC_ACTIONS = "public_actions"  # list<string>: the Lambda actions anyone may perform (policy), where present
URL_VERDICT = "public_url"  # bool: a URL answers anyone (urls, judged with policy); null: not judged
SIGNALS: tuple[tuple[str, str], ...] = (("public_invoke", POLICY), (PUBLIC_ACTIONS, POLICY), ("url_auth_types", URLS))
_INVOKE = "invoke"  # what a true public_invoke exposes


def signals_of(snapshot: Snapshot) -> frozenset[str]:
    """The signal columns the snapshot has (a file written before one reads without it: not read)."""
    present = set(snapshot.functions.column_names) - snapshot.absent_columns
    return frozenset(column for column, _ in SIGNALS if column in present)


def public_mask(functions: pa.Table, signals: frozenset[str]) -> pa.Array:
    """One bool per row: public by a signal its enrichment read."""
    mask = pa.repeat(pa.scalar(False), functions.num_rows)
    for column, enrichment in SIGNALS:
        if column not in signals:
            continue
        values = functions.column(column).combine_chunks()
        if column == "public_invoke":
            exposed = pc.fill_null(values, False)
        elif column == "url_auth_types":
            exposed = contains(values, PUBLIC_URL)
            if URL_VERDICT in functions.column_names:  # judged: its verdict, else a NONE URL leans public
                exposed = pc.coalesce(functions.column(URL_VERDICT).combine_chunks(), exposed)
        else:
            exposed = pc.fill_null(pc.greater(pc.list_value_length(values), 0), False)
        mask = pc.or_(mask, pc.and_(read_mask(functions, enrichment), exposed))
    return mask


def _exposed(column: str, value: Any) -> frozenset[str]:
    """What a signal's value makes public: invoke, the URL's NONE, or the public actions."""
    if column == "public_invoke":
        return frozenset({_INVOKE}) if value else frozenset()
    if column == "url_auth_types":
        return frozenset(value or ()) & {PUBLIC_URL}
    return frozenset(value or ())


def _read(row: Mapping[str, Any], signals: frozenset[str]) -> dict[str, frozenset[str]]:
    """The signals the row read, and what each makes public."""
    enriched = row[ENRICHED_COLUMN] or ()
    read = {c: _exposed(c, row[c]) for c, enrichment in SIGNALS if c in signals and enrichment in enriched}
    if "url_auth_types" in read and row.get(URL_VERDICT) is not None:  # the URL judged: NONE but closed is not public
        read["url_auth_types"] &= {PUBLIC_URL} if row[URL_VERDICT] else set()
    return read


def reasons(
    before: Mapping[str, Any] | None, after: Mapping[str, Any], old_signals: frozenset[str], new_signals: frozenset[str]
) -> tuple[FieldChange, ...]:
    """Why the function is newly public (a change per signal), or () when it is not. `before` is None for a
    function added."""
    now = _read(after, new_signals)
    if before is None:
        return tuple(FieldChange(c, "", text(after[c])) for c, exposed in now.items() if exposed)
    then = _read(before, old_signals)
    gained = [c for c, _ in SIGNALS if c in now and c in then and now[c] - then[c]]
    if not gained or (any(then.values()) and PUBLIC_ACTIONS not in gained):
        return ()
    return tuple(FieldChange(c, text(before[c]), text(after[c])) for c in gained)


def newly_public(
    old: Snapshot, new: Snapshot, added: pa.Array, both: pa.Table
) -> Iterator[tuple[int, tuple[FieldChange, ...]]]:
    """(row of NEW, reasons) of each newly public function: `added` holds the NEW rows of functions added, `both`
    the `old_row` / `new_row` of those in both (targets compared). Only the rows public in NEW (few) are read."""
    old_signals, new_signals = signals_of(old), signals_of(new)
    if not new_signals or not new.functions.num_rows:
        return
    public = public_mask(new.functions, new_signals)
    added = added.filter(public.take(added))
    for index, row in zip(added.to_pylist(), _rows(new.functions, added, new_signals), strict=True):
        yield index, reasons(None, row, old_signals, new_signals)
    pairs = both.filter(public.take(both["new_row"].combine_chunks()))
    olds, news = (
        _rows(old.functions, pairs["old_row"], old_signals),
        _rows(new.functions, pairs["new_row"], new_signals),
    )
    for index, before, after in zip(pairs["new_row"].to_pylist(), olds, news, strict=True):
        yield index, reasons(before, after, old_signals, new_signals)


def _rows(functions: pa.Table, indices: pa.Array | pa.ChunkedArray, signals: frozenset[str]) -> list[dict[str, Any]]:
    """`enriched` and the signal columns the snapshot has, of the rows at `indices`."""
    columns = [ENRICHED_COLUMN, *(column for column, _ in SIGNALS if column in signals)]
    if URL_VERDICT in functions.column_names:
        columns.append(URL_VERDICT)
    return functions.select(columns).take(indices).to_pylist()  # type: ignore[no-any-return]
