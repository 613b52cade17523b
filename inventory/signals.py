"""SIGTERM and SIGINT stop a run the same way: promptly, publishing nothing half-done.

ECS (and `docker stop`, Kubernetes, systemd) sends SIGTERM and, 30 s later, SIGKILL. `stop_on_signals`
(entered by cli.main) installs one handler for both signals on the main thread. The first signal raises
`Stopped` there, a KeyboardInterrupt: the path Ctrl-C has always taken. Whatever the main thread was doing
(the event loop, waiting for an S3 upload, ...) unwinds; asyncio cancels the listings in flight, the sink
deletes its temporary files and aborts multipart uploads (pipeline.run_job aborts on any BaseException),
and cli.main prints one line and leaves with os._exit (the code it maps the signal to: 130 for SIGINT, 143
for SIGTERM), so no AssumeRole thread still backing off can keep the process alive.

Unwinding can block where Python waits for threads (asyncio.run joins its default executor), so a
watchdog bounds it: after `grace` seconds it raises `Stopped` in the main thread once more (a real signal
to that thread, which interrupts a blocked wait), and after `deadline` seconds it prints the line and ends
the process itself, with the code `stop_on_signals` was given for the signal. Further signals during the
unwinding are ignored; it is already bounded.

`deferred` is for the few milliseconds of a local commit (three renames): a signal that arrives meanwhile
is delivered right after them, so the three files are never split by SIGTERM or SIGINT (only SIGKILL or a
power cut can, and the manifest says how to tell; see sink.py).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

GRACE_SECONDS = 3.0  # then interrupt whatever blocks the main thread's unwinding
DEADLINE_SECONDS = 8.0  # then leave without waiting any longer (ECS's SIGKILL comes at 30 s)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

__all__ = ["DEADLINE_SECONDS", "GRACE_SECONDS", "Stopped", "deferred", "stop_on_signals"]


class Stopped(KeyboardInterrupt):
    """The run was stopped by a signal. A KeyboardInterrupt, so every Ctrl-C path handles it."""

    def __init__(self, signum: int = signal.SIGINT, *, published: bool = False) -> None:
        super().__init__(signum)
        self.signum = signum
        self.published = published  # the signal arrived just after the output was published

    def describe(self) -> str:
        """The one line for stderr."""
        what = "interrupted" if self.signum == signal.SIGINT else f"terminated ({signal.Signals(self.signum).name})"
        written = "the output had already been published" if self.published else "nothing was written"
        return f"lambda-inventory: {what}; {written}"


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class _Stopping:
    """The state of one `stop_on_signals`: the first signal, and whether the watchdog has escalated."""

    def __init__(self, exit_code_of: Callable[[int], int], grace: float, deadline: float) -> None:
        self.exit_code_of, self.grace, self.deadline = exit_code_of, grace, deadline
        self.first: Stopped | None = None
        self.escalated = threading.Event()
        self.done = threading.Event()

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.first is None:
            self.first = Stopped(signum)
            threading.Thread(target=self._watch, name="inventory-stop-watchdog", daemon=True).start()
            raise self.first
        if self.escalated.is_set() and signum == self.first.signum:
            self.escalated.clear()  # raise once more, then ignore again
            raise Stopped(signum)
        # any other signal while unwinding: ignored, the unwinding is already bounded

    def _watch(self) -> None:
        """Interrupt the main thread after `grace`, end the process after `deadline`."""
        stop, main = self.first, threading.main_thread()
        if stop is None or self.done.wait(self.grace) or not main.is_alive():
            return
        self.escalated.set()
        signal.pthread_kill(main.ident or 0, stop.signum)  # a real signal: wakes a blocked join or wait
        if self.done.wait(max(self.deadline - self.grace, 0.0)):
            return
        sys.stderr.write(f"{stop.describe()} (cleanup cut short after {self.deadline:g} s)\n")
        sys.stderr.flush()
        os._exit(self.exit_code_of(stop.signum))


@contextmanager
def stop_on_signals(
    exit_code_of: Callable[[int], int], grace: float = GRACE_SECONDS, deadline: float = DEADLINE_SECONDS
) -> Iterator[None]:
    """Turn SIGTERM and SIGINT into `Stopped` on the main thread; the previous handlers are restored after.
    `exit_code_of(signum)` is the code the watchdog ends the process with (the caller's mapping; cli.py's).
    Elsewhere than on the main thread (where Python allows no handler) it does nothing."""
    if not _on_main_thread():
        yield
        return
    stopping = _Stopping(exit_code_of, grace, deadline)
    previous = {signum: signal.signal(signum, stopping.handle) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        stopping.done.set()
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGTERM and SIGINT for the duration (meant for milliseconds), then deliver the first one that
    arrived to the handler that was in place. On another thread than the main one it does nothing."""
    if not _on_main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        if pending:
            signal.raise_signal(pending[0])
