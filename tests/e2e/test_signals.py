"""Signals end to end: the CLI in a subprocess against the session emulator, stopped by SIGTERM / SIGINT
(prompt exit, documented code, one line, no temporary file) or SIGKILL (the previous output survives)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import boto3
import pyarrow.parquet as pq
import pytest
import yaml
from boto3.s3.transfer import TransferConfig
from conftest import config_dict, new_bucket, seed_members, subprocess_env
from support.batches import function_batch
from support.emulator_faults import ListRegionsThrottled

from inventory.aws.clients import ClientFactory
from inventory.aws.retry import RetryPolicy
from inventory.contract.schema import STATUS_SCHEMA
from inventory.contract.target import Account, Target
from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec, Seeded
from inventory.exits import for_signal
from inventory.signals import Stopped, stop_on_signals
from inventory.writers.destination import resolve_destination
from inventory.writers.sink import RunSink
from inventory.writers.stores import S3Store

# Account ids used only by this module.
FAST, WIDE, SLOW, ALL = "250000000001", "250000000002", "250000000003", "250000000004"
TIMEOUT = 120
LONG_BACKOFF = {"max_attempts": 50, "base_delay": 5, "max_delay": 20}


@pytest.fixture(scope="module")
def org(emulator: Emulator) -> Seeded:
    regions = ("us-east-1", "eu-west-1", "eu-central-1")
    return seed_members(
        emulator,
        [
            MemberSpec(FAST, "fast", {"us-east-1": (FunctionSpec("fast", 3),)}),
            MemberSpec(WIDE, "wide", {r: (FunctionSpec(f"wide-{r}", 60),) for r in regions}),
            MemberSpec(SLOW, "slow", {r: (FunctionSpec(f"slow-{r}", 2),) for r in regions}),
            MemberSpec(ALL, "all", {}),
        ],
    )


def _config(path: Path, accounts: Sequence[dict[str, Any]], **top: Any) -> Path:
    path.write_text(yaml.safe_dump(config_dict(accounts, **top), sort_keys=False), encoding="utf-8")
    return path


class Lines:
    """A child's stderr read line by line in a thread, so a test can wait for a line and still see all."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 60) -> None:
        with self._changed:
            found = self._changed.wait_for(lambda: any(predicate(line) for line in self.lines), timeout)
        assert found, "\n".join(self.lines)

    def text(self) -> str:
        self._thread.join(timeout=10)
        return "\n".join(self.lines)


def _start(config: Path, output: str, emulator: Emulator, *flags: str) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "inventory", "run", "--config", str(config), "--output", output, *flags]
    env = subprocess_env(emulator.endpoint, LAMBDA_INVENTORY_LOG_FORMAT="json")
    return subprocess.Popen(
        args, env=env, cwd=config.parent, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )


def _wait(proc: subprocess.Popen[str], timeout: float) -> int | None:
    """The exit code, or None (and the process killed) if it is still running after `timeout` s."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def _message(line: str) -> str:
    try:
        return str(json.loads(line).get("message", ""))
    except json.JSONDecodeError:
        return line


def _leftovers(directory: Path, *keep: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file() and p not in keep)


@pytest.fixture
def stalled(emu: Emulator) -> Iterator[Emulator]:
    """ListRegions of every account answers 429 (its retries sleep in an AssumeRole-pool thread)."""
    emu.app.behaviour.faults.append(ListRegionsThrottled(first=10**6))
    yield emu


@pytest.mark.parametrize(
    "case",
    [
        (signal.SIGTERM, 143, "lambda-inventory: terminated (SIGTERM); nothing was written"),
        (signal.SIGINT, 130, "lambda-inventory: interrupted; nothing was written"),
    ],
    ids=["SIGTERM", "SIGINT"],
)
def test_signal_during_backoff_exits_fast_with_its_code_and_leaves_nothing(
    stalled: Emulator, org: Seeded, tmp_path: Path, case: tuple[int, int, str]
) -> None:
    """After the first rows, every listing left is backing off (seconds per attempt) and one thread sleeps
    in ListRegions' backoff: the signal still ends the run within the bound, with nothing left behind."""
    accounts = [
        {"account_id": FAST, "regions": ["us-east-1"]},
        {"account_id": ALL, "regions": "all"},
        {"account_id": WIDE},
        {"account_id": SLOW},
    ]
    signum, code, line = case
    regions = ["us-east-1", "eu-west-1", "eu-central-1"]
    config = _config(tmp_path / "accounts.yaml", accounts, regions=regions, retry=LONG_BACKOFF, max_workers=3)
    out = tmp_path / "out"

    with _start(config, f"{out}/", stalled, "--log-level", "debug") as proc:
        assert proc.stderr is not None
        stderr = Lines(proc.stderr)
        stderr.wait_for(lambda text: _message(text).startswith("target ok"))
        stalled.app.behaviour.throttle_rate = 1.0  # from now on every ListFunctions backs off for seconds
        before = sum(stalled.app.stats.list_calls.values())
        deadline = time.monotonic() + 30
        while sum(stalled.app.stats.list_calls.values()) < before + 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stalled.app.stats.list_regions_calls[ALL] >= 1, "ListRegions is retrying in its thread"
        started = time.monotonic()
        proc.send_signal(signum)
        returncode = _wait(proc, 30)
        elapsed = time.monotonic() - started
        text = stderr.text()

    print(f"signal {signum}: exit {returncode} after {elapsed:.2f} s")
    assert returncode == code, text
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert [t for t in text.splitlines() if not t.startswith("{")] == [line]
    assert "Traceback" not in text
    assert _leftovers(tmp_path, config) == []


# --- SIGTERM while the inventory goes up to S3 in parts ---------------------------------------------------


def test_sigterm_during_a_multipart_upload_aborts_it_and_publishes_nothing(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "systemp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    admin = boto3.client("s3", region_name="us-east-1")
    bucket = new_bucket(admin, "sigterm")
    client = ClientFactory.from_environment(4).client("s3", "us-east-1")
    parts: list[int] = []

    def after_part(**_: Any) -> None:
        parts.append(1)
        if len(parts) == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # ECS stops the task while the upload is under way

    client.meta.events.register("after-call.s3.UploadPart", after_part)
    dest = resolve_destination(f"s3://{bucket}/inv/inventory.parquet", None)
    transfer = TransferConfig(multipart_threshold=1 << 20, multipart_chunksize=5 << 20, max_concurrency=1)
    sink = RunSink(dest, STATUS_SCHEMA, S3Store(client, RetryPolicy(3, 0.001, 0.01), transfer))
    target = Target(Account("012345678901", "a", (), "arn:aws:iam::012345678901:role/R", None), "eu-west-1")
    items = [{"FunctionName": secrets.token_urlsafe(3000), "Runtime": "python3.12"} for _ in range(6000)]
    sink.write(function_batch(target, datetime(2026, 11, 28, tzinfo=UTC), items))  # ~18 MiB: 4 parts

    started = time.monotonic()
    with stop_on_signals(for_signal), pytest.raises(Stopped) as stopped:
        try:
            sink.commit(STATUS_SCHEMA.empty_table(), None)
        except BaseException:
            sink.abort()  # as pipeline.run_job does
            raise
    elapsed = time.monotonic() - started

    print(f"multipart upload stopped after {len(parts)} part(s), {elapsed:.2f} s")
    assert stopped.value.signum == signal.SIGTERM and not stopped.value.published
    assert elapsed < 10
    assert 1 <= len(parts) < 4
    assert admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert admin.list_objects_v2(Bucket=bucket).get("Contents", []) == []
    assert list(scratch.iterdir()) == []


# --- SIGKILL at random points: the previous complete output survives ---------------------------------------

KILLS = 12


def _check_destination(out: Path, arns: set[str]) -> dict[str, Any]:
    """The files under the final names are complete, readable and agree with the manifest; its data."""
    manifest = json.loads((out / "inventory.manifest.json").read_text(encoding="utf-8"))
    inventory, status = pq.read_table(out / "inventory.parquet"), pq.read_table(out / "inventory.status.parquet")
    for name, path in (("inventory", out / "inventory.parquet"), ("status", out / "inventory.status.parquet")):
        assert manifest["files"][name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), name
    assert manifest["files"]["inventory"]["rows"] == inventory.num_rows == manifest["counts"]["functions"]
    assert manifest["files"]["status"]["rows"] == status.num_rows == manifest["counts"]["targets"]
    assert set(inventory.column("function_arn").to_pylist()) == arns
    assert set(inventory.column("snapshot_time").to_pylist()) == set(status.column("snapshot_time").to_pylist())
    return dict(manifest)


def _phase(out: Path, previous_run: str) -> str:
    names = [p.name for p in out.iterdir()]
    if json.loads((out / "inventory.manifest.json").read_text(encoding="utf-8"))["run_id"] != previous_run:
        return "after commit"
    if any(n.startswith(".inventory.manifest.json.") for n in names):
        return "during commit"
    return "while listing" if any(n.endswith(".tmp") for n in names) else "before the sink opened"


def test_sigkill_at_random_points_never_breaks_the_previous_output(emu: Emulator, org: Seeded, tmp_path: Path) -> None:
    emu.app.behaviour.throttle_rate = 0.5  # retries stretch the listing so kills land inside it
    accounts = [{"account_id": a} for a in (FAST, WIDE, SLOW)]
    retry = {"max_attempts": 30, "base_delay": 0.05, "max_delay": 0.3}
    config = _config(
        tmp_path / "accounts.yaml", accounts, regions=["us-east-1", "eu-west-1", "eu-central-1"], retry=retry
    )
    out = tmp_path / "out"
    arns = {arn for (account, _), found in org.functions.items() if account in {FAST, WIDE, SLOW} for arn in found}

    started = time.monotonic()
    with _start(config, f"{out}/", emu) as first:
        assert _wait(first, TIMEOUT) == 0
    full_run = time.monotonic() - started
    previous = _check_destination(out, arns)

    seed = random.randrange(2**32)
    rng = random.Random(seed)
    delays = [round(rng.uniform(0.2, 1.2) * full_run, 3) for _ in range(KILLS)]
    print(f"full run {full_run:.2f} s; kill seed {seed}; delays {delays}")
    phases = []
    for delay in delays:
        with _start(config, f"{out}/", emu) as proc:
            time.sleep(delay)
            proc.kill()
            proc.wait(timeout=TIMEOUT)
        phases.append(_phase(out, previous["run_id"]))
        manifest = _check_destination(out, arns)
        assert manifest["run_id"] in {
            previous["run_id"],
            *(m for m in [manifest["run_id"]] if phases[-1] == "after commit"),
        }
        previous = manifest
    print("killed:", dict(Counter(phases)))

    with _start(config, f"{out}/", emu) as last:  # a run after the kills sweeps what they left
        assert _wait(last, TIMEOUT) == 0
    _check_destination(out, arns)
    assert sorted(p.name for p in out.iterdir()) == [
        "inventory.manifest.json",
        "inventory.parquet",
        "inventory.runtimes.parquet",
        "inventory.status.parquet",
    ]
