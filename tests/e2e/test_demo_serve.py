"""`demo --serve` as a user follows it: start it, copy the line it prints into a shell, run that line.

The serve must check the run that line writes (not a file an earlier run left in the folder), and the line
must work as printed from a shell with no AWS settings of its own (even with an AWS_PROFILE that is not
configured): the demo's emulator accepts the credentials the line carries.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from inventory.contract.record import Counts, RunRecord, render_manifest

TIMEOUT = 180


def _clean_environment() -> dict[str, str]:
    """A shell's environment with no AWS or tool setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAMBDA_INVENTORY_"))}


def _leave_an_earlier_run(out: Path) -> None:
    """What an earlier run left in the folder: an inventory that is not today's and its manifest."""
    out.mkdir()
    (out / "inventory.parquet").write_bytes(b"stale: not what tonight's run writes")
    started = datetime.now(UTC) - timedelta(days=1)
    record = RunRecord("old-run", "old-write", started, started, "0" * 64, None, Counts())
    (out / "inventory.manifest.json").write_bytes(render_manifest(record.to_json()))


class Lines:
    """A child's stdout, line by line, read in a thread (so a test can wait for a line with a deadline)."""

    def __init__(self, child: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert child.stdout is not None
        stream = child.stdout
        threading.Thread(target=lambda: [self._queue.put(line) for line in stream], daemon=True).start()

    def until(self, predicate: Callable[[str], bool], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"no such line within {timeout}s; stdout so far:\n{''.join(self.seen)}")

    def drain(self) -> str:
        while not self._queue.empty():
            self.seen.append(self._queue.get())
        return "".join(self.seen)


def test_the_printed_line_runs_the_job_and_the_serve_checks_that_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _leave_an_earlier_run(out)
    script = Path(sys.executable).parent / "lambda-inventory"
    serve = subprocess.Popen(
        [str(script), "demo", "--serve", "--throttle-rate", "0", "--serve-timeout", "150", "--output", f"{out}/"],
        env=_clean_environment(),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = Lines(serve)
        lines.until(lambda line: "run the job with this line" in line, 60)
        command = lines.until(lambda line: line.startswith("  "), 5).strip()
        lines.until(lambda line: line.startswith("demo: waiting"), 5)
        time.sleep(1.0)  # the old code checked the earlier run's file here, at once
        assert serve.poll() is None, lines.drain()
        assert "demo check" not in lines.drain() and "demo: checking" not in lines.drain()

        shell = {**_clean_environment(), "AWS_PROFILE": "not-configured-here"}
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        job = subprocess.run(
            command, shell=True, env=shell, cwd=elsewhere, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
        serve.wait(timeout=60)
    finally:
        serve.kill()
    stdout = lines.drain()

    # the demo organisation has one account whose role cannot be assumed: the job's run is partial (exit 1)
    assert job.returncode == 1, job.stdout[-2000:] + job.stderr[-3000:]
    assert "no AWS credentials" not in job.stderr
    assert serve.returncode == 0, stdout
    assert f"demo: checking {out}/inventory.parquet" in stdout
    assert "demo check passed" in stdout and "FAILED" not in stdout, stdout
    assert b"old-write" not in (out / "inventory.manifest.json").read_bytes()  # tonight's run replaced it


def test_with_nothing_new_the_serve_times_out_and_never_checks_an_earlier_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _leave_an_earlier_run(out)
    script = Path(sys.executable).parent / "lambda-inventory"
    proc = subprocess.run(
        [str(script), "demo", "--serve", "--serve-timeout", "2", "--output", f"{out}/"],
        env=_clean_environment(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout.count("demo check FAILED") == 1, proc.stdout
    assert f"demo check FAILED: no run written to {out}/ after 2s\n" in proc.stdout
    assert "demo check passed" not in proc.stdout  # the CLI maps the failed check to 1 (PARTIAL)
