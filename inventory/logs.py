"""Logging: JSON lines on stderr for containers, readable lines plus a live progress line on a TTY.

Records carry `account_id` / `region` when they are about a target. Callers pass only names, ids, error
codes and cleaned messages; as defence in depth both formatters mask the whole line they write (redact.mask:
access key ids, secret keys, session tokens, signatures), message, extra fields and exceptions included, at
every level.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import TextIO

from inventory.redact import mask

_FIELDS = ("account_id", "region", "status", "error_code", "functions", "done", "total", "in_flight")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(self._format(record))

    def _format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({key: getattr(record, key) for key in _FIELDS if hasattr(record, key)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self, clear_line: bool = False) -> None:
        super().__init__()
        self._prefix = "\r\033[K" if clear_line else ""  # wipe the live progress line first

    def format(self, record: logging.LogRecord) -> str:
        return mask(self._format(record))

    def _format(self, record: logging.LogRecord) -> str:
        where = ""
        if hasattr(record, "account_id"):
            where = f" [{record.account_id}/{getattr(record, 'region', '-')}]"
        return f"{self._prefix}{record.levelname.lower():<7}{where} {record.getMessage()}"


def setup_logging(level: str, fmt: str, stream: TextIO | None = None) -> bool:
    """Configure the root logger. Returns True when a live progress line fits (text on a TTY)."""
    stream = stream or sys.stderr
    tty = stream.isatty()
    human = fmt == "text" or (fmt == "auto" and tty)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter(clear_line=tty) if human else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("botocore", "boto3", "urllib3"):  # their debug logs can include request headers
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return human and tty


class Progress:
    """A live `done/total` line on a TTY; a log line at least every `interval` seconds otherwise.

    `update` is called as each target finishes; `beat` by the run's heartbeat (`next_beat` seconds apart)
    while targets are in flight, so a line still comes when none finishes for a while (a slow or hanging
    target): the log line every `interval` seconds, the live line redrawn every second with the time gone.
    """

    def __init__(self, total: int, live: bool, stream: TextIO | None = None, interval: float = 10.0) -> None:
        self._total = total
        self._live = live
        self._stream = stream or sys.stderr
        self._interval = interval
        self._started = self._last = time.monotonic()
        self._state = (0, 0, 0, 0)  # done, functions, failed, in flight
        self._log = logging.getLogger("inventory.progress")

    def update(self, done: int, functions: int, failed: int, in_flight: int = 0) -> None:
        self._state = (done, functions, failed, in_flight)
        if self._live:
            self._draw()
        elif time.monotonic() - self._last >= self._interval or done == self._total:
            self._emit()

    def beat(self, in_flight: int) -> None:
        """The heartbeat: the live line redrawn, or the log line if `interval` seconds passed without one."""
        self._state = (*self._state[:3], in_flight)
        if self._live:
            self._draw()
        elif time.monotonic() - self._last >= self._interval:
            self._emit()

    def next_beat(self) -> float:
        """Seconds until the next `beat` is due."""
        if self._live:
            return min(1.0, self._interval)
        return max(0.01, self._last + self._interval - time.monotonic())

    def _text(self) -> str:
        done, functions, failed, in_flight = self._state
        text = f"{done}/{self._total} targets, {functions} functions, {failed} failed"
        if in_flight:
            text += f", {in_flight} in flight, {time.monotonic() - self._started:.0f} s elapsed"
        return text

    def _draw(self) -> None:
        self._stream.write(f"\r{self._text()}\033[K")
        self._stream.flush()

    def _emit(self) -> None:
        self._last = time.monotonic()
        done, functions, _, in_flight = self._state
        extra = {"done": done, "total": self._total, "functions": functions, "in_flight": in_flight}
        self._log.info(self._text(), extra=extra)

    def close(self) -> None:
        if self._live:
            self._stream.write("\r\033[K")
            self._stream.flush()
