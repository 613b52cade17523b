"""End to end, the issue's scenario: an unsharded run, then `--shard 0/2` the same day, then `--shard 1/2`, into
one S3 prefix of the session emulator, with `report` and `verify` after each, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from conftest import config_dict, new_bucket, seed_members, subprocess_env

from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec
from inventory.exits import ExitCode
from inventory.job.targets import Shard

TIMEOUT = 120
REGIONS = ["us-east-1", "eu-west-1"]
# Account ids used only by this module: the first two of the range in each of the two shards.
_CANDIDATES = [f"3700000000{i:02d}" for i in range(1, 60)]
SHARDS = [[a for a in _CANDIDATES if Shard(i, 2).holds(a)][:2] for i in range(2)]
ACCOUNTS = SHARDS[0] + SHARDS[1]
FUNCTIONS = {account: 3 + n for n, account in enumerate(ACCOUNTS)}  # in us-east-1; none in eu-west-1


@pytest.fixture(scope="module")
def org(emulator: Emulator) -> None:
    seed_members(
        emulator,
        [MemberSpec(a, f"name-{a}", {"us-east-1": (FunctionSpec("fn", FUNCTIONS[a]),)}) for a in ACCOUNTS],
    )


def _cli(*args: str | Path, emu: Emulator, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inventory", *map(str, args)],
        env=subprocess_env(emu.endpoint),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def _keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def _json(s3: Any, bucket: str, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_a_layout_change_in_one_day_then_verify(emu: Emulator, org: None, tmp_path: Path) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    bucket = new_bucket(s3, "lake")
    prefix = f"s3://{bucket}/inv/"
    config = tmp_path / "accounts.yaml"
    accounts = [{"account_id": a, "name": f"name-{a}"} for a in ACCOUNTS]
    config.write_text(yaml.safe_dump(config_dict(accounts, regions=REGIONS, max_workers=4)), encoding="utf-8")

    def run(*flags: str) -> None:
        proc = _cli("run", "--config", config, "--output", prefix, *flags, emu=emu, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr

    run()
    (part,) = {key.split("/")[1] for key in _keys(s3, bucket) if key.startswith("inv/snapshot_date=")}
    run("--shard", "0/2")
    unsharded = [f"inv/{part}/inventory.parquet", f"inv/_status/{part}/inventory.parquet"]
    unsharded.append(f"inv/_manifests/{part}/inventory.json")
    assert not set(unsharded) & set(_keys(s3, bucket)), "the unsharded run's objects are superseded"
    manifest = _json(s3, bucket, f"inv/_manifests/{part}/shard-0-of-2.json")
    assert manifest["superseded"] == [f"s3://{bucket}/{key}" for key in unsharded]

    report = _cli("report", prefix, "--as-of", "2026-11-28", emu=emu, cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    shard0_targets = len(SHARDS[0]) * len(REGIONS)
    assert f"{shard0_targets} of {shard0_targets} targets ok" in report.stdout, "shard 0's targets, counted once"
    missing = f"{part}: shard-1-of-2 missing: its accounts are not covered"
    assert missing in report.stdout
    assert report.stderr.splitlines() == [f"lambda-inventory: warning: s3://{bucket}/inv: {missing}"]

    incomplete = _cli("verify", prefix, emu=emu, cwd=tmp_path)
    assert incomplete.returncode == ExitCode.INCOMPLETE == 6, incomplete.stderr
    assert incomplete.stdout.splitlines() == [
        missing,
        f"coverage: {shard0_targets} targets ({shard0_targets} ok, 0 skipped, 0 failed), "
        f"{sum(FUNCTIONS[a] for a in SHARDS[0])} functions, {len(SHARDS[0])} accounts, from 1 run manifest(s)",
        f"s3://{bucket}/inv/{part}: incomplete: 1 problem(s)",
    ]
    assert f"inv/_manifests/{part}/_COMPLETE.json" not in _keys(s3, bucket)

    run("--shard", "1/2")
    done = _cli("verify", prefix, "--shards", "2", emu=emu, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    coverage, verdict = done.stdout.splitlines()
    assert coverage.startswith(f"coverage: {len(ACCOUNTS) * len(REGIONS)} targets (")
    assert verdict.startswith(f"s3://{bucket}/inv/{part}: complete: 2 of 2 shard(s) (parquet, 2 shards)")
    marker = _json(s3, bucket, f"inv/_manifests/{part}/_COMPLETE.json")
    manifests = [_json(s3, bucket, f"inv/_manifests/{part}/shard-{i}-of-2.json") for i in range(2)]
    assert [r["run_id"] for r in marker["runs"]] == [m["run_id"] for m in manifests]
    assert marker["coverage"]["functions"] == sum(FUNCTIONS.values())
    assert marker["coverage"]["accounts"] == len(ACCOUNTS)
    assert _cli("report", prefix, "--as-of", "2026-11-28", emu=emu, cwd=tmp_path).stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--snapshot-date", "2026-13-01"], "--snapshot-date: '2026-13-01' is not a date (YYYY-MM-DD)"),
        (["--snapshot-date", "2026-01-01"], "no such partition or nothing in it"),
    ],
)
def test_verify_bad_input_exits_2_with_one_line(emu: Emulator, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "lake" / "snapshot_date=2026-11-28").mkdir(parents=True)
    proc = _cli("verify", tmp_path / "lake", *args, emu=emu, cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith("lambda-inventory: error: ") and message in line
    assert proc.stdout == ""
