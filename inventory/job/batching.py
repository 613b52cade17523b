"""Work that targets hand in at about the same time, done in one call: job/collect.py's Stager (listings' items
staged into Arrow) and job/recorder.py's Recorder (finished targets' rows). Each has a cost per call whatever its
size, and most targets are small, so a caller waits up to `window_s` (or until `max_size` waits) for others; then
one call does them all and answers each caller on its own: its value, or its own exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class Batcher(Generic[In, Out]):
    """One per run, on the event loop: `await submit(item, size)` is `process`'s answer for `item`, made with others'.

    `process` gets the items waiting, in order, and returns one answer per item: a value, or an exception that
    the item's caller then raises."""

    def __init__(
        self, process: Callable[[list[In]], Sequence[Out | Exception]], window_s: float, max_size: int
    ) -> None:
        self._process = process
        self._window_s = window_s
        self._max_size = max_size
        self._pending: list[tuple[In, asyncio.Future[Out]]] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None

    async def submit(self, item: In, size: int) -> Out:
        """`process`'s answer for `item` (`size`: how much it counts towards max_size)."""
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._size += size
        if self._size >= self._max_size:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window_s, self.flush)
        return await future

    def flush(self) -> None:
        """Process everything waiting now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending = [(item, future) for item, future in self._pending if not future.done()]  # not cancelled
        self._pending, self._size = [], 0
        if not pending:
            return
        try:
            answers = list(self._process([item for item, _ in pending]))
            if len(answers) != len(pending):
                raise RuntimeError(f"{len(answers)} answers to {len(pending)} items")
        except Exception as err:  # noqa: BLE001 - the job's own error: every caller raises it, none waits forever
            answers = [err] * len(pending)
        for (_, future), answer in zip(pending, answers, strict=True):
            if isinstance(answer, Exception):
                future.set_exception(answer)  # raised in that caller, never lost in a callback
            else:
                future.set_result(answer)
