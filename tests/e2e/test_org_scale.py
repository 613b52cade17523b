"""End to end at organisation scale: accounts from AWS Organizations, inventoried into an S3 lake, read back by duckdb.

The issue's "Done when": a fresh organisation in the emulator (accounts created through Organizations, some
suspended, some with an opt-in region disabled) is inventoried with no account list in the file, written to
S3, and read back by duckdb; sharded runs add up to the unsharded one. `--output s3://bucket/prefix/` writes
the Apache Iceberg lake (contract/lake.py): the Glue tables functions, targets, runs and verifications, each
at s3://bucket/prefix/<table>/, which moto's server (the emulator) serves together with S3.

Every run is the real CLI in a subprocess, over HTTP, against the session emulator. moto's organisation is
shared by the whole session (the management account 123456789012 is in it, and other modules add accounts of
their own), so this module builds its own OU tree once, scopes its runs to that OU (children included), and
computes every expectation from what it created. moto's Glue catalog is shared by the session too, so every
lake here has a Glue database of its own (`--database`): two lakes never share a table. Nothing of the
package is mocked; the lake is read back in this process with pyiceberg (LakeReader) and duckdb, and by the
CLI's report, diff and verify.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from conftest import FAST_RETRY, admin_client, ensure_organization, new_bucket, seed_members, subprocess_env

from inventory.contract.lake import (
    DEFAULT_DATABASE,
    FUNCTIONS,
    PARTITION_COLUMN,
    RUNS,
    TABLES,
    TARGETS,
    VERIFICATIONS,
    Lake,
    lake_at,
)
from inventory.contract.record import Counts, RunRecord
from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec, Seeded
from inventory.readers.lake import LakeReader
from inventory.readers.snapshot import load_snapshot

TIMEOUT = 120
SECRET = f"s3cr3t-{uuid.uuid4()}"
REGIONS = ("us-east-1", "eu-west-1", "eu-south-1")  # eu-south-1 (Milan) is an opt-in region
OPT_IN = "eu-south-1"
COMMITTED = frozenset({FUNCTIONS, TARGETS, RUNS})  # the tables a run appends to (verifications: `verify` only)


@dataclass(frozen=True)
class World:
    """What this module created: root > scale OU (> child OU), accounts in both, one outside, a bucket."""

    parent_ou: str
    child_ou: str
    names: Mapping[str, str]  # account id -> the name given to CreateAccount
    active: frozenset[str]  # ACTIVE and under the scale OU: exactly the run's accounts
    suspended: frozenset[str]  # closed (SUSPENDED), under the scale OU, one of them seeded with functions
    outside: str  # ACTIVE, seeded, left in the root: never a target of an OU-scoped run
    payments: str  # ACTIVE, in the scale OU, 55 functions in us-east-1 (more than one page) and the secret
    opted_out: str  # ACTIVE, in the child OU, with functions in OPT_IN, which it has not enabled
    empty: str  # ACTIVE, in the child OU, no functions anywhere: ok with 0, never "unknown"
    seeded: Seeded
    bucket: str

    def arns(self, accounts: frozenset[str], regions: tuple[str, ...] = REGIONS) -> set[str]:
        """The ARNs a correct inventory of these accounts and regions holds (never the disabled pair's)."""
        return {
            arn
            for (account, region), arns in self.seeded.functions.items()
            if account in accounts and region in regions and (account, region) != (self.opted_out, OPT_IN)
            for arn in arns
        }


def _admin(emulator: Emulator, service: str) -> Any:
    return admin_client(emulator.endpoint, service)


def _create_accounts(org: Any, root: str, token: str, placement: Mapping[str, str]) -> dict[str, str]:
    """CreateAccount for each label, then MoveAccount into its parent; returns label -> account id."""
    ids = {}
    for label, parent in placement.items():
        name = f"scale-{label}-{token}"
        status = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
        assert status["State"] == "SUCCEEDED", status
        ids[label] = status["AccountId"]
        if parent != root:
            org.move_account(AccountId=ids[label], SourceParentId=root, DestinationParentId=parent)
    return ids


@pytest.fixture(scope="module")
def world(emulator: Emulator) -> World:
    org = _admin(emulator, "organizations")
    root = ensure_organization(org)
    token = uuid.uuid4().hex[:6]
    parent_ou = org.create_organizational_unit(ParentId=root, Name=f"scale-{token}")["OrganizationalUnit"]["Id"]
    child_ou = org.create_organizational_unit(ParentId=parent_ou, Name=f"scale-child-{token}")["OrganizationalUnit"][
        "Id"
    ]
    ids = _create_accounts(
        org,
        root,
        token,
        {
            "payments": parent_ou,
            "etl": parent_ou,
            "closed": parent_ou,
            "child": child_ou,
            "empty": child_ou,
            "child-closed": child_ou,
            "outside": root,
        },
    )
    env = {"DB_HOST": "db.internal", "DB_PASSWORD": SECRET}
    seeded = seed_members(
        emulator,
        [
            MemberSpec(
                ids["payments"],
                "payments",
                {
                    "us-east-1": (FunctionSpec("api", 55),),
                    "eu-west-1": (FunctionSpec("env", 3, environment=env),),
                },
            ),
            MemberSpec(
                ids["etl"],
                "etl",
                {"eu-west-1": (FunctionSpec("etl", 4, runtime="nodejs20.x"),), OPT_IN: (FunctionSpec("milan", 2),)},
            ),
            MemberSpec(
                ids["child"], "child", {"us-east-1": (FunctionSpec("child", 3),), OPT_IN: (FunctionSpec("no", 2),)}
            ),
            MemberSpec(ids["empty"], "empty", {}),
            MemberSpec(ids["closed"], "closed", {"us-east-1": (FunctionSpec("gone", 2),)}),  # seeded, then closed
            MemberSpec(ids["outside"], "outside", {"us-east-1": (FunctionSpec("outside", 2),)}),
        ],
    )
    for label in ("closed", "child-closed"):
        org.close_account(AccountId=ids[label])
    bucket = new_bucket(_admin(emulator, "s3"), "inventory-scale")
    world = World(
        parent_ou=parent_ou,
        child_ou=child_ou,
        names={account: f"scale-{label}-{token}" for label, account in ids.items()},
        active=frozenset(ids[label] for label in ("payments", "etl", "child", "empty")),
        suspended=frozenset({ids["closed"], ids["child-closed"]}),
        outside=ids["outside"],
        payments=ids["payments"],
        opted_out=ids["child"],
        empty=ids["empty"],
        seeded=seeded,
        bucket=bucket,
    )
    states = {a["Id"]: a["State"] for page in org.get_paginator("list_accounts").paginate() for a in page["Accounts"]}
    assert {states[a] for a in world.suspended} == {"SUSPENDED"}
    assert {states[a] for a in world.active | {world.outside}} == {"ACTIVE"}
    return world


@pytest.fixture
def live(emu: Emulator, world: World) -> Emulator:
    """The emulator for one test (behaviour is reset per test): the child account has not enabled OPT_IN."""
    emu.app.behaviour.disabled.add((world.opted_out, OPT_IN))
    return emu


@pytest.fixture(scope="module")
def s3(emulator: Emulator) -> Any:
    return _admin(emulator, "s3")


@pytest.fixture(scope="module")
def glue(emulator: Emulator) -> Any:
    return _admin(emulator, "glue")


# --- helpers ------------------------------------------------------------------------------------------


def _module(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "inventory", *map(str, args)]


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def _write_config(path: Path, **data: Any) -> Path:
    path.write_text(yaml.safe_dump({"retry": dict(FAST_RETRY), **data}, sort_keys=False), encoding="utf-8")
    return path


def _org_config(path: Path, world: World, regions: list[str] | str) -> Path:
    """accounts_from: organization, scoped to the module's OU; no accounts list at all."""
    return _write_config(
        path, accounts_from="organization", organizational_units=[world.parent_ou], regions=regions, max_workers=32
    )


def _today() -> date:
    return datetime.now(UTC).date()


def _new_lake(bucket: str, prefix: str) -> Lake:
    """A lake at s3://bucket/prefix/ with a Glue database of its own (the session's catalog is shared)."""
    return lake_at(f"s3://{bucket}/{prefix}", f"{DEFAULT_DATABASE}_{uuid.uuid4().hex[:10]}")


def _lake_args(lake: Lake) -> list[str]:
    """What names the lake on a command line: its location and its database."""
    return [lake.location, "--database", lake.database]


def _prefix(lake: Lake) -> str:
    return lake.location.removeprefix("s3://").partition("/")[2]


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def _glue_tables(glue: Any, database: str) -> dict[str, dict[str, Any]]:
    """The Glue tables of a database, by name ({} when the database does not exist)."""
    try:
        pages = glue.get_paginator("get_tables").paginate(DatabaseName=database)
        return {t["Name"]: t for page in pages for t in page["TableList"]}
    except glue.exceptions.EntityNotFoundException:
        return {}


def _day(s3: Any, glue: Any, world: World, lake: Lake, before: date) -> date:
    """The lake is exactly its four tables under the prefix, and a run's commits wrote one snapshot_date
    partition: the UTC date of its start (today, unless midnight passed). Returns that date."""
    prefix = _prefix(lake)
    tables = _glue_tables(glue, lake.database)
    assert set(tables) == set(TABLES)
    for name, table in tables.items():
        assert table["StorageDescriptor"]["Location"] == f"{lake.location}{name}", table
        assert table["Parameters"]["metadata_location"].startswith(f"{lake.location}{name}/metadata/"), table
    keys = _keys(s3, world.bucket, prefix)
    layout = [key.removeprefix(prefix).split("/") for key in keys]
    assert {(parts[0], parts[1]) for parts in layout} <= {(t, k) for t in TABLES for k in ("data", "metadata")}, keys
    data = {(parts[0], parts[2]) for parts in layout if parts[1] == "data"}
    assert {table for table, _ in data} >= COMMITTED, keys
    (partition,) = {partition for _, partition in data}
    assert partition in {f"{PARTITION_COLUMN}={before}", f"{PARTITION_COLUMN}={_today()}"}
    return date.fromisoformat(partition.removeprefix(f"{PARTITION_COLUMN}="))


def _on(day: date) -> str:
    return f"{PARTITION_COLUMN} = '{day.isoformat()}'"


def _query(lake: Lake, day: date, sql: str, table: str = FUNCTIONS, view: str = "inventory") -> list[tuple[Any, ...]]:
    """duckdb over one day of a lake's table (an Iceberg scan), as an analyst reads it: the view `view`."""
    connection = LakeReader(lake).table(table).scan(row_filter=_on(day)).to_duckdb(view)
    rows: list[tuple[Any, ...]] = connection.sql(sql).fetchall()
    return rows


def _rows(lake: Lake, table: str, day: date) -> list[dict[str, Any]]:
    """Every row of one day of a lake's table."""
    rows: list[dict[str, Any]] = LakeReader(lake).table(table).scan(row_filter=_on(day)).to_arrow().to_pylist()
    return rows


def _records(lake: Lake) -> list[RunRecord]:
    """The run records in the lake's runs table, by shard index."""
    return sorted(LakeReader(lake).records(), key=lambda r: r.shard_index)


def _outputs(lake: Lake) -> dict[str, str]:
    """What a run's record says it wrote to: the lake and its Glue database."""
    return {"format": "iceberg", "lake": lake.location, "database": lake.database}


def _check_run_columns(lake: Lake, day: date, records: list[RunRecord]) -> None:
    """The runs table as an analyst reads it (one row per record: typed counts, the record's JSON form in
    `record`), and the functions and targets rows carrying the run columns of those records (a shard with no
    targets, or no functions, has no rows there)."""
    counts = ("targets", "accounts", "functions", "ok", "skipped", "failed")
    select = f"select run_id, write_id, shard_index, shard_count, {', '.join(counts)}, record from runs"
    rows = _query(lake, day, f"{select} order by shard_index", RUNS, "runs")
    columns = {r.write_id: (r.run_id, r.write_id, r.shard_index, r.shard_count) for r in records}
    assert [row[:-1] for row in rows] == [
        (*columns[r.write_id], *(getattr(r.counts, k) for k in counts)) for r in records
    ]
    assert [RunRecord.from_json(json.loads(row[-1])) for row in rows] == records
    select = "select distinct run_id, write_id, shard_index, shard_count from inventory"
    assert set(_query(lake, day, select, TARGETS)) == {columns[r.write_id] for r in records if r.counts.targets}
    assert set(_query(lake, day, select)) == {columns[r.write_id] for r in records if r.counts.functions}


def _no_secret_anywhere(s3: Any, glue: Any, world: World, lake: Lake, *streams: str) -> None:
    """Not in any object under the prefix (data and metadata), the Glue tables, any row, or the streams."""
    keys = _keys(s3, world.bucket, _prefix(lake))
    assert keys
    for key in keys:
        assert SECRET.encode() not in s3.get_object(Bucket=world.bucket, Key=key)["Body"].read(), key
    assert SECRET not in json.dumps(_glue_tables(glue, lake.database), default=str)
    reader = LakeReader(lake)
    for name in TABLES:
        assert SECRET not in repr(reader.table(name).scan().to_arrow().to_pylist()), name
    for stream in streams:
        assert SECRET not in stream


def _aws_lambda_regions() -> list[str]:
    """Every Lambda region of the aws partition, from botocore's endpoint data (what `regions: all` means)."""
    return sorted(botocore.session.Session().get_available_regions("lambda"))


# --- the tests ----------------------------------------------------------------------------------------


def test_organization_run_to_s3_reads_back_with_duckdb(
    live: Emulator, world: World, s3: Any, glue: Any, tmp_path: Path
) -> None:
    config = _org_config(tmp_path / "org.yaml", world, list(REGIONS))
    lake = _new_lake(world.bucket, "explicit/")
    before = _today()

    proc = _run(
        _module("run", "--config", config, "--output", *_lake_args(lake)),
        subprocess_env(live.endpoint),
        tmp_path,
    )

    assert proc.returncode == 0, proc.stderr  # a skipped region is not a failure
    day = _day(s3, glue, world, lake, before)

    expected = world.arns(world.active)
    rows = _query(lake, day, "select function_arn, account_id, account_name, snapshot_date from inventory")
    assert len(rows) == len(expected) == 67
    assert {r[0] for r in rows} == expected
    assert {r[1] for r in rows} == world.active - {world.empty}
    assert not {r[1] for r in rows} & (world.suspended | {world.outside})
    assert not [r for r in rows if r[1] == world.opted_out and f":{OPT_IN}:" in r[0]]
    assert {(r[1], r[2]) for r in rows} == {(a, world.names[a]) for a in {r[1] for r in rows}}
    assert {r[3] for r in rows} == {day}  # typed, not a string
    (names,) = _query(
        lake,
        day,
        f"select distinct environment_variable_names from inventory where account_id = '{world.payments}' "
        "and function_name like 'env-%'",
    )
    assert names == (["DB_HOST", "DB_PASSWORD"],)

    status = {(r["account_id"], r["region"]): r for r in _rows(lake, TARGETS, day)}
    assert set(status) == {(a, r) for a in world.active for r in REGIONS}, "no rows for suspended or outside accounts"
    skipped = status.pop((world.opted_out, OPT_IN))
    assert (skipped["status"], skipped["function_count"], skipped["error_code"]) == (
        "skipped",
        None,
        "UnrecognizedClientException",
    )
    assert {r["status"] for r in status.values()} == {"ok"}
    assert {k: r["function_count"] for k, r in status.items()} == {
        k: len(world.seeded.functions.get(k, ())) for k in status
    }
    assert status[(world.payments, "us-east-1")]["pages"] == 2  # 55 functions: two pages of at most 50
    assert [status[(world.empty, r)]["function_count"] for r in REGIONS] == [0, 0, 0]

    (record,) = _records(lake)
    assert record.counts == Counts(targets=12, accounts=4, functions=len(expected), ok=11, skipped=1, failed=0)
    assert record.shard is None
    assert record.snapshot_date == day
    assert set(record.functions_by_account) == world.active
    assert record.functions_by_account[world.opted_out][OPT_IN] is None  # unknown, not zero
    assert [(e["account_id"], e["region"], e["status"]) for e in record.errors] == [
        (world.opted_out, OPT_IN, "skipped")
    ]
    assert record.outputs == _outputs(lake)
    _check_run_columns(lake, day, [record])
    _no_secret_anywhere(s3, glue, world, lake, proc.stdout, proc.stderr)

    assert not {a for a, _ in live.app.stats.list_calls} & (world.suspended | {world.outside})
    assert not {arn for arn in live.app.stats.assume_calls if arn.split(":")[4] in world.suspended | {world.outside}}
    assert live.app.stats.list_calls[(world.opted_out, OPT_IN)] == 1  # asked, answered not enabled

    # The package's reader (what report and diff use) reads the same run of the lake.
    snapshot = load_snapshot(lake.location, database=lake.database)
    assert snapshot.snapshot_date == day and snapshot.warnings == ()
    assert set(snapshot.functions.column("function_arn").to_pylist()) == expected
    assert snapshot.status.num_rows == 12

    # The compliance report and the diff read the same lake straight from S3.
    env = subprocess_env(live.endpoint)
    report = _run(_module("report", *_lake_args(lake), "--format", "csv"), env, tmp_path)
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("account_id,account_name,account_tags,region,function_name,")
    same = _run(_module("diff", lake.location, *_lake_args(lake)), env, tmp_path)
    assert same.returncode == 0, same.stderr
    assert ": no changes" in same.stdout.splitlines()[2], same.stdout
    assert SECRET not in report.stdout + report.stderr + same.stdout + same.stderr


def test_regions_all_skips_the_disabled_region_without_listing_it(
    live: Emulator, world: World, s3: Any, glue: Any, tmp_path: Path
) -> None:
    config = _org_config(tmp_path / "org.yaml", world, "all")
    lake = _new_lake(world.bucket, "all-regions/")
    before = _today()
    regions = _aws_lambda_regions()
    assert OPT_IN in regions and len(regions) > len(REGIONS)

    proc = _run(
        _module("run", "--config", config, "--output", *_lake_args(lake)),
        subprocess_env(live.endpoint),
        tmp_path,
    )

    assert proc.returncode == 0, proc.stderr
    day = _day(s3, glue, world, lake, before)
    arns = {r[0] for r in _query(lake, day, "select function_arn from inventory")}
    assert arns == world.arns(world.active)

    status = {(r["account_id"], r["region"]): r for r in _rows(lake, TARGETS, day)}
    assert set(status) == {(a, r) for a in world.active for r in regions}
    assert {k for k, r in status.items() if r["status"] != "ok"} == {(world.opted_out, OPT_IN)}
    assert status[(world.opted_out, OPT_IN)]["status"] == "skipped"
    assert live.app.stats.list_calls[(world.opted_out, OPT_IN)] == 0, (
        "a region ListRegions says is disabled is never listed"
    )
    assert live.app.stats.list_calls[(world.payments, OPT_IN)] == 1  # the same region, enabled elsewhere, is listed
    assert {a: live.app.stats.list_regions_calls[a] for a in world.active} == dict.fromkeys(world.active, 1)

    (record,) = _records(lake)
    assert record.counts.targets == len(world.active) * len(regions)
    assert (record.counts.skipped, record.counts.failed) == (1, 0)
    assert record.counts.functions == len(arns)
    assert record.outputs == _outputs(lake)
    _check_run_columns(lake, day, [record])
    _no_secret_anywhere(s3, glue, world, lake, proc.stdout, proc.stderr)


def _popen(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_three_shards_add_up_to_the_unsharded_run(
    live: Emulator, world: World, s3: Any, glue: Any, tmp_path: Path
) -> None:
    config = _org_config(tmp_path / "org.yaml", world, list(REGIONS))
    sharded, whole = _new_lake(world.bucket, "sharded/"), _new_lake(world.bucket, "unsharded/")
    run_id = str(uuid.uuid4())  # an AWS Batch array job's id
    env = subprocess_env(live.endpoint)
    runs = {  # one run id, given three ways: the flag, the variable, AWS Batch's job id ("PARENT:INDEX")
        "flag": (["--shard", "0/3", "--run-id", run_id], env),
        "env": ([], {**env, "LAMBDA_INVENTORY_SHARD": "1/3", "LAMBDA_INVENTORY_RUN_ID": run_id}),
        "batch": (
            [],
            {
                **env,
                "AWS_BATCH_JOB_ID": f"{run_id}:2",
                "AWS_BATCH_JOB_ARRAY_INDEX": "2",
                "LAMBDA_INVENTORY_SHARD_COUNT": "3",
            },
        ),
        "whole": ([], env),
    }
    before = _today()

    procs = {  # run side by side, as an AWS Batch array job would; the unsharded run to a lake of its own
        how: _popen(
            _module("run", "--config", config, "--output", *_lake_args(whole if how == "whole" else sharded), *flags),
            run_env,
            tmp_path,
        )
        for how, (flags, run_env) in runs.items()
    }
    for how, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0, (how, stderr)
        assert SECRET not in stdout + stderr

    day = _day(s3, glue, world, sharded, before)
    assert _day(s3, glue, world, whole, before) == day
    sharded_rows = _query(sharded, day, "select function_arn, account_id, shard_index, run_id from inventory")
    whole_arns = [r[0] for r in _query(whole, day, "select function_arn from inventory")]
    sharded_arns = [r[0] for r in sharded_rows]
    assert len(sharded_arns) == len(set(sharded_arns)), "no function in two shards"
    assert set(sharded_arns) == set(whole_arns) == world.arns(world.active)
    assert {r[3] for r in sharded_rows} == {run_id}

    targets = _rows(sharded, TARGETS, day)
    assert {r["run_id"] for r in targets} == {run_id}
    assert {r["shard_count"] for r in targets} == {3}
    accounts = [{r["account_id"] for r in targets if r["shard_index"] == i} for i in range(3)]
    for i in range(3):
        for j in range(i + 1, 3):
            assert accounts[i].isdisjoint(accounts[j]), f"an account in shards {i} and {j}"
    assert set().union(*accounts) == world.active
    assert {(r[1], r[2]) for r in sharded_rows} <= {(a, i) for i in range(3) for a in accounts[i]}

    records = _records(sharded)
    assert [r.shard for r in records] == [(i, 3) for i in range(3)]
    assert {r.run_id for r in records} == {run_id}
    assert len({r.write_id for r in records}) == 3, "each shard attempt writes under its own write id"
    assert {r.snapshot_date for r in records} == {day}
    assert [set(r.functions_by_account) for r in records] == accounts
    assert sum(r.counts.functions for r in records) == len(whole_arns)
    assert sum(r.counts.targets for r in records) == len(world.active) * len(REGIONS)
    assert [r.counts.accounts for r in records] == [len(a) for a in accounts]
    assert all(r.outputs == _outputs(sharded) for r in records)
    _check_run_columns(sharded, day, records)
    (unsharded,) = _records(whole)
    assert unsharded.run_id != run_id and unsharded.shard is None
    assert unsharded.counts.functions == len(whole_arns)
    assert unsharded.outputs == _outputs(whole)

    verify = _run(_module("verify", *_lake_args(sharded), "--run-id", run_id, "--shards", "3"), env, tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    (verdict,) = _rows(sharded, VERIFICATIONS, day)
    assert (verdict["run_id"], verdict["verdict"], verdict["shards_expected"], verdict["shards_found"]) == (
        run_id,
        "complete",
        3,
        3,
    )
    assert (verdict["targets"], verdict["functions"], verdict["problems"]) == (
        len(world.active) * len(REGIONS),
        len(whole_arns),
        [],
    )
    for lake in (sharded, whole):
        _no_secret_anywhere(s3, glue, world, lake, verify.stdout, verify.stderr)


def _all_org_accounts(emulator: Emulator) -> set[str]:
    pages = _admin(emulator, "organizations").get_paginator("list_accounts").paginate()
    return {account["Id"] for page in pages for account in page["Accounts"]}


def test_accounts_from_flag_overrides_a_file_config(
    live: Emulator, world: World, s3: Any, glue: Any, tmp_path: Path
) -> None:
    closed = sorted(world.suspended)[0]
    mine = world.active | world.suspended
    config = _write_config(
        tmp_path / "file.yaml",
        accounts_from="file",
        regions=["us-east-1", "eu-west-1"],
        # a file-mode config cannot name OUs; leave out every account of the shared organisation but this
        # module's OU (the management account, other modules' accounts, the module's own outside account)
        exclude_accounts=sorted(_all_org_accounts(live) - mine),
        accounts=[
            {"account_id": world.payments, "name": "payments-prod", "tags": ["team:payments"]},
            {"account_id": closed, "name": "closed-in-the-file"},  # the organisation says SUSPENDED: no target
        ],
    )
    lake = _new_lake(world.bucket, "flag/")
    before = _today()

    proc = _run(
        _module("run", "--config", config, "--output", *_lake_args(lake), "--accounts-from", "organization"),
        subprocess_env(live.endpoint),
        tmp_path,
    )

    assert proc.returncode == 0, proc.stderr
    day = _day(s3, glue, world, lake, before)
    rows = _query(lake, day, "select function_arn, account_id, account_name, account_tags from inventory")
    assert {r[0] for r in rows} == world.arns(world.active, ("us-east-1", "eu-west-1"))
    named = {(r[1], r[2], tuple(r[3])) for r in rows}
    expected_names = {world.payments: ("payments-prod", ("team:payments",))}
    assert named == {(a, *expected_names.get(a, (world.names[a], ()))) for a in {r[1] for r in rows}}
    assert world.payments in {r[1] for r in rows}

    status = _rows(lake, TARGETS, day)
    assert {(r["account_id"], r["region"]) for r in status} == {
        (a, r) for a in world.active for r in ("us-east-1", "eu-west-1")
    }
    assert {r["account_id"]: r["account_name"] for r in status} == {
        **{a: world.names[a] for a in world.active},
        world.payments: "payments-prod",
    }
    assert closed not in {r["account_id"] for r in status}
    assert not [arn for arn in live.app.stats.assume_calls if closed in arn]


def test_missing_bucket_exits_2_before_any_assume_role(live: Emulator, world: World, glue: Any, tmp_path: Path) -> None:
    config = _org_config(tmp_path / "org.yaml", world, list(REGIONS))
    bucket = f"missing-{uuid.uuid4().hex[:10]}"
    lake = _new_lake(bucket, "lambda-inventory/")

    proc = _run(
        _module("run", "--config", config, "--output", *_lake_args(lake)), subprocess_env(live.endpoint), tmp_path
    )

    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("lambda-inventory: error: ")
    assert f"'{bucket}'" in lines[0] and "does not exist" in lines[0]
    assert "Traceback" not in proc.stderr
    assert sum(live.app.stats.assume_calls.values()) == 0
    assert sum(live.app.stats.list_calls.values()) == 0
    assert sum(live.app.stats.list_regions_calls.values()) == 0
    assert _glue_tables(glue, lake.database) == {}, "no table of a lake whose bucket does not exist"
    assert [p for p in tmp_path.rglob("*") if p != config] == []
