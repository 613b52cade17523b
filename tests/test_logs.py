"""Logging: JSON lines for containers, text with a live progress line for people."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest

from inventory.logs import JsonFormatter, Progress, TextFormatter, setup_logging


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


pytestmark = pytest.mark.usefixtures("restore_root_logger")


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "inventory.job.pipeline", logging.WARNING, __file__, 1, "target failed: %s", ("X",), None
    )
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


# --- masking: defence in depth for whatever a caller logs ------------------------------------------------

KEY_ID = "ASIAQWERTYUIOPASDFGH"
TOKEN = "IQoJb3JpZ2luX2VjEKr" + "Zm9vYmFy" * 20


@pytest.mark.parametrize("fmt", ["json", "text"])
@pytest.mark.parametrize("level", ["debug", "info", "warning", "error"])
def test_every_record_is_masked_in_both_formats_at_every_level(fmt: str, level: str) -> None:
    stream = io.StringIO()
    setup_logging("debug", fmt, stream)
    log = logging.getLogger("inventory.anything")
    getattr(log, level)(
        "denied: %s X-Amz-Security-Token=%s",
        KEY_ID,
        TOKEN,
        extra={"account_id": "111111111111", "region": "eu-west-1", "error_code": f"Bad{KEY_ID}"},
    )
    out = stream.getvalue()
    assert "denied: *** X-Amz-Security-Token=***" in out
    assert KEY_ID not in out and TOKEN[:24] not in out
    assert "111111111111" in out and "eu-west-1" in out


def test_an_exception_logged_as_json_is_masked() -> None:
    stream = io.StringIO()
    setup_logging("debug", "json", stream)
    try:
        raise RuntimeError(f"request failed: Credential={KEY_ID}/20261130/us-east-1/lambda/aws4_request")
    except RuntimeError:
        logging.getLogger("inventory.x").exception("boom")
    entry = json.loads(stream.getvalue())
    assert "Credential=***" in entry["exception"]
    assert KEY_ID not in stream.getvalue()


def test_formatters_mask_without_the_filter_too() -> None:
    record = _record()
    record.msg, record.args = "key %s", (KEY_ID,)
    assert JsonFormatter().format(record).count(KEY_ID) == 0
    assert TextFormatter().format(record) == "warning key ***"


def test_a_record_with_bad_arguments_does_not_raise_from_the_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    setup_logging("info", "json", stream)
    # logging's own handleError, not ours, deals with the bad format string; the previous value is restored after
    monkeypatch.setattr(logging, "raiseExceptions", False)
    logging.getLogger("inventory.x").info("%d items", "not a number")


def test_the_heartbeat_logs_while_targets_are_in_flight_and_none_finishes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="inventory.progress")
    progress = Progress(12, live=False, interval=0.05)
    progress.update(11, 40, 1, in_flight=1)  # within the interval: nothing
    time.sleep(0.06)
    progress.beat(in_flight=1)  # the run's heartbeat: no target finished since, the line comes anyway
    progress.beat(in_flight=1)  # within the interval again: nothing
    records = [r for r in caplog.records if r.name == "inventory.progress"]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[-1].getMessage().startswith("11/12 targets, 40 functions, 1 failed, 1 in flight, ")
    assert (records[-1].done, records[-1].in_flight) == (11, 1)  # type: ignore[attr-defined]
    assert 0 < progress.next_beat() <= 0.05


def test_the_heartbeat_redraws_the_live_line_with_the_targets_in_flight() -> None:
    tty = FakeTty()
    progress = Progress(12, live=True, stream=tty, interval=10)
    progress.update(11, 40, 1, in_flight=1)
    progress.beat(in_flight=1)
    assert tty.getvalue().count("11/12 targets, 40 functions, 1 failed, 1 in flight, 0 s elapsed") == 2
    assert progress.next_beat() == 1.0  # the live line ticks every second
