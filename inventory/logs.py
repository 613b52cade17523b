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

_FIELDS = ("account_id", "region", "status", "error_code", "functions", "done", "total")


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
    """A live `done/total` line on a TTY; a log line every `interval` seconds otherwise."""

    def __init__(self, total: int, live: bool, stream: TextIO | None = None, interval: float = 10.0) -> None:
        self._total = total
        self._live = live
        self._stream = stream or sys.stderr
        self._interval = interval
        self._last = time.monotonic()
        self._log = logging.getLogger("inventory.progress")

    def update(self, done: int, functions: int, failed: int) -> None:
        text = f"{done}/{self._total} targets, {functions} functions, {failed} failed"
        if self._live:
            self._stream.write(f"\r{text}\033[K")
            self._stream.flush()
        elif time.monotonic() - self._last >= self._interval or done == self._total:
            self._last = time.monotonic()
            self._log.info(text, extra={"done": done, "total": self._total, "functions": functions})

    def close(self) -> None:
        if self._live:
            self._stream.write("\r\033[K")
            self._stream.flush()
