"""The progress heartbeat: while a target is in flight and none finishes, the JSON log still gets a progress
line at least every `progress_seconds` (README: "a progress line is logged every 10 s").

The real job runs in-process; STS is the emulator's, and every Lambda call goes to a server that answers one
region's ListFunctions only after a few seconds (the target that keeps the run waiting).
"""

from __future__ import annotations

import io
import itertools
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import make_config, seed_members
from support.hostile_lambda import HostileLambda, Reply, Request, functions, page

from inventory.aws.clients import ClientFactory
from inventory.contract.layout import Format
from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec
from inventory.job.pipeline import JobOptions, run_job
from inventory.logs import setup_logging

ACCOUNT = "292000000001"  # used only by this module: its role is assumable in the emulator
REGIONS = ["us-east-1", "eu-west-1", "eu-central-1"]
SLOW_REGION, SLOW_SECONDS, INTERVAL = "eu-west-1", 3.0, 0.3


def _slow_in_one_region(n: int, request: Request) -> Reply:
    if f"/{SLOW_REGION}/lambda/" in request.headers.get("Authorization", ""):
        time.sleep(SLOW_SECONDS)  # the handler's own thread: the other targets are answered meanwhile
    return page(functions("beat", 2))


@pytest.fixture(scope="module")
def account(emulator: Emulator) -> str:
    seed_members(emulator, [MemberSpec(ACCOUNT, "beat", {"us-east-1": (FunctionSpec("seeded", 1),)})])
    return ACCOUNT


@pytest.mark.usefixtures("restore_root_logger")
def test_a_target_in_flight_gets_progress_lines_every_interval(
    emu: Emulator, account: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = make_config([{"account_id": account, "name": "beat"}], regions=REGIONS)
    stream = io.StringIO()
    setup_logging("info", "json", stream)
    with HostileLambda(_slow_in_one_region) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.endpoint)
        options = JobOptions(config, str(tmp_path / "inventory.parquet"), Format.PARQUET, 4, progress_seconds=INTERVAL)
        summary, _ = run_job(options, ClientFactory.from_environment(4))

    assert (summary.counts.ok, summary.counts.failed) == (3, 0)
    lines = [_entry(line) for line in stream.getvalue().splitlines()]
    progress = [e for e in lines if e["logger"] == "inventory.progress"]
    waiting = [e for e in progress if (e["done"], e["in_flight"]) == (2, 1)]
    assert len(waiting) >= 4, progress  # ~3 s in flight at 0.3 s: the old code logged none of these
    assert all(e["message"].startswith("2/3 targets, 4 functions, 0 failed, 1 in flight, ") for e in waiting)
    times = [datetime.fromisoformat(e["time"]) for e in progress]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert max(gaps) < INTERVAL + 0.5, gaps
    assert progress[-1]["message"] == "3/3 targets, 6 functions, 0 failed"
    assert (progress[-1]["done"], progress[-1]["total"], progress[-1]["in_flight"]) == (3, 3, 0)


def _entry(line: str) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(line)
    return entry
