"""run.py --shards' report: each child's figures, the arrays' table (speed-up: N=1's array wall over N's, both
from this invocation), each child, the overlapping runs, the --json document and the verdict."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any, Protocol

import pyarrow as pa
from children import SUMMARY, ChildResult


class ChildLike(Protocol):
    """A child of an array (shards.Child): its shard's name, when it started and ended, what it measured."""

    name: str
    start_s: float
    end_s: float
    result: ChildResult


def child_figures(child: ChildLike, status: pa.Table | None, stats: Mapping[str, Any]) -> dict[str, Any]:
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
        "job_reported_s": float(found.group(1)) if (found := SUMMARY.search(result.stdout)) else None,
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


def render(args: argparse.Namespace, arrays: list[dict[str, Any]], both: dict[str, Any] | None) -> str:
    """The arrays' table, each child, and the overlapping runs."""
    first = arrays[0]
    how = (
        f"docker run {args.container} --cpus {args.container_cpus} --memory {args.container_memory}"
        if args.container
        else "host processes"
    )
    lines = [
        "",
        f"lambda-inventory shards - {args.accounts} accounts x {args.regions} regions, {first['population']:,} "
        f"functions, latency {args.latency_ms:g}+-{args.jitter_ms:g} ms; each child: {how}, "
        "AWS_BATCH_JOB_ID + AWS_BATCH_JOB_ARRAY_INDEX + LAMBDA_INVENTORY_SHARD_COUNT, one run id, one local lake "
        "(--lake), then verify --run-id",
        *_array_lines(arrays),
        *_child_lines(arrays),
        *(_overlap_lines(both) if both else []),
    ]
    return "\n".join(lines)


def _array_lines(arrays: list[dict[str, Any]]) -> list[str]:
    one = next((a["array_wall_s"] for a in arrays if a["shards"] == 1), None)
    lines = ["   N  array wall s  speed-up vs N=1   calls / minimum  CPU s, all  max peak RSS MiB  fake CPU s  verify"]
    for a in arrays:
        speed = f"{one / a['array_wall_s']:8.2f}x" if one else "       -"
        rss = max(c["peak_rss_mib"] for c in a["children"])
        lines.append(
            f"{a['shards']:4d}  {a['array_wall_s']:12.1f}  {speed:>15}  {a['calls']:7d} / {a['min_calls']:<7d}"
            f"  {a['cpu_s']:10.1f}  {rss:16.1f}  {a['fake_cpu_s']:10.1f}  exit {a['verify_returncode']}"
        )
    return lines


def _child_lines(arrays: list[dict[str, Any]]) -> list[str]:
    lines = [
        "   N  child          start s  wall s (job's own)  CPU s (user+sys)  peak RSS MiB  accounts  targets   calls"
        "  CPU ms/call  targets/min"
    ]
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
    return lines


def _overlap_lines(both: dict[str, Any]) -> list[str]:
    lines = [
        f"overlapping runs: 2 runs x {both['shards']} shard(s) at once into one lake, wall {both['wall_s']:.1f} s, "
        f"{both['calls']} calls"
    ]
    for r in both["runs"]:
        lines.append(
            f"  {r['label']:<10} run {r['run_id']}: {r['rows']:,} rows / {both['population']:,}, "
            f"{r['records']} record(s), shards ended at {r['ends_s']} s, CPU {r['cpu_s']:.1f} s, "
            f"max peak RSS {r['max_peak_rss_mib']:.0f} MiB, verify exit {r['verify_returncode']}"
        )
    return lines


def report(args: argparse.Namespace, arrays: list[dict[str, Any]], both: dict[str, Any] | None, cpu_model: str) -> int:
    """Print the table; write --json; the verdict: 0, or 1 if a check failed."""
    print(render(args, arrays, both))
    print(f"  (measured in this invocation on {cpu_model})")
    if args.json:
        args.json.write_text(json.dumps({"arrays": arrays, "overlap": both, "cpu_model": cpu_model}, indent=1))
    problems = [f"N={a['shards']}: {p}" for a in arrays for p in a["problems"]]
    problems += [f"overlap: {p}" for p in (both or {}).get("problems", [])]
    if problems:
        print("\nFAIL:")
        print("\n".join(f"  - {p}" for p in problems))
        return 1
    print(
        "\nPASS: every shard count verified complete (verify --run-id exit 0); zero rows lost or duplicated over the "
        "union of the shards; all targets ok; no account in two shards; 1 AssumeRole per account per run"
        + ("; two overlapping runs each hold every function exactly once" if both else "")
    )
    return 0
