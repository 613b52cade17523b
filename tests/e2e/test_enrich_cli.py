"""`lambda-inventory run --enrich ...` as a user runs it, against an emulated organisation over real HTTP (moto's
tagging, Lambda URL / policy / concurrency and CloudWatch APIs behind the demo emulator's layer), the Parquet
read back: every enrichment's value on its function, a denied enrichment leaving the listing ok and its
columns null with the reason in the status file, and the account-region's request rate kept. The policies as
issue 20 judges them: lambda:GetFunction to anyone is public but not invocable, a NONE URL with the console's
grants answers anyone, one without answers 403, and a policy whose aws:SourceAccount is a JSON number (as a
full JSON policy may write it) is read, not the account-region's policy enrichment failed."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
import yaml
from botocore.config import Config
from conftest import aws_environment, clear_aws_environment, config_dict, console_script, seed_members, subprocess_env
from support.emulator_faults import Answered, DeniedOperations
from support.signed import member_credentials

from inventory.demo.emulator import Emulator
from inventory.demo.org import PUBLIC_URL
from inventory.demo.seed import SEED_ROLE, FunctionSpec, MemberSpec, Seeded
from inventory.demo.seed_extras import Extras, Grant
from inventory.readers.snapshot import load_snapshot

OWNED = "281000000001"  # tagged, public functions, reserved concurrency, invoked
DENIED = "281000000002"  # its member role may not call lambda:GetPolicy
REGION = "eu-west-1"
ALL = "tags,urls,policy,concurrency,usage"
RATE = 5.0


@pytest.fixture(scope="module")
def seeded(emulator: Emulator) -> Seeded:
    owned = MemberSpec(
        OWNED,
        "owned",
        {
            REGION: (
                FunctionSpec("api", 4, tags={"team": "payments"}, invocations=((1, 40), (3, 2))),
                FunctionSpec("old", 1, runtime="python3.8"),  # never invoked
            )
        },
        extras={
            (REGION, "api-000"): Extras(urls=(("", "NONE"),), grants=PUBLIC_URL, reserved_concurrency=7),
            (REGION, "api-001"): Extras(grants=(Grant("s3", "s3.amazonaws.com", source_account=OWNED),)),
            (REGION, "api-002"): Extras(grants=(Grant("code", "*", action="lambda:GetFunction"),)),
            (REGION, "api-003"): Extras(urls=(("", "NONE"),)),  # no policy lets anyone call it: 403
        },
    )
    denied = MemberSpec(DENIED, "denied", {REGION: (FunctionSpec("job", 2, tags={"team": "data"}),)})
    seeded = seed_members(emulator, [owned, denied])
    return _with_numeric_source_account(emulator, seeded, "old-000")


def _with_numeric_source_account(emulator: Emulator, seeded: Seeded, name: str) -> Seeded:
    """Grant S3 invoke on `name` with aws:SourceAccount sent as a JSON number, as a full JSON policy may have it:
    GetPolicy then answers `"AWS:SourceAccount": 281000000001` (boto3 would refuse the number: no validation)."""
    with pytest.MonkeyPatch.context() as mp:
        clear_aws_environment(mp)
        for variable, value in aws_environment(emulator.endpoint).items():
            mp.setenv(variable, value)
        creds = member_credentials(OWNED, SEED_ROLE)
        client = boto3.client(
            "lambda",
            region_name=REGION,
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=creds.secret_key,
            aws_session_token=creds.token,
            config=Config(parameter_validation=False),
        )
        number: Any = int(OWNED)
        grant = {"Action": "lambda:InvokeFunction", "Principal": "s3.amazonaws.com", "SourceAccount": number}
        client.add_permission(FunctionName=name, StatementId="numeric", **grant)
        statement = json.loads(client.get_policy(FunctionName=name)["Policy"])["Statement"][0]
    assert statement["Condition"]["StringEquals"]["AWS:SourceAccount"] == int(OWNED)  # a number on the wire
    arn = next(arn for arn in seeded.expected if arn.endswith(f":function:{name}"))
    expected = {**seeded.expected, arn: replace(seeded.expected[arn], invoke_principals=("s3.amazonaws.com",))}
    return replace(seeded, expected=expected)


def _run(
    tmp_path: Path, emu: Emulator, *flags: str, output: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], Path]:
    accounts = [{"account_id": a, "name": f"acct-{a}"} for a in (OWNED, DENIED)]
    config = tmp_path / "accounts.yaml"
    data = config_dict(accounts, regions=[REGION], max_requests_per_second=RATE)
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    output = output or tmp_path / "out" / "inventory.parquet"
    args = [str(console_script()), "run", "--config", str(config), "--output", str(output), *flags]
    proc = subprocess.run(
        args, env=subprocess_env(emu.endpoint), cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    return proc, output


def _rows(output: Path) -> dict[str, dict[str, Any]]:
    return {row["function_name"]: row for row in pq.read_table(output).to_pylist()}


def test_every_enrichment_in_the_parquet_and_a_denied_one_null_with_its_reason(
    tmp_path: Path, emu: Emulator, seeded: Seeded
) -> None:
    emu.app.behaviour.faults.append(DeniedOperations({(DENIED, "*", "GetPolicy")}))
    proc, output = _run(tmp_path, emu, "--enrich", ALL)
    assert proc.returncode == 0, proc.stderr  # a denied enrichment does not fail the run

    rows = _rows(output)
    for arn, want in seeded.expected.items():
        name = arn.rsplit(":", 1)[1]
        row = rows[name]
        assert dict(row["tags"]) == dict(want.tags), name
        assert tuple(row["url_auth_types"]) == want.url_auth_types, name
        assert row["reserved_concurrency"] == want.reserved_concurrency, name
        assert (row["invocations_30d"], row["last_invocation_day"]) == (want.invocations_30d, want.last_invocation_day)
        if arn.split(":")[4] == DENIED:
            assert row["enriched"] == ["concurrency", "tags", "urls", "usage"], name
            assert (row["public_invoke"], row["invoke_principals"], row["public_actions"]) == (None, None, None), name
        else:
            assert row["enriched"] == ["concurrency", "policy", "tags", "urls", "usage"], name
            assert (row["public_invoke"], tuple(row["invoke_principals"])) == (
                want.public_invoke,
                want.invoke_principals,
            ), name
            assert (tuple(row["public_actions"]), row["public_url"]) == (want.public_actions, want.public_url), name
    day = seeded.day
    assert day is not None
    assert (rows["api-000"]["invocations_30d"], rows["api-000"]["last_invocation_day"]) == (42, day - timedelta(1))
    assert (rows["old-000"]["invocations_30d"], rows["old-000"]["last_invocation_day"]) == (0, None)
    assert rows["api-000"]["public_invoke"] is True and rows["api-001"]["public_invoke"] is False
    public = {name: (row["public_actions"], row["public_invoke"], row["public_url"]) for name, row in rows.items()}
    assert public["api-000"] == (["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"], True, True)
    assert public["api-002"] == (["lambda:GetFunction"], False, False)  # anyone may download its code
    assert public["api-003"] == ([], False, False)  # a NONE URL no policy opens: 403
    assert public["old-000"] == ([], False, False)  # the numeric SourceAccount confines S3's grant
    assert rows["old-000"]["invoke_principals"] == ["s3.amazonaws.com"]

    status = {row["account_id"]: row for row in pq.read_table(output.with_name("inventory.status.parquet")).to_pylist()}
    assert status[DENIED]["status"] == "ok" and status[DENIED]["function_count"] == 2
    policy = next(e for e in status[DENIED]["enrichments"] if e["name"] == "policy")
    assert (policy["status"], policy["error_code"]) == ("failed", "AccessDeniedException")
    assert policy["error_message"].startswith("policy: ")
    assert [e["status"] for e in status[OWNED]["enrichments"]] == ["ok"] * 5

    manifest = json.loads(output.with_name("inventory.manifest.json").read_text(encoding="utf-8"))
    assert manifest["enrichments"]["policy"] == {
        "ok": 1,
        "failed": 1,
        "skipped": 0,
        "calls": manifest["enrichments"]["policy"]["calls"],
        "errors": {"AccessDeniedException": 1},
    }
    assert "  enrich   policy: 1 ok, 1 failed, 0 skipped" in proc.stdout
    assert f"enrich failed acct-{DENIED} {DENIED}/{REGION}: AccessDeniedException" in proc.stdout

    rates = emu.app.stats.requests.max_rates()
    assert rates[(OWNED, REGION)] <= RATE + 1, rates  # + 1: the server's clock sees the sends with jitter


def test_without_enrich_no_enrichment_call_is_made(tmp_path: Path, emu: Emulator, seeded: Seeded) -> None:
    proc, output = _run(tmp_path, emu)
    assert proc.returncode == 0, proc.stderr
    rows = _rows(output)
    assert all(row["enriched"] == [] and row["tags"] is None for row in rows.values())
    operations = {request.operation for request in emu.app.stats.requests.requests()}
    assert operations & {"GetResources", "GetPolicy", "ListFunctionUrlConfigs", "GetMetricData"} == set()


def test_an_unknown_enrichment_is_one_line_before_any_call(tmp_path: Path, emu: Emulator, seeded: Seeded) -> None:
    proc, output = _run(tmp_path, emu, "--enrich", "tags,owners")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "lambda-inventory: error: --enrich: 'owners' is not one of tags, urls, policy, concurrency, usage, "
        "event_source_mappings, layers, layer_policies, aliases, event_invoke_configs, provisioned_concurrency, "
        "code_signing (or none)"
    ]
    assert not output.parent.exists()
    assert sum(emu.app.stats.assume_calls.values()) == 0


def test_the_environment_variable_is_checked_like_the_flag(tmp_path: Path, emu: Emulator, seeded: Seeded) -> None:
    accounts = [{"account_id": OWNED, "name": "owned"}]
    config = tmp_path / "accounts.yaml"
    config.write_text(yaml.safe_dump(config_dict(accounts, regions=[REGION]), sort_keys=False), encoding="utf-8")
    args = [str(console_script()), "run", "--config", str(config), "--output", f"{tmp_path}/out/"]
    env = subprocess_env(emu.endpoint, LAMBDA_INVENTORY_ENRICH="tags,tags")
    proc = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "lambda-inventory: error: LAMBDA_INVENTORY_ENRICH[1]: 'tags' is listed twice"
    env = subprocess_env(emu.endpoint, LAMBDA_INVENTORY_ENRICH="tags")
    proc = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "  enrich   tags: 1 ok, 0 failed, 0 skipped, 1 calls" in proc.stdout


def test_a_denied_estate_read_fails_its_table_there_and_the_run_exits_0(
    tmp_path: Path, emu: Emulator, seeded: Seeded
) -> None:
    """The estate's reads share the enrichments' path to the exit code: ListEventSourceMappings denied in one
    account is that enrichment `failed` there (in the status file, the manifest and the summary), its table
    without a row from it, `layers` read everywhere, and the run exits 0."""
    emu.app.behaviour.faults.append(DeniedOperations({(DENIED, "*", "ListEventSourceMappings")}))
    proc, output = _run(tmp_path, emu, "--enrich", "event_source_mappings,layers")
    assert proc.returncode == 0, proc.stderr
    status = {row["account_id"]: row for row in pq.read_table(output.with_name("inventory.status.parquet")).to_pylist()}
    outcomes = {a: {e["name"]: (e["status"], e["error_code"]) for e in row["enrichments"]} for a, row in status.items()}
    assert outcomes[DENIED] == {"event_source_mappings": ("failed", "AccessDeniedException"), "layers": ("ok", None)}
    assert outcomes[OWNED] == {"event_source_mappings": ("ok", None), "layers": ("ok", None)}
    manifest = json.loads(output.with_name("inventory.manifest.json").read_text(encoding="utf-8"))
    assert manifest["enrichments"]["event_source_mappings"]["errors"] == {"AccessDeniedException": 1}
    assert f"enrich failed acct-{DENIED} {DENIED}/{REGION}: AccessDeniedException" in proc.stdout
    beside = output.with_name("inventory.event_source_mappings.parquet")  # written by every run that asks for it
    assert DENIED not in pq.read_table(beside, columns=["account_id"]).column("account_id").to_pylist()
    assert manifest["files"]["event_source_mappings"]["rows"] == 0  # no mapping seeded in OWNED: read, none


def _mapping(account: str, uuid: str, batch_size: object) -> dict[str, object]:
    return {
        "UUID": uuid,
        "FunctionArn": f"arn:aws:lambda:{REGION}:{account}:function:job-000",
        "EventSourceArn": f"arn:aws:sqs:{REGION}:{account}:q",
        "BatchSize": batch_size,
    }


def test_a_mapping_its_column_cannot_hold_fails_that_account_region_alone(
    tmp_path: Path, emu: Emulator, seeded: Seeded
) -> None:
    """ListEventSourceMappings answers a batch size of 2**31 in one account (int32 cannot hold it): that enrichment
    is `failed` InvalidValue there (status file, manifest, summary), the other account's mapping is in the table
    (typed with the rest), and the run exits 0."""
    bodies = {
        (OWNED, "ListEventSourceMappings"): {"EventSourceMappings": [_mapping(OWNED, "m-bad", 2**31)]},
        (DENIED, "ListEventSourceMappings"): {"EventSourceMappings": [_mapping(DENIED, "m-good", 10)]},
    }
    emu.app.behaviour.faults.append(Answered(bodies))
    proc, output = _run(tmp_path, emu, "--enrich", "event_source_mappings")
    assert proc.returncode == 0, proc.stderr
    status = {row["account_id"]: row for row in pq.read_table(output.with_name("inventory.status.parquet")).to_pylist()}
    outcomes = {a: [(e["name"], e["status"], e["error_code"]) for e in row["enrichments"]] for a, row in status.items()}
    assert outcomes == {
        OWNED: [("event_source_mappings", "failed", "InvalidValue")],
        DENIED: [("event_source_mappings", "ok", None)],
    }
    assert "BatchSize" in status[OWNED]["enrichments"][0]["error_message"]
    table = pq.read_table(output.with_name("inventory.event_source_mappings.parquet")).to_pylist()
    assert [(r["account_id"], r["uuid"], r["function_name"], r["batch_size"]) for r in table] == [
        (DENIED, "m-good", "job-000", 10)
    ]
    manifest = json.loads(output.with_name("inventory.manifest.json").read_text(encoding="utf-8"))
    assert manifest["enrichments"]["event_source_mappings"]["errors"] == {"InvalidValue": 1}
    assert f"enrich failed acct-{OWNED} {OWNED}/{REGION}: InvalidValue" in proc.stdout


def test_a_denied_estate_read_into_a_lake_is_failed_there_and_its_table_has_no_row_from_it(
    tmp_path: Path, emu: Emulator, seeded: Seeded
) -> None:
    """The same denial, the run into a local lake (the demo's second night writes one): the lake's status rows say
    which read failed where, its mappings table holds no row from there, `layers` is read everywhere, exit 0."""
    emu.app.behaviour.faults.append(DeniedOperations({(DENIED, "*", "ListEventSourceMappings")}))
    proc, lake = _run(tmp_path, emu, "--enrich", "event_source_mappings,layers", "--lake", output=tmp_path / "lake")
    assert proc.returncode == 0, proc.stderr
    snapshot = load_snapshot(str(lake))
    outcomes = {
        row["account_id"]: {e["name"]: (e["status"], e["error_code"]) for e in row["enrichments"]}
        for row in snapshot.status.to_pylist()
    }
    assert outcomes[DENIED] == {"event_source_mappings": ("failed", "AccessDeniedException"), "layers": ("ok", None)}
    assert outcomes[OWNED] == {"event_source_mappings": ("ok", None), "layers": ("ok", None)}
    assert DENIED not in snapshot.tables["event_source_mappings"].column("account_id").to_pylist()
    assert f"enrich failed acct-{DENIED} {DENIED}/{REGION}: AccessDeniedException" in proc.stdout
