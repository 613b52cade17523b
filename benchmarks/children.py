"""Child processes measured as the benchmark measures the job: wall, user + sys CPU and peak RSS of the child
alone (os.wait4, in a small launcher), its environment pointed at the fake, and the same in a container.

run.py (the job, and compare.py's programs), shards.py and sinks.py run every child through here.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# The job's summary line: `... in 12.3s ...` (its own wall time).
SUMMARY = re.compile(r"in ([\d.]+)s")


@dataclass
class ChildResult:
    returncode: int
    wall_s: float
    cpu_user_s: float
    cpu_sys_s: float
    maxrss_mib: float
    stdout: str
    stderr: str

    @property
    def cpu_s(self) -> float:
        return self.cpu_user_s + self.cpu_sys_s


# On Linux a child's peak RSS (ru_maxrss) starts at its parent's RSS when it was forked (exec keeps the old
# memory's high-water mark), and run.py grows as it reads the inventories it checks: measured directly, a child
# started after the first check reported run.py's size, not its own. So each child is forked by this small
# launcher (a fresh interpreter, ~10 MiB), which times it and reports its os.wait4 usage into a file.
_LAUNCHER = """import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, u = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as f:
    f.write(f"{wall} {u.ru_utime} {u.ru_stime} {u.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))"""


def run_measured(cmd: list[str], env: dict[str, str], cwd: Path, name: str, timeout: float) -> ChildResult:
    """Run cmd to completion; wall time, and CPU and peak RSS of that child alone (os.wait4, in _LAUNCHER)."""
    out_path, err_path, usage_path = cwd / f"{name}.stdout", cwd / f"{name}.stderr", cwd / f"{name}.usage"
    usage_path.unlink(missing_ok=True)
    launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(usage_path), *cmd]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            launcher, env=env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
        )
        timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))  # the launcher and its child
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
    killed = f"{time.perf_counter() - started} 0 0 0"  # timed out: no usage written, returncode -9
    wall, user, sys_, rss_kib = (float(v) for v in (usage_path.read_text() if usage_path.exists() else killed).split())
    return ChildResult(
        proc.returncode,
        wall,
        user,
        sys_,
        rss_kib / 1024,  # KiB on Linux
        out_path.read_text(errors="replace"),
        err_path.read_text(errors="replace"),
    )


def child_env(endpoint: str) -> dict[str, str]:
    """The caller's environment without any AWS or job settings, pointed at the fake with dummy hub keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAMBDA_INVENTORY_"))}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="AKIAHUBBENCHMARK0000",
        AWS_SECRET_ACCESS_KEY="benchmark-secret",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


# In a container, os.wait4 would measure the docker client; the job's own usage is read inside it instead.
_IN_CONTAINER = """import resource, subprocess, sys
rc = subprocess.call(["lambda-inventory", *sys.argv[1:]])
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"container-rusage {u.ru_utime} {u.ru_stime} {u.ru_maxrss}", file=sys.stderr)
sys.exit(rc)"""
_RUSAGE = re.compile(r"^container-rusage (\S+) (\S+) (\S+)$", re.MULTILINE)


def container_command(args: argparse.Namespace, env: dict[str, str], workdir: Path, job: list[str]) -> list[str]:
    """The job in the image, on the host network, at the given size; the workdir is mounted at its own path."""
    workdir.chmod(0o777)  # the image runs as uid 10001
    for path in workdir.rglob("*"):
        if path.is_dir():
            path.chmod(0o777)
    aws = [f"--env={k}={v}" for k, v in env.items() if k.startswith(("AWS_", "LAMBDA_INVENTORY_"))]
    return [
        "docker", "run", "--rm", "--network=host", "--read-only", f"--cpus={args.container_cpus}",
        f"--memory={args.container_memory}", f"--volume={workdir}:{workdir}", *aws,
        "--entrypoint=python", args.container, "-c", _IN_CONTAINER, *job,
    ]  # fmt: skip


def inside_container(child: ChildResult) -> ChildResult:
    found = _RUSAGE.search(child.stderr)
    if not found:
        raise RuntimeError(f"no usage line from the container: {child.stderr[-500:]}")
    user, sys_, rss_kib = (float(v) for v in found.groups())
    return dataclasses.replace(child, cpu_user_s=user, cpu_sys_s=sys_, maxrss_mib=rss_kib / 1024)


def cpu_model() -> str:
    """The CPU the figures were measured on, for the reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} CPUs"
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs"
