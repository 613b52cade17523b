"""run.py's flags (README.md lists them) and the sets of enrichments they ask for."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench_enrich import parse_names
from bench_estate import ESTATE_MATRIX
from shard_checks import parse_counts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The flags; args.enrichments is True when any run asks for an enrichment."""
    p = argparse.ArgumentParser(description="Benchmark the lambda-inventory job against a fake AWS.")
    _fake_flags(p)
    _run_flags(p)
    _enrich_flags(p)
    _where_flags(p)
    _mode_flags(p)
    args = p.parse_args(argv)
    if args.estate_matrix:
        if args.enrich_matrix:
            p.error("--estate-matrix is a preset of --enrich-matrix: give one of them")
        args.enrich_matrix = args.estate_matrix
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


def _fake_flags(p: argparse.ArgumentParser) -> None:
    """The organisation and how the fake answers."""
    p.add_argument("--accounts", type=int, default=300)
    p.add_argument("--regions", type=int, default=17)
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--jitter-ms", type=float, default=10.0)
    p.add_argument("--throttle-rate", type=float, default=0.0)
    p.add_argument("--enforce-rps", type=int, default=0, help="make the fake throttle above N req/s per acct-region")
    p.add_argument("--total-functions", type=int, default=None, help="default: ~12.75 per account-region")
    p.add_argument("--seed", type=int, default=1)


def _run_flags(p: argparse.ArgumentParser) -> None:
    """How often the job runs, with what, and what it is compared with."""
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


def _enrich_flags(p: argparse.ArgumentParser) -> None:
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
        "--estate-matrix",
        nargs="?",
        const=ESTATE_MATRIX,
        default=None,
        metavar="SETS",
        help="--enrich-matrix with the estate's sets (issue 20): none, each estate enrichment alone, and the "
        "per-account-region tables together (event_source_mappings+layers+code_signing), and without code_signing; "
        "prints the first's wall ratio against the 1.3x target",
    )
    p.add_argument(
        "--estate-page-items",
        type=int,
        default=None,
        help="the fake pages every estate list past this many items (default: each operation's own cap, 50 or 100)",
    )
    p.add_argument(
        "--metric-points-per-page",
        type=int,
        default=None,
        help="the fake pages GetMetricData past this many datapoints (default: CloudWatch's 100,800)",
    )


def _where_flags(p: argparse.ArgumentParser) -> None:
    """Where the children run and what they leave."""
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds before a child is killed")
    p.add_argument("--workdir", type=Path, default=None, help="keep configs, outputs and logs here")
    p.add_argument("--json", type=Path, default=None, help="also write every figure here")
    p.add_argument("--python", default=sys.executable, help="interpreter with the project installed")
    p.add_argument("--container", default=None, metavar="IMAGE", help="run the job in this image (needs docker)")
    p.add_argument("--container-cpus", default="0.25", help="--cpus for the container (Fargate's smallest: 0.25)")
    p.add_argument("--container-memory", default="512m", help="--memory for the container")


def _mode_flags(p: argparse.ArgumentParser) -> None:
    """--shards (shards.py) and --sink-compare (sinks.py) instead of the job's runs."""
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
