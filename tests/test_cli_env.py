"""The flag values the command line checks itself: days and look-ahead windows (report, diff), and the
flags argparse refuses before any command runs (tested through cli.main, exit 2)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from inventory.cli import main
from inventory.cli_env import parse_day, parse_within
from inventory.errors import ConfigError


@pytest.mark.parametrize(("text", "days"), [("90d", 90), ("90", 90), ("0", 0), (" 7d ", 7), ("365d", 365)])
def test_parse_within(text: str, days: int) -> None:
    assert parse_within(text) == timedelta(days=days)


@pytest.mark.parametrize("text", ["3w", "-1", "", "d", "90 days", "1.5"])
def test_parse_within_refuses_in_one_line(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_within(text)
    assert str(info.value) == f"--within: {text!r} is not a number of days (e.g. 90d or 90)"


def test_parse_day() -> None:
    assert parse_day("2026-11-28", "--as-of") == date(2026, 11, 28)
    with pytest.raises(ConfigError, match=r"^--as-of: '2026-13-01' is not a date \(YYYY-MM-DD\)$"):
        parse_day("2026-13-01", "--as-of")


@pytest.mark.parametrize(
    ("args", "flag", "code"),
    [
        (["report", "x.parquet", "--as-of", "2026-13-01"], "--as-of", 2),
        (["report", "x.parquet", "--snapshot-date", "28.11.2026"], "--snapshot-date", 2),
        (["report", "x.parquet", "--within", "3w"], "--within", 2),
        (["diff", "a.parquet", "b.parquet", "--old-date", "yesterday"], "--old-date", 2),
        (["diff", "a.parquet", "b.parquet", "--new-date", "2026-02-30"], "--new-date", 2),
    ],
)
def test_a_bad_day_or_window_is_one_line_and_exit_2(
    args: list[str], flag: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == code
    err = capsys.readouterr().err
    assert err.startswith(f"lambda-inventory: error: {flag}: ") and err.count("\n") == 1, err


@pytest.mark.parametrize("night", ["0", "3", "two"])
def test_the_parser_refuses_an_unknown_night(night: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--night is always set (default 1) and checked by argparse: the demo reads it as given."""
    with pytest.raises(SystemExit) as stopped:
        main(["demo", "--night", night])
    assert stopped.value.code == 2
    assert "argument --night: invalid" in capsys.readouterr().err
