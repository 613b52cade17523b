"""The flag values the command line checks itself: days and look-ahead windows (report, diff), and the
flags argparse refuses before any command runs (tested through cli.main, exit 2)."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from support.hostile_lambda import POLL

from inventory.aws.task import METADATA_VARIABLE
from inventory.cli import main
from inventory.cli_env import parse_day, parse_run_id, parse_within, run_id_of_environment
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


# --- the run id: shared by the shards of one run ------------------------------------------------------


@pytest.fixture
def no_run_variables(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("LAMBDA_INVENTORY_RUN_ID", "AWS_BATCH_JOB_ID", METADATA_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_run_id_from_the_variable_batch_or_nothing(no_run_variables: pytest.MonkeyPatch) -> None:
    assert run_id_of_environment() is None  # a new one per process
    no_run_variables.setenv("AWS_BATCH_JOB_ID", "3f0e6c1a-1111-2222-3333-444455556666:7")
    assert run_id_of_environment() == "3f0e6c1a-1111-2222-3333-444455556666", "an array child: its parent's id"
    no_run_variables.setenv("LAMBDA_INVENTORY_RUN_ID", "nightly-2026-12-06")
    assert run_id_of_environment() == "nightly-2026-12-06", "the variable wins"


def test_an_ecs_task_is_its_own_run_id(no_run_variables: pytest.MonkeyPatch) -> None:
    """The ECS task metadata endpoint (v4), served here over real HTTP: its TaskARN's id is the run id."""
    arn = "arn:aws:ecs:us-east-1:111122223333:task/lambda-inventory/0f1e2d3c4b5a69788796a5b4c3d2e1f0"

    class Metadata(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"TaskARN": arn} if self.path == "/v4/abc/task" else {}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Metadata)
    threading.Thread(target=server.serve_forever, args=(POLL,), daemon=True).start()
    try:
        no_run_variables.setenv(METADATA_VARIABLE, f"http://127.0.0.1:{server.server_port}/v4/abc")
        assert run_id_of_environment() == "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
        no_run_variables.setenv(METADATA_VARIABLE, f"http://127.0.0.1:{server.server_port}/v4/other")
        assert run_id_of_environment() is None, "no TaskARN: a new run id"
    finally:
        server.shutdown()
    assert run_id_of_environment() is None, "the endpoint gone: a new run id, within the timeout"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nightly-1", "nightly-1"),
        ("3f0e6c1a:2", "3f0e6c1a:2"),
        ("arn:aws:ecs:us-east-1:111122223333:task/cluster/0f1e2d3c", "0f1e2d3c"),
    ],
)
def test_parse_run_id(text: str, expected: str) -> None:
    assert parse_run_id(text, "--run-id") == expected


@pytest.mark.parametrize("text", ["", "a b", "-leading", "x" * 129, "semi;colon", "new\nline"])
def test_a_bad_run_id_is_one_line(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_run_id(text, "--run-id")
    assert str(info.value).startswith("--run-id: ") and "\n" not in str(info.value)


def test_a_bad_run_id_or_database_stops_a_run_before_anything(
    no_run_variables: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["run", "--output", str(tmp_path / "lake"), "--lake", "--run-id", "a b"]) == 2
    assert capsys.readouterr().err.startswith("lambda-inventory: error: --run-id: 'a b' is not a run id")
    assert main(["report", str(tmp_path), "--database", "Bad-Name"]) == 2
    assert "is not a Glue database name" in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize(
    ("args", "usage", "message"),
    [
        (["run", "--conifg", "x", "--output", "y"], "lambda-inventory run", "--conifg x (did you mean --config?)"),
        (["verify", "s3://b/p/", "--run_id", "x"], "lambda-inventory verify", "--run_id x (did you mean --run-id?)"),
        (["report", "x", "--zzzzzz"], "lambda-inventory report", "unrecognized arguments: --zzzzzz"),
    ],
)
def test_a_mistyped_flag_is_refused_by_its_command_with_the_closest_one(
    args: list[str], usage: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: {usage} ") and err.strip().endswith(message), err
