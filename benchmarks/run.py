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

The pieces: run_args.py (the flags), job_run.py (one measured run and its checks), job_report.py (the report),
children.py (how every child is measured), fake_process.py (the fake's process), compare.py, shards.py, sinks.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import compare
from children import ChildResult, child_env, cpu_model, run_measured
from fake_process import Fake, write_config
from job_report import SetResult, report
from job_run import run_sets
from output_checks import Population
from run_args import enrichment_sets, parse_args
from shards import run_arrays
from sinks import run_compare


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="lambda-inventory-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    fake = Fake(args, workdir)
    try:
        population: Population = fake.get("/__population")
        config = _prepare(args, fake, workdir, population)
        startup = run_measured(
            [args.python, "-m", "inventory", "--version"], child_env(fake.url), workdir, "startup", 120
        )
        if args.shards:
            return run_arrays(args, fake, config=config, workdir=workdir, population=population, cpu_model=cpu_model())
        if args.sink_compare:
            return run_compare(args, fake, config=config, workdir=workdir, population=population, cpu_model=cpu_model())
        results, programs = _measure(args, fake, config, workdir, population=population, startup=startup)
    finally:
        fake.stop()
    return report(args, results, programs, startup, cpu_model())


def _prepare(args: argparse.Namespace, fake: Fake, workdir: Path, population: Population) -> Path:
    """The job's accounts file for the fake's population (its path); prints what the fake serves."""
    fake_stats = fake.get("/__stats")
    config = workdir / "accounts.yaml"
    write_config(config, population, fake_stats["regions"], args.job_max_rps)
    print(
        f"fake AWS at {fake.url}: {fake_stats['accounts']} accounts x {len(fake_stats['regions'])} regions, "
        f"{fake_stats['total_functions']:,} functions (~{fake_stats['bytes_per_function']:.0f} B each), "
        f"minimum {fake_stats['min_calls']:,} calls; workdir {workdir}",
        flush=True,
    )
    return config


def _measure(
    args: argparse.Namespace, fake: Fake, config: Path, workdir: Path, *, population: Population, startup: ChildResult
) -> tuple[list[SetResult], dict[str, dict[str, Any] | None]]:
    """The job's runs of every set, then the reference and the baseline."""
    where = {"config": config, "workdir": workdir, "population": population, "startup_cpu_s": startup.cpu_s}
    results = run_sets(args, fake, enrichment_sets(args), **where)
    env = child_env(fake.url)

    def measure(cmd: list[str], name: str) -> ChildResult:  # the reference and baseline, measured as the job
        return run_measured(cmd, env, workdir, name, args.timeout)

    return results, compare.run_programs(args, fake, measure, config, population)


if __name__ == "__main__":
    sys.exit(main())
