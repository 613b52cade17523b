"""Run `lambda-inventory run` as a subprocess against the fake, read back what it wrote, and check it.

`run_cli` writes the accounts YAML, runs the CLI with `--log-format json --log-level debug` (a timeout kills
a run that hangs and fails the test, it never hangs the suite), and returns a `Run`. `check_run` holds the
checks every fault run must pass: no secret anywhere, every log line JSON, every error message one line of
at most 300 characters, every failed target without rows and with function_count null.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import console_script, subprocess_env

from .fake_aws import FakeAws

FAST_RETRY = {"max_attempts": 4, "base_delay": 0.01, "max_delay": 0.05}
SHORT_TIMEOUTS = {"connect_seconds": 1, "read_seconds": 1, "target_seconds": 5}
RUN_TIMEOUT = 45.0  # seconds before the test kills the run (a hang on the original code ends here)
BOUND = 30.0  # the generous bound a run under short deadlines must finish in
HUB_KEY_ID = "AKIAFAKEHUBKEY000001"  # the hub's own credentials, shaped like real ones
HUB_SECRET = "FAKEHUBSECRETb5c1d0e7a9f34c2e8d61"


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    elapsed: float
    out: Path

    @property
    def files(self) -> list[Path]:
        return sorted(p for p in self.out.rglob("*") if p.is_file())

    def status(self) -> dict[tuple[str, str], dict[str, Any]]:
        rows = pq.read_table(self.out / "inventory.status.parquet").to_pylist()
        return {(r["account_id"], r["region"]): r for r in rows}

    def arns(self) -> list[str]:
        return [str(a) for a in pq.read_table(self.out / "inventory.parquet").column("function_arn").to_pylist()]

    def manifest(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.out / "inventory.manifest.json").read_text(encoding="utf-8"))
        return data

    def logs(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.stderr.splitlines():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                pytest.fail(f"stderr line is not JSON: {line!r}")
        return entries


def write_config(
    path: Path,
    accounts: list[str],
    regions: list[str],
    *,
    retry: Mapping[str, float] | None = None,
    timeouts: Mapping[str, float] | None = None,
    **top: Any,
) -> Path:
    data: dict[str, Any] = {"retry": dict(retry or FAST_RETRY), "regions": regions, "max_workers": 8, **top}
    if timeouts is not None:
        data["timeouts"] = dict(timeouts)
    data["accounts"] = [{"account_id": a, "name": f"acct-{a[-2:]}"} for a in accounts]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run_cli(fake: FakeAws, config: Path, tmp: Path, log_format: str = "json", timeout: float = RUN_TIMEOUT) -> Run:
    out = tmp / "out"
    args = [str(console_script()), "run", "--config", str(config), "--output", str(out / "inventory.parquet")]
    args += ["--log-format", log_format, "--log-level", "debug"]
    env = subprocess_env(fake.endpoint, AWS_ACCESS_KEY_ID=HUB_KEY_ID, AWS_SECRET_ACCESS_KEY=HUB_SECRET)
    started = time.monotonic()
    try:
        proc = subprocess.run(args, env=env, cwd=tmp, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:  # subprocess.run has killed the run (SIGKILL) and reaped it
        killed = _text(err.stderr)[-2000:]
    else:
        return Run(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started, out)
    pytest.fail(f"the run did not finish within {timeout:.0f}s and was killed; stderr tail:\n{killed}")


def _text(data: str | bytes | None) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else (data or "")


def check_run(
    run: Run, fake: FakeAws, exit_code: int, log_format: str = "json"
) -> dict[tuple[str, str], dict[str, Any]]:
    """The checks every fault run must pass; returns the status rows by (account, region)."""
    assert run.returncode == exit_code, f"exit {run.returncode}, expected {exit_code}; stderr:\n{run.stderr[-3000:]}"
    assert run.elapsed < BOUND, f"the run took {run.elapsed:.1f}s"
    assert_no_secrets(run, fake)
    if log_format == "json":
        assert run.logs(), "expected JSON log lines on stderr"
    status = run.status()
    for row in status.values():
        message = row["error_message"]
        if message is not None:
            assert len(message) <= 300, (len(message), message)
            assert not any(c in message for c in "\n\r\t"), repr(message)
        if row["status"] != "ok":
            assert row["function_count"] is None, row
            assert row["error_code"], row
    arns = run.arns()
    assert len(arns) == len(set(arns)), "a function appears twice in the inventory"
    return status


def assert_no_secrets(run: Run, fake: FakeAws) -> None:
    """No credential (issued or the hub's), signature, token or environment value in any stream or file."""
    needles = [*fake.secrets(), HUB_KEY_ID, HUB_SECRET]
    haystacks = {"stdout": run.stdout.encode(), "stderr": run.stderr.encode()}
    haystacks.update({str(p.relative_to(run.out)): p.read_bytes() for p in run.files})
    for where, data in haystacks.items():
        for needle in needles:
            assert needle.encode() not in data, f"{where} holds a secret ({needle[:8]}...)"


def assert_ok(
    run: Run, fake: FakeAws, status: dict[tuple[str, str], dict[str, Any]], *targets: tuple[str, str]
) -> None:
    """Each target ok, with every function the fake holds for it in the inventory, and its count right."""
    arns = set(run.arns())
    for target in targets:
        expected = fake.scenario.arns(*target)
        row = status[target]
        assert (row["status"], row["error_code"]) == ("ok", None), row
        assert row["function_count"] == len(expected), row
        assert expected <= arns, f"{target}: {len(expected - arns)} functions missing"


def assert_failed(
    run: Run, fake: FakeAws, status: dict[tuple[str, str], dict[str, Any]], target: tuple[str, str], code: str
) -> dict[str, Any]:
    """The target failed with this error code, and none of its functions are in the inventory."""
    row = status[target]
    assert (row["status"], row["error_code"]) == ("failed", code), row
    assert row["function_count"] is None, row
    leaked = fake.scenario.arns(*target) & set(run.arns())
    assert not leaked, f"{target} failed but kept {len(leaked)} rows"
    return row


def assert_exact_rows(run: Run, fake: FakeAws, *ok_targets: tuple[str, str]) -> None:
    """The inventory holds exactly the functions of the ok targets, each once."""
    expected = set().union(*(fake.scenario.arns(*t) for t in ok_targets))
    arns = run.arns()
    assert sorted(arns) == sorted(expected)
