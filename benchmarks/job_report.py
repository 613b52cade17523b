"""run.py's report of the job's runs: the medians over --runs, each set's figures, the enrichment matrix, the
--json document, and the verdict (PASS, or FAIL with every problem: run.py then exits 1)."""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

import compare
from bench_enrich import enrichment_lines, matrix_table, set_label
from bench_estate import estate_ratios, job_rate, verdict_lines
from children import ChildResult

SetResult = tuple[tuple[str, ...], dict[str, Any], list[dict[str, Any]]]  # (enrichments, median, runs)
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


def render(args: argparse.Namespace, m: dict[str, Any], *, runs: list[dict[str, Any]], startup: ChildResult) -> str:
    """One set's figures (its medians with --runs above 1)."""
    lines = ["", _title(args, m, runs), *_job_lines(m, startup), *_fake_lines(args, m), *enrichment_lines(m)]
    if len(runs) > 1:
        lines.append("  per run: " + ", ".join(f"{r['wall_s']:.2f}s/{r['cpu_s']:.2f}cpu" for r in runs))
    return "\n".join(lines)


def _title(args: argparse.Namespace, m: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    label = f"median of {len(runs)} runs" if len(runs) > 1 else "1 run"
    workers = args.max_workers if args.max_workers is not None else "config default"
    return (
        f"lambda-inventory benchmark - {args.accounts} accounts x {args.regions} regions, "
        f"{m['population']:,} functions, latency {args.latency_ms:g}+-{args.jitter_ms:g} ms, "
        f"throttle {args.throttle_rate:g}, max workers {workers}, max_requests_per_second "
        f"{args.job_max_rps or 'default'}, enrich {','.join(m['enrich']) or 'none'} ({label})"
    )


def _job_lines(m: dict[str, Any], startup: ChildResult) -> list[str]:
    return [
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
    ]


def _fake_lines(args: argparse.Namespace, m: dict[str, Any]) -> list[str]:
    lag = m["fake_lag_ms"]
    return [
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
        f"p50 {lag['p50']:g} / p99 {lag['p99']:g} / max {lag['max']:g} ms)",
    ]


def _last_target_line(last: dict[str, Any] | None) -> list[str]:
    if not last:
        return []
    return [
        f"  last account-region done {last['target']}: {last['requests']} requests from {last['first_s']:.1f} s to "
        f"{last['last_s']:.1f} s (after the run's first request)"
    ]


def report(
    args: argparse.Namespace,
    results: list[SetResult],
    programs: dict[str, dict[str, Any] | None],
    startup: ChildResult,
    cpu_model: str,
) -> int:
    """Print the ratios, each set's figures and the matrix; write --json; the verdict: 0, or 1 on a problem."""
    print("\n".join(compare.render(results[0][1], programs, runs=args.runs, cpu_model=cpu_model)))
    for _, m, runs in results:
        print(render(args, m, runs=runs, startup=startup))
    if args.enrich_matrix:
        print(f"\nenrichment matrix - ratios (x) to the first row, measured in this invocation ({cpu_model})")
        print(matrix_table([(set_label(e), m) for e, m, _ in results]))
        lines = verdict_lines(estate_ratios([(e, m) for e, m, _ in results]), job_rate(args.job_max_rps))
        if lines:
            print("\nestate (issue 20), ratios to the plain listing (none) of this invocation")
            print("\n".join(lines))
    problems = sorted({p for _, _, runs in results for r in runs for p in r["problems"]})
    problems += compare.problems_of(programs)  # a program that lost functions voids the comparison
    if args.json:
        args.json.write_text(json.dumps(_document(results, programs, startup), indent=1))
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


def _document(
    results: list[SetResult], programs: dict[str, dict[str, Any] | None], startup: ChildResult
) -> dict[str, Any]:
    """The --json document: the first set's median and runs, every set, the programs and the ratios."""
    sets_json: list[dict[str, Any]] = [{"enrich": list(e), "median": m, "runs": runs} for e, m, runs in results]
    first = sets_json[0]
    document: dict[str, Any] = {"median": first["median"], "runs": first["runs"], "sets": sets_json}
    ratios = compare.ratios(first["median"], programs)
    document |= {**programs, "ratios": ratios, "startup_cpu_s": startup.cpu_s}
    document["estate_ratios"] = estate_ratios([(e, m) for e, m, _ in results])
    return document
