"""The demo's two nights: run it twice, diff the inventories, and see exactly NIGHT_TWO_CHANGES.

Each night runs `command_demo` in a fresh Python process, as a user running `lambda-inventory demo` twice
would (moto's state is process-wide, and each night needs an empty emulator). The parser's `--night` flag
lives in cli.py; here the namespace carries `night` the way argparse would.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from inventory.demo.run import NIGHT_TWO_CHANGES, Change, check_night, demo_org, night_of
from inventory.errors import ConfigError

TIMEOUT = 300
NIGHT_ONE_ROWS, NIGHT_TWO_ROWS = 154, 155  # reachable functions (test_cli checks 154 for the default night)
PER_RUN = {"snapshot_time", "last_modified", "revision_id"}  # differ on every run, whatever was seeded

RUN_NIGHT = """
import argparse, sys
from inventory.demo.run import command_demo
output, night = sys.argv[1], int(sys.argv[2])
args = argparse.Namespace(output=output, format=None, max_workers=None, throttle_rate=0.1, port=0,
                          serve=False, serve_timeout=600.0, night=night)
sys.exit(command_demo(args, False))
"""


@dataclass(frozen=True)
class Night:
    number: int
    proc: subprocess.CompletedProcess[str]
    rows: dict[str, dict[str, Any]]  # function_arn -> the inventory row


def _environment() -> dict[str, str]:
    """This process's environment without any AWS or tool setting (the demo points itself at the emulator)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAMBDA_INVENTORY_"))}


def _run_night(number: int, tmp: Path) -> Night:
    out = tmp / f"night-{number}"
    proc = subprocess.run(
        [sys.executable, "-c", RUN_NIGHT, f"{out}/", str(number)],
        env=_environment(),
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    path = out / "inventory.parquet"
    rows = {row["function_arn"]: row for row in pq.read_table(path).to_pylist()} if path.is_file() else {}
    return Night(number, proc, rows)


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, Night]]:
    tmp = tmp_path_factory.mktemp("demo-nights")
    yield {number: _run_night(number, tmp) for number in (1, 2)}


@pytest.mark.parametrize("number", [1, 2])
def test_each_night_passes_the_demo_check(nights: dict[int, Night], number: int) -> None:
    night = nights[number]
    assert night.proc.returncode == 0, night.proc.stdout + night.proc.stderr
    assert "demo check passed" in night.proc.stdout
    assert len(night.rows) == {1: NIGHT_ONE_ROWS, 2: NIGHT_TWO_ROWS}[number]


def test_night_two_says_what_changed(nights: dict[int, Night]) -> None:
    assert "night 2: the organisation changed" not in nights[1].proc.stdout
    for change in NIGHT_TWO_CHANGES:
        assert str(change) in nights[2].proc.stdout


def _arn(change: Change) -> str:
    return f"arn:aws:lambda:{change.region}:{change.account_id}:function:{change.function_name}"


def test_the_functions_removed_and_added_are_the_documented_ones(nights: dict[int, Night]) -> None:
    before, after = nights[1].rows.keys(), nights[2].rows.keys()
    assert before - after == {_arn(c) for c in NIGHT_TWO_CHANGES if c.night2 is None}
    assert after - before == {_arn(c) for c in NIGHT_TWO_CHANGES if c.night1 is None}


def _cell(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def test_the_diff_of_the_two_nights_is_exactly_the_documented_changes(nights: dict[int, Night]) -> None:
    """Every column of every function in both nights, apart from the per-run ones."""
    one, two = nights[1].rows, nights[2].rows
    changed = {
        (arn, column, _cell(one[arn][column]), _cell(two[arn][column]))
        for arn in one.keys() & two.keys()
        for column in one[arn].keys() - PER_RUN
        if one[arn][column] != two[arn][column]
    }
    documented = {
        (_arn(c), c.column, c.night1, c.night2) for c in NIGHT_TWO_CHANGES if None not in (c.night1, c.night2)
    }
    assert changed == documented


@pytest.mark.parametrize("change", NIGHT_TWO_CHANGES, ids=lambda c: f"{c.what}:{c.function_name}")
@pytest.mark.parametrize("number", [1, 2])
def test_each_change_shows_in_that_nights_inventory(nights: dict[int, Night], change: Change, number: int) -> None:
    row = nights[number].rows.get(_arn(change))
    got = None if row is None else _cell(row[change.column])
    assert got == change.expected(number)


def test_the_documented_changes_are_the_ones_the_issue_asks_for() -> None:
    whats = [change.what for change in NIGHT_TWO_CHANGES]
    assert whats.count("removed") == 1
    assert whats.count("added") == 2
    upgrade = next(c for c in NIGHT_TWO_CHANGES if c.what == "runtime upgraded")
    assert (upgrade.night1, upgrade.night2) == ("python3.8", "python3.12")
    assert {"memory size changed", "environment variable name added", "layer added"} <= set(whats)


def test_check_night_catches_an_inventory_of_the_other_night(nights: dict[int, Night]) -> None:
    table = pq.read_table(Path(nights[1].proc.args[3]) / "inventory.parquet")
    assert check_night(table, 1) == []
    problems = check_night(table, 2)
    assert len(problems) == len(NIGHT_TWO_CHANGES)
    assert all(p.startswith("night 2: ") for p in problems)


def test_the_seeded_organisations_differ_by_one_function() -> None:
    def count(night: int) -> int:
        return sum(spec.count for m in demo_org("s", night) for specs in m.functions.values() for spec in specs)

    assert (count(1), count(2)) == (158, 159)  # 4 more in the denied account, never listed


@pytest.mark.parametrize(("given", "night"), [({}, 1), ({"night": 1}, 1), ({"night": 2}, 2)])
def test_night_defaults_to_one(given: dict[str, int], night: int) -> None:
    assert night_of(argparse.Namespace(**given)) == night


@pytest.mark.parametrize("bad", [0, 3, "2"])
def test_an_unknown_night_is_a_config_error(bad: object) -> None:
    with pytest.raises(ConfigError, match="--night"):
        night_of(argparse.Namespace(night=bad))


def test_demo_in_csv_passes_its_own_check(tmp_path: Path) -> None:
    """The check reads the CSV back with the schema's types, so it compares like with like."""
    script = Path(sys.executable).parent / "lambda-inventory"
    proc = subprocess.run(
        [str(script), "demo", "--format", "csv", "--output", f"{tmp_path}/outcsv/"],
        env=_environment(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "demo check passed" in proc.stdout
    assert (tmp_path / "outcsv" / "inventory.csv").read_bytes().startswith(b'"snapshot_time"')
