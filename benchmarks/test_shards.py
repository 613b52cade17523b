"""`run.py --shards`'s checks (shard_checks.py) without docker or a fake: the union of an array's shards against
the population finds a lost row, a duplicated row, an account in two shards, a target missing or not ok; each
child gets AWS Batch's variables; the partition is read by the names output/layout.py gives."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from shard_checks import (
    check_fake_stats,
    check_rows,
    check_status,
    parse_counts,
    read_partition,
    shard_env,
    shard_names,
)

from inventory.cli_env import shard_of
from inventory.job.targets import Shard

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
        f"1 accounts assumed more than once, e.g. ['{A} x2']",
        "1 accounts never assumed",
        f"{A}/us-east-1 got 16 requests in one second (limit 15)",
    ]


def test_each_child_gets_the_variables_aws_batch_sets_and_the_job_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    assert shard_env(0, 1) == {}  # N = 1 is the stack's unsharded ECS task
    assert shard_names(1) == ["inventory"]
    assert shard_names(3) == ["shard-0-of-3", "shard-1-of-3", "shard-2-of-3"]
    for index in range(3):
        for name, value in shard_env(index, 3).items():
            monkeypatch.setenv(name, value)
        assert shard_of(None) == Shard(index, 3)


def test_shard_counts_parse_in_order_and_reject_nonsense() -> None:
    assert parse_counts("1,2,4") == [1, 2, 4]
    assert parse_counts("4") == [4]
    for bad in ("", "0", "1,1", "two", "101"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_counts(bad)


def test_the_partition_is_read_by_the_layouts_names_and_a_missing_file_is_named(tmp_path: Path) -> None:
    day = "snapshot_date=2026-11-30"
    inventory, statuses = whole()
    for name in ("shard-0-of-2", "shard-1-of-2"):
        for folder, tables in ((day, inventory), (f"_status/{day}", statuses)):
            (tmp_path / folder).mkdir(parents=True, exist_ok=True)
            pq.write_table(tables[name], tmp_path / folder / f"{name}.parquet")
        (tmp_path / "_manifests" / day).mkdir(parents=True, exist_ok=True)
    (tmp_path / "_manifests" / day / "shard-0-of-2.json").write_text("{}")
    found = read_partition(tmp_path, 2)
    assert found.day == date(2026, 11, 30)
    assert sorted(found.inventory) == ["shard-0-of-2", "shard-1-of-2"]
    assert found.inventory["shard-1-of-2"].num_rows == 2
    assert found.problems == [f"_manifests/{day}/shard-1-of-2.json: missing"]
    assert read_partition(tmp_path, 4).problems[0] == f"{day}/shard-0-of-4.parquet: missing"
