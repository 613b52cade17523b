"""End to end, issue 18's cases against the lake on the emulator's S3 and Glue, as an operator runs them: runs of
other layouts, failing runs, an empty shard, `--shard 3/10000`, CSV, runs at once, SIGKILL and SIGTERM at any
moment. Whatever happens, the complete run's every row stays the day's inventory (in `report` and in the
documented Athena query, run here by duckdb), nothing is deleted, every run stays readable by its run id,
and `verify` never certifies a run whose targets failed without saying how many."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
import yaml
from conftest import config_dict, new_bucket, seed_members, subprocess_env
from support.emulator_faults import DeniedS3Writes

from inventory.contract.current import current_inventory_sql
from inventory.contract.lake import FUNCTIONS, RUNS, TABLES, lake_at
from inventory.demo.emulator import Behaviour, Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec
from inventory.exits import ExitCode
from inventory.job.targets import Shard
from inventory.readers.lake import LakeReader
from inventory.readers.snapshot import load_snapshot

TIMEOUT = 180
REGIONS = ["us-east-1", "eu-west-1"]
# Account ids used only by this module: the first two of the range in each of the two shards.
_CANDIDATES = [f"3800000000{i:02d}" for i in range(1, 60)]
SHARDS = [[a for a in _CANDIDATES if Shard(i, 2).holds(a)][:2] for i in range(2)]
ACCOUNTS = SHARDS[0] + SHARDS[1]
FUNCTIONS_PER = {account: 3 + n for n, account in enumerate(ACCOUNTS)}  # in us-east-1; none in eu-west-1
TOTAL = sum(FUNCTIONS_PER.values())
TARGETS = len(ACCOUNTS) * len(REGIONS)
DATABASE_VARIABLE = "LAMBDA_INVENTORY_LAKE_DATABASE"
DENY_ALL = {f"arn:aws:iam::{a}:role/CrossAccountListFunctionsRole" for a in ACCOUNTS}


@pytest.fixture(scope="module")
def org(emulator: Emulator) -> None:
    seed_members(
        emulator,
        [MemberSpec(a, f"name-{a}", {"us-east-1": (FunctionSpec("fn", FUNCTIONS_PER[a]),)}) for a in ACCOUNTS],
    )


def _args(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "inventory", *map(str, args)]


def _env(emu: Emulator, **extra: str) -> dict[str, str]:
    """The child's environment: the emulator's, and this test's lake database if it has one."""
    database = {DATABASE_VARIABLE: os.environ[DATABASE_VARIABLE]} if DATABASE_VARIABLE in os.environ else {}
    return subprocess_env(emu.endpoint, **database, **extra)


def _cli(*args: str | Path, emu: Emulator, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _args(*args),
        env=_env(emu, **env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "accounts.yaml"
    accounts = [{"account_id": a, "name": f"name-{a}"} for a in ACCOUNTS]
    data = config_dict(accounts, regions=REGIONS, max_workers=4, retry={"max_attempts": 2, "base_delay": 0.01})
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    return config


def _keys(s3: Any, bucket: str) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def _arns(snapshot_functions: Any) -> list[str]:
    return sorted(snapshot_functions.column("function_arn").to_pylist())


def _athena(lake: str) -> list[str]:
    """The documented Athena query (contract/current.py's SQL), run by duckdb over the lake's tables."""
    reader = _reader(lake)
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA lambda_inventory")
    for name in (RUNS, FUNCTIONS):
        connection.register(f"{name}_arrow", reader.table(name).scan().to_arrow())
        connection.execute(f"CREATE VIEW lambda_inventory.{name} AS SELECT * FROM {name}_arrow")
    rows = connection.execute(f"SELECT function_arn FROM ({current_inventory_sql('lambda_inventory')})").fetchall()
    return sorted(r[0] for r in rows)


@pytest.fixture
def lake(emu: Emulator, org: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new lake: its own bucket and Glue database (the session emulator's Glue is shared by every test; a
    database holds one lake's tables). The database reaches the CLI through LAMBDA_INVENTORY_LAKE_DATABASE."""
    bucket = new_bucket(boto3.client("s3", region_name="us-east-1"), "lake")
    monkeypatch.setenv(DATABASE_VARIABLE, f"lake_{bucket.rsplit('-', 1)[-1]}")
    return f"s3://{bucket}/inv/"


def _snapshot(lake: str, **kwargs: Any) -> Any:
    return load_snapshot(lake, database=os.environ.get(DATABASE_VARIABLE), **kwargs)


def _reader(lake: str) -> LakeReader:
    return LakeReader(lake_at(lake, os.environ.get(DATABASE_VARIABLE)))


def test_no_run_deletes_or_hides_the_complete_run(emu: Emulator, lake: str, tmp_path: Path) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    bucket = lake.split("/")[2]
    config = _config(tmp_path)
    every_arn: list[str] = []
    seen: set[str] = set()

    def run(*flags: str, code: int = 0, deny: bool = False) -> subprocess.CompletedProcess[str]:
        emu.app.behaviour = Behaviour(deny_roles=DENY_ALL if deny else set())
        proc = _cli("run", "--config", config, "--output", lake, *flags, emu=emu, cwd=tmp_path)
        emu.app.behaviour = Behaviour()
        assert proc.returncode == code, proc.stderr
        keys = _keys(s3, bucket)
        assert seen <= keys, f"a run deleted {sorted(seen - keys)[:3]}"
        seen.update(keys)
        return proc

    run("--run-id", "complete")
    every_arn = _arns(_snapshot(lake).functions)
    assert len(every_arn) == TOTAL
    run("--shard", "0/2", "--run-id", "half")
    run("--shard", "0/2", "--run-id", "half-failing", code=ExitCode.PARTIAL, deny=True)
    run("--shard", "3/10000", "--run-id", "tiny-shard")  # holds none of the four accounts: an empty shard
    run("--run-id", "all-failing", code=ExitCode.PARTIAL, deny=True)
    csv = _cli("run", "--config", config, "--output", lake, "--format", "csv", emu=emu, cwd=tmp_path)
    assert csv.returncode == ExitCode.USAGE
    (line,) = csv.stderr.splitlines()
    assert "a lake is Apache Iceberg tables (Parquet); --format csv writes a file" in line

    report = _cli("report", lake, "--as-of", "2026-11-28", emu=emu, cwd=tmp_path)
    assert report.returncode == 0 and report.stderr == "", report.stderr
    assert f"{TARGETS} of {TARGETS} targets ok; 0 failed, 0 skipped" in report.stdout
    assert "Every target was listed." in report.stdout
    assert _arns(_snapshot(lake).functions) == every_arn
    assert _athena(lake) == every_arn, "the Athena query chooses the same run"

    by_run = {run_id: _snapshot(lake, run_id=run_id) for run_id in ("complete", "half", "all-failing")}
    assert _arns(by_run["complete"].functions) == every_arn
    half = [a for a in every_arn if a.split(":")[4] in SHARDS[0]]
    assert _arns(by_run["half"].functions) == half
    assert by_run["half"].warnings == (
        "run half of " + str(by_run["half"].snapshot_date) + " is incomplete: 1 of 2 shard(s) never committed: shard 1",
    )
    assert by_run["all-failing"].functions.num_rows == 0
    assert set(by_run["all-failing"].status.column("status").to_pylist()) == {"failed"}

    day = _cli("verify", lake, emu=emu, cwd=tmp_path)
    assert day.returncode == ExitCode.OK, day.stdout + day.stderr
    assert day.stdout.splitlines()[-1].endswith(
        "run complete of " + str(by_run["complete"].snapshot_date) + ": complete: every shard committed, "
        "every target ok or skipped; recorded in verifications"
    )
    failing = _cli("verify", lake, "--run-id", "all-failing", emu=emu, cwd=tmp_path)
    assert failing.returncode == ExitCode.PARTIAL, failing.stdout
    assert f"complete with failures: {TARGETS} target(s) failed" in failing.stdout.splitlines()[-1]
    assert f"coverage: {TARGETS} targets (0 ok, 0 skipped, {TARGETS} failed)" in failing.stdout
    tiny = _cli("verify", lake, "--run-id", "tiny-shard", emu=emu, cwd=tmp_path)
    assert tiny.returncode == ExitCode.INCOMPLETE
    assert tiny.stdout.splitlines()[0] == (
        "9999 of 10000 shard(s) never committed: shard 0, 1, 2, 4, 5, 6, 7, 8, 9, 10 and 9989 more"
    ), "one line, not 9,999"
    verdicts = _reader(lake).table("verifications").scan().to_arrow()
    assert sorted(verdicts.column("verdict").to_pylist()) == ["complete", "complete_with_failures", "incomplete"]


def test_two_layouts_at_once_both_land_and_the_rule_chooses(emu: Emulator, lake: str, tmp_path: Path) -> None:
    config = _config(tmp_path)
    env = _env(emu)
    runs = [
        ("whole", []),
        ("sharded", ["--shard", "0/2"]),
        ("sharded", ["--shard", "1/2"]),
    ]
    procs = [
        subprocess.Popen(
            _args("run", "--config", config, "--output", lake, "--run-id", run_id, *flags),
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for run_id, flags in runs
    ]
    for proc in procs:
        _, stderr = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0, stderr
    whole, sharded = (_snapshot(lake, run_id=r) for r in ("whole", "sharded"))
    assert _arns(whole.functions) == _arns(sharded.functions)
    assert len(_arns(whole.functions)) == TOTAL and sharded.warnings == ()
    current = _snapshot(lake)
    assert _arns(current.functions) == _arns(whole.functions) and current.warnings == ()
    assert _athena(lake) == _arns(whole.functions)
    verify = _cli("verify", lake, "--run-id", "sharded", "--shards", "2", emu=emu, cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout


def test_four_shards_and_an_overlapping_run_commit_at_once(emu: Emulator, lake: str, tmp_path: Path) -> None:
    """Eight processes at once: two runs of four shards each, into one lake. Every function exactly once in
    each run; no commit lost (eight runs rows, each shard's functions present)."""
    config = _config(tmp_path)
    env = _env(emu)
    procs = [
        subprocess.Popen(
            _args("run", "--config", config, "--output", lake),
            env={
                **env,
                "AWS_BATCH_JOB_ID": f"{run_id}:{index}",
                "AWS_BATCH_JOB_ARRAY_INDEX": str(index),
                "LAMBDA_INVENTORY_SHARD_COUNT": "4",
            },
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for run_id in ("array-one", "array-two")
        for index in range(4)
    ]
    for proc in procs:
        _, stderr = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0, stderr
    records = _reader(lake).records()
    assert sorted((r.run_id, r.shard) for r in records) == [
        (run_id, (i, 4)) for run_id in ("array-one", "array-two") for i in range(4)
    ]
    for run_id in ("array-one", "array-two"):
        arns = _snapshot(lake, run_id=run_id).functions.column("function_arn").to_pylist()
        assert len(arns) == len(set(arns)) == TOTAL, run_id
        verify = _cli("verify", lake, "--run-id", run_id, "--shards", "4", emu=emu, cwd=tmp_path)
        assert verify.returncode == 0, verify.stdout


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_signal_at_any_moment_leaves_the_last_good_run_current(
    emu: Emulator, org: None, tmp_path: Path, signum: int
) -> None:
    """A good run, then runs stopped at moments spread over their whole life (start-up, listing, each commit):
    the tables stay readable and the day's inventory is always every function, once."""
    lake = str(tmp_path / "lake")
    config = _config(tmp_path)
    assert _cli("run", "--config", config, "--output", lake, "--lake", emu=emu, cwd=tmp_path).returncode == 0
    good = _arns(_snapshot(lake).functions)
    env = _env(emu)
    for delay in (0.4, 1.2, 1.6, 1.9, 2.2, 2.6):
        proc = subprocess.Popen(
            _args("run", "--config", config, "--output", lake, "--lake"),
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(delay)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=TIMEOUT)
        # -SIGTERM: the signal came before Python had installed the job's handler (nothing was written yet)
        assert proc.returncode in {0, -signal.SIGKILL, -signal.SIGTERM, ExitCode.TERMINATED}, stderr
        for name in TABLES:  # every table still reads whole
            _reader(lake).table(name).scan().to_arrow()
        assert _arns(_snapshot(lake).functions) == good, f"after {signal.Signals(signum).name} at {delay}s"
    runs = _reader(lake).records()
    assert all(r.counts.functions == TOTAL for r in runs), "a run that committed its runs row committed it all"


def test_verify_fails_on_a_night_with_no_run(emu: Emulator, lake: str, tmp_path: Path) -> None:
    nothing = _cli("verify", lake, emu=emu, cwd=tmp_path)
    assert nothing.returncode == ExitCode.INCOMPLETE, nothing.stdout + nothing.stderr
    assert nothing.stdout.splitlines()[0].startswith("no run committed on ")
    assert nothing.stdout.splitlines()[-1].endswith(": missing: nothing committed; not recorded")
    config = _config(tmp_path)
    assert _cli("run", "--config", config, "--output", lake, emu=emu, cwd=tmp_path).returncode == 0
    yesterday = _cli("verify", lake, "--snapshot-date", "2026-01-01", emu=emu, cwd=tmp_path)
    assert yesterday.returncode == ExitCode.INCOMPLETE
    assert yesterday.stdout.splitlines() == [
        "no run committed on 2026-01-01 (UTC)",
        f"{lake} (Glue database {os.environ[DATABASE_VARIABLE]}): no run of 2026-01-01: missing: nothing committed; "
        "recorded in verifications",
    ]
    unknown = _cli("verify", lake, "--run-id", "never-ran", emu=emu, cwd=tmp_path)
    assert unknown.returncode == ExitCode.INCOMPLETE
    assert unknown.stdout.splitlines()[0] == "no shard of run never-ran committed"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--snapshot-date", "2026-13-01"], "--snapshot-date: '2026-13-01' is not a date (YYYY-MM-DD)"),
        (["--run-id", "no spaces"], "--run-id: 'no spaces' is not a run id"),
    ],
)
def test_verify_bad_input_exits_2_with_one_line(emu: Emulator, tmp_path: Path, args: list[str], message: str) -> None:
    proc = _cli("verify", "s3://some-bucket/inv/", *args, emu=emu, cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith("lambda-inventory: error: ") and message in line
    assert proc.stdout == ""


def test_verify_of_a_file_is_one_line(emu: Emulator, tmp_path: Path) -> None:
    (tmp_path / "x.parquet").write_bytes(b"")
    proc = _cli("verify", tmp_path / "x.parquet", emu=emu, cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE
    (line,) = proc.stderr.splitlines()
    assert "not a lake" in line


def test_a_denied_write_of_the_targets_leaves_the_day_to_the_complete_run(
    emu: Emulator, lake: str, tmp_path: Path
) -> None:
    """S3 denies PutObject under the targets table (a bucket policy on part of the prefix): the run's
    functions commit, its targets cannot, so no runs row: exit 2, one line, and the day is still the
    complete run's, every function once."""
    config = _config(tmp_path)
    assert _cli("run", "--config", config, "--output", lake, "--run-id", "good", emu=emu, cwd=tmp_path).returncode == 0
    good = _arns(_snapshot(lake).functions)
    prefix = "/" + "/".join(lake.split("/")[2:4]) + "/targets/"
    emu.app.behaviour = Behaviour(faults=[DeniedS3Writes({prefix})])
    denied = _cli("run", "--config", config, "--output", lake, "--run-id", "denied", emu=emu, cwd=tmp_path)
    emu.app.behaviour = Behaviour()
    assert denied.returncode == ExitCode.USAGE, denied.stderr
    (line,) = [x for x in denied.stderr.splitlines() if x.startswith("lambda-inventory: error:")]
    assert "cannot append the targets" in line and "Access Denied" in line
    assert [r.run_id for r in _reader(lake).records()] == ["good"]
    assert _arns(_snapshot(lake).functions) == good and _athena(lake) == good
    assert _cli("verify", lake, emu=emu, cwd=tmp_path).returncode == 0
