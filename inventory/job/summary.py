"""Stage 7: the status rows and the end-of-run summary (cli.py turns the results into the exit code)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from inventory.job.collect import TargetResult
from inventory.output.schema import STATUS_SCHEMA
from inventory.output.status import Status

_FAILURES_SHOWN = 10


@dataclass(frozen=True)
class RunSummary:
    targets: int
    ok: int
    skipped: int
    failed: int
    functions: int
    accounts: int
    retries: int
    assume_role_calls: int
    duration_s: float
    output: str  # a path or an s3:// URL
    status_output: str
    manifest_output: str | None = None


def status_table(results: Sequence[TargetResult], snapshot_time: datetime) -> pa.Table:
    rows = [
        {
            "snapshot_time": snapshot_time,
            "account_id": r.target.account.account_id,
            "account_name": r.target.account.name,
            "region": r.target.region,
            "status": r.status.value,
            "function_count": r.function_count,
            "pages": r.pages,
            "retries": r.retries,
            "error_code": r.error_code,
            "error_message": r.error_message,
            "duration_ms": round(r.duration_s * 1000),
        }
        for r in sorted(results, key=lambda r: (r.target.account.account_id, r.target.region))
    ]
    return pa.Table.from_pylist(rows, schema=STATUS_SCHEMA)


def summarise(
    results: Sequence[TargetResult],
    *,
    assume_role_calls: int,
    duration_s: float,
    output: str,
    status_output: str,
    manifest_output: str | None = None,
) -> RunSummary:
    counts = Counter(r.status for r in results)
    return RunSummary(
        targets=len(results),
        ok=counts[Status.OK],
        skipped=counts[Status.SKIPPED],
        failed=counts[Status.FAILED],
        functions=sum(r.function_count or 0 for r in results),
        accounts=len({r.target.account.account_id for r in results}),
        retries=sum(r.retries for r in results),
        assume_role_calls=assume_role_calls,
        duration_s=duration_s,
        output=output,
        status_output=status_output,
        manifest_output=manifest_output,
    )


def render_summary(summary: RunSummary, results: Sequence[TargetResult]) -> str:
    lines = [
        f"lambda-inventory: {summary.functions} functions from {summary.accounts} accounts "
        f"in {summary.duration_s:.1f}s",
        f"  targets  {summary.targets}: {summary.ok} ok, {summary.skipped} skipped, {summary.failed} failed",
        f"  calls    {summary.assume_role_calls} AssumeRole, {summary.retries} retries",
        f"  written  {summary.output}",
        f"           {summary.status_output}",
    ]
    if summary.manifest_output:
        lines.append(f"           {summary.manifest_output}")
    not_ok = [r for r in results if r.status is not Status.OK]
    for r in sorted(not_ok, key=lambda r: (r.status.value, r.target.label))[:_FAILURES_SHOWN]:
        lines.append(
            f"  {r.status.value:<8} {r.target.account.name} {r.target.label}: {r.error_code}: {r.error_message}"
        )
    if len(not_ok) > _FAILURES_SHOWN:
        lines.append(f"  ... and {len(not_ok) - _FAILURES_SHOWN} more in the status file")
    return "\n".join(lines)
