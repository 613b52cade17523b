"""`lambda-inventory diff`: functions added / removed / changed / unknown between two snapshots.

Inventories are built with the real schema (diff_inventory.py), written as the job writes them (Parquet, or
CSV through the sink's encoding; or as runs of a local lake, by the package's lake writer), read back with
load_snapshot and compared. Reports are checked against golden files in tests/fixtures/diff/ (regenerate
with UPDATE_GOLDEN=1 and review the diff). Which columns are compared: test_diff_columns.py; newly public
functions and enrichments: test_diff_public.py.
"""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Sequence
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from diff_inventory import (
    BASE_STATUS,
    DEV,
    EAST,
    NEW_TIME,
    OLD_TIME,
    PROD,
    SANDBOX,
    WEST,
    Row,
    categories,
    changed_fields,
    check_golden,
    count,
    diff,
    fn,
    target,
    write,
)
from support.inventories import at, write_lake_run

from inventory.readers.snapshot import load_snapshot
from inventory.reports.diff import Category, diff_snapshots
from inventory.reports.diff_render import CSV_COLUMNS, DiffFormat, render_diff


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative sources: the reports name old.parquet, not a random tmp path


# --- the scenarios ------------------------------------------------------------------------------------

BASE = [fn(PROD, EAST, "api"), fn(PROD, EAST, "worker"), fn(PROD, WEST, "edge"), fn(DEV, EAST, "api")]


def test_empty_to_empty() -> None:
    result = diff(([], []), ([], []))
    assert result.changes == () and result.unchanged == 0 and result.accounts == ()
    check_golden("empty", result)


def test_identical_snapshots_have_no_changes() -> None:
    result = diff((BASE, BASE_STATUS), (BASE, BASE_STATUS))
    assert result.changes == ()
    assert result.unchanged == 4
    assert not result.has_changes
    check_golden("identical", result)


def test_a_failed_target_in_new_makes_its_functions_unknown_not_removed() -> None:
    new = [f for f in BASE if f["account_id"] != DEV and f["function_name"] != "worker"]
    new_status = [target(PROD, EAST), target(PROD, WEST), target(DEV, EAST, "failed", "AccessDenied")]
    result = diff((BASE, BASE_STATUS), (new, new_status))
    assert categories(result) == {"removed": {"worker"}, "unknown": {"api"}}
    (unknown,) = result.of(Category.UNKNOWN)
    assert unknown.account_id == DEV
    (cause,) = result.unknown_targets
    assert (cause.account_id, cause.region, cause.new.status, cause.new.error_code) == (
        DEV,
        EAST,
        "failed",
        "AccessDenied",
    )
    assert cause.functions == 1
    check_golden("failed_in_new", result)


def test_a_failed_target_in_old_makes_its_functions_unknown_not_added() -> None:
    old = [f for f in BASE if f["account_id"] != DEV]
    old_status = [target(PROD, EAST), target(PROD, WEST), target(DEV, EAST, "failed", "AccessDeniedException")]
    new = [*BASE, fn(DEV, EAST, "cron"), fn(PROD, WEST, "edge-2")]
    result = diff((old, old_status), (new, BASE_STATUS))
    assert categories(result) == {"added": {"edge-2"}, "unknown": {"api", "cron"}}
    assert {c.account_id for c in result.of(Category.UNKNOWN)} == {DEV}
    assert [(t.old.status, t.new.status, t.functions) for t in result.unknown_targets] == [("failed", "ok", 2)]
    check_golden("failed_in_old", result)


def test_targets_new_to_coverage_are_added_and_targets_gone_from_it_are_unknown() -> None:
    """SANDBOX joined the organization (no old status row): added. DEV left it (no new status row): unknown."""
    new = [f for f in BASE if f["account_id"] != DEV] + [fn(SANDBOX, EAST, "poc")]
    new_status = [target(PROD, EAST), target(PROD, WEST), target(SANDBOX, EAST)]
    result = diff((BASE, BASE_STATUS), (new, new_status))
    assert categories(result) == {"added": {"poc"}, "unknown": {"api"}}
    (gone,) = result.unknown_targets
    assert (gone.account_id, gone.old.status, gone.new.status) == (DEV, "ok", "absent")
    check_golden("coverage", result)


def test_a_skipped_target_in_either_snapshot_is_not_compared() -> None:
    old_status = [*BASE_STATUS, target(SANDBOX, WEST, "skipped", "UnrecognizedClientException")]
    new_status = [*BASE_STATUS, target(SANDBOX, WEST)]
    result = diff((BASE, old_status), ([*BASE, fn(SANDBOX, WEST, "new-region")], new_status))
    assert categories(result) == {"unknown": {"new-region"}}
    assert result.unknown_targets[0].old.status == "skipped"


OTEL, SECRETS = (f"arn:aws:lambda:{EAST}:{PROD}:layer:{name}" for name in ("otel:3", "secrets|ext:1"))


def _layered(*arns: str) -> dict[str, Any]:
    """`layer_arns` and `layers` of a function with these layers, as the job writes both."""
    layers = [
        {"arn": arn, "code_size": 4096, "signing_profile_version_arn": None, "signing_job_arn": None} for arn in arns
    ]
    return {"layer_arns": list(arns), "layers": layers}


def _fields_scenario() -> tuple[tuple[list[Row], list[Row]], tuple[list[Row], list[Row]]]:
    old = [
        fn(PROD, EAST, "runtime-bump", runtime="python3.9"),
        fn(PROD, EAST, "env-var-added"),
        fn(PROD, EAST, "layer-added", **_layered(OTEL)),
        fn(PROD, EAST, "to-graviton", architectures=["x86_64"]),
        fn(PROD, EAST, "many", memory_size=128, timeout=3, code_sha256="b2xk", role="arn:aws:iam::111111111111:role/a"),
        fn(PROD, EAST, "cosmetic", description="old words", code_size=1, last_modified=OLD_TIME),
        fn(DEV, EAST, "gone"),
    ]
    new = [
        fn(PROD, EAST, "runtime-bump", runtime="python3.12"),
        fn(PROD, EAST, "env-var-added", environment_variable_names=["DB_HOST", "LOG_LEVEL"]),
        fn(PROD, EAST, "layer-added", **_layered(OTEL, SECRETS)),
        fn(PROD, EAST, "to-graviton", architectures=["arm64"]),
        fn(
            PROD, EAST, "many", memory_size=512, timeout=30, code_sha256="bmV3", role="arn:aws:iam::111111111111:role/b"
        ),
        fn(PROD, EAST, "cosmetic", description="new words", code_size=2, last_modified=NEW_TIME),
        fn(DEV, EAST, "fresh"),
    ]
    return (old, BASE_STATUS), (new, BASE_STATUS)


def test_changed_fields_env_var_layer_and_architecture() -> None:
    result = diff(*_fields_scenario())
    changed = changed_fields(result)
    assert changed["env-var-added"] == {"environment_variable_names": ('["LOG_LEVEL"]', '["DB_HOST", "LOG_LEVEL"]')}
    assert list(changed["layer-added"]) == ["layers"]  # once: layer_arns says the same
    assert changed["to-graviton"] == {"architectures": ('["x86_64"]', '["arm64"]')}
    assert set(changed["many"]) == {"memory_size", "timeout", "code_sha256", "role"}
    # description and code size are compared; last_modified only says that something changed
    assert changed["cosmetic"] == {"code_size": ("1", "2"), "description": ("old words", "new words")}
    assert categories(result)["added"] == {"fresh"} and categories(result)["removed"] == {"gone"}
    assert result.unchanged == 0
    check_golden("fields", result)


def test_csv_input_gives_the_same_diff_as_parquet_input() -> None:
    old, new = _fields_scenario()
    from_parquet, from_csv = diff(old, new, "parquet"), diff(old, new, "csv")
    assert from_csv.changes == from_parquet.changes
    assert from_csv.accounts == from_parquet.accounts
    assert render_diff(from_csv, DiffFormat.CSV) == render_diff(from_parquet, DiffFormat.CSV)
    same = diff_snapshots(load_snapshot("old.csv"), load_snapshot("old.parquet"))  # one file each way round
    assert same.changes == () and same.unchanged == len(old[0])


def test_published_versions_are_compared_version_by_version() -> None:
    """function_version: ALL. $LATEST keys the same whether its ARN is qualified (`:$LATEST`) or not."""
    latest_arn = f"arn:aws:lambda:{EAST}:{PROD}:function:svc:$LATEST"
    old = [fn(PROD, EAST, "svc"), fn(PROD, EAST, "svc", "1"), fn(PROD, EAST, "svc", "2", memory_size=128)]
    new = [
        fn(PROD, EAST, "svc", arn=latest_arn),
        fn(PROD, EAST, "svc", "2", memory_size=256),
        fn(PROD, EAST, "svc", "3"),
    ]
    result = diff((old, BASE_STATUS), (new, BASE_STATUS))
    assert [(c.category.value, c.version, c.function_arn) for c in result.changes] == [
        ("removed", "1", f"arn:aws:lambda:{EAST}:{PROD}:function:svc:1"),
        ("changed", "2", f"arn:aws:lambda:{EAST}:{PROD}:function:svc:2"),
        ("added", "3", f"arn:aws:lambda:{EAST}:{PROD}:function:svc:3"),
    ]
    assert result.unchanged == 1  # $LATEST
    check_golden("versions", result)


def test_csv_report_has_one_row_per_changed_field() -> None:
    result = diff(*_fields_scenario())
    rows = list(csv.DictReader(io.StringIO(render_diff(result, DiffFormat.CSV))))
    assert tuple(rows[0]) == CSV_COLUMNS
    many = [r for r in rows if r["function_name"] == "many"]
    assert {r["field"] for r in many} == {"memory_size", "timeout", "code_sha256", "role"}
    assert all(r["field"] == "" and r["old"] == "" for r in rows if r["category"] in ("added", "removed"))
    assert {r["account_id"] for r in rows} == {PROD, DEV}  # ids stay text


# --- HTML ---------------------------------------------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "source", "wbr"}


class _Checker(HTMLParser):
    """Fails on a mismatched or unclosed element and collects every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.urls: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v or "" for k, v in attrs if k in {"src", "href", "action", "xlink:href", "srcset"}]
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_well_formed_self_contained_and_escaped() -> None:
    old, new = _fields_scenario()
    evil = "<script>alert(1)</script> & co"
    new = ([*new[0], fn(SANDBOX, WEST, "x", account_name=evil)], [*new[1], target(SANDBOX, WEST, name=evil)])
    page = render_diff(diff(old, new), DiffFormat.HTML)
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.open == []
    assert checker.urls == []
    assert "http://" not in page and "https://" not in page and "<script" not in page
    text = " ".join(checker.text)
    assert "<script>alert(1)</script> & co" in text  # shown as text, escaped in the markup
    assert "to-graviton" in text and '["arm64"]' in text


# --- the command line ---------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("diff", *args, timeout=120)


NOV27, NOV28, NOV29 = date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)


def _lake_run(day: date, functions: Sequence[Row], status: Sequence[Row], run_id: str, **run: Any) -> None:
    """One run of `day` in the local lake ./lake, written by the package's lake writer (02:00 UTC unless told)."""
    run.setdefault("started_at", at(day))
    write_lake_run("lake", functions, count(status, functions), run_id=run_id, **run)


def _two_days() -> None:
    """The fields scenario in a lake: its old side the run of Nov 27, its new side the run of Nov 28."""
    (old, old_status), (new, new_status) = _fields_scenario()
    _lake_run(NOV27, old, old_status, "nov27")
    _lake_run(NOV28, new, new_status, "nov28")


def test_cli_diffs_two_days_of_a_lake(tmp_path: Path) -> None:
    _two_days()
    out = tmp_path / "diff.csv"
    proc = _cli(
        "lake", "lake", "--old-date", "2026-11-27", "--new-date", "2026-11-28", "--format", "csv", "--output", str(out)
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    expected = diff_snapshots(load_snapshot("lake", NOV27), load_snapshot("lake", NOV28))
    assert out.read_text(encoding="utf-8") == render_diff(expected, DiffFormat.CSV)
    as_files = diff(*_fields_scenario())  # the same rows as two inventory files: the same diff
    assert (expected.changes, expected.accounts) == (as_files.changes, as_files.accounts)
    gate = _cli("lake", "lake", "--old-date", "2026-11-27", "--fail-on-change")
    assert gate.returncode == 4, gate.stderr
    assert "# Lambda inventory diff" in gate.stdout  # markdown on stdout by default
    same = _cli("lake", "lake", "--old-date", "2026-11-28", "--fail-on-change")
    assert same.returncode == 0, same.stderr


def test_cli_diff_of_a_lake_takes_the_days_run_and_any_run_by_its_id() -> None:
    """A later run of Nov 28 could not list dev: it is not that day's inventory, so the diff of the two days is
    as before; asked for by its run id, dev's functions are unknown there, never removed."""
    _two_days()
    (_, _), (new, _) = _fields_scenario()
    worse = [target(PROD, EAST), target(PROD, WEST), target(DEV, EAST, "failed", "AccessDenied")]
    _lake_run(NOV28, [f for f in new if f["account_id"] != DEV], worse, "nov28-retry", started_at=at(NOV28, 9))
    day = diff_snapshots(load_snapshot("lake", NOV27), load_snapshot("lake", NOV28))
    assert day.new.source == f"{Path('lake').resolve()} run nov28"
    assert day.changes == diff(*_fields_scenario()).changes and day.unknown_targets == ()
    args = ("lake", "lake", "--old-date", "2026-11-27", "--new-date", "2026-11-28", "--format", "csv")
    by_id = _cli(*args, "--new-run-id", "nov28-retry")
    assert (by_id.returncode, by_id.stderr) == (0, "")
    dev = {
        (r["category"], r["function_name"]) for r in csv.DictReader(io.StringIO(by_id.stdout)) if r["account_id"] == DEV
    }
    assert dev == {("unknown", "gone")}  # dev not listed by the retry: Nov 27's "gone" is unknown, not removed
    back = _cli("lake", "lake", "--old-run-id", "nov28-retry", "--new-run-id", "nov28", "--format", "csv")
    assert back.returncode == 0, back.stderr
    assert {r["category"] for r in csv.DictReader(io.StringIO(back.stdout)) if r["account_id"] == DEV} == {"unknown"}


def test_cli_diff_warns_of_an_incomplete_run_on_stderr() -> None:
    _two_days()
    (_, _), (new, new_status) = _fields_scenario()
    _lake_run(NOV29, new, new_status, "nov29", shard=(0, 2))
    proc = _cli("lake", "lake", "--old-date", "2026-11-28")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        f"lambda-inventory: warning: {Path('lake').resolve()} run nov29: run nov29 of 2026-11-29 is incomplete: "
        "1 of 2 shard(s) never committed: shard 1"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.parquet", "missing.parquet"], "missing.parquet"),
        (["old.parquet", "old.parquet", "--old-date", "27/11/2026"], "--old-date"),
        (["old.parquet", "lake", "--old-date", "2026-11-28"], "a date or run id applies only to a lake"),
        (
            ["lake", "lake", "--old-date", "2026-01-01"],
            "(embedded catalog, namespace lambda_inventory): no run committed",
        ),
        (
            ["lake", "lake", "--new-run-id", "nope"],
            "(embedded catalog, namespace lambda_inventory): no run nope committed",
        ),
        (
            ["hive", "lake"],
            "hive: no inventory file or lake in it (an older snapshot_date=D/ layout: add it to a lake "
            "with `lambda-inventory import`)",
        ),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args: list[str], message: str) -> None:
    write(Path("old.parquet"), BASE, BASE_STATUS)
    _lake_run(NOV28, BASE, BASE_STATUS, "nov28")
    write(
        Path("hive") / f"snapshot_date={NOV28}" / "inventory.parquet", BASE, BASE_STATUS
    )  # the layout before the lake
    proc = _cli(*args)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert message in proc.stderr
