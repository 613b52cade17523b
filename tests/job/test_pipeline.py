"""run_job end to end in-process: several accounts x regions, throttling, failures, secrets, empty runs."""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from conftest import REGIONS, job_role_arn, make_config, run_inventory, seed_members
from support.emulator_faults import KeyExpiry

from inventory.contract.layout import Format
from inventory.contract.results import Status
from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec, Seeded
from inventory.exits import ExitCode, for_run

# Account ids used only by this module.
PROD, DEV, DATA, LEGACY, EDGE = (f"23000000000{i}" for i in range(1, 6))
EMPTY = "230000000006"  # never seeded: AssumeRole works, every region lists zero functions
OPT_IN = "ap-east-1"  # an opt-in region (Hong Kong): DEV lists it instead of eu-central-1
DISABLED = (DEV, OPT_IN)
SECRET = f"s3cr3t-{uuid.uuid4()}"
ENV = {"DB_HOST": "db.internal", "DB_PASSWORD": SECRET}

ACCOUNTS: dict[str, dict[str, Any]] = {
    PROD: {"account_id": PROD, "name": "prod", "tags": ["env:prod"]},
    DEV: {"account_id": DEV, "name": "dev", "tags": ["env:dev"], "regions": ["us-east-1", "eu-west-1", OPT_IN]},
    DATA: {"account_id": DATA, "name": "data"},
    LEGACY: {"account_id": LEGACY, "name": "legacy"},
    EDGE: {"account_id": EDGE, "name": "edge"},
    EMPTY: {"account_id": EMPTY, "name": "empty"},
}


@pytest.fixture(scope="module")
def org(emulator: Emulator) -> Seeded:
    fs = FunctionSpec
    return seed_members(
        emulator,
        [
            MemberSpec(
                PROD,
                "prod",
                {
                    "us-east-1": (fs("orders", 60, environment=ENV),),  # two pages
                    "eu-west-1": (fs("edge", 5, runtime="nodejs20.x", architectures=("arm64",)),),
                    "eu-central-1": (fs("reports", 2, environment=ENV),),
                },
            ),
            MemberSpec(
                DEV,
                "dev",
                {
                    "us-east-1": (fs("api", 3, publish=True),),
                    "eu-west-1": (fs("image", 2, runtime=None, package_type="Image"),),
                    OPT_IN: (fs("unseen", 2),),  # the disabled region
                },
            ),
            MemberSpec(DATA, "data", {"us-east-1": (fs("etl", 2, vpc=True),), "eu-central-1": (fs("job", 1),)}),
            MemberSpec(LEGACY, "legacy", {"us-east-1": (fs("old", 4, environment=ENV),)}),
            MemberSpec(
                EDGE,
                "edge",
                {
                    "us-east-1": (fs("cdn", 1),),
                    "eu-west-1": (fs("auth", 6, environment=ENV, layers=("shared",)),),
                    "eu-central-1": (fs("misc", 3),),
                },
            ),
        ],
    )


def _config(*account_ids: str, **top: Any) -> Any:
    return make_config([ACCOUNTS[a] for a in account_ids], regions=list(REGIONS), max_workers=8, **top)


def _expected(org: Seeded, account_ids: tuple[str, ...], unreachable: set[tuple[str, str]]) -> Counter[str]:
    return Counter(
        arn
        for (account, region), arns in org.functions.items()
        if account in account_ids and (account, region) not in unreachable
        for arn in arns
    )


def _status(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    table = pq.read_table(path)
    assert table.schema.equals(STATUS_SCHEMA)
    return {(r["account_id"], r["region"]): r for r in table.to_pylist()}


def _all_bytes(directory: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def test_many_targets_with_throttling_lose_and_duplicate_nothing(emu: Emulator, org: Seeded, tmp_path: Path) -> None:
    emu.app.behaviour.throttle_rate = 0.1
    emu.app.behaviour.deny_roles.add(job_role_arn(LEGACY))
    emu.app.behaviour.disabled.add(DISABLED)
    accounts = (PROD, DEV, DATA, LEGACY, EDGE)

    summary, results = run_inventory(_config(*accounts), tmp_path / "out" / "inventory.parquet")

    table = pq.read_table(tmp_path / "out" / "inventory.parquet")
    assert table.schema.equals(INVENTORY_SCHEMA)
    found = Counter(table.column("function_arn").to_pylist())
    expected = _expected(org, accounts, {DISABLED} | {(LEGACY, r) for r in REGIONS})
    assert sum(expected.values()) == 85
    assert [arn for arn, n in found.items() if n > 1] == [], "duplicated rows"
    assert sorted(set(expected) - set(found)) == [], "lost rows"
    assert sorted(set(found) - set(expected)) == [], "rows from a failed, skipped or foreign target"
    assert table.num_rows == 85

    status = _status(tmp_path / "out" / "inventory.status.parquet")
    assert len(status) == len(accounts) * len(REGIONS)
    for (account, region), row in status.items():
        if account == LEGACY:
            assert (row["status"], row["function_count"], row["error_code"]) == ("failed", None, "AccessDenied")
        elif (account, region) == DISABLED:
            assert (row["status"], row["function_count"]) == ("skipped", None)
            assert row["error_code"] == "UnrecognizedClientException"
        else:
            assert row["status"] == "ok", row
            assert row["function_count"] == len(org.functions.get((account, region), ()))
            assert row["error_code"] is None
    assert status[(DATA, "eu-west-1")]["function_count"] == 0  # nothing there: ok and 0, not unknown
    assert status[(PROD, "us-east-1")]["pages"] == 2

    assert for_run(results) == ExitCode.PARTIAL == 1
    assert (summary.counts.ok, summary.counts.skipped, summary.counts.failed) == (11, 1, 3)
    assert summary.counts.functions == 85
    assert summary.counts.accounts == 5
    assert summary.assume_role_calls == 5  # one per account, however many regions and threads
    assert summary.output == str(tmp_path / "out" / "inventory.parquet")
    for account in accounts:
        assert emu.app.stats.assume_calls[job_role_arn(account)] == 1
    # every request is accounted for: ok targets made pages + retries calls, skipped one, failed none
    # (stats.throttled also counts draws the emulator answered 403 for the disabled region, so not used here)
    for (account, region), row in status.items():
        calls = emu.app.stats.list_calls[(account, region)]
        if row["status"] == "ok":
            assert calls == row["pages"] + row["retries"], row
        else:
            assert calls == (1 if (account, region) == DISABLED else 0), row
    assert summary.retries == sum(row["retries"] for row in status.values())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "inventory.manifest.json",
        "inventory.parquet",
        "inventory.runtimes.parquet",
        "inventory.status.parquet",
    ]


def test_all_ok_run_exits_zero(emu: Emulator, org: Seeded, tmp_path: Path) -> None:
    accounts = (PROD, DATA, EDGE)
    summary, results = run_inventory(_config(*accounts), tmp_path / "inventory.parquet")

    assert for_run(results) == ExitCode.OK == 0
    assert all(r.status is Status.OK for r in results)
    assert summary.counts.failed == summary.counts.skipped == 0
    found = Counter(pq.read_table(tmp_path / "inventory.parquet").column("function_arn").to_pylist())
    assert found == _expected(org, accounts, set())


def test_skipped_region_does_not_fail_the_run(emu: Emulator, org: Seeded, tmp_path: Path) -> None:
    emu.app.behaviour.disabled.add(DISABLED)
    summary, results = run_inventory(_config(DEV), tmp_path / "inventory.parquet")

    assert for_run(results) == ExitCode.OK
    assert (summary.counts.ok, summary.counts.skipped, summary.counts.failed) == (2, 1, 0)
    found = Counter(pq.read_table(tmp_path / "inventory.parquet").column("function_arn").to_pylist())
    assert found == _expected(org, (DEV,), {DISABLED})


def _member_list_functions(endpoint: str, account_id: str, region: str) -> list[dict[str, Any]]:
    """What the emulator really sends for a target (test-side check that the secret is on the wire)."""
    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1")
    creds = sts.assume_role(RoleArn=job_role_arn(account_id, "SecretProbe"), RoleSessionName="probe")["Credentials"]
    client = boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    functions: list[dict[str, Any]] = client.list_functions()["Functions"]
    return functions


def test_secret_values_never_reach_outputs_or_logs(
    emu: Emulator, org: Seeded, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert SECRET in org.secrets
    on_the_wire = _member_list_functions(emu.endpoint, PROD, "us-east-1")
    assert {f["Environment"]["Variables"]["DB_PASSWORD"] for f in on_the_wire} == {SECRET}, "test premise"

    caplog.set_level(logging.DEBUG, logger="inventory")
    emu.app.behaviour.deny_roles.add(job_role_arn(LEGACY))  # failure lines are logged too
    emu.app.behaviour.throttle_rate = 0.1  # and retry lines
    accounts = (PROD, LEGACY, EDGE)
    config = _config(*accounts)
    run_inventory(config, tmp_path / "parquet" / "inventory.parquet", Format.PARQUET)
    run_inventory(config, tmp_path / "csv" / "inventory.csv", Format.CSV)

    written = _all_bytes(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "csv/inventory.csv",
        "csv/inventory.manifest.json",
        "csv/inventory.runtimes.csv",
        "csv/inventory.status.csv",
        "parquet/inventory.manifest.json",
        "parquet/inventory.parquet",
        "parquet/inventory.runtimes.parquet",
        "parquet/inventory.status.parquet",
    ]
    for path, data in written.items():
        assert SECRET.encode() not in data, f"{path} contains the secret"
        assert b"s3cr3t" not in data, f"{path} contains part of the secret"

    csv_text = written[tmp_path / "csv" / "inventory.csv"].decode()
    assert "DB_PASSWORD" in csv_text  # names are kept (the byte check above is meaningful: CSV is plain text)

    for name, fmt in (("parquet/inventory.parquet", Format.PARQUET), ("csv/inventory.csv", Format.CSV)):
        table = pq.read_table(tmp_path / name) if fmt is Format.PARQUET else pacsv.read_csv(tmp_path / name)
        rows = table.select(["function_name", "environment_variable_names"]).to_pylist()
        assert len(rows) == sum(len(v) for (a, _), v in org.functions.items() if a in (PROD, EDGE))
        for row in rows:
            names = row["environment_variable_names"]
            if fmt is Format.CSV:
                assert isinstance(names, str)
                names = json.loads(names)  # CSV carries list columns as JSON arrays
            expect_env = row["function_name"].startswith(("orders", "reports", "auth"))
            assert names == (["DB_HOST", "DB_PASSWORD"] if expect_env else []), row

    assert caplog.records, "the run logged nothing"
    failures = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "inventory.job.pipeline"]
    assert {(getattr(r, "account_id", None), getattr(r, "region", None)) for r in failures} == {
        (LEGACY, region) for region in REGIONS
    }
    assert SECRET not in caplog.text
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in repr(record.__dict__)


def test_zero_functions_is_ok_with_count_zero_not_unknown(emu: Emulator, org: Seeded, tmp_path: Path) -> None:
    emu.app.behaviour.deny_roles.add(job_role_arn(LEGACY))
    summary, results = run_inventory(_config(EMPTY, LEGACY), tmp_path / "inventory.parquet")

    by_target = {(r.target.account.account_id, r.target.region): r for r in results}
    for region in REGIONS:
        assert by_target[(EMPTY, region)].status is Status.OK
        assert by_target[(EMPTY, region)].function_count == 0
        assert by_target[(LEGACY, region)].status is Status.FAILED
        assert by_target[(LEGACY, region)].function_count is None

    status = _status(tmp_path / "inventory.status.parquet")
    for region in REGIONS:
        assert (status[(EMPTY, region)]["status"], status[(EMPTY, region)]["function_count"]) == ("ok", 0)
        assert (status[(LEGACY, region)]["status"], status[(LEGACY, region)]["function_count"]) == ("failed", None)
    assert summary.counts.functions == 0
    assert for_run(results) == ExitCode.PARTIAL


@pytest.mark.parametrize("scenario", ["all-failed", "all-empty"])
def test_empty_inventory_still_writes_full_schema(emu: Emulator, org: Seeded, tmp_path: Path, scenario: str) -> None:
    if scenario == "all-failed":
        emu.app.behaviour.deny_roles.add(job_role_arn(LEGACY))
        config, want_exit = _config(LEGACY), ExitCode.PARTIAL
    else:
        config, want_exit = _config(EMPTY), ExitCode.OK

    _, results = run_inventory(config, tmp_path / "inventory.parquet")
    assert for_run(results) == want_exit

    table = pq.read_table(tmp_path / "inventory.parquet")
    assert table.num_rows == 0
    assert table.schema.equals(INVENTORY_SCHEMA)
    frame = pq.read_table(tmp_path / "inventory.parquet").to_pandas()
    assert list(frame.columns) == INVENTORY_SCHEMA.names
    assert len(_status(tmp_path / "inventory.status.parquet")) == len(REGIONS)

    _, _ = run_inventory(config, tmp_path / "inventory.csv", Format.CSV)
    csv_table = pacsv.read_csv(tmp_path / "inventory.csv")
    assert csv_table.num_rows == 0
    assert csv_table.column_names == INVENTORY_SCHEMA.names


def test_keys_expiring_mid_run_are_replaced_without_losing_rows(emu: Emulator, org: Seeded, tmp_path: Path) -> None:
    # every member key is honoured for 2 ListFunctions calls, shared by all regions of the account
    # (PROD makes 4 page requests and EDGE 3, so both must re-assume at least once)
    emu.app.behaviour.faults.append(KeyExpiry(after=2))
    emu.app.behaviour.throttle_rate = 0.1
    accounts = (PROD, EDGE)
    # The emulator's keys expire by use count, and the regions of an account share one key, so a region can
    # lose the race for a fresh key several times running (real keys expire by time, for all at once): a
    # larger attempt budget keeps this about correctness rather than about contention.
    retry = {"max_attempts": 25, "base_delay": 0.01, "max_delay": 0.02}
    summary, results = run_inventory(_config(*accounts, retry=retry), tmp_path / "inventory.parquet")

    assert [r.error_message for r in results if r.status is not Status.OK] == []
    assert for_run(results) == ExitCode.OK
    found = Counter(pq.read_table(tmp_path / "inventory.parquet").column("function_arn").to_pylist())
    assert found == _expected(org, accounts, set())
    assert emu.app.stats.faults["expired"] > 0
    for account in accounts:
        assert emu.app.stats.assume_calls[job_role_arn(account)] > 1
    assert summary.assume_role_calls == sum(emu.app.stats.assume_calls[job_role_arn(a)] for a in accounts)
