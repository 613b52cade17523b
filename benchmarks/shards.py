"""`run.py --shards 1,2,4 [--container IMAGE]`: the job as an array of N shards at once, as AWS Batch runs it.

For each N in the list, in turn, against the same fake: N children start together, child I with the variables
an AWS Batch array child of the hub stack gets (`AWS_BATCH_JOB_ID=RUN:I`, `AWS_BATCH_JOB_ARRAY_INDEX=I`,
`LAMBDA_INVENTORY_SHARD_COUNT=N`, so all N share the run id RUN; N = 1 is the unsharded ECS task: no shard
variables, `LAMBDA_INVENTORY_RUN_ID=RUN`), all committing into one fresh local lake (`run --output LAKE --lake`:
Iceberg tables, an embedded sqlite catalog; LAKE in the workdir, bind-mounted into the containers at its own
path). With --container each child is `docker run` of the image at --container-cpus / --container-memory
(Fargate's smallest: 0.25 vCPU, 512 MiB), its CPU and peak RSS read inside the container (children.py's
inside_container); without it, a host process. Then `lambda-inventory verify LAKE --run-id RUN --shards N` runs
(on the host, or in the image with --container, as the stack's verify job does).

The lake's four tables are created before the children start (as on every night but the first); with
--fresh-lake the children create them, all at once (the first night).

Then, unless --no-overlap, two runs of the largest N (two run ids, 2N children) start together into one more
fresh lake, so their commits race: each run must hold every function exactly once.

Checks (any failure makes run.py exit 1), per run, reading the lake by the run id (shard_checks.read_run):
every child exits 0; one committed record per shard 0..N-1; no functions or targets row of the run id from a
write without a committed record; over the union of the shards' functions rows, rows == the population per
account-region, no ARN twice, no account's rows in two shards; over the union of the targets rows, every
target exactly once and `ok` with the right count; verify exits 0 and its verifications row says `complete`
with the org's functions, targets and N shards; every account assumed exactly once per run (the fake's count);
for the arrays alone, no account-region above --max-rps-per-target requests in one second (two overlapping
runs pace themselves independently, so that limit is not theirs).

Figures per N: the array's wall (first child started to last child exited, `docker run` included), calls,
the fake's CPU; per child: its wall, CPU (user+sys), peak RSS, calls (its accounts' member calls and
AssumeRoles, from the fake's per-target counts) and account-regions per minute; and the speed-up, N=1's
array wall over N's, when N=1 ran in the same invocation.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from children import ChildResult, child_env, container_command, inside_container, run_measured
from fake_process import Fake
from shard_checks import (
    LakeRun,
    Population,
    check_fake_stats,
    check_rows,
    check_status,
    read_run,
    shard_env,
    shard_names,
    verdicts,
)
from shard_report import child_figures, report

from inventory.contract.lake import lake_at

# ------------------------------------------------------------------------------------------ the array


@dataclass(frozen=True)
class Run:
    """One run of the invocation: its id (shared by its shards), its shard count, and a label for the logs."""

    label: str
    run_id: str
    count: int


@dataclass
class Child:
    name: str
    start_s: float  # from the launch's first start
    end_s: float
    result: ChildResult


def new_run(label: str, count: int) -> Run:
    """A run with a fresh id, as AWS Batch gives an array job (a UUID)."""
    return Run(label, str(uuid.uuid4()), count)


def launch(
    args: argparse.Namespace, fake: Fake, config: Path, lake: Path, runs: list[Run]
) -> tuple[float, list[list[Child]]]:
    """Start every child of `runs` at once and wait for all: (wall, each run's children in shard order). The
    config and lake must lie in the workdir, config.parent, which a container mounts at its own path."""
    job = ["run", "--config", str(config), "--output", str(lake), "--lake", "--enrich", "none"]
    if args.max_workers is not None:
        job += ["--max-workers", str(args.max_workers)]
    starts: list[tuple[Run, int, list[str], dict[str, str]]] = []
    for run in runs:
        for index in range(run.count):
            env = {**child_env(fake.url), **shard_env(index, run.count, run.run_id)}
            host = [args.python, "-m", "inventory", *job]
            starts.append(
                (run, index, container_command(args, env, config.parent, job) if args.container else host, env)
            )
    logs = lake.parent
    times: list[tuple[float, float, ChildResult] | None] = [None] * len(starts)

    def child(i: int) -> None:
        run, index, cmd, env = starts[i]
        started = time.perf_counter()
        result = run_measured(cmd, env, logs, f"{run.label}-child-{index}", args.timeout)
        times[i] = (started, time.perf_counter(), result)

    threads = [threading.Thread(target=child, args=(i,)) for i in range(len(starts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = [t for t in times if t is not None]
    first = min(t[0] for t in done)
    by_run: dict[str, list[Child]] = {run.run_id: [] for run in runs}
    for (run, index, _, _), (s, e, r) in zip(starts, done, strict=True):
        name = shard_names(run.count)[index]
        by_run[run.run_id].append(Child(name, s - first, e - first, _usage_inside(r) if args.container else r))
    return max(t[1] for t in done) - first, [by_run[run.run_id] for run in runs]


def _usage_inside(result: ChildResult) -> ChildResult:
    try:
        return inside_container(result)
    except RuntimeError:  # the container never ran the job (its exit code says so): the docker client's usage
        return result


def run_verify(args: argparse.Namespace, config: Path, lake: Path, run: Run) -> tuple[int, list[str]]:
    """`lambda-inventory verify LAKE --run-id RUN --shards N`: (exit code, its lines). On the host, or with
    --container in the image (as the stack's verify job), so it can write beside the children's files."""
    verify = ["verify", str(lake), "--run-id", run.run_id, "--shards", str(run.count), "--log-format", "text"]
    env = child_env("http://127.0.0.1:9")
    cmd = (
        container_command(args, env, config.parent, verify)
        if args.container
        else [args.python, "-m", "inventory", *verify]
    )
    result = run_measured(cmd, env, lake.parent, f"{run.label}-verify", 300)
    lines = [line for line in (result.stdout + result.stderr).strip().splitlines() if "container-rusage" not in line]
    return result.returncode, lines


def check_verdict(rows: list[dict[str, Any]], run: Run, population: Population) -> list[str]:
    """The verifications row verify committed: one, `complete`, covering the org's targets and functions with
    every shard."""
    if len(rows) != 1:
        return [f"run {run.run_id}: {len(rows)} verifications rows, expected 1"]
    row = rows[0]
    expected = {
        "verdict": "complete",
        "functions": sum(sum(regions.values()) for regions in population.values()),
        "targets": sum(len(regions) for regions in population.values()),
        "shards_found": run.count,
        "shards_expected": run.count,
    }
    wrong = {k: row.get(k) for k, v in expected.items() if row.get(k) != v}
    return [f"run {run.run_id}: its verification says {wrong}, expected {expected}"] if wrong else []


def check_run(
    args: argparse.Namespace,
    *,
    config: Path,
    lake: Path,
    run: Run,
    children: list[Child],
    population: Population,
) -> tuple[LakeRun, int, list[str], list[str]]:
    """One run's checks (the lake read by its run id, then verify): (what it holds, verify's exit code, its
    lines, the problems)."""
    problems = [
        f"{c.name} exited {c.result.returncode}: {' | '.join(c.result.stderr.strip().splitlines()[-2:])}"
        for c in children
        if c.result.returncode != 0
    ]
    held = read_run(lake_at(str(lake)), run.run_id, run.count)
    problems += held.problems + check_rows(held.inventory, population) + check_status(held.status, population)
    verify_rc, verify_lines = run_verify(args, config, lake, run)
    if verify_rc != 0:
        problems.append(f"verify exited {verify_rc}: {' | '.join(verify_lines[-3:])}")
    problems += check_verdict(verdicts(lake_at(str(lake)), run.run_id), run, population)
    return held, verify_rc, verify_lines, problems


def _fresh(args: argparse.Namespace, base: Path) -> Path:
    """A fresh lake directory under base (not named "inventory": base is the cwd of `python -m inventory`).

    Its tables are created here first (the package's writers.lake.open_tables, what a run does when it opens
    the lake), as they are on every night but the first; with --fresh-lake the children create them, all at
    once, as on the first night. For containers (uid 10001) the catalog file is made writable by all."""
    if base.exists():
        raise SystemExit(f"{base} exists: give a fresh --workdir")
    lake = base / "lake"
    lake.mkdir(parents=True)
    if not args.fresh_lake:
        from inventory.writers.lake import open_tables  # noqa: PLC0415 - pyiceberg only where a lake is made

        open_tables(lake_at(str(lake)))
        if args.container:
            for path in lake.rglob("*"):
                path.chmod(0o777 if path.is_dir() else 0o666)
    return lake


def one_array(
    args: argparse.Namespace, fake: Fake, *, config: Path, workdir: Path, population: Population, count: int
) -> dict[str, Any]:
    """Run an array of `count` children (one run id) into a fresh lake, check the run, verify it: its figures."""
    lake = _fresh(args, workdir / f"shards-{count}")
    run = new_run(f"n{count}", count)
    fake.reset()
    fake_cpu_before = fake.get("/__stats")["fake_cpu_s"]
    wall, (children,) = launch(args, fake, config, lake, [run])
    stats = fake.get("/__stats")
    held, verify_rc, verify_lines, problems = check_run(
        args, config=config, lake=lake, run=run, children=children, population=population
    )
    problems += check_fake_stats(stats, len(population), args.max_rps_per_target)
    return {
        "shards": count,
        "run_id": run.run_id,
        "lake": str(lake),
        "array_wall_s": wall,
        "calls": stats["requests_total"],
        "min_calls": stats["min_calls"],
        "cpu_s": sum(c.result.cpu_s for c in children),
        "fake_cpu_s": stats["fake_cpu_s"] - fake_cpu_before,
        "fake_lag_ms": stats["fake_lag_ms"],
        "max_rps_per_target": stats["max_peak_rps"]["rps"],
        "snapshot_date": held.day.isoformat() if held.day else None,
        "rows": sum(t.num_rows for t in held.inventory.values()),
        "population": stats["total_functions"],
        "verify_returncode": verify_rc,
        "verify": verify_lines,
        "children": [child_figures(c, held.status.get(c.name), stats) for c in children],
        "problems": problems,
    }


def overlap(
    args: argparse.Namespace, fake: Fake, *, config: Path, workdir: Path, population: Population, count: int
) -> dict[str, Any]:
    """Two runs (two run ids) of `count` shards each, all 2 x count children at once into one fresh lake, so
    their commits race; each run is checked and verified on its own: every function exactly once per run."""
    lake = _fresh(args, workdir / "overlap")
    runs = [new_run("overlap-a", count), new_run("overlap-b", count)]
    fake.reset()
    wall, children = launch(args, fake, config, lake, runs)
    stats = fake.get("/__stats")
    problems = check_fake_stats(stats, len(population), None, runs=len(runs))
    figures = []
    for run, kids in zip(runs, children, strict=True):
        held, verify_rc, _, found = check_run(
            args, config=config, lake=lake, run=run, children=kids, population=population
        )
        problems += found
        figures.append(
            {
                "label": run.label,
                "run_id": run.run_id,
                "shards": count,
                "wall_s": max(c.end_s for c in kids) - min(c.start_s for c in kids),
                "cpu_s": sum(c.result.cpu_s for c in kids),
                "max_peak_rss_mib": max(c.result.maxrss_mib for c in kids),
                "ends_s": [round(c.end_s, 2) for c in kids],
                "rows": sum(t.num_rows for t in held.inventory.values()),
                "records": held.records,
                "verify_returncode": verify_rc,
            }
        )
    return {
        "shards": count,
        "lake": str(lake),
        "wall_s": wall,
        "calls": stats["requests_total"],
        "population": stats["total_functions"],
        "runs": figures,
        "problems": problems,
    }


def run_arrays(
    args: argparse.Namespace, fake: Fake, *, config: Path, workdir: Path, population: Population, cpu_model: str
) -> int:
    """run.py's --shards: each count in turn, then the overlapping runs; prints the table; 1 if a check failed."""
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
    both = (
        overlap(args, fake, config=config, workdir=workdir, population=population, count=max(args.shards))
        if args.overlap
        else None
    )
    if both:
        rows = ", ".join(f"{r['rows']}" for r in both["runs"])
        print(
            f"overlap: 2 runs x {both['shards']} shard(s), wall {both['wall_s']:.1f} s, rows {rows}; "
            f"{'OK' if not both['problems'] else 'PROBLEMS: ' + '; '.join(both['problems'])}",
            flush=True,
        )
    return report(args, arrays, both, cpu_model)
