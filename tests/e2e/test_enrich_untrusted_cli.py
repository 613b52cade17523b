"""`lambda-inventory run --enrich usage,concurrency` when CloudWatch answers a count no column can hold (issue 19):
the emulated organisation over real HTTP, with CloudWatch's GetMetricData answered by a hostile local endpoint
that gives 2**63 invocations for one account's functions. Once, that value was believed, and building the
rows raised OverflowError: the run exited 5 with nothing written. Now it costs that account-region's `usage`
alone: the run finishes as any run with a failed enrichment does (exit 0), every row is written."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import config_dict, console_script, seed_members, subprocess_env
from support.hostile_lambda import HostileLambda, Reply, Request

from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec, Seeded

HUGE = "283000000001"  # CloudWatch answers 2**63 invocations for its functions
CALM = "283000000002"  # CloudWatch answers 7
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def seeded(emulator: Emulator) -> Seeded:
    return seed_members(
        emulator,
        [
            MemberSpec(HUGE, "huge", {REGION: (FunctionSpec("huge", 2),)}),
            MemberSpec(CALM, "calm", {REGION: (FunctionSpec("calm", 3),)}),
        ],
    )


def _cloudwatch(_: int, request: Request) -> Reply:
    """GetMetricData: one datapoint per query, the day before the window's end; 2**63 for `huge-*` functions."""
    asked = request.json
    day = asked["EndTime"] - 2 * 86400
    results = []
    for query in asked["MetricDataQueries"]:
        (dimension,) = query["MetricStat"]["Metric"]["Dimensions"]
        value = 2**63 if dimension["Value"].startswith("huge-") else 7
        results.append({"Id": query["Id"], "Timestamps": [day], "Values": [value], "StatusCode": "Complete"})
    body = json.dumps({"MetricDataResults": results}).encode()  # 2**63 written as the integer it is
    return Reply(200, body, {"Content-Type": "application/x-amz-json-1.0"})


def test_a_count_past_int64_fails_usage_there_and_the_run_writes_everything(
    tmp_path: Path, emu: Emulator, seeded: Seeded
) -> None:
    accounts = [{"account_id": a, "name": f"acct-{a}"} for a in (HUGE, CALM)]
    config = tmp_path / "accounts.yaml"
    config.write_text(yaml.safe_dump(config_dict(accounts, regions=[REGION]), sort_keys=False), encoding="utf-8")
    output = tmp_path / "out" / "inventory.parquet"
    args = [str(console_script()), "run", "--config", str(config), "--output", str(output)]
    with HostileLambda(_cloudwatch) as cloudwatch:
        env = subprocess_env(emu.endpoint, AWS_ENDPOINT_URL_CLOUDWATCH=cloudwatch.endpoint)
        proc = subprocess.run(
            [*args, "--enrich", "usage,concurrency"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr  # as a run with a denied enrichment: the listing is whole
    assert "internal error" not in proc.stderr

    rows = {row["function_name"]: row for row in pq.read_table(output).to_pylist()}
    assert sorted(rows) == ["calm-000", "calm-001", "calm-002", "huge-000", "huge-001"]
    for name, row in rows.items():
        if name.startswith("huge-"):
            assert row["enriched"] == ["concurrency"]
            assert (row["invocations_30d"], row["last_invocation_day"]) == (None, None)
        else:
            assert row["enriched"] == ["concurrency", "usage"] and row["invocations_30d"] == 7
            assert row["last_invocation_day"] is not None and row["last_invocation_day"] < datetime.now(UTC).date()

    status = {row["account_id"]: row for row in pq.read_table(output.with_name("inventory.status.parquet")).to_pylist()}
    usage = {account: next(e for e in row["enrichments"] if e["name"] == "usage") for account, row in status.items()}
    assert (usage[HUGE]["status"], usage[HUGE]["error_code"]) == ("failed", "InvalidResponse")
    assert usage[HUGE]["error_message"].startswith("usage: gave up after retries: GetMetricData answered HTTP 200")
    assert "a Sum of Invocations of 9223372036854775808, not a count" in usage[HUGE]["error_message"]
    assert (usage[CALM]["status"], usage[CALM]["error_code"]) == ("ok", None)
    assert status[HUGE]["status"] == "ok" and status[HUGE]["function_count"] == 2
    assert f"enrich failed acct-{HUGE} {HUGE}/{REGION}: InvalidResponse" in proc.stdout
