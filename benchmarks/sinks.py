"""`run.py --sink-compare`: what writing the lake costs next to writing one Parquet file, as ratios measured in
one invocation against the same fake.

The job runs --runs rounds, each round once to a single Parquet file (`run --output DIR/inventory.parquet`) and
once to a fresh local lake (`run --output DIR/lake --lake --run-id ID`: Iceberg tables, an embedded sqlite
catalog, created by this run), in that order, each a child process measured as every job run is (children.py's
run_measured: wall from start to exit, user+sys CPU and peak RSS of the child alone, by os.wait4).

Checks (any failure makes run.py exit 1): each child exits 0; the file's rows, and the lake's rows of the run
id (every functions row carrying it, shard_checks.read_run), match the population per account-region with no
ARN twice; every status (targets) row `ok` with the right count; the lake holds exactly one committed record
for the run and no row from a write without one; every account assumed exactly once; no account-region above
--max-rps-per-target requests in one second.

Figures: per sink the medians of wall, CPU, peak RSS, and the "tail" (from the job's last progress line,
logged when the last target finished, to its exit: closing the file, or the lake's three commits, then the
summary); the ratios lake / file of the median CPU and wall, and the lake's peak RSS, each against its target
(<= 1.3x, <= 400 MiB). A target not met is reported, not failed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from children import SUMMARY, ChildResult, child_env, run_measured
from fake_process import Fake
from output_checks import Population, check_output, check_status_rows, check_table
from shard_checks import check_fake_stats, read_run

from inventory.contract.lake import lake_at

SINKS = ("file", "lake")
RATIO_TARGET = 1.3  # lake / file, for CPU and wall
RSS_TARGET_MIB = 400.0  # the lake's peak RSS


def one_sink(
    args: argparse.Namespace, fake: Fake, *, config: Path, workdir: Path, population: Population, sink: str, index: int
) -> dict[str, Any]:
    """One measured run of the job into `sink` ("file" or "lake"), checked: its figures."""
    base = workdir / f"sink-{sink}-{index}"
    if base.exists():
        raise SystemExit(f"{base} exists: give a fresh --workdir")
    base.mkdir(parents=True)
    run_id = str(uuid.uuid4())
    target = base / ("inventory.parquet" if sink == "file" else "lake")
    fake.reset()
    started = time.time()
    child = _job(args, fake, config, target, run_id if sink == "lake" else None)
    stats = fake.get("/__stats")
    problems = [] if child.returncode == 0 else [f"{sink}: job exited {child.returncode}: {_tail(child.stderr)}"]
    if sink == "file":
        wrong, facts = check_output(target, population)
    else:
        wrong, facts = check_lake(target, run_id, population)
    problems += [f"{sink}: {p}" for p in wrong + check_fake_stats(stats, len(population), args.max_rps_per_target)]
    done = _last_target_done(child.stderr)
    return {
        "sink": sink,
        "run": index,
        "output": str(target),
        "run_id": run_id if sink == "lake" else None,
        **_child_figures(child, started, done),
        "calls": stats["requests_total"],
        "population": stats["total_functions"],
        "rows": facts.get("rows", 0),
        "bytes_written": _bytes(target),
        "problems": problems,
    }


def _job(args: argparse.Namespace, fake: Fake, config: Path, target: Path, run_id: str | None) -> ChildResult:
    """`run --output TARGET` (with `--lake --run-id ID` for the lake) as a host process, measured."""
    job = ["run", "--config", str(config), "--output", str(target), "--enrich", "none", "--log-format", "json"]
    if run_id is not None:
        job += ["--lake", "--run-id", run_id]
    if args.max_workers is not None:
        job += ["--max-workers", str(args.max_workers)]
    return run_measured([args.python, "-m", "inventory", *job], child_env(fake.url), target.parent, "job", args.timeout)


def _child_figures(child: ChildResult, started: float, done: float | None) -> dict[str, Any]:
    """The child's exit code, wall (and its summary's), tail, CPU and peak RSS."""
    return {
        "returncode": child.returncode,
        "wall_s": child.wall_s,
        "job_reported_s": float(found.group(1)) if (found := SUMMARY.search(child.stdout)) else None,
        "tail_s": started + child.wall_s - done if done else None,
        "cpu_s": child.cpu_s,
        "cpu_user_s": child.cpu_user_s,
        "cpu_sys_s": child.cpu_sys_s,
        "peak_rss_mib": child.maxrss_mib,
    }


def check_lake(lake: Path, run_id: str, population: Population) -> tuple[list[str], dict[str, Any]]:
    """The lake's rows of `run_id` (every row carrying it) against the population, as check_output checks a
    file: (problems, facts)."""
    import pyarrow as pa  # noqa: PLC0415 - only the checker needs pyarrow

    held = read_run(lake_at(str(lake)), run_id, 1)
    if not held.inventory:
        return [*held.problems, "no functions rows of the run"], {"rows": 0}
    table = pa.concat_tables(held.inventory.values()).select(["account_id", "region", "function_arn"])
    problems, facts = check_table(table, population)
    status = pa.concat_tables(held.status.values()).to_pylist() if held.status else []
    found, statuses = check_status_rows(status, population)
    return held.problems + problems + found, {**facts, "statuses": statuses, "records": held.records}


def _last_target_done(stderr: str) -> float | None:
    """When the job logged its last progress line (done == total): the last target finished (epoch s)."""
    last = None
    for line in stderr.splitlines():
        if '"inventory.progress"' not in line:
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if doc.get("done") is not None and doc.get("done") == doc.get("total"):
            last = datetime.fromisoformat(doc["time"]).timestamp()
    return last


def _bytes(target: Path) -> int:
    """What the sink left on disk: the file with its status file and manifest, or the lake's directory."""
    if target.is_dir():
        return sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
    return sum(f.stat().st_size for f in target.parent.glob(f"{target.stem}.*") if f.is_file())


def _tail(text: str) -> str:
    return " | ".join(text.strip().splitlines()[-2:])


_FIGURES = ("wall_s", "job_reported_s", "tail_s", "cpu_s", "cpu_user_s", "cpu_sys_s", "peak_rss_mib", "bytes_written")


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the runs of one sink (peak RSS: the largest, a limit)."""
    out = dict(runs[0])
    for key in _FIGURES:
        values = [r[key] for r in runs if r[key] is not None]
        out[key] = statistics.median(values) if values else None
    out["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
    return out


def ratios(file: dict[str, Any], lake: dict[str, Any]) -> dict[str, Any]:
    """lake / file for CPU and wall, the lake's peak RSS, and whether each meets its target."""
    cpu = lake["cpu_s"] / file["cpu_s"]
    wall = lake["wall_s"] / file["wall_s"]
    return {
        "cpu_lake_over_file": cpu,
        "wall_lake_over_file": wall,
        "lake_peak_rss_mib": lake["peak_rss_mib"],
        "cpu_met": cpu <= RATIO_TARGET,
        "wall_met": wall <= RATIO_TARGET,
        "rss_met": lake["peak_rss_mib"] <= RSS_TARGET_MIB,
    }


def render(args: argparse.Namespace, m: dict[str, dict[str, Any]], r: dict[str, Any], cpu_model: str) -> str:
    file, lake = m["file"], m["lake"]
    label = f"median of {args.runs} runs each, alternating" if args.runs > 1 else "1 run each"

    def verdict(met: bool) -> str:
        return "PASS" if met else "FAIL"

    lines = [
        "",
        f"sink comparison - {args.accounts} accounts x {args.regions} regions, {file['population']:,} functions, "
        f"latency {args.latency_ms:g}+-{args.jitter_ms:g} ms ({label}; file = run --output DIR/inventory.parquet, "
        "lake = run --output DIR --lake, a fresh embedded catalog)",
        f"ratios, measured in this invocation against the same fake ({cpu_model})",
        f"  CPU, lake / file     {r['cpu_lake_over_file']:6.2f}x   (target <= {RATIO_TARGET}x: "
        f"{verdict(r['cpu_met'])}; lake {lake['cpu_s']:.1f} s / file {file['cpu_s']:.1f} s)",
        f"  wall, lake / file    {r['wall_lake_over_file']:6.2f}x   (target <= {RATIO_TARGET}x: "
        f"{verdict(r['wall_met'])}; lake {lake['wall_s']:.1f} s / file {file['wall_s']:.1f} s)",
        f"  lake peak RSS        {lake['peak_rss_mib']:6.0f} MiB (target <= {RSS_TARGET_MIB:.0f} MiB: "
        f"{verdict(r['rss_met'])}; file {file['peak_rss_mib']:.0f} MiB)",
        "  sink  wall s (job's own)  CPU s (user+sys)   peak RSS MiB  tail s  rows        MiB written",
    ]
    for name in SINKS:
        s = m[name]
        tail = f"{s['tail_s']:6.2f}" if s["tail_s"] is not None else "     -"
        lines.append(
            f"  {name:<4}  {s['wall_s']:6.1f} ({s['job_reported_s'] or 0:6.1f})  {s['cpu_s']:6.1f} "
            f"({s['cpu_user_s']:.1f}+{s['cpu_sys_s']:.1f})  {s['peak_rss_mib']:12.0f}  {tail}  {s['rows']:<10,d}  "
            f"{s['bytes_written'] / 2**20:10.1f}"
        )
    if len(per_round := r.get("per_round", [])) > 1:
        cpu = ", ".join(f"{x['cpu']:.2f}" for x in per_round)
        wall = ", ".join(f"{x['wall']:.2f}" for x in per_round)
        lines.append(f"  per round, lake / file: CPU {cpu}; wall {wall}")
    lines.append(
        "  (tail: from the job's last progress line, when its last target finished, to its exit: the file's close, "
        "or the lake's three commits, then the summary)"
    )
    return "\n".join(lines)


def run_compare(
    args: argparse.Namespace, fake: Fake, *, config: Path, workdir: Path, population: Population, cpu_model: str
) -> int:
    """run.py's --sink-compare: --runs rounds of file then lake; prints the ratios; 1 if a check failed."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SINKS}
    for index in range(1, args.runs + 1):
        for sink in SINKS:
            result = one_sink(args, fake, config=config, workdir=workdir, population=population, sink=sink, index=index)
            runs[sink].append(result)
            print(
                f"run {index} ({sink}): wall {result['wall_s']:.1f} s, CPU {result['cpu_s']:.1f} s, peak RSS "
                f"{result['peak_rss_mib']:.0f} MiB, {result['rows']} rows; "
                f"{'OK' if not result['problems'] else 'PROBLEMS: ' + '; '.join(result['problems'])}",
                flush=True,
            )
    m = {name: medians(done) for name, done in runs.items()}
    r = ratios(m["file"], m["lake"])
    r["per_round"] = [
        {"cpu": lake["cpu_s"] / file["cpu_s"], "wall": lake["wall_s"] / file["wall_s"]}
        for file, lake in zip(runs["file"], runs["lake"], strict=True)
    ]
    print(render(args, m, r, cpu_model))
    if args.json:
        args.json.write_text(json.dumps({"ratios": r, "median": m, "runs": runs, "cpu_model": cpu_model}, indent=1))
    problems = [p for done in runs.values() for result in done for p in result["problems"]]
    if problems:
        print("\nFAIL:")
        print("\n".join(f"  - {p}" for p in problems))
        return 1
    print(
        "\nPASS: both sinks hold every function once (the lake: the run's rows), all targets ok, "
        "1 AssumeRole per account"
    )
    return 0
