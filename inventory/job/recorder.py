"""Finished targets handed to the rows together (job/pipeline.py's `execute`): the targets that end within
WINDOW_S of each other go to contract/rows.py's RowBuffer in one call, so that their estate tables are read and
checked together (one walk of each column for all of them: contract/estate_rows.py's `many_targets_estate`)
rather than one target at a time (~0.3 s of CPU at 300 accounts x 17 regions with the per-account-region tables,
most of it the per-target cost of ~50 columns).

A target waits here after giving its place back: the next target is already listing while its rows are made.
A value one target's enrichment cannot store still fails that enrichment for that target alone (RowBuffer).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from inventory.contract.results import EnrichmentOutcome, TargetResult
from inventory.contract.rows import RowBuffer

WINDOW_S = 0.02  # how long a finished target waits for others (its place is already someone else's)
MAX_ROWS = 4096  # handed on at once when this many rows (functions and estate rows) wait


class Recorder:
    """One per run, on the event loop: `await record(result)` is the result as its rows were written."""

    def __init__(self, rows: RowBuffer, window_s: float = WINDOW_S, max_rows: int = MAX_ROWS) -> None:
        self._rows = rows
        self._window_s = window_s
        self._max_rows = max_rows
        self._pending: list[tuple[TargetResult, asyncio.Future[TargetResult]]] = []
        self._count = 0
        self._timer: asyncio.TimerHandle | None = None

    async def record(self, result: TargetResult) -> TargetResult:
        """The result, its rows handed on: its enrichments as written (one whose values could not be stored is
        failed), without the values and rows themselves (they are the RowBuffer's now)."""
        future: asyncio.Future[TargetResult] = asyncio.get_running_loop().create_future()
        self._pending.append((result, future))
        self._count += result.function_count or 0
        self._count += sum(len(rows) for outcome in result.enrichments for rows in outcome.tables.values())
        if self._count >= self._max_rows:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window_s, self.flush)
        return await future

    def flush(self) -> None:
        """Hand on everything waiting now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending = [(result, future) for result, future in self._pending if not future.done()]  # not cancelled
        self._pending, self._count = [], 0
        if not pending:
            return
        try:
            written = self._rows.add([result for result, _ in pending])
        except Exception as err:  # noqa: BLE001 - the job's own (a sink that cannot write): every waiter gets it
            for _, future in pending:
                future.set_exception(err)
            return
        for (result, future), outcomes in zip(pending, written, strict=True):
            future.set_result(replace(result, functions=(), enrichments=tuple(map(_status_only, outcomes))))


def _status_only(outcome: EnrichmentOutcome) -> EnrichmentOutcome:
    """The outcome as the status file and the summary need it: its values and estate rows dropped (written)."""
    return replace(outcome, values={}, tables={}) if outcome.values or outcome.tables else outcome
