"""The run manifest: its fields, its canonical config digest, its JSON form, and that no secret gets in."""

from __future__ import annotations

import json
import platform
import re
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from hashlib import sha256
from pathlib import Path
from typing import Any

import boto3
import botocore
import pyarrow
import pytest
from conftest import REGIONS, job_role_arn, make_config, run_inventory, seed_members
from pydantic import TypeAdapter

import inventory
from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec, Seeded
from inventory.job.collect import TargetResult
from inventory.job.config import RunConfig
from inventory.job.targets import Account, Target
from inventory.writers.destination import resolve_destination
from inventory.contract.layout import Format
from inventory.contract.record import RunInfo, build_manifest, config_sha256, mask_credentials, render_manifest
from inventory.contract.status import Status

STARTED = datetime(2026, 11, 28, 15, 30, 0, 123456, tzinfo=UTC)
FINISHED = STARTED + timedelta(minutes=2, seconds=5)
DEST = resolve_destination("s3://inventory-bucket/lambda-inventory/", None, False, STARTED.date(), (1, 4))

PROD, DEV, DENIED = "710000000001", "710000000002", "710000000003"
SECRET = f"s3cr3t-{uuid.uuid4()}"
EXTERNAL_ID = f"ext-{uuid.uuid4()}"


def _target(account_id: str, region: str, name: str | None = None) -> Target:
    role = f"arn:aws:iam::{account_id}:role/R"
    return Target(Account(account_id, name or f"acct-{account_id}", (), role, EXTERNAL_ID), region)


def _ok(account_id: str, region: str, count: int) -> TargetResult:
    return TargetResult(_target(account_id, region), Status.OK, count, (), 1, 0, 0.2)


def _not_ok(account_id: str, region: str, status: Status, code: str, message: str) -> TargetResult:
    return TargetResult(_target(account_id, region), status, None, (), 0, 2, 0.5, code, message)


RESULTS = [
    _ok(PROD, "us-east-1", 60),
    _ok(PROD, "eu-west-1", 0),
    _not_ok(DEV, "eu-west-1", Status.SKIPPED, "UnrecognizedClientException", "region not enabled"),
    _ok(DEV, "us-east-1", 3),
    _not_ok(DENIED, "us-east-1", Status.FAILED, "AccessDenied", "AssumeRole failed: not authorized"),
]


def _info(shard: tuple[int, int] | None = (1, 4)) -> RunInfo:
    return RunInfo("20261128T153000Z-0123abcd", STARTED, "ab" * 32, shard)


def test_fields() -> None:
    manifest = build_manifest(_info(), RESULTS, DEST, FINISHED)
    assert set(manifest) == {
        "manifest_version",
        "run_id",
        "started_at",
        "finished_at",
        "snapshot_date",
        "config_sha256",
        "shard",
        "counts",
        "functions_by_account",
        "errors",
        "enrichments",
        "outputs",
        "versions",
    }
    assert manifest["enrichments"] == {}  # none asked for
    assert manifest["manifest_version"] == 1
    assert manifest["run_id"] == "20261128T153000Z-0123abcd"
    assert manifest["started_at"] == "2026-11-28T15:30:00.123456Z"
    assert manifest["finished_at"] == "2026-11-28T15:32:05.123456Z"
    assert manifest["snapshot_date"] == "2026-11-28"
    assert manifest["config_sha256"] == "ab" * 32
    assert manifest["shard"] == {"index": 1, "count": 4}
    assert manifest["counts"] == {"targets": 5, "ok": 3, "skipped": 1, "failed": 1, "accounts": 3, "functions": 63}
    assert manifest["functions_by_account"] == {
        PROD: {"us-east-1": 60, "eu-west-1": 0},  # ok and empty: 0
        DEV: {"eu-west-1": None, "us-east-1": 3},  # skipped: unknown, not 0
        DENIED: {"us-east-1": None},
    }
    assert manifest["outputs"] == {
        "format": "parquet",
        "inventory": "s3://inventory-bucket/lambda-inventory/snapshot_date=2026-11-28/shard-1-of-4.parquet",
        "status": "s3://inventory-bucket/lambda-inventory/_status/snapshot_date=2026-11-28/shard-1-of-4.parquet",
    }
    assert manifest["versions"] == {
        "lambda-inventory": inventory.__version__,
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
        "pyarrow": pyarrow.__version__,
        "python": platform.python_version(),
    }


def test_errors_list_failed_and_skipped_targets_in_order() -> None:
    errors = build_manifest(_info(), list(reversed(RESULTS)), DEST, FINISHED)["errors"]
    assert errors == [
        {
            "account_id": DEV,
            "account_name": f"acct-{DEV}",
            "region": "eu-west-1",
            "status": "skipped",
            "error_code": "UnrecognizedClientException",
            "error_message": "region not enabled",
        },
        {
            "account_id": DENIED,
            "account_name": f"acct-{DENIED}",
            "region": "us-east-1",
            "status": "failed",
            "error_code": "AccessDenied",
            "error_message": "AssumeRole failed: not authorized",
        },
    ]


def test_unsharded_run_and_local_outputs(tmp_path: Path) -> None:
    dest = resolve_destination(str(tmp_path / "out" / "inv.csv"), None, False, STARTED.date(), None)
    manifest = build_manifest(_info(shard=None), [], dest, FINISHED)
    assert manifest["shard"] is None
    assert manifest["outputs"] == {
        "format": "csv",
        "inventory": str(tmp_path / "out" / "inv.csv"),
        "status": str(tmp_path / "out" / "inv.status.csv"),
    }
    assert manifest["counts"] == {"targets": 0, "ok": 0, "skipped": 0, "failed": 0, "accounts": 0, "functions": 0}
    assert manifest["functions_by_account"] == {}
    assert manifest["errors"] == []


def test_local_relative_output_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    dest = resolve_destination("out/", Format.PARQUET, True, STARTED.date(), None)
    outputs = build_manifest(_info(None), [], dest, FINISHED)["outputs"]
    assert outputs["inventory"] == str(tmp_path / "out" / "snapshot_date=2026-11-28" / "inventory.parquet")


def test_render_is_pretty_sorted_json_with_a_trailing_newline() -> None:
    manifest = build_manifest(_info(), RESULTS, DEST, FINISHED)
    text = render_manifest(manifest).decode()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert json.loads(text) == manifest
    assert text == json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    top_keys = re.findall(r'^  "([a-z_]+)":', text, flags=re.MULTILINE)
    assert top_keys == sorted(top_keys)


def test_run_info_start() -> None:
    config = make_config([{"account_id": PROD}], regions=["us-east-1"])
    info = RunInfo.start(config, (0, 2), now=datetime(2026, 11, 28, 23, 30, tzinfo=timezone(timedelta(hours=-5))))
    assert info.started_at == datetime(2026, 11, 29, 4, 30, tzinfo=UTC)
    assert info.snapshot_date == date(2026, 11, 29)  # the UTC date, whatever the local zone
    assert re.fullmatch(r"20261129T043000Z-[0-9a-f]{8}", info.run_id)
    assert info.shard == (0, 2)
    assert info.config_sha256 == config_sha256(config)
    assert RunInfo.start(config).run_id != RunInfo.start(config).run_id
    now = datetime.now(UTC)
    assert abs((RunInfo.start(config).started_at - now).total_seconds()) < 5


def test_config_sha256_is_canonical() -> None:
    config = make_config([{"account_id": PROD, "name": "prod"}], regions=["us-east-1", "eu-west-1"])
    same = make_config([{"name": "prod", "account_id": PROD}], regions=["us-east-1", "eu-west-1"])
    other = make_config([{"account_id": PROD, "name": "prod"}], regions=["eu-west-1", "us-east-1"])
    assert config_sha256(config) == config_sha256(same)
    assert config_sha256(config) != config_sha256(other)  # region order is part of the config
    assert re.fullmatch(r"[0-9a-f]{64}", config_sha256(config))
    canonical = json.dumps(
        TypeAdapter(RunConfig).dump_python(config, mode="json"), sort_keys=True, separators=(",", ":")
    )
    assert config_sha256(config) == sha256(canonical.encode()).hexdigest()


def test_mask_credentials() -> None:
    key, temp = "AKIA" + "ABCDEFGHIJKLMNOP", "ASIA" + "Q2RSTUVWXYZ23456"
    token = "FwoGZXIvYXdzE" + "A" * 300
    text = f"denied for {key} and {temp} with token {token}; arn:aws:iam::710000000001:role/R"
    masked = mask_credentials(text)
    assert key not in masked and temp not in masked and token not in masked
    assert masked.count("[masked]") == 3
    assert "arn:aws:iam::710000000001:role/R" in masked
    assert mask_credentials("AccessDenied: nothing to see") == "AccessDenied: nothing to see"


def test_error_messages_are_masked_in_the_manifest() -> None:
    leaky = _not_ok(DEV, "us-east-1", Status.FAILED, "SignatureDoesNotMatch", "bad key AKIA" + "ABCDEFGHIJKLMNOP")
    (error,) = build_manifest(_info(), [leaky], DEST, FINISHED)["errors"]
    assert error["error_message"] == "bad key [masked]"


# --- over a real run against the emulator -------------------------------------------------------------


@pytest.fixture(scope="module")
def org(emulator: Emulator) -> Seeded:
    env = {"DB_PASSWORD": SECRET, "API_TOKEN": f"tok-{SECRET}"}
    return seed_members(
        emulator,
        [
            MemberSpec(PROD, "prod", {"us-east-1": (FunctionSpec("orders", 3, environment=env),)}),
            MemberSpec(DEV, "dev", {"eu-west-1": (FunctionSpec("api", 2, environment=env),)}),
            MemberSpec(DENIED, "denied", {"us-east-1": (FunctionSpec("hidden", 1, environment=env),)}),
        ],
    )


def test_manifest_of_a_real_run_has_no_secret(
    emu: Emulator, org: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub_token = f"hub-session-token-{uuid.uuid4()}"
    monkeypatch.setenv("AWS_SESSION_TOKEN", hub_token)
    emu.app.behaviour.deny_roles.add(job_role_arn(DENIED))
    emu.app.behaviour.disabled.add((DEV, "eu-south-1"))  # an opt-in region DEV has not enabled: skipped
    accounts = [{"account_id": a, "name": n} for a, n in ((PROD, "prod"), (DEV, "dev"), (DENIED, "denied"))]
    accounts[1]["regions"] = ["eu-west-1", "eu-south-1"]
    config = make_config(accounts, regions=list(REGIONS[:2]), external_id=EXTERNAL_ID)
    info = RunInfo.start(config)
    _, results = run_inventory(config, tmp_path / "inv.parquet")

    text = render_manifest(build_manifest(info, results, DEST, datetime.now(UTC))).decode()
    manifest: dict[str, Any] = json.loads(text)
    assert manifest["counts"] == {"targets": 6, "ok": 3, "skipped": 1, "failed": 2, "accounts": 3, "functions": 5}
    assert manifest["functions_by_account"][PROD] == {"us-east-1": 3, "eu-west-1": 0}
    assert [(e["account_id"], e["status"], e["error_code"]) for e in manifest["errors"]] == [
        (DEV, "skipped", "UnrecognizedClientException"),
        (DENIED, "failed", "AccessDenied"),
        (DENIED, "failed", "AccessDenied"),
    ]
    assert org.secrets and all(secret not in text for secret in org.secrets)
    assert SECRET not in text
    for forbidden in ("DB_PASSWORD", "API_TOKEN", EXTERNAL_ID, hub_token, "SessionToken", "SecretAccessKey"):
        assert forbidden not in text
    assert not re.search(r"(AKIA|ASIA)[A-Z0-9]{16}", text)  # no access key id, the member roles' included
    assert "external_id" not in text and "role_name" not in text  # the config is hashed, never copied


def test_config_sha256_never_crashes_on_free_form_vars() -> None:
    """`vars` is free-form (c7n-org): bytes, dates, non-string keys, NaN and sets must not crash the digest."""
    odd: dict[str, Any] = {
        "blob": b"\xff\x00binary",
        "when": date(2026, 1, 2),
        "nested": {1: "int key", None: "null key", (1, 2): "tuple key"},
        "nan": float("nan"),
        "set": {"b", "a"},
    }
    config = make_config([{"account_id": PROD, "vars": odd}], regions=["us-east-1"])
    digest = config_sha256(config)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert config_sha256(make_config([{"account_id": PROD, "vars": dict(odd)}], regions=["us-east-1"])) == digest
    changed = make_config([{"account_id": PROD, "vars": {**odd, "blob": b"\xfe"}}], regions=["us-east-1"])
    assert config_sha256(changed) != digest
