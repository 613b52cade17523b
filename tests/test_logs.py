"""Logging: JSON lines for containers, text with a live progress line for people."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from inventory.logs import JsonFormatter, Progress, TextFormatter, setup_logging


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("inventory.pipeline", logging.WARNING, __file__, 1, "target failed: %s", ("X",), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_line_carries_account_and_region() -> None:
    line = JsonFormatter().format(_record(account_id="111111111111", region="eu-west-1", error_code="X"))
    entry = json.loads(line)
    assert entry["level"] == "warning"
    assert entry["message"] == "target failed: X"
    assert (entry["account_id"], entry["region"], entry["error_code"]) == ("111111111111", "eu-west-1", "X")
    assert entry["time"].endswith("+00:00")


def test_text_line_names_the_target_and_clears_the_progress_line_on_a_tty() -> None:
    plain = TextFormatter().format(_record(account_id="111111111111", region="eu-west-1"))
    assert plain == "warning [111111111111/eu-west-1] target failed: X"
    assert TextFormatter(clear_line=True).format(_record()).startswith("\r\x1b[K")


def test_auto_format_is_json_off_a_terminal_and_text_on_one() -> None:
    stream = io.StringIO()
    assert setup_logging("info", "auto", stream) is False
    logging.getLogger("inventory.x").info("hello", extra={"account_id": "1", "region": "r"})
    assert json.loads(stream.getvalue())["message"] == "hello"

    tty = FakeTty()
    assert setup_logging("info", "auto", tty) is True
    logging.getLogger("inventory.x").info("hello")
    assert "info" in tty.getvalue() and "{" not in tty.getvalue()


def test_sdk_debug_logs_stay_off_even_at_debug() -> None:
    """botocore's debug logs include request and response bodies (environment variable values)."""
    setup_logging("debug", "json", io.StringIO())
    for name in ("botocore", "boto3", "urllib3"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING


def test_progress_draws_a_live_line_on_a_terminal() -> None:
    tty = FakeTty()
    progress = Progress(10, live=True, stream=tty)
    progress.update(3, 120, 1)
    progress.close()
    assert "3/10 targets, 120 functions, 1 failed" in tty.getvalue()
    assert tty.getvalue().endswith("\r\x1b[K")


def test_progress_logs_periodically_and_at_the_end_off_a_terminal(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="inventory.progress")
    progress = Progress(3, live=False, interval=3600)
    progress.update(1, 5, 0)  # within the interval: nothing
    progress.update(3, 9, 0)  # the last target: always logged
    messages = [r.getMessage() for r in caplog.records if r.name == "inventory.progress"]
    assert messages == ["3/3 targets, 9 functions, 0 failed"]
