"""The compliance report: the model, golden Markdown and CSV, and `lambda-inventory report` as a subprocess.

Golden files live in tests/fixtures/report/ (report_golden.py says how to regenerate them).

The inventories are built with INVENTORY_SCHEMA / STATUS_SCHEMA (tests/support/inventories.py) and judged
against a runtime schedule with fixed dates written by the test, never the packaged one (which changes).
"""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import run_cli
from report_golden import check_golden
from support.inventories import (
    AS_OF,
    DEV,
    PROD,
    WITHIN,
    all_failed_snapshot,
    at,
    catalog,
    empty_snapshot,
    function,
    functions_table,
    sample_functions,
    sample_snapshot,
    status,
    write_lake_run,
    write_run,
    write_runtimes,
)

from inventory.contract.runtimes import Lifecycle
from inventory.exits import ExitCode
from inventory.readers.snapshot import Snapshot
from inventory.reports.compliance import (
    AFFECTED,
    ComplianceReport,
    Tally,
    build_report,
)
from inventory.reports.compliance_render import AFFECTED_COLUMNS, render_report, report_document

SNAPSHOTS: dict[str, Callable[[], Snapshot]] = {
    "sample": sample_snapshot,
    "empty": empty_snapshot,
    "all_failed": all_failed_snapshot,
}


def _report(tmp_path: Path, snapshot: Snapshot | None = None, as_of: date = AS_OF) -> ComplianceReport:
    return build_report(snapshot or sample_snapshot(), catalog(tmp_path), as_of, WITHIN)


# --- golden files -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SNAPSHOTS))
@pytest.mark.parametrize(("fmt", "ext"), [("markdown", "md"), ("csv", "csv")])
def test_golden(tmp_path: Path, name: str, fmt: str, ext: str) -> None:
    check_golden(f"{name}.{ext}", render_report(_report(tmp_path, SNAPSHOTS[name]()), fmt))


# --- the model ----------------------------------------------------------------------------------------


def test_counts_by_status_account_region_and_runtime(tmp_path: Path) -> None:
    report = _report(tmp_path)
    assert dict(zip(Lifecycle, report.overall.counts, strict=True)) == {
        Lifecycle.UPDATE_BLOCKED: 2,  # $LATEST and version 3 of billing-export
        Lifecycle.CREATE_BLOCKED: 1,
        Lifecycle.DEPRECATED: 1,
        Lifecycle.DEPRECATION_SOON: 2,
        Lifecycle.SUPPORTED: 2,
        Lifecycle.UNKNOWN: 1,
        Lifecycle.IMAGE: 1,
    }
    assert (report.overall.total, report.overall.affected) == (10, 7)
    assert [(t.label, t.total, t.affected) for t in report.by_account_region] == [
        ((PROD, "prod", "eu-west-1"), 6, 4),
        ((PROD, "prod", "us-east-1"), 1, 1),
        ((DEV, "dev | sandbox", "eu-central-1"), 3, 2),
    ]
    assert [(r.runtime, r.status, r.functions) for r in report.by_runtime][:2] == [
        ("python3.8", Lifecycle.UPDATE_BLOCKED, 2),
        ("nodejs16.x", Lifecycle.CREATE_BLOCKED, 1),
    ]
    assert (report.catalog_checked, report.as_of, report.within) == (date(2026, 11, 1), AS_OF, WITHIN)


def test_affected_functions_most_severe_first_with_the_date_that_matters(tmp_path: Path) -> None:
    affected = _report(tmp_path).affected
    assert {f.status for f in affected} == AFFECTED
    assert [(f.function_name, f.version, f.status.value, f.status_date) for f in affected] == [
        ("billing-export", "$LATEST", "update_blocked", date(2025, 3, 31)),
        ("billing-export", "3", "update_blocked", date(2025, 3, 31)),
        ("edge-auth", "$LATEST", "create_blocked", date(2025, 10, 1)),
        ("orders|api", "$LATEST", "deprecated", date(2025, 12, 15)),
        ("orders-worker", "$LATEST", "deprecation_soon", date(2027, 1, 31)),
        ("api-canary", "$LATEST", "deprecation_soon", date(2027, 1, 31)),
        ("legacy-<batch>", "$LATEST", "unknown", None),
    ]
    assert affected[0].account_tags == ("env:prod", "team:core")
    assert affected[0].function_arn == f"arn:aws:lambda:eu-west-1:{PROD}:function:billing-export"


def test_the_look_ahead_and_the_as_of_date_move_statuses(tmp_path: Path) -> None:
    later = _report(tmp_path, as_of=date(2027, 2, 1))  # nodejs18.x's deprecation has passed
    assert later.overall.of(Lifecycle.DEPRECATED) == 2  # nodejs18.x; python3.9 is create_blocked by then
    narrow = build_report(sample_snapshot(), catalog(tmp_path), AS_OF, timedelta(days=7))
    assert narrow.overall.of(Lifecycle.DEPRECATION_SOON) == 0


@pytest.mark.parametrize(
    ("runtimes", "threshold", "trips"),
    [
        (["python3.8"], Lifecycle.UPDATE_BLOCKED, True),
        (["nodejs16.x"], Lifecycle.UPDATE_BLOCKED, False),
        (["nodejs16.x"], Lifecycle.CREATE_BLOCKED, True),
        (["python3.9"], Lifecycle.CREATE_BLOCKED, False),
        (["python3.9"], Lifecycle.DEPRECATED, True),
        (["nodejs18.x"], Lifecycle.DEPRECATED, False),
        (["nodejs18.x"], Lifecycle.DEPRECATION_SOON, True),
        (["cobol1.x"], Lifecycle.DEPRECATION_SOON, False),
        (["cobol1.x"], Lifecycle.UNKNOWN, True),
        (["python3.8"], Lifecycle.UNKNOWN, True),  # unknown is the widest gate: every affected status trips it
        (["python3.12", "java21", None], Lifecycle.UNKNOWN, False),  # supported and image never trip a gate
    ],
)
def test_gate(tmp_path: Path, runtimes: list[str | None], threshold: Lifecycle, trips: bool) -> None:
    rows = [function(PROD, f"f{i}", runtime) for i, runtime in enumerate(runtimes)]
    snapshot = Snapshot(functions_table(rows), sample_snapshot().status, "test", AS_OF)
    assert _report(tmp_path, snapshot).gate(threshold) is trips


def test_posture_shares_and_the_ten_largest(tmp_path: Path) -> None:
    rows = [function(PROD, f"f{i:02}", code_size=i * 1000) for i in range(12)]
    rows += [function(DEV, "null-size", code_size=None, vpc_id="vpc-1", architectures=["arm64"])]
    snapshot = Snapshot(functions_table(rows), sample_snapshot().status, "test", AS_OF)
    posture = _report(tmp_path, snapshot).posture
    assert [p.function_name for p in posture.largest] == [f"f{i:02}" for i in range(11, 1, -1)]
    assert [(s.label, s.count, s.total) for s in posture.architectures] == [("x86_64", 12, 13), ("arm64", 1, 13)]
    assert (posture.in_vpc.count, posture.in_vpc.total) == (1, 13)
    assert [(s.label, s.count) for s in posture.tracing] == [("Active", 0), ("PassThrough", 13)]


def test_coverage_says_what_was_not_listed(tmp_path: Path) -> None:
    coverage = _report(tmp_path).coverage
    assert coverage.line == "3 of 5 targets ok; 1 failed, 1 skipped — counts below cover only ok targets"
    assert [(p.where.account_id, p.where.region, p.status, p.error_code) for p in coverage.problems] == [
        (PROD, "ap-southeast-2", "failed", "AccessDeniedException"),
        (DEV, "me-central-1", "skipped", "UnrecognizedClientException"),
    ]


def test_no_function_because_nothing_was_listed_is_not_all_clear(tmp_path: Path) -> None:
    report = _report(tmp_path, all_failed_snapshot())
    assert report.coverage.line.startswith("0 of 2 targets ok; 2 failed")
    document = report_document(report)
    assert document.warnings[0] == f"Coverage: {report.coverage.line}."
    affected = next(s for s in document.sections if s.heading == "Affected functions")
    assert "not a clean bill of health" in affected.empty
    clean = report_document(_report(tmp_path, empty_snapshot()))
    assert next(s for s in clean.sections if s.heading == "Affected functions").empty.startswith("No function is")


def test_an_empty_status_file_is_a_warning(tmp_path: Path) -> None:
    snapshot = Snapshot(functions_table([]), sample_snapshot().status.slice(0, 0), "test", None)
    report = _report(tmp_path, snapshot)
    assert report.coverage.warnings == ("the status file lists no targets: nothing was inventoried",)
    assert report.overall == Tally((), (0,) * len(Lifecycle))


# --- the command, as a subprocess ---------------------------------------------------------------------


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_cli("report", *args)


MILD = [function(DEV, "soon", "nodejs18.x"), function(DEV, "fine", "python3.12"), function(DEV, "img", None)]


@pytest.fixture
def inventories(tmp_path: Path) -> dict[str, Path]:
    """The sample as a parquet file, and a milder one (deprecation_soon at worst) as a CSV file and as the
    day's run of a local lake."""
    sample = tmp_path / "sample.parquet"
    write_run(str(sample), sample_functions(), sample_snapshot().status.to_pylist())
    write_run(str(tmp_path / "mild.csv"), MILD, [status(DEV, "eu-west-1", count=3)])
    write_lake_run(tmp_path / "lake", MILD, [status(DEV, "eu-west-1", count=3)])
    return {"sample": sample, "mild": tmp_path / "mild.csv", "lake": tmp_path / "lake"}


@pytest.mark.parametrize(
    ("which", "fail_on", "code"),
    [
        ("sample", None, 0),
        ("sample", "update_blocked", 4),
        ("mild", None, 0),
        ("mild", "update_blocked", 0),
        ("mild", "deprecated", 0),
        ("mild", "deprecation_soon", 4),
        ("mild", "unknown", 4),
        ("lake", None, 0),
        ("lake", "deprecated", 0),
        ("lake", "deprecation_soon", 4),
    ],
)
def test_cli_fail_on_exit_codes(
    tmp_path: Path, inventories: dict[str, Path], which: str, fail_on: str | None, code: int
) -> None:
    gate = ["--fail-on", fail_on] if fail_on else []
    done = _cli(inventories[which], "--as-of", "2026-11-28", "--runtimes", write_runtimes(tmp_path), *gate)
    assert done.returncode == code, done.stderr
    assert ExitCode.GATE == 4
    assert done.stdout.startswith("# Lambda runtime compliance, 2026-11-28\n")
    assert done.stderr == ""


def test_cli_csv_to_a_file_is_the_golden_csv(tmp_path: Path, inventories: dict[str, Path]) -> None:
    out = tmp_path / "affected.csv"
    runtimes = write_runtimes(tmp_path)
    done = _cli(
        inventories["sample"], "--format", "csv", "--as-of", "2026-11-28", "--runtimes", runtimes, "--output", out
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(AFFECTED_COLUMNS)
    check_golden("sample.csv", text)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--within", "3w"], "--within: '3w' is not a number of days (e.g. 90d or 90)"),
        (["--as-of", "28/11/2026"], "--as-of: '28/11/2026' is not a date (YYYY-MM-DD)"),
        (["--snapshot-date", "yesterday"], "--snapshot-date: 'yesterday' is not a date (YYYY-MM-DD)"),
        (["--runtimes", "/nonexistent/runtimes.yaml"], "/nonexistent/runtimes.yaml: not a runtime schedule"),
    ],
)
def test_cli_bad_flags_exit_2_with_one_line(inventories: dict[str, Path], args: list[str], message: str) -> None:
    done = _cli(inventories["sample"], *args)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"lambda-inventory: error: {message}")


# --- the command on a lake ----------------------------------------------------------------------------


def _lake_cli(tmp_path: Path, lake: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _cli(lake, "--as-of", "2026-11-28", "--runtimes", write_runtimes(tmp_path), "--format", "csv", *args)


def _affected(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The function names of a CSV report's rows."""
    return sorted(row["function_name"] for row in csv.DictReader(io.StringIO(done.stdout)))


def test_cli_reads_the_days_run_of_a_lake_and_any_run_by_its_id(tmp_path: Path) -> None:
    """Two runs of one day: the later one could not list prod's us-east-1, so the earlier one, which listed
    every target, stays the day's inventory; --run-id reads the later one all the same."""
    lake = tmp_path / "lake"
    sample = sample_snapshot().status.to_pylist()
    write_lake_run(lake, sample_functions(), sample, run_id="whole", started_at=at(AS_OF, 1))
    worse = [{**s, "status": "failed", "function_count": None} if s["region"] == "us-east-1" else s for s in sample]
    rows = [r for r in sample_functions() if r["region"] != "us-east-1"]
    write_lake_run(lake, rows, worse, run_id="worse", started_at=at(AS_OF, 6))
    day = _lake_cli(tmp_path, lake)
    assert (day.returncode, day.stderr) == (0, "")
    assert "edge-auth" in _affected(day)  # prod us-east-1's nodejs16.x, listed by the day's run only
    chosen = _lake_cli(tmp_path, lake, "--run-id", "worse")
    assert (chosen.returncode, chosen.stderr) == (0, "")
    assert _affected(chosen) == [n for n in _affected(day) if n != "edge-auth"]


def test_cli_warns_of_an_incomplete_run_on_stderr(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    write_lake_run(lake, MILD, [status(DEV, "eu-west-1", count=3)], run_id="part", shard=(0, 2))
    done = _lake_cli(tmp_path, lake, "--fail-on", "deprecation_soon")
    assert done.returncode == ExitCode.GATE, done.stderr
    assert done.stderr.splitlines() == [
        f"lambda-inventory: warning: {lake} run part: run part of 2026-11-28 is incomplete: "
        "1 of 2 shard(s) never committed: shard 1"
    ]
    assert _affected(done) == ["soon"]


@pytest.mark.parametrize(
    ("source", "args", "message"),
    [
        ("lake", ["--snapshot-date", "2026-01-01"], "(embedded catalog, namespace lambda_inventory): no run committed"),
        ("lake", ["--run-id", "nope"], "(embedded catalog, namespace lambda_inventory): no run nope committed"),
        ("lake", ["--run-id", "no/such"], "--run-id: 'no/such' is not a run id"),
        ("mild.csv", ["--snapshot-date", "2026-11-28"], "a date or run id applies only to a lake"),
        ("old", [], "no inventory file or lake in it (an older snapshot_date=D/ layout: add it to a lake with "),
    ],
)
def test_cli_a_lake_or_day_that_cannot_be_read_exits_2_with_one_line(
    tmp_path: Path, inventories: dict[str, Path], source: str, args: list[str], message: str
) -> None:
    old = tmp_path / "old" / f"snapshot_date={AS_OF}" / "inventory.parquet"  # the layout before the lake
    write_run(str(old), MILD, [status(DEV, "eu-west-1", count=3)])
    done = _cli(tmp_path / source, *args)
    assert (done.returncode, done.stdout) == (ExitCode.USAGE, ""), done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("lambda-inventory: error: ") and message in line
