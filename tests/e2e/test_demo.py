"""The demo's two nights: run it twice, diff the inventories, and see exactly NIGHT_TWO_CHANGES.

Each night runs `run_demo` in a fresh Python process, as a user running `lambda-inventory demo` twice
would (moto's state is process-wide, and each night needs an empty emulator), and keeps the DemoOutcome it
returns; the process exits with the code cli.py gives that outcome. The `--night` flag is cli.py's (its
parser refuses any other value: tests/test_cli_env.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from inventory.demo.org import NIGHT_TWO_CHANGES, Change, demo_org
from inventory.demo.run import check_enrichments, check_night
from inventory.demo.seed import Seeded
from inventory.demo.seed_extras import Expected

TIMEOUT = 300
NIGHT_ONE_ROWS, NIGHT_TWO_ROWS = 154, 155  # reachable functions (test_cli checks 154 for the default night)
PER_RUN = {"snapshot_time", "last_modified", "revision_id"}  # differ on every run, whatever was seeded

RUN_NIGHT = """
import json, sys
from pathlib import Path
from inventory.demo.run import DemoOptions, run_demo
from inventory.exits import for_demo
from inventory.writers.destination import Format
output, night = Path(sys.argv[1]), int(sys.argv[2])
outcome = run_demo(DemoOptions(output / "inventory.parquet", Format.PARQUET, night), False)
statuses = sorted([r.target.account.account_id, r.target.region, r.status.value] for r in outcome.results)
(output / "outcome.json").write_text(json.dumps({"problems": outcome.problems, "statuses": statuses}))
sys.exit(for_demo(outcome.problems))
"""


@dataclass(frozen=True)
class Night:
    number: int
    proc: subprocess.CompletedProcess[str]
    rows: dict[str, dict[str, Any]]  # function_arn -> the inventory row
    outcome: dict[str, Any]  # the DemoOutcome: its problems and the (account, region, status) of its results


def _environment() -> dict[str, str]:
    """This process's environment without any AWS or tool setting (the demo points itself at the emulator)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAMBDA_INVENTORY_"))}


def _start_night(number: int, tmp: Path) -> subprocess.Popen[str]:
    out = tmp / f"night-{number}"
    return subprocess.Popen(
        [sys.executable, "-c", RUN_NIGHT, f"{out}/", str(number)],
        env=_environment(),
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _night(number: int, tmp: Path, child: subprocess.Popen[str]) -> Night:
    stdout, stderr = child.communicate(timeout=TIMEOUT)
    proc = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    out = tmp / f"night-{number}"
    path, found = out / "inventory.parquet", out / "outcome.json"
    rows = {row["function_arn"]: row for row in pq.read_table(path).to_pylist()} if path.is_file() else {}
    return Night(number, proc, rows, json.loads(found.read_text()) if found.is_file() else {})


@dataclass(frozen=True)
class Demos:
    nights: dict[int, Night]
    csv: subprocess.CompletedProcess[str]  # `lambda-inventory demo --format csv` (night 1)
    csv_out: Path


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demos]:
    """Both nights and the CSV demo at once (each its own emulator): the enrichments make a demo ~25 s, mostly
    waiting on the per-target request rate, so three side by side take about as long as one."""
    tmp = tmp_path_factory.mktemp("demo-nights")
    children = {number: _start_night(number, tmp) for number in (1, 2)}
    script = Path(sys.executable).parent / "lambda-inventory"
    csv = subprocess.Popen(
        [str(script), "demo", "--format", "csv", "--output", f"{tmp}/outcsv/"],
        env=_environment(),
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        nights = {number: _night(number, tmp, child) for number, child in children.items()}
        stdout, stderr = csv.communicate(timeout=TIMEOUT)
        yield Demos(nights, subprocess.CompletedProcess(csv.args, csv.returncode, stdout, stderr), tmp / "outcsv")
    finally:
        for child in (*children.values(), csv):
            child.kill()


@pytest.fixture(scope="module")
def nights(demos: Demos) -> dict[int, Night]:
    return demos.nights


@pytest.mark.parametrize("number", [1, 2])
def test_each_night_passes_the_demo_check(nights: dict[int, Night], number: int) -> None:
    night = nights[number]
    assert night.proc.returncode == 0, night.proc.stdout + night.proc.stderr
    assert "demo check passed" in night.proc.stdout
    assert len(night.rows) == {1: NIGHT_ONE_ROWS, 2: NIGHT_TWO_ROWS}[number]


@pytest.mark.parametrize("number", [1, 2])
def test_the_demo_returns_its_findings(nights: dict[int, Night], number: int) -> None:
    """No problem, and the run's results: the denied account failed and the disabled region skipped, which
    the check expects (so the exit code is 0 although the run itself was partial)."""
    outcome = nights[number].outcome
    assert outcome["problems"] == []
    assert len(outcome["statuses"]) == 12
    not_ok = {(a, r, s) for a, r, s in outcome["statuses"] if s != "ok"}
    assert not_ok == {
        ("333333333333", "ap-east-1", "skipped"),
        *{("555555555555", region, "failed") for region in ("us-east-1", "eu-west-1", "eu-central-1")},
    }


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
        for column in one[arn].keys() - PER_RUN - {"layers"}  # layers: the detail of layer_arns, below
        if one[arn][column] != two[arn][column]
    }
    documented = {
        (_arn(c), c.column, c.night1, c.night2) for c in NIGHT_TWO_CHANGES if None not in (c.night1, c.night2)
    }
    assert changed == documented
    for rows in (one, two):  # `layers` (arn, code size, signing) says the same layers as `layer_arns`
        for row in rows.values():
            assert [layer["arn"] for layer in row["layers"]] == row["layer_arns"]
            assert all(layer["code_size"] > 0 for layer in row["layers"])


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


def test_demo_in_csv_passes_its_own_check(demos: Demos) -> None:
    """The check reads the CSV back with the schema's types, so it compares like with like."""
    proc = demos.csv
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "demo check passed" in proc.stdout
    assert (demos.csv_out / "inventory.csv").read_bytes().startswith(b'"snapshot_time"')


def test_every_enrichment_is_in_the_demos_inventory(nights: dict[int, Night]) -> None:
    rows = nights[1].rows.values()
    assert rows and all(row["enriched"] == ["concurrency", "policy", "tags", "urls", "usage"] for row in rows)
    by_name = {row["function_name"]: row for row in rows}
    assert dict(by_name["orders-000"]["tags"]).get("team") == "payments"
    assert by_name["orders-110"]["tags"] == []  # untagged: read, none
    assert by_name["orders-000"]["reserved_concurrency"] == 100
    assert (by_name["edge-003"]["url_auth_types"], by_name["edge-003"]["public_url"]) == (["NONE"], True)
    assert (by_name["edge-005"]["url_auth_types"], by_name["edge-005"]["public_url"]) == (["NONE"], False)  # 403
    assert (by_name["edge-004"]["public_invoke"], by_name["edge-004"]["invoke_principals"]) == (True, ["*"])
    assert (by_name["edge-006"]["public_actions"], by_name["edge-006"]["public_invoke"]) == (
        ["lambda:GetFunction"],
        False,
    )  # anyone may download its code: public, not invocable
    assert by_name["orders-002"]["public_invoke"] is False  # API Gateway, limited by its SourceArn
    unused = [name for name, row in by_name.items() if row["runtime"] == "python3.8" and row["invocations_30d"] == 0]
    assert unused, "the demo has a deprecated-runtime function nobody calls"


def test_check_enrichments_catches_a_wrong_value(nights: dict[int, Night]) -> None:
    table = pq.read_table(Path(nights[1].proc.args[3]) / "inventory.parquet")
    expected = {
        row["function_arn"]: Expected(
            dict(row["tags"]),
            tuple(row["url_auth_types"]),
            tuple(row["invoke_principals"]),
            row["public_invoke"],
            tuple(row["public_actions"]),
            row["public_url"],
            row["reserved_concurrency"],
            row["invocations_30d"],
            row["last_invocation_day"],
        )
        for row in table.to_pylist()
    }
    seeded = cast(Seeded, SimpleNamespace(expected=expected))
    assert check_enrichments(table, seeded) == []
    column = table.column_names.index("reserved_concurrency")
    wrong = table.set_column(column, "reserved_concurrency", pa.array([7] * table.num_rows, pa.int32()))
    problems = check_enrichments(wrong, seeded)
    assert len(problems) == 10 and all("enrichment columns" in p for p in problems)  # the first ten
