"""`run.py --shards`'s checks (shard_checks.py) without docker or a fake: the union of an array's shards against
the population finds a lost row, a duplicated row, an account in two shards, a target missing or not ok; each
child gets AWS Batch's variables and the job reads one run id from them; a run is read back from a lake by its
run id, apart from an overlapping run's rows, and a missing shard or a write without a record is named."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from shard_checks import (
    check_fake_stats,
    check_rows,
    check_status,
    parse_counts,
    read_run,
    shard_env,
    shard_names,
    verdicts,
)
from shards import Run, check_verdict

from inventory.cli_env import run_id_of_environment, shard_of
from inventory.contract.lake import FUNCTIONS, TABLES, Lake, lake_at
from inventory.contract.record import Counts, RunInfo, RunRecord
from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.job.targets import Shard
from inventory.readers.verify import verify_run
from inventory.writers.lake import append_run, open_tables, run_columns

A, B, C = "100000000000", "100000000001", "100000000002"
POPULATION = {A: {"us-east-1": 2, "eu-west-1": 0}, B: {"us-east-1": 1, "eu-west-1": 1}, C: {"us-east-1": 0}}


def arn(account: str, region: str, n: int) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:f{n}"


def rows(*targets: tuple[str, str, int]) -> pa.Table:
    """Inventory rows: n functions for each (account, region, n)."""
    out: dict[str, list[str]] = {"account_id": [], "region": [], "function_arn": []}
    for account, region, n in targets:
        for i in range(n):
            out["account_id"].append(account)
            out["region"].append(region)
            out["function_arn"].append(arn(account, region, i))
    return pa.table(out)


def status(*targets: tuple[str, str, int | None, str]) -> pa.Table:
    return pa.table(
        {
            "account_id": [t[0] for t in targets],
            "region": [t[1] for t in targets],
            "status": [t[3] for t in targets],
            "function_count": pa.array([t[2] for t in targets], pa.int64()),
            "error_code": [None if t[3] == "ok" else "AccessDenied" for t in targets],
        }
    )


def whole() -> tuple[dict[str, pa.Table], dict[str, pa.Table]]:
    """Two shards that together are the population: A in shard 0, B and C in shard 1."""
    inventory = {
        "shard-0-of-2": rows((A, "us-east-1", 2)),
        "shard-1-of-2": rows((B, "us-east-1", 1), (B, "eu-west-1", 1)),
    }
    statuses = {
        "shard-0-of-2": status((A, "us-east-1", 2, "ok"), (A, "eu-west-1", 0, "ok")),
        "shard-1-of-2": status((B, "us-east-1", 1, "ok"), (B, "eu-west-1", 1, "ok"), (C, "us-east-1", 0, "ok")),
    }
    return inventory, statuses


def test_the_union_of_complete_shards_passes() -> None:
    inventory, statuses = whole()
    assert check_rows(inventory, POPULATION) == []
    assert check_status(statuses, POPULATION) == []


def test_a_lost_row_is_found() -> None:
    inventory, _ = whole()
    inventory["shard-1-of-2"] = rows((B, "us-east-1", 1))  # B/eu-west-1's function is gone
    problems = check_rows(inventory, POPULATION)
    assert problems[0] == "rows 3 != population 4 (1 lost)"
    assert "1 account-regions with the wrong row count" in problems[1]
    assert f"{B}/eu-west-1: 0 rows, population 1" in problems[1]


def test_a_duplicated_row_across_two_shards_is_found() -> None:
    inventory, _ = whole()
    inventory["shard-1-of-2"] = pa.concat_tables([inventory["shard-1-of-2"], rows((A, "us-east-1", 1))])
    problems = check_rows(inventory, POPULATION)
    assert problems[0] == "rows 5 != population 4 (1 too many)"
    duplicate = next(p for p in problems if "duplicate" in p)
    assert duplicate.startswith("1 duplicate function ARNs")
    assert f"{arn(A, 'us-east-1', 0)} (shard-0-of-2, shard-1-of-2)" in duplicate
    assert problems[-1] == f"1 accounts with rows in more than one shard, e.g. {A} in shard-0-of-2, shard-1-of-2"


def test_a_duplicated_row_within_one_shard_is_found() -> None:
    inventory, _ = whole()
    twice = pa.concat_tables([rows((A, "us-east-1", 1)), rows((A, "us-east-1", 1))])
    inventory["shard-0-of-2"] = twice  # two rows, the count right, one ARN twice
    problems = check_rows(inventory, POPULATION)
    assert problems == [f"1 duplicate function ARNs, e.g. ['{arn(A, 'us-east-1', 0)} (shard-0-of-2, shard-0-of-2)']"]


def test_an_account_in_two_shards_is_found_even_without_functions() -> None:
    _, statuses = whole()
    statuses["shard-0-of-2"] = status((A, "us-east-1", 2, "ok"), (A, "eu-west-1", 0, "ok"), (C, "us-east-1", 0, "ok"))
    problems = check_status(statuses, POPULATION)
    assert problems == [
        f"1 targets in the status files more than once, e.g. ['{C}/us-east-1 x2']",
        f"1 accounts with status rows in more than one shard, e.g. {C} in shard-0-of-2, shard-1-of-2",
    ]


def test_a_missing_target_a_failed_one_and_a_wrong_count_are_found() -> None:
    _, statuses = whole()
    statuses["shard-1-of-2"] = status((B, "us-east-1", None, "failed"), (B, "eu-west-1", 3, "ok"))
    problems = check_status(statuses, POPULATION)
    assert problems == [
        f"1 targets in no status file, e.g. ['{C}/us-east-1']",
        f"1 targets not ok, e.g. ['{B}/us-east-1: failed AccessDenied (shard-1-of-2)']",
        f"1 status counts wrong, e.g. ['{B}/eu-west-1: 3 (shard-1-of-2)']",
    ]


def stats(assumed: dict[str, int], rps: int = 10) -> dict[str, Any]:
    return {"assume_role_by_account": assumed, "max_peak_rps": {"target": f"{A}/us-east-1", "rps": rps}}


def test_an_account_assumed_twice_or_never_and_a_rate_over_the_limit_are_found() -> None:
    assert check_fake_stats(stats({A: 1, B: 1, C: 1}), 3, 15) == []
    assert check_fake_stats(stats({A: 2, B: 1}, rps=16), 3, 15) == [
        f"1 accounts not assumed exactly once, e.g. ['{A} x2']",
        "1 accounts never assumed",
        f"{A}/us-east-1 got 16 requests in one second (limit 15)",
    ]


def test_two_overlapping_runs_assume_each_account_once_each_and_their_rate_is_not_checked() -> None:
    assert check_fake_stats(stats({A: 2, B: 2, C: 2}, rps=20), 3, None, runs=2) == []
    assert check_fake_stats(stats({A: 2, B: 1, C: 3}), 3, None, runs=2) == [
        f"2 accounts not assumed exactly 2 times (once per run), e.g. ['{B} x1', '{C} x3']"
    ]


_BATCH = ("AWS_BATCH_JOB_ID", "AWS_BATCH_JOB_ARRAY_INDEX", "LAMBDA_INVENTORY_SHARD_COUNT", "LAMBDA_INVENTORY_RUN_ID")


def test_each_child_gets_the_variables_aws_batch_sets_and_the_job_reads_one_run_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ECS_CONTAINER_METADATA_URI_V4", raising=False)
    run_id = "4f0c1c2e-7d8a-4b7e-9a51-2f3e8c6d1b00"
    assert shard_env(0, 1, run_id) == {"LAMBDA_INVENTORY_RUN_ID": run_id}  # N = 1: the unsharded ECS task
    assert shard_names(1) == ["inventory"]
    assert shard_names(3) == ["shard-0-of-3", "shard-1-of-3", "shard-2-of-3"]
    for index, count in [(0, 1), (0, 3), (1, 3), (2, 3)]:
        for name in _BATCH:
            monkeypatch.delenv(name, raising=False)
        for name, value in shard_env(index, count, run_id).items():
            monkeypatch.setenv(name, value)
        assert shard_of(None) == (Shard(index, count) if count > 1 else None)
        assert run_id_of_environment() == run_id  # AWS_BATCH_JOB_ID 'RUN:I' -> RUN, shared by the array


def test_shard_counts_parse_in_order_and_reject_nonsense() -> None:
    assert parse_counts("1,2,4") == [1, 2, 4]
    assert parse_counts("4") == [4]
    for bad in ("", "0", "1,1", "two", "101"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_counts(bad)


# ------------------------------------------------------------------------------------------ a lake

DAY = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)


def full(schema: pa.Schema, n: int, **columns: list[Any]) -> pa.Table:
    """n rows of `schema`: the given columns; elsewhere null, or a plain value where the schema allows no null."""

    def filler(field: pa.Field) -> pa.Array:
        if field.nullable:
            return pa.nulls(n, field.type)
        if pa.types.is_timestamp(field.type):
            value: Any = DAY
        elif pa.types.is_list(field.type):
            value = []
        elif pa.types.is_integer(field.type):
            value = 0
        else:
            value = ""
        return pa.array([value] * n, field.type)

    arrays = [pa.array(columns[f.name], f.type) if f.name in columns else filler(f) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def commit_shard(
    lake: Lake, tables: dict[str, Any], run_id: str, shard: tuple[int, int] | None, *, rows: pa.Table, status: pa.Table
) -> None:
    """One shard's three commits (functions, targets, its runs row last), as the job makes them (append_run)."""
    by_account: dict[str, dict[str, int | None]] = {}
    for row in status.to_pylist():
        by_account.setdefault(row["account_id"], {})[row["region"]] = row["function_count"]
    record = RunRecord(
        run_id=run_id,
        write_id=f"{run_id}-w{shard[0] if shard else 0}",
        started_at=DAY,
        finished_at=DAY,
        config_sha256="c0ffee",
        shard=shard,
        counts=Counts(status.num_rows, len(by_account), rows.num_rows, status.num_rows, 0, 0),
        functions_by_account=by_account,
    )
    functions = full(INVENTORY_SCHEMA, rows.num_rows, **rows.to_pydict())
    append_run(lake, tables, functions, full(STATUS_SCHEMA, status.num_rows, **status.to_pydict()), record)


def two_shards(tmp_path: Path) -> tuple[Lake, dict[str, Any]]:
    """A lake holding run-1 as two shards that together are the population."""
    lake = lake_at(str(tmp_path / "lake"))
    tables = open_tables(lake)
    inventory, statuses = whole()
    for index, name in enumerate(["shard-0-of-2", "shard-1-of-2"]):
        commit_shard(lake, tables, "run-1", (index, 2), rows=inventory[name], status=statuses[name])
    return lake, tables


def test_a_run_is_read_back_from_the_lake_by_its_run_id_beside_an_overlapping_run(tmp_path: Path) -> None:
    lake, tables = two_shards(tmp_path)
    inventory, statuses = whole()  # a second run of the same org, unsharded
    everything, every_status = pa.concat_tables(inventory.values()), pa.concat_tables(statuses.values())
    commit_shard(lake, tables, "run-2", None, rows=everything, status=every_status)

    one = read_run(lake, "run-1", 2)
    assert (one.day, one.records, one.problems) == (date(2026, 12, 6), 2, [])
    assert sorted(one.inventory) == ["shard-0-of-2", "shard-1-of-2"]
    assert one.inventory["shard-1-of-2"].num_rows == 2
    assert check_rows(one.inventory, POPULATION) == []
    assert check_status(one.status, POPULATION) == []
    two = read_run(lake, "run-2", 1)
    assert (two.records, two.problems, sorted(two.inventory)) == (1, [], ["inventory"])
    assert check_rows(two.inventory, POPULATION) == []  # each function once in each run
    assert check_status(two.status, POPULATION) == []

    assert read_run(lake, "run-1", 4).problems == [
        "run run-1: no record of shard(s) [2, 3]",
        "run run-1: records of [2] shard(s), 4 expected",
    ]
    assert read_run(lake, "run-3", 1).problems == [f"{lake}: no record of run run-3 committed"]


def test_rows_of_a_write_that_never_committed_its_record_are_counted_not_hidden(tmp_path: Path) -> None:
    lake, tables = two_shards(tmp_path)
    # a second attempt of shard 1 that died after its functions commit: rows, no runs row
    dead = RunInfo("run-1", DAY, "c0ffee", (1, 2), "run-1-dead")
    rows = full(INVENTORY_SCHEMA, 2, **whole()[0]["shard-1-of-2"].to_pydict())
    tables[FUNCTIONS].append(pa.Table.from_arrays([*rows.columns, *run_columns(dead, 2)], schema=TABLES[FUNCTIONS]))

    found = read_run(lake, "run-1", 2)
    assert found.problems == ["2 functions rows of run run-1 from a write with no committed record"]
    assert any(p.startswith("2 duplicate function ARNs") for p in check_rows(found.inventory, POPULATION))


def test_verify_s_recorded_verdict_is_read_and_checked(tmp_path: Path) -> None:
    lake = lake_at(str(tmp_path / "lake"))
    tables = open_tables(lake)
    inventory, statuses = whole()
    commit_shard(lake, tables, "run-1", (0, 2), rows=inventory["shard-0-of-2"], status=statuses["shard-0-of-2"])
    run = Run("n2", "run-1", 2)
    assert verdicts(lake, "run-1") == []
    verify_run(lake, run_id="run-1", shards=2)  # shard 1 never committed
    assert check_verdict(verdicts(lake, "run-1"), run, POPULATION) == [
        "run run-1: its verification says {'verdict': 'incomplete', 'functions': 2, 'targets': 2, 'shards_found': 1}"
        ", expected {'verdict': 'complete', 'functions': 4, 'targets': 5, 'shards_found': 2, 'shards_expected': 2}"
    ]
    commit_shard(lake, tables, "run-1", (1, 2), rows=inventory["shard-1-of-2"], status=statuses["shard-1-of-2"])
    verify_run(lake, run_id="run-1", shards=2)
    rows = verdicts(lake, "run-1")
    assert [row["verdict"] for row in rows] == ["incomplete", "complete"]
    assert check_verdict(rows[1:], run, POPULATION) == []
    assert check_verdict(rows, run, POPULATION) == ["run run-1: 2 verifications rows, expected 1"]
