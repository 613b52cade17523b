"""End to end: the CLI as a user runs it, in a subprocess, against the session emulator over HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import config_dict, console_script, job_role_arn, seed_members, subprocess_env

from inventory.cli_parser import EXIT_CODES
from inventory.contract.lake import lake_at
from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec, Seeded
from inventory.exits import ExitCode
from inventory.readers.lake import LakeReader
from inventory.readers.snapshot import load_snapshot

# Account ids used only by this module.
MAIN, SIDE, DENIED = "240000000001", "240000000002", "240000000003"
SECRET = f"s3cr3t-{uuid.uuid4()}"
TIMEOUT = 120


@pytest.fixture(scope="module")
def org(emulator: Emulator) -> Seeded:
    env = {"DB_HOST": "db.internal", "DB_PASSWORD": SECRET}
    return seed_members(
        emulator,
        [
            MemberSpec(
                MAIN,
                "main",
                {"us-east-1": (FunctionSpec("svc", 55),), "eu-west-1": (FunctionSpec("env", 3, environment=env),)},
            ),
            MemberSpec(SIDE, "side", {"us-east-1": (FunctionSpec("side", 4, runtime="nodejs20.x"),)}),
            MemberSpec(DENIED, "denied", {"us-east-1": (FunctionSpec("nope", 2),)}),
        ],
    )


def _write_config(path: Path, *account_ids: str) -> Path:
    accounts = [{"account_id": a, "name": f"name-{a}", "tags": ["env:test"]} for a in account_ids]
    data = config_dict(accounts, regions=["us-east-1", "eu-west-1"], max_workers=4)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def _module(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "inventory", *map(str, args)]


def _script(*args: str | Path) -> list[str]:
    return [str(console_script()), *map(str, args)]


def _json_lines(stderr: str) -> list[dict[str, Any]]:
    lines = stderr.splitlines()
    assert lines, "expected log lines on stderr"
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"stderr line is not JSON: {line!r}")
    return parsed


def _expected_arns(org: Seeded, *account_ids: str) -> set[str]:
    return {arn for (account, _), arns in org.functions.items() if account in account_ids for arn in arns}


def _files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*"))


def test_run_as_module_writes_typed_parquet(emu: Emulator, org: Seeded, tmp_path: Path) -> None:
    config = _write_config(tmp_path / "accounts.yaml", MAIN, SIDE)
    out = tmp_path / "out"

    proc = _run(
        _module("run", "--config", config, "--output", f"{out}/", "--log-level", "debug"),
        subprocess_env(emu.endpoint),
        tmp_path,
    )

    assert proc.returncode == 0, proc.stderr
    assert _files(out) == [
        "inventory.manifest.json",
        "inventory.parquet",
        "inventory.runtimes.parquet",  # the runtime schedule the run used, every run
        "inventory.status.parquet",
    ]
    frame = pd.read_parquet(out / "inventory.parquet")
    assert len(frame) == 62
    assert list(frame.columns) == INVENTORY_SCHEMA.names
    assert set(frame["function_arn"]) == _expected_arns(org, MAIN, SIDE)
    assert frame["function_arn"].is_unique
    for column in ("last_modified", "snapshot_time"):
        dtype = frame[column].dtype
        assert isinstance(dtype, pd.DatetimeTZDtype), (column, dtype)
        assert str(dtype.tz) == "UTC"
    assert frame["last_modified"].notna().all()
    assert frame["code_size"].dtype == "int64"
    assert frame["memory_size"].dtype == "int32"
    assert (frame["code_size"] > 0).all()
    env_rows = frame[frame["function_name"].str.startswith("env-")]
    assert [list(v) for v in env_rows["environment_variable_names"]] == [["DB_HOST", "DB_PASSWORD"]] * 3
    assert list(frame["account_tags"].iloc[0]) == ["env:test"]

    status = pq.read_table(out / "inventory.status.parquet")
    assert status.schema.equals(STATUS_SCHEMA)
    assert sorted(status.column("status").to_pylist()) == ["ok"] * 4
    assert sorted(status.column("function_count").to_pylist()) == [0, 3, 4, 55]

    assert "62 functions from 2 accounts" in proc.stdout
    for entry in _json_lines(proc.stderr):
        assert {"time", "level", "logger", "message"} <= entry.keys()
    for stream in (proc.stdout, proc.stderr):
        assert SECRET not in stream
    for path in out.iterdir():
        assert SECRET.encode() not in path.read_bytes()


def test_console_script_writes_csv_with_the_same_columns(emu: Emulator, org: Seeded, tmp_path: Path) -> None:
    config = _write_config(tmp_path / "accounts.yaml", MAIN, SIDE)
    out = tmp_path / "out"

    proc = _run(
        _script("run", "--config", config, "--output", f"{out}/", "--format", "csv"),
        subprocess_env(emu.endpoint),
        tmp_path,
    )

    assert proc.returncode == 0, proc.stderr
    assert _files(out) == ["inventory.csv", "inventory.manifest.json", "inventory.runtimes.csv", "inventory.status.csv"]
    raw = (out / "inventory.csv").read_bytes()
    assert SECRET.encode() not in raw
    assert b"DB_PASSWORD" in raw
    frame = pd.read_csv(out / "inventory.csv")
    assert list(frame.columns) == INVENTORY_SCHEMA.names
    assert len(frame) == 62
    assert set(frame["function_arn"]) == _expected_arns(org, MAIN, SIDE)
    assert frame["code_size"].dtype == "int64"
    env_names = {json.dumps(["DB_HOST", "DB_PASSWORD"]), "[]"}
    assert set(frame["environment_variable_names"]) == env_names
    status = pd.read_csv(out / "inventory.status.csv")
    assert list(status.columns) == STATUS_SCHEMA.names
    assert len(status) == 4


def test_partial_failure_exits_1_and_writes_the_rest(emu: Emulator, org: Seeded, tmp_path: Path) -> None:
    emu.app.behaviour.deny_roles.add(job_role_arn(DENIED))
    emu.app.behaviour.throttle_rate = 0.1
    config = _write_config(tmp_path / "accounts.yaml", MAIN, DENIED)
    out = tmp_path / "inventory.parquet"

    proc = _run(_module("run", "--config", config, "--output", out), subprocess_env(emu.endpoint), tmp_path)

    assert proc.returncode == 1, proc.stderr
    table = pq.read_table(out)
    assert table.num_rows == 58
    assert set(table.column("function_arn").to_pylist()) == _expected_arns(org, MAIN)
    status = {
        (r["account_id"], r["region"]): r for r in pq.read_table(tmp_path / "inventory.status.parquet").to_pylist()
    }
    assert {k: v["status"] for k, v in status.items()} == {
        (MAIN, "us-east-1"): "ok",
        (MAIN, "eu-west-1"): "ok",
        (DENIED, "us-east-1"): "failed",
        (DENIED, "eu-west-1"): "failed",
    }
    assert status[(DENIED, "us-east-1")]["function_count"] is None

    entries = _json_lines(proc.stderr)
    failures = [e for e in entries if e["level"] in ("warning", "error")]
    assert {(e.get("account_id"), e.get("region")) for e in failures} == {
        (DENIED, "us-east-1"),
        (DENIED, "eu-west-1"),
    }
    for entry in failures:
        assert entry["error_code"] == "AccessDenied"
        assert entry["status"] == "failed"
    assert "failed" in proc.stdout
    assert emu.app.stats.assume_calls[job_role_arn(DENIED)] == 1


BAD_CONFIGS = {
    "short-id": ('accounts:\n  - account_id: "12345"\n    regions: [us-east-1]\n', "accounts[0].account_id"),
    # 012345670123 is a YAML 1.1 octal number: unquoted, the id would silently change
    "unquoted-id": ("regions: [us-east-1]\naccounts:\n  - account_id: 012345670123\n", "accounts[0].account_id"),
    "unknown-key": ('regions: [us-east-1]\naccounts:\n  - account_id: "240000000001"\n    regoins: [x]\n', "regoins"),
    "bad-region": ('regions: [us-east-1, mars-1]\naccounts:\n  - account_id: "240000000001"\n', "regions[1]"),
    "not-yaml": ("accounts: [\n", "line"),
    # from a task role AssumeRole is role chaining, capped at 1 h by AWS: every account would fail at run time
    "chained-duration": (
        'duration_seconds: 7200\nregions: [us-east-1]\naccounts:\n  - account_id: "240000000001"\n',
        "duration_seconds: 7200 is over 3600: AssumeRole from a task role",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_exits_2_with_one_line(emu: Emulator, tmp_path: Path, case: str) -> None:
    text, yaml_path = BAD_CONFIGS[case]
    config = tmp_path / "accounts.yaml"
    config.write_text(text, encoding="utf-8")
    out = tmp_path / "out"

    proc = _run(_module("run", "--config", config, "--output", f"{out}/"), subprocess_env(emu.endpoint), tmp_path)

    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("lambda-inventory: error: ")
    assert str(config) in lines[0]
    assert yaml_path in lines[0]
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    assert _files(tmp_path) == ["accounts.yaml"]
    assert sum(emu.app.stats.assume_calls.values()) == 0


def test_missing_config_file_exits_2(emu: Emulator, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    proc = _run(_module("run", "--config", missing, "--output", "out/"), subprocess_env(emu.endpoint), tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert str(missing) in proc.stderr
    assert _files(tmp_path) == []


def test_output_under_a_regular_file_exits_2_and_writes_nothing(emu: Emulator, org: Seeded, tmp_path: Path) -> None:
    config = _write_config(tmp_path / "accounts.yaml", MAIN)
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory\n", encoding="utf-8")

    proc = _run(
        _module("run", "--config", config, "--output", blocker / "inventory.parquet"),
        subprocess_env(emu.endpoint),
        tmp_path,
    )

    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(blocker) in lines[0]
    assert "Traceback" not in proc.stderr
    assert _files(tmp_path) == ["accounts.yaml", "blocker"]
    assert blocker.read_text(encoding="utf-8") == "not a directory\n"
    assert sum(emu.app.stats.assume_calls.values()) == 0, "the destination is checked before any AWS call"
    assert sum(emu.app.stats.list_calls.values()) == 0


def test_status_path_taken_by_a_directory_exits_2_and_writes_nothing(
    emu: Emulator, org: Seeded, tmp_path: Path
) -> None:
    config = _write_config(tmp_path / "accounts.yaml", MAIN)
    out = tmp_path / "out"
    (out / "inventory.status.parquet").mkdir(parents=True)

    proc = _run(_module("run", "--config", config, "--output", f"{out}/"), subprocess_env(emu.endpoint), tmp_path)

    assert proc.returncode == 2, proc.stderr
    assert "is a directory" in proc.stderr
    assert _files(out) == ["inventory.status.parquet"], "the inventory's temporary file must be removed"
    assert sum(emu.app.stats.assume_calls.values()) == 0


@pytest.mark.parametrize("how", ["flag", "env"])
def test_bad_max_workers_exits_2(emu: Emulator, org: Seeded, tmp_path: Path, how: str) -> None:
    config = _write_config(tmp_path / "accounts.yaml", MAIN)
    args = ["run", "--config", str(config), "--output", f"{tmp_path / 'out'}/"]
    env = subprocess_env(emu.endpoint)
    if how == "flag":
        args += ["--max-workers", "0"]
    else:
        env["LAMBDA_INVENTORY_MAX_WORKERS"] = "0"

    proc = _run(_module(*args), env, tmp_path)

    assert proc.returncode == 2, proc.stderr
    assert "MAX_WORKERS" in proc.stderr.upper().replace("-", "_")
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_missing_hub_credentials_exits_3(emu: Emulator, org: Seeded, tmp_path: Path) -> None:
    config = _write_config(tmp_path / "accounts.yaml", MAIN)
    env = subprocess_env(emu.endpoint)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        del env[name]
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"]
    out = tmp_path / "out"

    proc = _run(_module("run", "--config", config, "--output", f"{out}/"), env, tmp_path)

    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "no AWS credentials" in lines[0]
    assert "Traceback" not in proc.stderr
    assert [p for p in tmp_path.rglob("*") if p.is_file() and p != config] == [], "nothing may be written"
    assert sum(emu.app.stats.assume_calls.values()) == 0


def test_demo_command(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = _run(_script("demo", "--output", f"{out}/"), subprocess_env(None), tmp_path)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "demo check passed" in proc.stdout
    assert pq.read_metadata(out / "inventory.parquet").num_rows == 154
    assert (out / "inventory.status.parquet").is_file()
    for line in proc.stderr.splitlines():
        json.loads(line)


def test_interrupt_exits_130_and_writes_nothing(emu: Emulator, org: Seeded, tmp_path: Path) -> None:
    emu.app.behaviour.throttle_rate = 1.0  # keep both targets busy retrying until the signal lands
    accounts = [{"account_id": MAIN}]
    retry = {"max_attempts": 50, "base_delay": 0.05, "max_delay": 0.05}
    data = config_dict(accounts, regions=["us-east-1", "eu-west-1"], retry=retry)
    config = tmp_path / "accounts.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "out"

    with subprocess.Popen(
        _module("run", "--config", config, "--output", f"{out}/"),
        env=subprocess_env(emu.endpoint),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        deadline = time.monotonic() + 30
        while sum(emu.app.stats.list_calls.values()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=TIMEOUT)

    assert proc.returncode == 130, stderr
    assert "interrupted; nothing was written" in stderr
    assert "Traceback" not in stderr
    assert [p for p in tmp_path.rglob("*") if p.is_file() and p != config] == []


# --- shards, a local lake, accounts from the organization ----------------------------------


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        (["--shard", "3/3"], {}, "--shard: '3/3' needs 0 <= INDEX < COUNT"),
        (["--shard", "half"], {}, "--shard: 'half' is not INDEX/COUNT"),
        ([], {"LAMBDA_INVENTORY_SHARD": "1/0"}, "LAMBDA_INVENTORY_SHARD: '1/0' needs"),
        ([], {"LAMBDA_INVENTORY_SHARD_COUNT": "4"}, "AWS_BATCH_JOB_ARRAY_INDEX is not"),
        ([], {"AWS_BATCH_JOB_ARRAY_INDEX": "4", "LAMBDA_INVENTORY_SHARD_COUNT": "4"}, "needs 0 <= INDEX < COUNT"),
    ],
)
def test_bad_shard_exits_2_before_any_aws_call(
    emu: Emulator, tmp_path: Path, flags: list[str], env: dict[str, str], message: str
) -> None:
    config = _write_config(tmp_path / "accounts.yaml", MAIN)
    proc = _run(
        _module("run", "--config", config, "--output", f"{tmp_path / 'out'}/", *flags),
        {**subprocess_env(emu.endpoint), **env},
        tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]
    assert not (tmp_path / "out").exists()
    assert sum(emu.app.stats.assume_calls.values()) == 0


def test_a_local_lake_and_two_shards_of_one_run_add_up(emu: Emulator, org: Seeded, tmp_path: Path) -> None:
    config = _write_config(tmp_path / "accounts.yaml", MAIN, SIDE)
    out = tmp_path / "lake"
    env = {**subprocess_env(emu.endpoint), "LAMBDA_INVENTORY_RUN_ID": "nightly-1"}
    for index in range(2):
        proc = _run(
            _module("run", "--config", config, "--output", out, "--lake", "--shard", f"{index}/2"), env, tmp_path
        )
        assert proc.returncode == 0, proc.stderr
        assert f"{out} (embedded catalog, namespace lambda_inventory) (run nightly-1)" in proc.stdout

    assert (out / "catalog.db").is_file() and (out / "warehouse" / "lambda_inventory" / "functions").is_dir()
    snapshot = load_snapshot(str(out))
    arns = snapshot.functions.column("function_arn").to_pylist()
    assert sorted(arns) == sorted(_expected_arns(org, MAIN, SIDE)), "the shards add up to the whole inventory"
    assert snapshot.warnings == () and snapshot.source.endswith("run nightly-1")
    records = LakeReader(lake_at(str(out))).records()
    assert sorted(r.shard for r in records) == [(0, 2), (1, 2)]
    accounts = [set(r.functions_by_account) for r in records]
    assert accounts[0].isdisjoint(accounts[1]), "no account is in two shards"
    assert accounts[0] | accounts[1] == {MAIN, SIDE}
    verify = _run(_module("verify", out, "--run-id", "nightly-1", "--shards", "2"), env, tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_validate_an_organization_config_calls_nothing(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("accounts_from: organization\nregions: all\n", encoding="utf-8")
    proc = _run(_module("validate", "--config", path), subprocess_env(emu.endpoint), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "accounts from AWS Organizations" in proc.stdout
    assert sum(emu.app.stats.assume_calls.values()) == 0


# --- hostile input, the hub's environment, crashes: one line and the right exit code ---------------------

OK_CONFIG = "regions: [us-east-1]\naccounts:\n  - account_id: '240000000001'\n"
MEASURE = """
import resource, subprocess, sys, time
start = time.monotonic()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=60)
seconds = time.monotonic() - start
print(proc.returncode, seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
sys.stderr.write(proc.stderr)
"""


def _laughs(indent: str, as_list: bool) -> str:
    """~500 bytes: 9 levels of nine aliases each, 9**9 (387 million) values once expanded."""
    names = "abcdefghi"
    values = ["[lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    values += [f"[{', '.join([f'*{p}'] * 9)}]" for p in names[:-1]]
    return "".join(
        f"{indent}- &{n} {v}\n" if as_list else f"{indent}{n}: &{n} {v}\n" for n, v in zip(names, values, strict=True)
    )


BOMBS = {
    "under-tags": OK_CONFIG + "    vars:\n" + _laughs("      ", as_list=False) + "    tags: *i\n",
    "top-level-list": _laughs("", as_list=True),
}


def _one_error_line(proc: subprocess.CompletedProcess[str], code: int) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


@pytest.mark.parametrize("case", sorted(BOMBS))
def test_alias_bomb_exits_2_quickly_in_bounded_memory(tmp_path: Path, case: str) -> None:
    config = tmp_path / "bomb.yaml"
    config.write_text(BOMBS[case], encoding="utf-8")
    assert config.stat().st_size < 700
    measured = _run(
        [sys.executable, "-c", MEASURE, *_script("validate", "--config", config)], subprocess_env(None), tmp_path
    )
    code, seconds, peak_mib = measured.stdout.split()
    assert int(code) == 2, measured.stderr
    assert float(seconds) < 20
    assert int(peak_mib) < 300
    line = measured.stderr.strip()
    assert "\n" not in line and "aliases expand the config by more than 2,000,000 values" in line, line
    assert len(line) < 400


@pytest.mark.parametrize(
    ("name", "value"),
    [("LOG_LEVEL", "loud"), ("LOG_FORMAT", "yaml"), ("LAKE", "maybe"), ("ACCOUNTS_FROM", "org")],
)
def test_bad_environment_default_exits_2_naming_the_variable(
    emu: Emulator, tmp_path: Path, name: str, value: str
) -> None:
    config = _write_config(tmp_path / "accounts.yaml", MAIN)
    env = subprocess_env(emu.endpoint, **{f"LAMBDA_INVENTORY_{name}": value})
    proc = _run(_module("run", "--config", config, "--output", f"{tmp_path}/out/"), env, tmp_path)
    line = _one_error_line(proc, 2)
    assert line.startswith(f"lambda-inventory: error: LAMBDA_INVENTORY_{name}: '{value}' is not one of"), line
    assert not (tmp_path / "out").exists()


def _aws_config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "aws-config"
    path.write_text(text, encoding="utf-8")
    env = subprocess_env(None, AWS_CONFIG_FILE=str(path), AWS_EC2_METADATA_DISABLED="true")
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return env


LEAKED = "AKIAEXAMPLEEXAMPLE12"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"AWS_PROFILE": "nope"}, "AWS_PROFILE names profile 'nope', which is not in ~/.aws/config"),
        ({"AWS_PROFILE": "broken"}, "cannot get the hub's AWS credentials: Error when retrieving credentials"),
        (
            {"AWS_DEFAULT_REGION": "mars-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
            "hub region 'mars-1' (from AWS_DEFAULT_REGION) is not a known AWS region",
        ),
    ],
)
def test_unusable_hub_environment_exits_3_in_one_line(tmp_path: Path, extra: dict[str, str], expected: str) -> None:
    process = f"sh -c 'echo {LEAKED} token expired >&2; exit 1'"
    env = _aws_config(tmp_path, f"[profile broken]\ncredential_process = {process}\n") | extra
    config = tmp_path / "accounts.yaml"
    config.write_text(OK_CONFIG, encoding="utf-8")
    proc = _run(_script("run", "--config", config, "--output", f"{tmp_path}/out/"), env, tmp_path)
    line = _one_error_line(proc, 3)
    assert line.startswith(f"lambda-inventory: error: {expected}"), line
    assert LEAKED not in proc.stderr + proc.stdout
    assert not (tmp_path / "out").exists()


def test_validate_does_not_need_the_hub_profile(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(OK_CONFIG, encoding="utf-8")
    env = _aws_config(tmp_path, "") | {"AWS_PROFILE": "nope"}
    proc = _run(_script("validate", "--config", config), env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "ok, 1 accounts, 1 targets" in proc.stdout


@pytest.mark.parametrize(
    ("output", "fmt", "expected"),
    [
        ("x.csv", "parquet", "x.csv: the name ends in .csv but the format is parquet"),
        ("out", None, "out: no file extension and not an existing directory; write out/ for a directory"),
        ("s3://bucket-x/a/../b/", None, "the S3 key has a '.' or '..' segment"),
        ("s3://bucket-x/a\nb/", None, "the S3 key has a control character"),
        ("s3://bucket-x/" + "k" * 1100 + ".parquet", None, "is over 1024 bytes"),
    ],
)
def test_unusable_output_exits_2_before_any_call(
    emu: Emulator, tmp_path: Path, output: str, fmt: str | None, expected: str
) -> None:
    config = _write_config(tmp_path / "accounts.yaml", MAIN)
    flags = ["--format", fmt] if fmt else []
    before = sum(emu.app.stats.assume_calls.values())
    proc = _run(_module("run", "--config", config, "--output", output, *flags), subprocess_env(emu.endpoint), tmp_path)
    line = _one_error_line(proc, 2)
    assert expected in line, line
    assert _files(tmp_path) == ["accounts.yaml"]
    assert sum(emu.app.stats.assume_calls.values()) == before


def test_a_crash_is_exit_5_in_one_line_and_the_traceback_only_with_debug(tmp_path: Path) -> None:
    crash = ["demo", "--port", "-5", "--output", f"{tmp_path}/out/"]  # the emulator cannot bind port -5
    proc = _run(_script(*crash), subprocess_env(None), tmp_path)
    line = _one_error_line(proc, 5)
    assert line.startswith("lambda-inventory: internal error: OverflowError: "), line
    debug = _run(_script(*crash, "--log-level", "debug"), subprocess_env(None), tmp_path)
    assert debug.returncode == 5
    assert "Traceback" in debug.stderr and "lambda-inventory: internal error: OverflowError" in debug.stderr


@pytest.mark.parametrize("command", ["", *EXIT_CODES])
def test_help_lists_the_exit_codes_of_its_command(command: str) -> None:
    """The top-level --help lists every code; each command's --help exactly the codes it can end with."""
    args = _script(*filter(None, [command]), "--help")
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0
    table = proc.stdout.split("exit codes:\n", 1)[1]
    listed = {int(code) for code in re.findall(r"^\s+(\d+)\s", table, re.MULTILINE)}
    assert listed == {code.value for code in (EXIT_CODES[command] if command else ExitCode)}
    for code in ExitCode:
        if code.value in listed:
            assert re.search(rf"^\s+{code.value}\s+{re.escape(code.meaning)}$", table, re.MULTILINE), code
    assert re.search(r"^\s+5\s+an unexpected crash", table, re.MULTILINE)
