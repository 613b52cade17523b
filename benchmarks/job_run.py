"""One measured run of the job against the fake (`python -m inventory run`, or `docker run` of the image), its
checks and its figures; and run.py's rounds of them, one run of each set of enrichments per round.

Checks: the job exits 0; its Parquet and status file match the population (output_checks.py); with
enrichments, every enriched value is what the fake serves (bench_enrich.py), and every estate table's row
(bench_estate.py); no account-region gets more than --max-rps-per-target requests in one second (with an estate
enrichment, more than the job's max_requests_per_second); every account is assumed exactly once.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench_enrich import check_enrichments, set_label
from bench_estate import check_estate, job_rate, rate_problems
from children import SUMMARY, ChildResult, child_env, container_command, inside_container, run_measured
from fake_estate_truth import ESTATE_NAMES
from fake_process import Fake
from job_report import SetResult, median_of
from output_checks import Population, check_output

_RETRIES = re.compile(r"(\d+) AssumeRole, (\d+) retries")


def one_run(
    args: argparse.Namespace,
    fake: Fake,
    *,
    config: Path,
    workdir: Path,
    index: int,
    population: Population,
    startup_cpu_s: float,
    enrich: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The job once, measured and checked: its figures, with `problems` (empty when every check passed)."""
    label = "-".join(enrich) or "none"
    output = workdir / (f"run{index}" if not args.enrich_matrix else f"run-{label}-{index}") / "inventory.parquet"
    output.parent.mkdir(parents=True, exist_ok=True)
    child, fake_cpu_before = _job(args, fake, config=config, output=output, enrich=enrich, workdir=workdir)
    stats = fake.get("/__stats")
    problems, facts = check_output(output, population)
    enrich_problems, enrich_facts = check_enrichments(output, enrich, args.seed)
    problems += enrich_problems
    estate_problems, estate_facts = check_estate(output, enrich, population, args.seed)
    problems += estate_problems
    if set(enrich) & set(ESTATE_NAMES):  # issue 20: the estate's calls within the job's own rate, not only 15
        problems += rate_problems(stats, job_rate(args.job_max_rps))
    if child.returncode != 0:
        tail = " | ".join(child.stderr.strip().splitlines()[-3:])
        problems.insert(0, f"job exited {child.returncode}: {tail}")
    problems += fake_problems(stats, args.max_rps_per_target)
    calls = stats["requests_total"]
    return {
        "run": index,
        **child_figures(child, calls, stats["total_functions"], startup_cpu_s),
        "calls": calls,
        "min_calls": stats["min_calls"] + sum(fake.enrichment_min_calls[name] for name in enrich),
        "enrich": list(enrich),
        "calls_by_op": stats["requests_by_op"],
        "enrichments": enrich_facts.get("enrichments"),
        "values_checked": enrich_facts.get("values_checked"),
        "estate_rows": estate_facts.get("estate_rows"),
        **fake_figures(stats, child, args.max_rps_per_target, fake_cpu_before),
        "rows": facts["rows"],
        "population": stats["total_functions"],
        "statuses": facts.get("statuses"),
        "problems": problems,
    }


def _job(
    args: argparse.Namespace, fake: Fake, *, config: Path, output: Path, enrich: tuple[str, ...], workdir: Path
) -> tuple[ChildResult, float]:
    """`run --config CONFIG --output OUTPUT --enrich ...` on the host or in the image, measured after the fake's
    stats are reset: (the child, the fake's CPU seconds before it)."""
    job = ["run", "--config", str(config), "--output", str(output), "--enrich", ",".join(enrich) or "none"]
    if args.max_workers is not None:
        job += ["--max-workers", str(args.max_workers)]
    env = child_env(fake.url)
    cmd = container_command(args, env, workdir, job) if args.container else [args.python, "-m", "inventory", *job]
    fake.reset()
    fake_cpu_before = fake.get("/__stats")["fake_cpu_s"]
    child = run_measured(cmd, env, output.parent, "job", args.timeout)
    return (inside_container(child) if args.container else child), fake_cpu_before


def fake_problems(stats: Mapping[str, Any], max_rps_per_target: int) -> list[str]:
    """The fake's counts against the limits: requests per second per account-region, AssumeRoles per account."""
    problems: list[str] = []
    max_rps = stats["max_peak_rps"]["rps"]
    if max_rps > max_rps_per_target:
        problems.append(
            f"{stats['max_peak_rps']['target']} got {max_rps} requests in one second (limit {max_rps_per_target})"
        )
    over = _over_limit(stats, max_rps_per_target)
    if over > 1:
        problems.append(f"{over} account-regions in all went over {max_rps_per_target} requests/s")
    if stats["assume_role_per_account_max"] != 1 or stats["assume_role_per_account_min"] != 1:
        problems.append(
            f"AssumeRole per account: min {stats['assume_role_per_account_min']}, "
            f"max {stats['assume_role_per_account_max']} (must be exactly 1)"
        )
    return problems


def _over_limit(stats: Mapping[str, Any], max_rps_per_target: int) -> int:
    return sum(1 for v in stats["peak_rps_by_target"].values() if v > max_rps_per_target)


def child_figures(child: ChildResult, calls: int, total: int, startup_cpu_s: float) -> dict[str, Any]:
    """The job's own figures: exit code, wall (and its summary's), CPU, CPU per call, functions/s, peak RSS."""
    reported = SUMMARY.search(child.stdout)
    return {
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
    }


def fake_figures(
    stats: Mapping[str, Any], child: ChildResult, max_rps_per_target: int, fake_cpu_before: float
) -> dict[str, Any]:
    """What the fake saw of the run: calls by kind, throttles, rates, concurrency, AssumeRoles, its own CPU."""
    retries = _RETRIES.search(child.stdout)
    return {
        "list_calls": stats["requests_by_op"].get("ListFunctions", 0),
        "assume_role_calls": stats["requests_by_op"].get("AssumeRole", 0),
        "throttles_served": stats["throttles_total"],
        "job_retries": int(retries.group(2)) if retries else None,
        "max_rps_per_target": stats["max_peak_rps"]["rps"],
        "max_rps_target": stats["max_peak_rps"]["target"],
        "targets_over_rps_limit": _over_limit(stats, max_rps_per_target),
        "max_concurrency_per_target": stats["max_peak_concurrency"]["in_flight"],
        "peak_in_flight": stats["peak_in_flight_overall"],
        "connections": stats["connections"],
        "assume_role_per_account_min": stats["assume_role_per_account_min"],
        "assume_role_per_account_max": stats["assume_role_per_account_max"],
        "fake_cpu_s": stats["fake_cpu_s"] - fake_cpu_before,
        "fake_lag_ms": stats["fake_lag_ms"],
        "last_target": stats["last_target"],
    }


def run_sets(args: argparse.Namespace, fake: Fake, sets: list[tuple[str, ...]], **where: Any) -> list[SetResult]:
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
