#!/usr/bin/env python3
"""One command: start the fake AWS, run the real job through its CLI against it, check and measure.

    python benchmarks/run.py --accounts 300 --regions 17 --latency-ms 50 [--throttle-rate 0.1] [--runs 3]
                             [--reference/--no-reference] [--baseline/--no-baseline]
                             [--baseline-sample-accounts K] [--max-workers N]
                             [--enrich tags,urls,... | --enrich-matrix [none,tags,tags+usage,all]]
    python benchmarks/run.py --accounts 20 --regions 3 --shards 1,2,4 [--container IMAGE]   # shards.py
    python benchmarks/run.py --accounts 2000 --regions 17 --total-functions 1000000 --sink-compare  # sinks.py

Run it with the Python that has the project installed (e.g. an activated venv):
the job runs as `<that python> -m inventory run --config <generated> --output <tmp>/inventory.parquet`,
exactly as a user would, in a child process; its CPU (user + sys) and peak RSS come from os.wait4, so the
fake's CPU (its own process) is never counted. The fake's /__stats and /__population then say how many
calls were made, how they were spread, and what the inventory must contain.

Checks (exit 1 if any fails): the job exits 0; rows in the Parquet == the population, per account-region,
with no duplicate ARN (zero rows lost); every status row `ok` with the right count; every account assumed
exactly once; no account-region ever sees more than --max-rps-per-target (15) requests in one second, all
services counted; with enrichments, each one `ok` on every target and every enriched value equal to what the
fake serves (bench_enrich.py). --enrich-matrix runs one set of enrichments after the other, --runs rounds,
and prints a table with ratios to the first set (the reference, `none`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import compare
from bench_enrich import check_enrichments, enrichment_lines, matrix_table, parse_names, set_label
from shard_checks import parse_counts

HERE = Path(__file__).resolve().parent
FAKE = HERE / "fake_aws.py"
PAGE_LIMIT = 50


# ------------------------------------------------------------------------------------------ processes


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


class Fake:
    """benchmarks/fake_aws.py in its own process."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        port_file = workdir / "fake.port"
        port_file.unlink(missing_ok=True)  # a stale one from an earlier run in the same workdir
        cmd = [
            args.python,
            str(FAKE),
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--accounts",
            str(args.accounts),
            "--regions",
            str(args.regions),
            "--latency-ms",
            str(args.latency_ms),
            "--jitter-ms",
            str(args.jitter_ms),
            "--throttle-rate",
            str(args.throttle_rate),
            "--seed",
            str(args.seed),
        ]
        if args.total_functions is not None:
            cmd += ["--total-functions", str(args.total_functions)]
        if args.enforce_rps:
            cmd += ["--enforce-rps", str(args.enforce_rps)]
        if args.metric_points_per_page:
            cmd += ["--metric-points-per-page", str(args.metric_points_per_page)]
        if args.enrichments:
            cmd.append("--enrichments")  # every function's data read before the runs, not during them
        self._log = open(workdir / "fake.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=self._log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while not port_file.exists():
            if self.proc.poll() is not None:
                raise SystemExit(f"fake_aws.py exited with {self.proc.returncode}; see {workdir / 'fake.log'}")
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit("fake_aws.py did not start within 300 s")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port_file.read_text().strip()}"
        self.enrichment_min_calls: dict[str, int] = self.get("/__enrichment_min_calls") if args.enrichments else {}

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=60) as resp:
            return json.load(resp)

    def reset(self) -> None:
        req = urllib.request.Request(self.url + "/__reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=60) as resp:
            resp.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


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


def write_config(
    path: Path, population: dict[str, dict[str, int]], regions: list[str], max_rps: float | None = None
) -> None:
    lines = [
        "# generated by benchmarks/run.py",
        f"regions: [{', '.join(regions)}]",
        *([f"max_requests_per_second: {max_rps:g}"] if max_rps else []),
        "accounts:",
        *(f'  - account_id: "{account}"' for account in population),
    ]
    path.write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------------------------------- checks


def check_output(output: Path, population: dict[str, dict[str, int]]) -> tuple[list[str], dict[str, Any]]:
    """Compare the Parquet and its status file with the population. Returns (problems, facts)."""
    import pyarrow.parquet as pq  # noqa: PLC0415 - only the checker needs pyarrow

    if not output.exists():
        return [f"no inventory written at {output}"], {"rows": 0}
    table = pq.read_table(output, columns=["account_id", "region", "function_arn"])
    problems, facts = check_table(table, population)
    status_file = output.with_name(f"{output.stem}.status{output.suffix}")
    if not status_file.exists():
        return [*problems, f"no status file at {status_file}"], {**facts, "statuses": {}}
    found, statuses = check_status_rows(pq.read_table(status_file).to_pylist(), population)
    return problems + found, {**facts, "statuses": statuses}


def check_table(table: Any, population: dict[str, dict[str, int]]) -> tuple[list[str], dict[str, Any]]:
    """An inventory's rows (a pyarrow table with account_id, region, function_arn) against the population:
    per account-region counts, no ARN twice. Returns (problems, facts)."""
    import pyarrow.compute as pc  # noqa: PLC0415 - only the checker needs pyarrow

    problems: list[str] = []
    expected_total = sum(sum(r.values()) for r in population.values())
    rows = table.num_rows
    unique_arns = len(pc.unique(table.column("function_arn")))
    grouped = table.group_by(["account_id", "region"]).aggregate([("function_arn", "count")]).to_pylist()
    got = {(g["account_id"], g["region"]): g["function_arn_count"] for g in grouped}
    wrong = [
        f"{a}/{r}: {got.get((a, r), 0)} rows, population {n}"
        for a, regions in population.items()
        for r, n in regions.items()
        if got.get((a, r), 0) != n
    ]
    extra = [f"{a}/{r}" for (a, r) in got if a not in population or r not in population[a]]
    if rows != expected_total:
        problems.append(f"rows {rows} != population {expected_total} ({expected_total - rows} lost)")
    if unique_arns != rows:
        problems.append(f"{rows - unique_arns} duplicate function ARNs")
    if wrong:
        problems.append(f"{len(wrong)} account-regions with the wrong row count, e.g. {wrong[:3]}")
    if extra:
        problems.append(f"rows for account-regions outside the population: {extra[:3]}")
    return problems, {"rows": rows, "unique_arns": unique_arns}


def check_status_rows(
    status: list[dict[str, Any]], population: dict[str, dict[str, int]]
) -> tuple[list[str], dict[str, int]]:
    """Status rows against the population: one per target, every one `ok` with the right count. Returns
    (problems, rows per status)."""
    problems: list[str] = []
    statuses: dict[str, int] = {}
    for row in status:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    not_ok = [
        f"{s['account_id']}/{s['region']}: {s['status']} {s['error_code']}" for s in status if s["status"] != "ok"
    ]
    miscounted = [
        f"{s['account_id']}/{s['region']}: {s['function_count']} != {population[s['account_id']][s['region']]}"
        for s in status
        if s["status"] == "ok" and s["function_count"] != population.get(s["account_id"], {}).get(s["region"])
    ]
    targets = sum(len(r) for r in population.values())
    if len(status) != targets:
        problems.append(f"status file has {len(status)} rows, expected {targets} targets")
    if not_ok:
        problems.append(f"{len(not_ok)} targets not ok, e.g. {not_ok[:3]}")
    if miscounted:
        problems.append(f"{len(miscounted)} status counts wrong, e.g. {miscounted[:3]}")
    return problems, statuses


_SUMMARY = re.compile(r"in ([\d.]+)s")
_RETRIES = re.compile(r"(\d+) AssumeRole, (\d+) retries")


def one_run(
    args: argparse.Namespace,
    fake: Fake,
    *,
    config: Path,
    workdir: Path,
    index: int,
    population: dict[str, dict[str, int]],
    startup_cpu_s: float,
    enrich: tuple[str, ...] = (),
) -> dict[str, Any]:
    label = "-".join(enrich) or "none"
    output = workdir / (f"run{index}" if not args.enrich_matrix else f"run-{label}-{index}") / "inventory.parquet"
    output.parent.mkdir(parents=True, exist_ok=True)
    job = ["run", "--config", str(config), "--output", str(output), "--enrich", ",".join(enrich) or "none"]
    if args.max_workers is not None:
        job += ["--max-workers", str(args.max_workers)]
    env = child_env(fake.url)
    cmd = container_command(args, env, workdir, job) if args.container else [args.python, "-m", "inventory", *job]
    fake.reset()
    fake_cpu_before = fake.get("/__stats")["fake_cpu_s"]
    child = run_measured(cmd, env, output.parent, "job", args.timeout)
    if args.container:
        child = inside_container(child)
    stats = fake.get("/__stats")
    problems, facts = check_output(output, population)
    enrich_problems, enrich_facts = check_enrichments(output, enrich, args.seed)
    problems += enrich_problems
    if child.returncode != 0:
        tail = " | ".join(child.stderr.strip().splitlines()[-3:])
        problems.insert(0, f"job exited {child.returncode}: {tail}")
    reported = _SUMMARY.search(child.stdout)
    retries = _RETRIES.search(child.stdout)
    calls = stats["requests_total"]
    min_calls = stats["min_calls"] + sum(fake.enrichment_min_calls[name] for name in enrich)
    total = stats["total_functions"]
    max_rps = stats["max_peak_rps"]["rps"]
    if max_rps > args.max_rps_per_target:
        problems.append(
            f"{stats['max_peak_rps']['target']} got {max_rps} requests in one second (limit {args.max_rps_per_target})"
        )
    over = sum(1 for v in stats["peak_rps_by_target"].values() if v > args.max_rps_per_target)
    if over > 1:
        problems.append(f"{over} account-regions in all went over {args.max_rps_per_target} requests/s")
    if stats["assume_role_per_account_max"] != 1 or stats["assume_role_per_account_min"] != 1:
        problems.append(
            f"AssumeRole per account: min {stats['assume_role_per_account_min']}, "
            f"max {stats['assume_role_per_account_max']} (must be exactly 1)"
        )
    return {
        "run": index,
        "returncode": child.returncode,
        "wall_s": child.wall_s,
        "job_reported_s": float(reported.group(1)) if reported else None,
        "cpu_s": child.cpu_s,
        "cpu_user_s": child.cpu_user_s,
        "cpu_sys_s": child.cpu_sys_s,
        "cpu_per_call_ms": 1000 * child.cpu_s / calls if calls else None,
        "cpu_per_call_net_ms": 1000 * max(0.0, child.cpu_s - startup_cpu_s) / calls if calls else None,
        "functions_per_s": total / child.wall_s,
        "peak_rss_mib": child.maxrss_mib,
        "calls": calls,
        "min_calls": min_calls,
        "enrich": list(enrich),
        "calls_by_op": stats["requests_by_op"],
        "enrichments": enrich_facts.get("enrichments"),
        "values_checked": enrich_facts.get("values_checked"),
        "list_calls": stats["requests_by_op"].get("ListFunctions", 0),
        "assume_role_calls": stats["requests_by_op"].get("AssumeRole", 0),
        "throttles_served": stats["throttles_total"],
        "job_retries": int(retries.group(2)) if retries else None,
        "max_rps_per_target": max_rps,
        "max_rps_target": stats["max_peak_rps"]["target"],
        "targets_over_rps_limit": over,
        "max_concurrency_per_target": stats["max_peak_concurrency"]["in_flight"],
        "peak_in_flight": stats["peak_in_flight_overall"],
        "connections": stats["connections"],
        "assume_role_per_account_min": stats["assume_role_per_account_min"],
        "assume_role_per_account_max": stats["assume_role_per_account_max"],
        "fake_cpu_s": stats["fake_cpu_s"] - fake_cpu_before,
        "fake_lag_ms": stats["fake_lag_ms"],
        "last_target": stats["last_target"],
        "rows": facts["rows"],
        "population": total,
        "statuses": facts.get("statuses"),
        "problems": problems,
    }


# ------------------------------------------------------------------------------------------- report

_NUMERIC = (
    "wall_s",
    "job_reported_s",
    "cpu_s",
    "cpu_user_s",
    "cpu_sys_s",
    "cpu_per_call_ms",
    "cpu_per_call_net_ms",
    "functions_per_s",
    "peak_rss_mib",
    "calls",
    "throttles_served",
    "job_retries",
    "max_rps_per_target",
    "max_concurrency_per_target",
    "peak_in_flight",
    "connections",
    "fake_cpu_s",
)


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(runs[0])
    for key in _NUMERIC:
        values = [r[key] for r in runs if r[key] is not None]
        out[key] = statistics.median(values) if values else None
    out["max_rps_per_target"] = max(r["max_rps_per_target"] for r in runs)  # a limit: the worst run counts
    return out


def render(
    args: argparse.Namespace,
    m: dict[str, Any],
    *,
    runs: list[dict[str, Any]],
    startup: ChildResult,
) -> str:
    label = f"median of {len(runs)} runs" if len(runs) > 1 else "1 run"
    workers = args.max_workers if args.max_workers is not None else "config default"
    lines = [
        "",
        f"lambda-inventory benchmark - {args.accounts} accounts x {args.regions} regions, "
        f"{m['population']:,} functions, latency {args.latency_ms:g}+-{args.jitter_ms:g} ms, "
        f"throttle {args.throttle_rate:g}, max workers {workers}, max_requests_per_second "
        f"{args.job_max_rps or 'default'}, enrich {','.join(m['enrich']) or 'none'} ({label})",
        f"  wall                     {m['wall_s']:8.2f} s   (job's own summary: {m['job_reported_s']} s)",
        f"  job CPU (user+sys)       {m['cpu_s']:8.2f} s   (user {m['cpu_user_s']:.2f}, sys {m['cpu_sys_s']:.2f}; "
        f"startup alone {startup.cpu_s:.2f} s)",
        f"  CPU per API call         {m['cpu_per_call_ms']:8.2f} ms  ({m['cpu_per_call_net_ms']:.2f} ms without "
        "interpreter start-up and imports)",
        f"  functions/s              {m['functions_per_s']:8.0f}",
        f"  peak RSS                 {m['peak_rss_mib']:8.1f} MiB",
        f"  API calls made / minimum {m['calls']:8.0f} / {m['min_calls']}   "
        f"({m['calls'] / m['min_calls']:.3f}x; {m['assume_role_calls']} AssumeRole + {m['list_calls']} ListFunctions"
        f"{' + enrichments' if m['enrich'] else ''})",
        f"  throttles seen           {m['throttles_served']:8.0f}     (job retries: {m['job_retries']})",
        f"  max req/s, one acct-rgn  {m['max_rps_per_target']:8.0f}     (limit {args.max_rps_per_target}; "
        f"worst {m['max_rps_target']})",
        *_last_target_line(m.get("last_target")),
        f"  max in flight, one a-r   {m['max_concurrency_per_target']:8.0f}     "
        f"(overall peak in flight {m['peak_in_flight']:.0f}, connections opened {m['connections']:.0f})",
        f"  AssumeRoles per account  min {m['assume_role_per_account_min']}, max {m['assume_role_per_account_max']} "
        "(must be 1)",
        f"  rows / population        {m['rows']} / {m['population']}   statuses {m['statuses']}",
        f"  fake's own CPU           {m['fake_cpu_s']:8.2f} s   (not counted above; its lag beyond the latency "
        f"p50 {m['fake_lag_ms']['p50']:g} / p99 {m['fake_lag_ms']['p99']:g} / max {m['fake_lag_ms']['max']:g} ms)",
        *enrichment_lines(m),
    ]
    if len(runs) > 1:
        lines.append("  per run: " + ", ".join(f"{r['wall_s']:.2f}s/{r['cpu_s']:.2f}cpu" for r in runs))
    return "\n".join(lines)


def _last_target_line(last: dict[str, Any] | None) -> list[str]:
    if not last:
        return []
    return [
        f"  last account-region done {last['target']}: {last['requests']} requests from {last['first_s']:.1f} s to "
        f"{last['last_s']:.1f} s (after the run's first request)"
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The flags; args.enrichments is True when any run asks for an enrichment."""
    p = argparse.ArgumentParser(description="Benchmark the lambda-inventory job against a fake AWS.")
    p.add_argument("--accounts", type=int, default=300)
    p.add_argument("--regions", type=int, default=17)
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--jitter-ms", type=float, default=10.0)
    p.add_argument("--throttle-rate", type=float, default=0.0)
    p.add_argument("--enforce-rps", type=int, default=0, help="make the fake throttle above N req/s per acct-region")
    p.add_argument("--total-functions", type=int, default=None, help="default: ~12.75 per account-region")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--max-workers", type=int, default=None, help="passed as --max-workers (default: the config's)")
    p.add_argument("--reference", action=argparse.BooleanOptionalAction, default=True, help="run reference.py")
    p.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True, help="run baseline.py")
    p.add_argument("--baseline-sample-accounts", type=int, default=None, help="scale from K accounts (default all)")
    p.add_argument("--max-rps-per-target", type=int, default=15, help="the check: fail above this")
    p.add_argument(
        "--job-max-rps",
        type=float,
        default=None,
        help="write max_requests_per_second into the job's accounts file (default: the job's own, 10)",
    )
    p.add_argument(
        "--enrich",
        default="none",
        help="comma-separated enrichments passed to the job as --enrich (tags,urls,policy,concurrency,usage; "
        "all; none)",
    )
    p.add_argument(
        "--enrich-matrix",
        nargs="?",
        const="none,tags,urls,policy,concurrency,usage",
        default=None,
        metavar="SETS",
        help="run the job once per set (comma-separated; join several enrichments with +, e.g. tags+usage; "
        "'all' = all five) and print a table with ratios to the first set; default: none and each enrichment "
        "alone. Never runs the baseline",
    )
    p.add_argument(
        "--metric-points-per-page",
        type=int,
        default=None,
        help="the fake pages GetMetricData past this many datapoints (default: CloudWatch's 100,800)",
    )
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds before a child is killed")
    p.add_argument("--workdir", type=Path, default=None, help="keep configs, outputs and logs here")
    p.add_argument("--json", type=Path, default=None, help="also write every figure here")
    p.add_argument("--python", default=sys.executable, help="interpreter with the project installed")
    p.add_argument("--container", default=None, metavar="IMAGE", help="run the job in this image (needs docker)")
    p.add_argument("--container-cpus", default="0.25", help="--cpus for the container (Fargate's smallest: 0.25)")
    p.add_argument("--container-memory", default="512m", help="--memory for the container")
    p.add_argument(
        "--shards",
        type=parse_counts,
        default=None,
        metavar="N[,N...]",
        help="run the job as an array of N shards at once (AWS Batch's variables, one run id), into one local lake "
        "(--lake), then verify --run-id; each N in turn, e.g. 1,2,4, then two overlapping runs (shards.py). "
        "No baseline, no enrichments",
    )
    p.add_argument(
        "--overlap",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --shards: after the arrays, two runs of the largest N at once into one lake, each checked",
    )
    p.add_argument(
        "--fresh-lake",
        action="store_true",
        help="with --shards: the children create the lake's tables (the first night) instead of finding them made",
    )
    p.add_argument(
        "--sink-compare",
        action="store_true",
        help="run the job --runs rounds, each once to a single Parquet file and once to a fresh local lake "
        "(--lake), and print the ratios lake / file of CPU and wall and the lake's peak RSS (sinks.py). No "
        "reference, baseline or enrichments",
    )
    args = p.parse_args(argv)
    if args.sink_compare and (args.shards or args.container or args.enrich_matrix or parse_names(args.enrich)):
        p.error("--sink-compare runs host processes without enrichments (no --shards, --container or --enrich)")
    if args.shards and (args.enrich_matrix or parse_names(args.enrich) or args.runs != 1):
        p.error("--shards runs once per N, without enrichments (no --enrich, --enrich-matrix or --runs)")
    args.enrichments = any(enrichment_sets(args))
    return args


def enrichment_sets(args: argparse.Namespace) -> list[tuple[str, ...]]:
    """The sets of enrichments to run: --enrich-matrix's (`none,tags,tags+usage,all`), else --enrich alone."""
    if not args.enrich_matrix:
        return [parse_names(args.enrich)]
    return [parse_names(part.replace("+", ",")) for part in args.enrich_matrix.split(",") if part.strip()]


def run_sets(
    args: argparse.Namespace, fake: Fake, sets: list[tuple[str, ...]], **where: Any
) -> list[tuple[tuple[str, ...], dict[str, Any], list[dict[str, Any]]]]:
    """args.runs rounds, each running every set once in order (so a change in the machine's load spreads over
    the sets rather than landing on one): [(set, median, runs)]."""
    runs: list[list[dict[str, Any]]] = [[] for _ in sets]
    for i in range(1, args.runs + 1):
        for enrich, done in zip(sets, runs, strict=True):
            load = os.getloadavg()[0]
            result = one_run(args, fake, index=i, enrich=enrich, **where)
            result["loadavg_1m_before"] = load
            done.append(result)
            print(
                f"run {i} (enrich {set_label(enrich)}): wall {result['wall_s']:.2f} s, CPU {result['cpu_s']:.2f} s, "
                f"{result['calls']} calls, max {result['max_rps_per_target']} req/s per account-region, "
                f"{result['rows']} rows, load {load:.1f} before; "
                f"{'OK' if not result['problems'] else 'PROBLEMS: ' + '; '.join(result['problems'])}",
                flush=True,
            )
    return [(enrich, median_of(done), done) for enrich, done in zip(sets, runs, strict=True)]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sets = enrichment_sets(args)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="lambda-inventory-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    fake = Fake(args, workdir)
    results: list[tuple[tuple[str, ...], dict[str, Any], list[dict[str, Any]]]] = []
    programs: dict[str, dict[str, Any] | None] = {}
    try:
        population: dict[str, dict[str, int]] = fake.get("/__population")
        fake_stats = fake.get("/__stats")
        config = workdir / "accounts.yaml"
        write_config(config, population, fake_stats["regions"], args.job_max_rps)
        print(
            f"fake AWS at {fake.url}: {fake_stats['accounts']} accounts x {len(fake_stats['regions'])} regions, "
            f"{fake_stats['total_functions']:,} functions (~{fake_stats['bytes_per_function']:.0f} B each), "
            f"minimum {fake_stats['min_calls']:,} calls; workdir {workdir}",
            flush=True,
        )
        env = child_env(fake.url)
        startup = run_measured([args.python, "-m", "inventory", "--version"], env, workdir, "startup", 120)
        where = {"config": config, "workdir": workdir, "population": population, "startup_cpu_s": startup.cpu_s}
        if args.shards:
            from shards import run_arrays  # noqa: PLC0415 - shards.py imports this module

            return run_arrays(args, fake, config=config, workdir=workdir, population=population, cpu_model=_cpu_model())
        if args.sink_compare:
            from sinks import run_compare  # noqa: PLC0415 - sinks.py imports this module

            return run_compare(
                args, fake, config=config, workdir=workdir, population=population, cpu_model=_cpu_model()
            )
        results = run_sets(args, fake, sets, **where)

        def measure(cmd: list[str], name: str) -> ChildResult:  # the reference and baseline, measured as the job
            return run_measured(cmd, env, workdir, name, args.timeout)

        programs = compare.run_programs(args, fake, measure, config, population)
    finally:
        fake.stop()
    print("\n".join(compare.render(results[0][1], programs, runs=args.runs, cpu_model=_cpu_model())))
    for _, m, runs in results:
        print(render(args, m, runs=runs, startup=startup))
    if args.enrich_matrix:
        print(f"\nenrichment matrix - ratios (x) to the first row, measured in this invocation ({_cpu_model()})")
        print(matrix_table([(set_label(e), m) for e, m, _ in results]))
    problems = sorted({p for _, _, runs in results for r in runs for p in r["problems"]})
    problems += compare.problems_of(programs)  # a program that lost functions voids the comparison
    if args.json:
        sets_json: list[dict[str, Any]] = [{"enrich": list(e), "median": m, "runs": runs} for e, m, runs in results]
        first = sets_json[0]
        document: dict[str, Any] = {"median": first["median"], "runs": first["runs"], "sets": sets_json}
        ratios = compare.ratios(first["median"], programs)
        document |= {**programs, "ratios": ratios, "startup_cpu_s": startup.cpu_s}
        args.json.write_text(json.dumps(document, indent=1))
    if problems:
        print("\nFAIL:")
        for p in problems:
            print(f"  - {p}")
        return 1
    enriched = "enrichments ok and matching the fake's data, " if args.enrichments else ""
    print(
        f"\nPASS: zero rows lost, all targets ok, {enriched}1 AssumeRole per account, "
        "per-account-region rate within limit (all services counted)"
    )
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} CPUs"
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs"


if __name__ == "__main__":
    sys.exit(main())
