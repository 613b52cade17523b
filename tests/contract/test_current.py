"""The rule "which run is the inventory of day D" (contract/current.py): its cases, and its SQL (the Athena
named query) choosing exactly what the Python chooses, run by duckdb over the same runs and functions."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from inventory.contract.current import Verdict, current_inventory_sql, current_run, runs_of
from inventory.contract.lake import RUN_COLUMNS, RUNS_SCHEMA, VERIFICATIONS_SCHEMA
from inventory.contract.record import Counts, RunRecord
from inventory.writers.lake import runs_row

DAY = date(2026, 12, 6)
T0 = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)


def record(
    run_id: str,
    shard: tuple[int, int] | None = None,
    *,
    ok: int = 10,
    failed: int = 0,
    minutes: int = 0,
    write_id: str | None = None,
    config: str = "c" * 64,
    day: date = DAY,
) -> RunRecord:
    started = datetime.combine(day, T0.timetz()) + timedelta(minutes=minutes)
    index = 0 if shard is None else shard[0]
    return RunRecord(
        run_id=run_id,
        write_id=write_id or f"{run_id}-w{index}-{minutes}",
        started_at=started,
        finished_at=started + timedelta(minutes=5),
        config_sha256=config,
        shard=shard,
        counts=Counts(targets=ok + failed, accounts=1, functions=ok * 3, ok=ok, failed=failed),
    )


def test_one_complete_run_is_the_day() -> None:
    chosen = current_run([record("a")], DAY)
    assert chosen is not None
    assert (chosen.run_id, chosen.complete, chosen.verdict) == ("a", True, Verdict.COMPLETE)


def test_no_run_that_day_is_none() -> None:
    assert current_run([record("a")], DAY + timedelta(days=1)) is None


def test_a_later_run_with_fewer_ok_targets_does_not_replace_a_complete_one() -> None:
    good = record("good", ok=12)
    worse = record("worse", ok=0, failed=12, minutes=60)  # every target failed, later
    assert current_run([good, worse], DAY).run_id == "good"  # type: ignore[union-attr]
    assert current_run([worse, good], DAY).run_id == "good"  # type: ignore[union-attr]


def test_a_later_complete_run_with_as_many_ok_targets_replaces_it() -> None:
    assert current_run([record("first"), record("second", minutes=60)], DAY).run_id == "second"  # type: ignore[union-attr]


def test_an_incomplete_sharded_run_never_hides_a_complete_one() -> None:
    whole = record("whole", ok=12)
    half = record("half", (0, 2), ok=12, minutes=60)  # more ok in its one shard, but shard 1 never committed
    chosen = current_run([whole, half], DAY)
    assert chosen is not None and chosen.run_id == "whole"
    (other,) = [r for r in runs_of([whole, half]) if r.run_id == "half"]
    assert other.problems == ("1 of 2 shard(s) never committed: shard 1",)
    assert other.verdict is Verdict.INCOMPLETE


def test_shards_add_up_and_a_retried_shard_counts_once() -> None:
    shards = [record("r", (0, 2), ok=5), record("r", (1, 2), ok=0, failed=5), record("r", (1, 2), ok=5, minutes=9)]
    chosen = current_run(shards, DAY)
    assert chosen is not None
    assert chosen.complete and chosen.ok == 10 and chosen.failed == 0
    assert chosen.write_ids == {shards[0].write_id, shards[2].write_id}


def test_problems_name_mixed_layouts_configs_and_huge_gaps() -> None:
    mixed = runs_of([record("m", (0, 2)), record("m", (1, 3))])[0]
    assert "shards of different layouts: shard counts 2, 3" in mixed.problems
    configs = runs_of([record("c", (0, 2)), record("c", (1, 2), config="d" * 64)])[0]
    assert configs.problems == ("shards ran with 2 different configs (config_sha256)",)
    gaps = runs_of([record("g", (3, 10000))])[0]
    assert gaps.problems == (
        "9999 of 10000 shard(s) never committed: shard 0, 1, 2, 4, 5, 6, 7, 8, 9, 10 and 9989 more",
    )


def test_complete_with_failures_is_never_simply_complete() -> None:
    chosen = current_run([record("f", ok=8, failed=3)], DAY)
    assert chosen is not None and chosen.verdict is Verdict.COMPLETE_WITH_FAILURES and chosen.failed == 3


# --- the SQL and the Python agree --------------------------------------------------------------------


def _random_runs(rng: random.Random) -> list[RunRecord]:
    records = []
    for day in (DAY, DAY + timedelta(days=1)):
        for n in range(rng.randint(0, 4)):
            count = rng.choice([1, 1, 2, 3])
            config = rng.choice(["a" * 64, "a" * 64, "b" * 64])
            for index in range(count):
                if rng.random() < 0.2:
                    continue  # a shard that never committed
                for attempt in range(rng.choice([1, 1, 2])):
                    records.append(
                        record(
                            f"run{n}-{day.day}",
                            None if count == 1 else (index, count),
                            ok=rng.randint(0, 4),
                            failed=rng.randint(0, 2),
                            minutes=rng.randint(0, 600) + attempt,
                            write_id=f"w{len(records)}",
                            config=config,
                            day=day,
                        )
                    )
    return records


def _sql_choice(records: list[RunRecord]) -> set[tuple[date, str]]:
    runs = pa.concat_tables([runs_row(r) for r in records]) if records else RUNS_SCHEMA.empty_table()
    functions = pa.table(
        {
            "snapshot_date": pa.array([r.snapshot_date for r in records], pa.date32()),
            "write_id": pa.array([r.write_id for r in records], pa.string()),
        }
    )
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA lake")
    connection.register("runs_arrow", runs)
    connection.register("functions_arrow", functions)
    connection.execute("CREATE VIEW lake.runs AS SELECT * FROM runs_arrow")
    connection.execute("CREATE VIEW lake.functions AS SELECT * FROM functions_arrow")
    rows = connection.execute(current_inventory_sql("lake")).fetchall()
    return set(rows)


@pytest.mark.parametrize("seed", range(60))
def test_the_athena_sql_chooses_what_the_python_chooses(seed: int) -> None:
    records = _random_runs(random.Random(seed))
    expected = set()
    for day in {r.snapshot_date for r in records}:
        chosen = current_run(records, day)
        assert chosen is not None
        expected |= {(day, w) for w in chosen.write_ids}
    assert _sql_choice(records) == expected


def test_the_sql_names_the_database_it_is_given() -> None:
    sql = current_inventory_sql("my_db")
    assert "FROM my_db.runs" in sql and "FROM my_db.functions f" in sql and "{" not in sql


def test_the_documented_query_is_the_codes() -> None:
    """docs/lake.md shows the Athena query; it is the SQL the code makes, word for word."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "lake.md").read_text(encoding="utf-8")
    assert current_inventory_sql("lambda_inventory") in docs


def test_every_lake_table_column_is_documented() -> None:
    """Each column of the runs and verifications tables, and the run columns, has a row in docs/lake.md."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "lake.md").read_text(encoding="utf-8")
    rows = [line for line in docs.splitlines() if line.startswith("| `")]
    documented = {name for line in rows for name in re.findall(r"`([a-z_0-9]+)`", line.split(" | ")[0])}
    for schema in (RUNS_SCHEMA, VERIFICATIONS_SCHEMA, pa.schema(RUN_COLUMNS)):
        assert set(schema.names) <= documented, set(schema.names) - documented
