"""End to end at organisation scale: accounts from AWS Organizations, inventoried into S3, read back by duckdb.

The issue's "Done when": a fresh organisation in the emulator (accounts created through Organizations, some
suspended, some with an opt-in region disabled) is inventoried with no account list in the file, written to
S3, and read back by duckdb from the partitioned prefix; sharded runs add up to the unsharded one.

Every run is the real CLI in a subprocess, over HTTP, against the session emulator. moto's organisation is
shared by the whole session (the management account 123456789012 is in it, and other modules add accounts of
their own), so this module builds its own OU tree once, scopes its runs to that OU (children included), and
computes every expectation from what it created. Nothing of the package is mocked.
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
import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import FAST_RETRY, admin_client, ensure_organization, new_bucket, seed_members, subprocess_env

from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec, Seeded

TIMEOUT = 120
SECRET = f"s3cr3t-{uuid.uuid4()}"
REGIONS = ("us-east-1", "eu-west-1", "eu-south-1")  # eu-south-1 (Milan) is an opt-in region
OPT_IN = "eu-south-1"
PARTITIONING = ds.partitioning(pa.schema([("snapshot_date", pa.date32())]), flavor="hive")


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
def fs(emulator: Emulator) -> pafs.S3FileSystem:
    """pyarrow's S3 filesystem on the emulator, as a pandas / duckdb reader would use it."""
    return pafs.S3FileSystem(
        endpoint_override=emulator.endpoint.removeprefix("http://"),
        scheme="http",
        access_key="testing",
        secret_key="testing",
        region="us-east-1",
    )


@pytest.fixture(scope="module")
def s3(emulator: Emulator) -> Any:
    return _admin(emulator, "s3")


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


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def _partition(keys: list[str], prefix: str, before: date) -> str:
    """The one snapshot_date partition the run wrote: the UTC date of its start (today, unless midnight passed)."""
    found = {key.removeprefix(prefix).split("/")[0] for key in keys if not key.removeprefix(prefix).startswith("_")}
    assert len(found) == 1, keys
    (partition,) = found
    assert partition in {f"snapshot_date={before}", f"snapshot_date={_today()}"}
    return partition


def _query(fs: pafs.S3FileSystem, bucket: str, prefix: str, sql: str) -> list[tuple[Any, ...]]:
    """duckdb over the pyarrow dataset of the prefix (hive partitions, `_status`/`_manifests` left out)."""
    dataset = ds.dataset(f"{bucket}/{prefix.rstrip('/')}", filesystem=fs, format="parquet", partitioning=PARTITIONING)
    connection = duckdb.connect()
    connection.register("inventory", dataset)
    rows: list[tuple[Any, ...]] = connection.sql(sql).fetchall()
    return rows


def _status(fs: pafs.S3FileSystem, bucket: str, key: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(f"{bucket}/{key}", filesystem=fs).to_pylist()
    return rows


def _manifest(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return manifest


def _no_secret_anywhere(s3: Any, bucket: str, keys: list[str], *streams: str) -> None:
    for key in keys:
        assert SECRET.encode() not in s3.get_object(Bucket=bucket, Key=key)["Body"].read(), key
    for stream in streams:
        assert SECRET not in stream


def _aws_lambda_regions() -> list[str]:
    """Every Lambda region of the aws partition, from botocore's endpoint data (what `regions: all` means)."""
    return sorted(botocore.session.Session().get_available_regions("lambda"))


# --- the tests ----------------------------------------------------------------------------------------


def test_organization_run_to_s3_reads_back_with_duckdb(
    live: Emulator, world: World, s3: Any, fs: Any, tmp_path: Path
) -> None:
    config = _org_config(tmp_path / "org.yaml", world, list(REGIONS))
    prefix = "explicit/"
    before = _today()

    proc = _run(
        _module("run", "--config", config, "--output", f"s3://{world.bucket}/{prefix}"),
        subprocess_env(live.endpoint),
        tmp_path,
    )

    assert proc.returncode == 0, proc.stderr  # a skipped region is not a failure
    keys = _keys(s3, world.bucket, prefix)
    part = _partition(keys, prefix, before)
    assert keys == sorted(
        [
            f"{prefix}{part}/inventory.parquet",
            f"{prefix}_status/{part}/inventory.parquet",
            f"{prefix}_manifests/{part}/inventory.json",
        ]
    )

    expected = world.arns(world.active)
    rows = _query(
        fs, world.bucket, prefix, "select function_arn, account_id, account_name, snapshot_date from inventory"
    )
    assert len(rows) == len(expected) == 67
    assert {r[0] for r in rows} == expected
    assert {r[1] for r in rows} == world.active - {world.empty}
    assert not {r[1] for r in rows} & (world.suspended | {world.outside})
    assert not [r for r in rows if r[1] == world.opted_out and f":{OPT_IN}:" in r[0]]
    assert {(r[1], r[2]) for r in rows} == {(a, world.names[a]) for a in {r[1] for r in rows}}
    assert {r[3] for r in rows} == {date.fromisoformat(part.removeprefix("snapshot_date="))}  # typed, not a string
    (names,) = _query(
        fs,
        world.bucket,
        prefix,
        f"select distinct environment_variable_names from inventory where account_id = '{world.payments}' "
        "and function_name like 'env-%'",
    )
    assert names == (["DB_HOST", "DB_PASSWORD"],)

    status = {
        (r["account_id"], r["region"]): r
        for r in _status(fs, world.bucket, f"{prefix}_status/{part}/inventory.parquet")
    }
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

    manifest = _manifest(s3, world.bucket, f"{prefix}_manifests/{part}/inventory.json")
    assert manifest["counts"] == {
        "targets": 12,
        "ok": 11,
        "skipped": 1,
        "failed": 0,
        "accounts": 4,
        "functions": len(expected),
    }
    assert manifest["shard"] is None
    assert manifest["snapshot_date"] == part.removeprefix("snapshot_date=")
    assert set(manifest["functions_by_account"]) == world.active
    assert manifest["functions_by_account"][world.opted_out][OPT_IN] is None  # unknown, not zero
    assert [(e["account_id"], e["region"], e["status"]) for e in manifest["errors"]] == [
        (world.opted_out, OPT_IN, "skipped")
    ]
    assert manifest["outputs"]["inventory"] == f"s3://{world.bucket}/{prefix}{part}/inventory.parquet"
    _no_secret_anywhere(s3, world.bucket, keys, proc.stdout, proc.stderr)

    assert not {a for a, _ in live.app.stats.list_calls} & (world.suspended | {world.outside})
    assert not {arn for arn in live.app.stats.assume_calls if arn.split(":")[4] in world.suspended | {world.outside}}
    assert live.app.stats.list_calls[(world.opted_out, OPT_IN)] == 1  # asked, answered not enabled

    # The compliance report and the diff read the same partitioned prefix straight from S3.
    env = subprocess_env(live.endpoint)
    report = _run(_module("report", f"s3://{world.bucket}/{prefix}", "--format", "csv"), env, tmp_path)
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("account_id,account_name,account_tags,region,function_name,")
    same = _run(_module("diff", f"s3://{world.bucket}/{prefix}", f"s3://{world.bucket}/{prefix}"), env, tmp_path)
    assert same.returncode == 0, same.stderr
    assert ": no changes" in same.stdout.splitlines()[2], same.stdout


def test_regions_all_skips_the_disabled_region_without_listing_it(
    live: Emulator, world: World, s3: Any, fs: Any, tmp_path: Path
) -> None:
    config = _org_config(tmp_path / "org.yaml", world, "all")
    prefix = "all-regions/"
    before = _today()
    regions = _aws_lambda_regions()
    assert OPT_IN in regions and len(regions) > len(REGIONS)

    proc = _run(
        _module("run", "--config", config, "--output", f"s3://{world.bucket}/{prefix}"),
        subprocess_env(live.endpoint),
        tmp_path,
    )

    assert proc.returncode == 0, proc.stderr
    keys = _keys(s3, world.bucket, prefix)
    part = _partition(keys, prefix, before)
    assert f"{prefix}{part}/inventory.parquet" in keys
    arns = {r[0] for r in _query(fs, world.bucket, prefix, "select function_arn from inventory")}
    assert arns == world.arns(world.active)

    status = {
        (r["account_id"], r["region"]): r
        for r in _status(fs, world.bucket, f"{prefix}_status/{part}/inventory.parquet")
    }
    assert set(status) == {(a, r) for a in world.active for r in regions}
    assert {k for k, r in status.items() if r["status"] != "ok"} == {(world.opted_out, OPT_IN)}
    assert status[(world.opted_out, OPT_IN)]["status"] == "skipped"
    assert live.app.stats.list_calls[(world.opted_out, OPT_IN)] == 0, (
        "a region ListRegions says is disabled is never listed"
    )
    assert live.app.stats.list_calls[(world.payments, OPT_IN)] == 1  # the same region, enabled elsewhere, is listed
    assert {a: live.app.stats.list_regions_calls[a] for a in world.active} == dict.fromkeys(world.active, 1)

    manifest = _manifest(s3, world.bucket, f"{prefix}_manifests/{part}/inventory.json")
    assert manifest["counts"]["targets"] == len(world.active) * len(regions)
    assert (manifest["counts"]["skipped"], manifest["counts"]["failed"]) == (1, 0)
    assert manifest["counts"]["functions"] == len(arns)
    _no_secret_anywhere(s3, world.bucket, keys, proc.stdout, proc.stderr)


def _popen(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_three_shards_add_up_to_the_unsharded_run(
    live: Emulator, world: World, s3: Any, fs: Any, tmp_path: Path
) -> None:
    config = _org_config(tmp_path / "org.yaml", world, list(REGIONS))
    sharded, whole = "sharded/", "unsharded/"
    env = subprocess_env(live.endpoint)
    runs = {
        "flag": (["--shard", "0/3"], env),
        "env": ([], {**env, "LAMBDA_INVENTORY_SHARD": "1/3"}),
        "batch": ([], {**env, "AWS_BATCH_JOB_ARRAY_INDEX": "2", "LAMBDA_INVENTORY_SHARD_COUNT": "3"}),
        "whole": ([], env),
    }
    before = _today()

    procs = {  # run side by side, as an AWS Batch array job would
        how: _popen(
            _module(
                "run",
                "--config",
                config,
                "--output",
                f"s3://{world.bucket}/{whole if how == 'whole' else sharded}",
                *flags,
            ),
            run_env,
            tmp_path,
        )
        for how, (flags, run_env) in runs.items()
    }
    for how, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0, (how, stderr)
        assert SECRET not in stdout + stderr

    keys = _keys(s3, world.bucket, sharded)
    part = _partition(keys, sharded, before)
    names = [f"shard-{i}-of-3" for i in range(3)]
    assert keys == sorted(
        [f"{sharded}{part}/{n}.parquet" for n in names]
        + [f"{sharded}_status/{part}/{n}.parquet" for n in names]
        + [f"{sharded}_manifests/{part}/{n}.json" for n in names]
    )
    sharded_arns = [r[0] for r in _query(fs, world.bucket, sharded, "select function_arn from inventory")]
    whole_arns = [r[0] for r in _query(fs, world.bucket, whole, "select function_arn from inventory")]
    assert len(sharded_arns) == len(set(sharded_arns)), "no function in two shards"
    assert set(sharded_arns) == set(whole_arns) == world.arns(world.active)

    accounts = [
        {r["account_id"] for r in _status(fs, world.bucket, f"{sharded}_status/{part}/{n}.parquet")} for n in names
    ]
    for i in range(3):
        for j in range(i + 1, 3):
            assert accounts[i].isdisjoint(accounts[j]), f"an account in shards {i} and {j}"
    assert set().union(*accounts) == world.active
    manifests = [_manifest(s3, world.bucket, f"{sharded}_manifests/{part}/{n}.json") for n in names]
    assert [m["shard"] for m in manifests] == [{"index": i, "count": 3} for i in range(3)]
    assert sum(m["counts"]["functions"] for m in manifests) == len(whole_arns)
    assert sum(m["counts"]["targets"] for m in manifests) == len(world.active) * len(REGIONS)
    assert [m["counts"]["accounts"] for m in manifests] == [len(a) for a in accounts]
    _no_secret_anywhere(s3, world.bucket, keys)


def _all_org_accounts(emulator: Emulator) -> set[str]:
    pages = _admin(emulator, "organizations").get_paginator("list_accounts").paginate()
    return {account["Id"] for page in pages for account in page["Accounts"]}


def test_accounts_from_flag_overrides_a_file_config(
    live: Emulator, world: World, s3: Any, fs: Any, tmp_path: Path
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
    prefix = "flag/"
    before = _today()

    proc = _run(
        _module(
            "run", "--config", config, "--output", f"s3://{world.bucket}/{prefix}", "--accounts-from", "organization"
        ),
        subprocess_env(live.endpoint),
        tmp_path,
    )

    assert proc.returncode == 0, proc.stderr
    part = _partition(_keys(s3, world.bucket, prefix), prefix, before)
    rows = _query(
        fs, world.bucket, prefix, "select function_arn, account_id, account_name, account_tags from inventory"
    )
    assert {r[0] for r in rows} == world.arns(world.active, ("us-east-1", "eu-west-1"))
    named = {(r[1], r[2], tuple(r[3])) for r in rows}
    expected_names = {world.payments: ("payments-prod", ("team:payments",))}
    assert named == {(a, *expected_names.get(a, (world.names[a], ()))) for a in {r[1] for r in rows}}
    assert world.payments in {r[1] for r in rows}

    status = _status(fs, world.bucket, f"{prefix}_status/{part}/inventory.parquet")
    assert {(r["account_id"], r["region"]) for r in status} == {
        (a, r) for a in world.active for r in ("us-east-1", "eu-west-1")
    }
    assert {r["account_id"]: r["account_name"] for r in status} == {
        **{a: world.names[a] for a in world.active},
        world.payments: "payments-prod",
    }
    assert closed not in {r["account_id"] for r in status}
    assert not [arn for arn in live.app.stats.assume_calls if closed in arn]


def test_missing_bucket_exits_2_before_any_assume_role(live: Emulator, world: World, tmp_path: Path) -> None:
    config = _org_config(tmp_path / "org.yaml", world, list(REGIONS))
    bucket = f"missing-{uuid.uuid4().hex[:10]}"
    output = f"s3://{bucket}/lambda-inventory/"

    proc = _run(_module("run", "--config", config, "--output", output), subprocess_env(live.endpoint), tmp_path)

    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("lambda-inventory: error: ")
    assert f"'{bucket}'" in lines[0] and "does not exist" in lines[0]
    assert "Traceback" not in proc.stderr
    assert sum(live.app.stats.assume_calls.values()) == 0
    assert sum(live.app.stats.list_calls.values()) == 0
    assert sum(live.app.stats.list_regions_calls.values()) == 0
    assert [p for p in tmp_path.rglob("*") if p != config] == []
