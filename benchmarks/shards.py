"""`run.py --shards 1,2,4 [--container IMAGE]`: the job as an array of N shards at once, as AWS Batch runs it.

For each N in the list, in turn, against the same fake: N children start together, child I with the variables
an AWS Batch array child of the hub stack gets (`AWS_BATCH_JOB_ARRAY_INDEX=I`, `LAMBDA_INVENTORY_SHARD_COUNT=N`;
N = 1 is the unsharded ECS task, no shard variables), all writing one partitioned layout
(`run --output DIR --partitioned`, DIR bind-mounted into the containers). With --container each child is
`docker run` of the image at --container-cpus / --container-memory (Fargate's smallest: 0.25 vCPU, 512 MiB),
its CPU and peak RSS read inside the container (run.py's inside_container); without it, a host process.
Then `lambda-inventory verify DIR --shards N` runs on the host.

Checks (any failure makes run.py exit 1): every child exits 0; verify exits 0 (and its marker's coverage is
the whole org); over the union of the shards' inventory files, rows == the population per account-region,
no ARN twice, no account's rows in two shards; over the union of the status files, every target exactly
once and `ok` with the right count; every account assumed exactly once (the fake's count); no account-region
above --max-rps-per-target requests in one second.

Figures per N: the array's wall (first child started to last child exited, `docker run` included), calls,
the fake's CPU; per child: its wall, CPU (user+sys), peak RSS, calls (its accounts' member calls and
AssumeRoles, from the fake's per-target counts) and account-regions per minute; and the speed-up, N=1's
array wall over N's, when N=1 ran in the same invocation.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from run import _SUMMARY, ChildResult, Fake, child_env, container_command, inside_container, run_measured
from shard_checks import (
    Population,
    check_fake_stats,
    check_rows,
    check_status,
    read_partition,
    shard_env,
    shard_names,
)

# ------------------------------------------------------------------------------------------ the array


@dataclass
class Child:
    name: str
    start_s: float  # from the array's first start
    end_s: float
    result: ChildResult


def launch(args: argparse.Namespace, fake: Fake, config: Path, root: Path, count: int) -> tuple[float, list[Child]]:
    """Start `count` children at once and wait for all: (array wall, children in shard order). The config and
    root must lie in the workdir, config.parent, which a container mounts at its own path."""
    job = ["run", "--config", str(config), "--output", str(root), "--partitioned", "--enrich", "none"]
    if args.max_workers is not None:
        job += ["--max-workers", str(args.max_workers)]
    cmds: list[tuple[list[str], dict[str, str]]] = []
    for index in range(count):
        env = {**child_env(fake.url), **shard_env(index, count)}
        host = [args.python, "-m", "inventory", *job]
        cmds.append((container_command(args, env, config.parent, job) if args.container else host, env))
    logs = root.parent
    times: list[tuple[float, float, ChildResult] | None] = [None] * count

    def child(index: int) -> None:
        cmd, env = cmds[index]
        started = time.perf_counter()
        result = run_measured(cmd, env, logs, f"child-{index}", args.timeout)
        times[index] = (started, time.perf_counter(), result)

    threads = [threading.Thread(target=child, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = [t for t in times if t is not None]
    first = min(t[0] for t in done)
    children = [
        Child(name, s - first, e - first, _usage_inside(r) if args.container else r)
        for name, (s, e, r) in zip(shard_names(count), done, strict=True)
    ]
    return max(t[1] for t in done) - first, children


def _usage_inside(result: ChildResult) -> ChildResult:
    try:
        return inside_container(result)
    except RuntimeError:  # the container never ran the job (its exit code says so): the docker client's usage
        return result


def run_verify(args: argparse.Namespace, root: Path, count: int) -> tuple[int, list[str], dict[str, Any] | None]:
    """`lambda-inventory verify ROOT --shards N` on the host: (exit code, its lines, the marker it wrote)."""
    cmd = [args.python, "-m", "inventory", "verify", str(root), "--shards", str(count), "--log-format", "text"]
    result = run_measured(cmd, child_env("http://127.0.0.1:9"), root.parent, f"verify-{count}", 300)
    lines = (result.stdout + result.stderr).strip().splitlines()
    markers = list(root.glob("_manifests/snapshot_date=*/_COMPLETE.json"))
    marker = json.loads(markers[0].read_text()) if len(markers) == 1 else None
    return result.returncode, lines, marker


def child_figures(child: Child, status: pa.Table | None, stats: Mapping[str, Any]) -> dict[str, Any]:
    """One child's figures; its calls are its targets' member calls and its accounts' AssumeRoles."""
    rows = status.select(["account_id", "region"]).to_pylist() if status is not None else []
    accounts = {row["account_id"] for row in rows}
    by_target: Mapping[str, int] = stats["requests_by_target"]
    assumed: Mapping[str, int] = stats["assume_role_by_account"]
    calls = sum(by_target.get(f"{r['account_id']}/{r['region']}", 0) for r in rows)
    calls += sum(assumed.get(a, 0) for a in accounts)
    result = child.result
    return {
        "shard": child.name,
        "returncode": result.returncode,
        "start_s": child.start_s,
        "end_s": child.end_s,
        "wall_s": result.wall_s,
        "job_reported_s": float(found.group(1)) if (found := _SUMMARY.search(result.stdout)) else None,
        "cpu_s": result.cpu_s,
        "cpu_user_s": result.cpu_user_s,
        "cpu_sys_s": result.cpu_sys_s,
        "peak_rss_mib": result.maxrss_mib,
        "accounts": len(accounts),
        "targets": len(rows),
        "calls": calls,
        "cpu_per_call_ms": 1000 * result.cpu_s / calls if calls else None,
        "targets_per_min": 60 * len(rows) / result.wall_s if result.wall_s else None,
    }


def one_array(
    args: argparse.Namespace, fake: Fake, *, config: Path, workdir: Path, population: Population, count: int
) -> dict[str, Any]:
    """Run an array of `count` children into a fresh partitioned layout, check it, verify it: its figures."""
    root = workdir / f"shards-{count}" / "dataset"  # not "inventory": the cwd of `python -m inventory`
    if root.parent.exists():
        raise SystemExit(f"{root.parent} exists: give a fresh --workdir")
    root.mkdir(parents=True)
    fake.reset()
    fake_cpu_before = fake.get("/__stats")["fake_cpu_s"]
    wall, children = launch(args, fake, config, root, count)
    stats = fake.get("/__stats")
    problems = [
        f"{c.name} exited {c.result.returncode}: {' | '.join(c.result.stderr.strip().splitlines()[-2:])}"
        for c in children
        if c.result.returncode != 0
    ]
    part = read_partition(root, count)
    problems += part.problems + check_rows(part.inventory, population) + check_status(part.status, population)
    problems += check_fake_stats(stats, len(population), args.max_rps_per_target)
    verify_rc, verify_lines, marker = run_verify(args, root, count)
    coverage = (marker or {}).get("coverage", {})
    if verify_rc != 0:
        problems.append(f"verify exited {verify_rc}: {' | '.join(verify_lines[-3:])}")
    elif (coverage.get("accounts"), coverage.get("functions")) != (len(population), stats["total_functions"]):
        problems.append(f"verify's marker covers {coverage}, not the org")
    return {
        "shards": count,
        "array_wall_s": wall,
        "calls": stats["requests_total"],
        "min_calls": stats["min_calls"],
        "cpu_s": sum(c.result.cpu_s for c in children),
        "fake_cpu_s": stats["fake_cpu_s"] - fake_cpu_before,
        "fake_lag_ms": stats["fake_lag_ms"],
        "max_rps_per_target": stats["max_peak_rps"]["rps"],
        "snapshot_date": part.day.isoformat() if part.day else None,
        "rows": sum(t.num_rows for t in part.inventory.values()),
        "population": stats["total_functions"],
        "verify_returncode": verify_rc,
        "verify": verify_lines,
        "children": [child_figures(c, part.status.get(c.name), stats) for c in children],
        "problems": problems,
    }


def render(args: argparse.Namespace, arrays: list[dict[str, Any]]) -> str:
    """The arrays' table (speed-up: N=1's array wall over N's, both from this invocation) and each child."""
    first = arrays[0]
    how = (
        f"docker run {args.container} --cpus {args.container_cpus} --memory {args.container_memory}"
        if args.container
        else "host processes"
    )
    one = next((a["array_wall_s"] for a in arrays if a["shards"] == 1), None)
    lines = [
        "",
        f"lambda-inventory shards - {args.accounts} accounts x {args.regions} regions, {first['population']:,} "
        f"functions, latency {args.latency_ms:g}+-{args.jitter_ms:g} ms; each child: {how}, "
        "AWS_BATCH_JOB_ARRAY_INDEX + LAMBDA_INVENTORY_SHARD_COUNT, one partitioned layout, then verify",
        "   N  array wall s  speed-up vs N=1   calls / minimum  CPU s, all  max peak RSS MiB  fake CPU s  verify",
    ]
    for a in arrays:
        speed = f"{one / a['array_wall_s']:8.2f}x" if one else "       -"
        rss = max(c["peak_rss_mib"] for c in a["children"])
        lines.append(
            f"{a['shards']:4d}  {a['array_wall_s']:12.1f}  {speed:>15}  {a['calls']:7d} / {a['min_calls']:<7d}"
            f"  {a['cpu_s']:10.1f}  {rss:16.1f}  {a['fake_cpu_s']:10.1f}  exit {a['verify_returncode']}"
        )
    lines.append(
        "   N  child          start s  wall s (job's own)  CPU s (user+sys)  peak RSS MiB  accounts  targets   calls"
        "  CPU ms/call  targets/min"
    )
    for a in arrays:
        for c in a["children"]:
            per_call = f"{c['cpu_per_call_ms']:.2f}" if c["cpu_per_call_ms"] else "-"
            rate = f"{c['targets_per_min']:.0f}" if c["targets_per_min"] else "-"
            lines.append(
                f"{a['shards']:4d}  {c['shard']:<13}  {c['start_s']:7.1f}  {c['wall_s']:6.1f} "
                f"({c['job_reported_s'] or 0:7.1f})  "
                f"{c['cpu_s']:7.1f} ({c['cpu_user_s']:.1f}+{c['cpu_sys_s']:.1f})  {c['peak_rss_mib']:12.1f}  "
                f"{c['accounts']:8d}  {c['targets']:7d}  {c['calls']:6d}  {per_call:>11}  {rate:>11}"
            )
    return "\n".join(lines)


def run_arrays(
    args: argparse.Namespace, fake: Fake, *, config: Path, workdir: Path, population: Population, cpu_model: str
) -> int:
    """run.py's --shards: each count in turn; prints the table; 1 if any check failed."""
    arrays: list[dict[str, Any]] = []
    for count in args.shards:
        result = one_array(args, fake, config=config, workdir=workdir, population=population, count=count)
        arrays.append(result)
        print(
            f"N={count}: array wall {result['array_wall_s']:.1f} s, {result['calls']} calls, {result['rows']} rows, "
            f"verify exit {result['verify_returncode']}; "
            f"{'OK' if not result['problems'] else 'PROBLEMS: ' + '; '.join(result['problems'])}",
            flush=True,
        )
    print(render(args, arrays))
    print(f"  (measured in this invocation on {cpu_model})")
    if args.json:
        args.json.write_text(json.dumps({"arrays": arrays, "cpu_model": cpu_model}, indent=1))
    problems = [f"N={a['shards']}: {p}" for a in arrays for p in a["problems"]]
    if problems:
        print("\nFAIL:")
        print("\n".join(f"  - {p}" for p in problems))
        return 1
    print(
        "\nPASS: every shard count verified complete; zero rows lost or duplicated over the union of the shards; "
        "all targets ok; no account in two shards; 1 AssumeRole per account"
    )
    return 0
