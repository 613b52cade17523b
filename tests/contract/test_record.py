"""The run record: its fields, its canonical config digest, its JSON form (the manifest) and back, and that
no secret gets in."""

from __future__ import annotations

import json
import platform
import re
import uuid
from dataclasses import FrozenInstanceError, fields
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
from inventory.contract.record import (
    MANIFEST_VERSION,
    Counts,
    RecordError,
    RunInfo,
    RunRecord,
    build_record,
    config_sha256,
    mask_credentials,
    parse_record,
    render_manifest,
)
from inventory.contract.results import EnrichmentOutcome, Status, TargetResult
from inventory.contract.target import Account, Target
from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec, Seeded
from inventory.job.config import RunConfig

STARTED = datetime(2026, 11, 28, 15, 30, 0, 123456, tzinfo=UTC)
FINISHED = STARTED + timedelta(minutes=2, seconds=5)
RUN_ID = "20261128T153000Z-0123abcd"
WRITE_ID = "20261128T153000Z-0123456789ab"
OUTPUTS = {"format": "iceberg", "lake": "s3://inventory-bucket/lambda-inventory/", "database": "lambda_inventory"}

PROD, DEV, DENIED = "710000000001", "710000000002", "710000000003"
SECRET = f"s3cr3t-{uuid.uuid4()}"
EXTERNAL_ID = f"ext-{uuid.uuid4()}"


def _target(account_id: str, region: str, name: str | None = None) -> Target:
    role = f"arn:aws:iam::{account_id}:role/R"
    return Target(Account(account_id, name or f"acct-{account_id}", (), role, EXTERNAL_ID), region)


def _ok(account_id: str, region: str, count: int, enrichments: tuple[EnrichmentOutcome, ...] = ()) -> TargetResult:
    return TargetResult(_target(account_id, region), Status.OK, count, (), 1, 0, 0.2, enrichments=enrichments)


def _not_ok(account_id: str, region: str, status: Status, code: str, message: str) -> TargetResult:
    return TargetResult(_target(account_id, region), status, None, (), 0, 2, 0.5, code, message)


RESULTS = [
    _ok(PROD, "us-east-1", 60),
    _ok(PROD, "eu-west-1", 0),
    _not_ok(DEV, "eu-west-1", Status.SKIPPED, "UnrecognizedClientException", "region not enabled"),
    _ok(DEV, "us-east-1", 3),
    _not_ok(DENIED, "us-east-1", Status.FAILED, "AccessDenied", "AssumeRole failed: not authorized"),
]
FILES = {
    "inventory": {"sha256": "1" * 64, "bytes": 2048, "rows": 63},
    "status": {"sha256": "2" * 64, "bytes": 512, "rows": 5},
}


def _info(shard: tuple[int, int] | None = (1, 4), write_id: str = WRITE_ID) -> RunInfo:
    return RunInfo(RUN_ID, STARTED, "ab" * 32, shard, write_id)


def _record(shard: tuple[int, int] | None = (1, 4)) -> RunRecord:
    return build_record(_info(shard), RESULTS, OUTPUTS, FINISHED)


def test_fields() -> None:
    record = _record()
    manifest = record.to_json()
    assert set(manifest) == {
        "manifest_version",
        "run_id",
        "write_id",
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
    }  # no `files` until the sink has written them
    assert manifest["enrichments"] == {}  # none asked for
    assert manifest["manifest_version"] == MANIFEST_VERSION == 2
    assert manifest["run_id"] == RUN_ID
    assert manifest["write_id"] == WRITE_ID
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
    assert manifest["outputs"] == OUTPUTS
    assert manifest["versions"] == {
        "lambda-inventory": inventory.__version__,
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
        "pyarrow": pyarrow.__version__,
        "python": platform.python_version(),
    }


def test_record_attributes() -> None:
    record = _record()
    assert record.counts == Counts(targets=5, accounts=3, functions=63, ok=3, skipped=1, failed=1)
    assert (record.run_id, record.write_id, record.shard) == (RUN_ID, WRITE_ID, (1, 4))
    assert (record.shard_index, record.shard_count) == (1, 4)
    assert record.snapshot_date == date(2026, 11, 28)
    assert record.started_at == STARTED and record.finished_at == FINISHED
    assert record.files == {}
    unsharded = _record(shard=None)
    assert unsharded.shard is None and (unsharded.shard_index, unsharded.shard_count) == (0, 1)
    with pytest.raises(FrozenInstanceError):
        record.run_id = "other"  # type: ignore[misc]


def test_finished_at_is_recorded_in_utc() -> None:
    elsewhere = FINISHED.astimezone(timezone(timedelta(hours=-5)))
    record = build_record(_info(), RESULTS, OUTPUTS, elsewhere)
    assert record.finished_at == FINISHED and record.finished_at.utcoffset() == timedelta(0)
    assert record.to_json()["finished_at"] == "2026-11-28T15:32:05.123456Z"


def test_outputs_are_copied_as_given() -> None:
    outputs = {"format": "csv", "inventory": "/data/inv.csv", "status": "/data/inv.status.csv"}
    record = build_record(_info(), [], outputs, FINISHED)
    outputs["format"] = "changed"
    assert record.to_json()["outputs"] == {
        "format": "csv",
        "inventory": "/data/inv.csv",
        "status": "/data/inv.status.csv",
    }


def test_write_id_defaults_to_the_run_id() -> None:
    """A RunInfo made without a write id (one attempt of an unsharded run): the record's write id is the run's."""
    record = build_record(RunInfo(RUN_ID, STARTED, "ab" * 32), [], OUTPUTS, FINISHED)
    assert record.write_id == RUN_ID
    assert record.to_json()["write_id"] == RUN_ID


def test_with_files_adds_files_to_the_manifest_only() -> None:
    record = _record()
    with_files = record.with_files(FILES)
    assert record.files == {} and "files" not in record.to_json()  # the record itself is unchanged
    assert with_files.to_json()["files"] == FILES
    assert {k: v for k, v in with_files.to_json().items() if k != "files"} == record.to_json()


def test_errors_list_failed_and_skipped_targets_in_order() -> None:
    errors = build_record(_info(), list(reversed(RESULTS)), OUTPUTS, FINISHED).to_json()["errors"]
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


def test_enrichments_are_counted_over_the_targets() -> None:
    tags_ok = EnrichmentOutcome("tags", Status.OK, 3)
    tags_denied = EnrichmentOutcome("tags", Status.FAILED, 1, error_code="AccessDenied")
    usage = EnrichmentOutcome("usage", Status.SKIPPED, 0)
    results = [_ok(PROD, "us-east-1", 3, (tags_ok, usage)), _ok(PROD, "eu-west-1", 1, (tags_denied, usage))]
    enrichments = build_record(_info(), results, OUTPUTS, FINISHED).to_json()["enrichments"]
    assert enrichments == {
        "tags": {"ok": 1, "failed": 1, "skipped": 0, "calls": 4, "errors": {"AccessDenied": 1}},
        "usage": {"ok": 0, "failed": 0, "skipped": 2, "calls": 0, "errors": {}},
    }
    assert list(enrichments) == ["tags", "usage"]  # in the order the run asked for them


def test_unsharded_run_without_targets() -> None:
    outputs = {"format": "csv", "inventory": "/out/inv.csv", "status": "/out/inv.status.csv"}
    manifest = build_record(_info(shard=None), [], outputs, FINISHED).to_json()
    assert manifest["shard"] is None
    assert manifest["outputs"] == outputs
    assert manifest["counts"] == {"targets": 0, "ok": 0, "skipped": 0, "failed": 0, "accounts": 0, "functions": 0}
    assert manifest["functions_by_account"] == {}
    assert manifest["errors"] == []
    assert manifest["enrichments"] == {}


def test_render_is_pretty_sorted_json_with_a_trailing_newline() -> None:
    manifest = _record().with_files(FILES).to_json()
    text = render_manifest(manifest).decode()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert json.loads(text) == manifest
    assert text == json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    top_keys = re.findall(r'^  "([a-z_0-9]+)":', text, flags=re.MULTILINE)
    assert top_keys == sorted(top_keys) and len(top_keys) == len(manifest)


def test_render_keeps_non_ascii_text_as_utf8() -> None:
    results = [_not_ok(DEV, "eu-west-1", Status.FAILED, "AccessDenied", "refusé: ünïcödé")]
    data = render_manifest(build_record(_info(), results, OUTPUTS, FINISHED).to_json())
    assert "refusé: ünïcödé".encode() in data


# --- the JSON form and back ---------------------------------------------------------------------------


def _assert_same(got: RunRecord, expected: RunRecord) -> None:
    """Every field, one by one (a failure names the field), then the whole record."""
    for f in fields(RunRecord):
        assert getattr(got, f.name) == getattr(expected, f.name), f.name
    assert got == expected


@pytest.mark.parametrize("shard", [(1, 4), (0, 1), None])
def test_to_json_from_json_round_trip(shard: tuple[int, int] | None) -> None:
    tags = EnrichmentOutcome("tags", Status.FAILED, 2, error_code="AccessDenied")
    results = [*RESULTS, _ok(PROD, "ap-south-1", 2, (tags,))]
    record = build_record(_info(shard), results, OUTPUTS, FINISHED).with_files(FILES)
    assert record.errors and record.enrichments and record.functions_by_account and record.versions
    _assert_same(RunRecord.from_json(record.to_json()), record)
    _assert_same(RunRecord.from_json(json.loads(render_manifest(record.to_json()))), record)  # through the text
    _assert_same(parse_record(render_manifest(record.to_json()), "x.manifest.json"), record)


def test_round_trip_of_a_record_without_files() -> None:
    record = _record(shard=None)
    doc = record.to_json()
    assert "files" not in doc
    back = RunRecord.from_json(doc)
    _assert_same(back, record)
    assert back.files == {} and back.shard is None
    assert back.started_at.utcoffset() == timedelta(0)


def test_from_json_gives_utc_times_whatever_the_offset_written() -> None:
    doc = _record().to_json()
    doc["started_at"] = "2026-11-28T10:30:00.123456-05:00"
    doc["finished_at"] = "2026-11-28T15:32:05.123456"  # no offset: UTC
    record = RunRecord.from_json(doc)
    assert record.started_at == STARTED and record.started_at.tzinfo == UTC
    assert record.finished_at == FINISHED and record.finished_at.tzinfo == UTC
    assert record.snapshot_date == date(2026, 11, 28)


def _v1_manifest() -> dict[str, Any]:
    """A manifest as version 1 wrote it (before the lake): no write_id, no files."""
    return {
        "manifest_version": 1,
        "run_id": RUN_ID,
        "started_at": "2026-11-28T15:30:00.123456Z",
        "finished_at": "2026-11-28T15:32:05.123456Z",
        "snapshot_date": "2026-11-28",
        "config_sha256": "ab" * 32,
        "shard": {"index": 0, "count": 2},
        "counts": {"targets": 2, "ok": 1, "skipped": 0, "failed": 1, "accounts": 1, "functions": 7},
        "functions_by_account": {PROD: {"us-east-1": 7, "eu-west-1": None}},
        "errors": [
            {
                "account_id": PROD,
                "account_name": "prod",
                "region": "eu-west-1",
                "status": "failed",
                "error_code": "AccessDenied",
                "error_message": "no",
            }
        ],
        "enrichments": {},
        "outputs": {
            "format": "parquet",
            "inventory": "s3://b/p/snapshot_date=2026-11-28/shard-0-of-2.parquet",
            "status": "s3://b/p/_status/snapshot_date=2026-11-28/shard-0-of-2.parquet",
        },
        "versions": {"lambda-inventory": "0.9.0", "python": "3.11.7"},
    }


def test_from_json_of_a_v1_manifest_takes_the_run_id_as_write_id() -> None:
    doc = _v1_manifest()
    record = RunRecord.from_json(doc)
    assert record.write_id == record.run_id == RUN_ID
    assert record.files == {}
    assert record.shard == (0, 2)
    assert record.counts == Counts(targets=2, accounts=1, functions=7, ok=1, skipped=0, failed=1)
    assert record.started_at == STARTED and record.finished_at == FINISHED
    assert record.outputs == doc["outputs"] and record.versions == doc["versions"]
    assert record.errors == tuple(doc["errors"])
    assert record.functions_by_account == {PROD: {"us-east-1": 7, "eu-west-1": None}}
    again = record.to_json()  # written back, it is a version 2 manifest
    assert again["manifest_version"] == 2 and again["write_id"] == RUN_ID
    assert parse_record(json.dumps(doc).encode(), "old.json") == record


def _base() -> dict[str, Any]:
    return _record().to_json()


def _without(key: str) -> dict[str, Any]:
    doc = _base()
    del doc[key]
    return doc


def _with(**changes: Any) -> dict[str, Any]:
    return {**_base(), **changes}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "not a run record: not a JSON object"),
        ("run", "not a run record: not a JSON object"),
        (None, "not a run record: not a JSON object"),
        ({}, "not a run record: counts lacks one of targets, accounts, functions, ok, skipped, failed"),
        (_without("counts"), "not a run record: counts lacks one of targets"),
        (_with(counts=[1, 2]), "not a run record: counts lacks one of targets"),
        (_with(counts={"targets": 1, "ok": 1}), "not a run record: counts lacks one of"),
        (_with(counts={**_base()["counts"], "functions": "63"}), "not a run record: counts lacks one of"),
        (_without("run_id"), "not a run record: no run_id"),
        (_with(run_id=""), "not a run record: no run_id"),
        (_with(run_id=7), "not a run record: no run_id"),
        (_without("started_at"), "not a run record: (no started_at|started_at is not a time)"),
        (_with(finished_at="yesterday\nevening"), "not a run record: finished_at is not a time"),
        (_with(started_at="2026-13-01T00:00:00Z"), "not a run record: started_at is not a time"),
        (_without("config_sha256"), "not a run record: no config_sha256"),
        (_with(shard={"index": 4, "count": 4}), r"not a run record: shard is not \{index, count\} with 0 <= index"),
        (_with(shard={"index": -1, "count": 4}), "not a run record: shard is not"),
        (_with(shard={"index": 0}), "not a run record: shard is not"),
        (_with(shard=[0, 1]), "not a run record: shard is not"),
        (_with(shard="0/1"), "not a run record: shard is not"),
        (_with(functions_by_account=[1]), "not a run record: functions_by_account is not an object"),
        (_with(enrichments="tags"), "not a run record: enrichments is not an object"),
        (_with(outputs=["a"]), "not a run record: outputs is not an object"),
        (_with(versions=1), "not a run record: versions is not an object"),
        (_with(files="x"), "not a run record: files is not an object"),
    ],
)
def test_from_json_refuses_what_is_not_a_record_with_one_line(doc: object, message: str) -> None:
    with pytest.raises(RecordError) as info:
        RunRecord.from_json(doc)
    text = str(info.value)
    assert re.match(message, text), text
    assert "\n" not in text and len(text) < 200
    assert isinstance(info.value, ValueError)


def test_from_json_refuses_errors_that_are_not_a_list() -> None:
    with pytest.raises(RecordError, match="errors"):
        RunRecord.from_json(_with(errors=5))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "nightly/x.manifest.json: not a run record: not JSON"),
        (b"{not json", "nightly/x.manifest.json: not a run record: not JSON"),
        (b"\xff\xfe{}", "nightly/x.manifest.json: not a run record: not JSON"),
        (b"[1, 2]", "nightly/x.manifest.json: not a run record: not a JSON object"),
        (b'{"run_id": "x"}', "nightly/x.manifest.json: not a run record: counts lacks one of"),
    ],
)
def test_parse_record_names_where_in_one_line(data: bytes, message: str) -> None:
    with pytest.raises(RecordError) as info:
        parse_record(data, "nightly/x.manifest.json")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


# --- the run's facts and its config digest --------------------------------------------------------------


def test_run_info_start() -> None:
    config = make_config([{"account_id": PROD}], regions=["us-east-1"])
    info = RunInfo.start(config, (0, 2), now=datetime(2026, 11, 28, 23, 30, tzinfo=timezone(timedelta(hours=-5))))
    assert info.started_at == datetime(2026, 11, 29, 4, 30, tzinfo=UTC)
    assert info.snapshot_date == date(2026, 11, 29)  # the UTC date, whatever the local zone
    assert re.fullmatch(r"20261129T043000Z-[0-9a-f]{12}", info.write_id)
    assert info.run_id == info.write_id  # no run id given: this write names the run
    assert info.shard == (0, 2)
    assert info.config_sha256 == config_sha256(config)
    assert RunInfo.start(config).run_id != RunInfo.start(config).run_id
    now = datetime.now(UTC)
    assert abs((RunInfo.start(config).started_at - now).total_seconds()) < 5


def test_run_info_start_with_a_run_id_shared_by_shards() -> None:
    """The shards of one run (and a retried shard) share its run id; each attempt gets its own write id."""
    config = make_config([{"account_id": PROD}], regions=["us-east-1"])
    attempts = [RunInfo.start(config, (i % 2, 2), run_id="batch-job-1234") for i in range(3)]
    assert {a.run_id for a in attempts} == {"batch-job-1234"}
    assert len({a.write_id for a in attempts}) == 3
    assert all(re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{12}", a.write_id) for a in attempts)
    record = build_record(attempts[1], [], OUTPUTS, datetime.now(UTC))
    assert (record.run_id, record.write_id, record.shard) == ("batch-job-1234", attempts[1].write_id, (1, 2))


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


def test_error_messages_are_masked_in_the_record() -> None:
    leaky = _not_ok(DEV, "us-east-1", Status.FAILED, "SignatureDoesNotMatch", "bad key AKIA" + "ABCDEFGHIJKLMNOP")
    record = build_record(_info(), [leaky], OUTPUTS, FINISHED)
    (error,) = record.errors
    assert error["error_message"] == "bad key [masked]"
    assert "AKIA" not in render_manifest(record.to_json()).decode()


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
    before = datetime.now(UTC)
    run_inventory(config, tmp_path / "inv.parquet")

    text = (tmp_path / "inv.manifest.json").read_text(encoding="utf-8")  # the manifest the run itself wrote
    manifest: dict[str, Any] = json.loads(text)
    record = parse_record(text.encode(), "inv.manifest.json")
    assert before - timedelta(seconds=1) <= record.started_at <= record.finished_at <= datetime.now(UTC)
    assert record.write_id == record.run_id and record.shard is None
    assert record.config_sha256 == config_sha256(config)
    assert manifest["counts"] == {"targets": 6, "ok": 3, "skipped": 1, "failed": 2, "accounts": 3, "functions": 5}
    assert manifest["functions_by_account"][PROD] == {"us-east-1": 3, "eu-west-1": 0}
    assert [(e["account_id"], e["status"], e["error_code"]) for e in manifest["errors"]] == [
        (DEV, "skipped", "UnrecognizedClientException"),
        (DENIED, "failed", "AccessDenied"),
        (DENIED, "failed", "AccessDenied"),
    ]
    assert manifest["outputs"] == {
        "format": "parquet",
        "inventory": str(tmp_path / "inv.parquet"),
        "status": str(tmp_path / "inv.status.parquet"),
        "runtimes": str(tmp_path / "inv.runtimes.parquet"),  # every run writes the schedule it used
    }
    assert manifest["files"]["inventory"]["rows"] == 5 and manifest["files"]["status"]["rows"] == 6
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
