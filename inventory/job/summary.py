"""The summary: the end-of-run counts and the lines printed after a run (cli.py turns the results into
the exit code; the status rows the sink writes are contract/status.py's)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inventory.contract.record import Counts
from inventory.contract.results import Status, TargetResult
from inventory.contract.status import enrichment_counts

_FAILURES_SHOWN = 10


@dataclass(frozen=True)
class RunSummary:
    """The end of a run as printed: its record's counts (one home: contract/record.py's Counts) and what only
    this process knows (calls, duration, where it wrote)."""

    counts: Counts
    retries: int  # listing retries, summed over the targets
    assume_role_calls: int  # requests, retries included
    duration_s: float
    output: str  # a path or an s3:// URL
    status_output: str | None = None  # None for a lake: the status rows are its targets table
    manifest_output: str | None = None
    assume_role_retries: int = 0


def render_summary(summary: RunSummary, results: Sequence[TargetResult]) -> str:
    counts = summary.counts
    lines = [
        f"lambda-inventory: {counts.functions} functions from {counts.accounts} accounts in {summary.duration_s:.1f}s",
        f"  targets  {counts.targets}: {counts.ok} ok, {counts.skipped} skipped, {counts.failed} failed",
        f"  calls    {summary.assume_role_calls} AssumeRole ({summary.assume_role_retries} retries), "
        f"{summary.retries} listing retries",
        f"  written  {summary.output}",
    ]
    lines.extend(f"           {extra}" for extra in (summary.status_output, summary.manifest_output) if extra)
    lines.extend(_enrichment_lines(results))
    not_ok = [r for r in results if r.status is not Status.OK]
    for r in sorted(not_ok, key=lambda r: (r.status.value, r.target.label))[:_FAILURES_SHOWN]:
        lines.append(
            f"  {r.status.value:<8} {r.target.account.name} {r.target.label}: {r.error_code}: {r.error_message}"
        )
    if len(not_ok) > _FAILURES_SHOWN:
        lines.append(f"  ... and {len(not_ok) - _FAILURES_SHOWN} more in the status file")
    return "\n".join(lines)


def _enrichment_lines(results: Sequence[TargetResult]) -> list[str]:
    """One line per enrichment asked for, then its failures (first few): a failed enrichment leaves the
    listing ok and the exit code unchanged, so this is where a run says its enrichment columns have gaps."""
    lines = []
    for name, entry in enrichment_counts(results).items():
        errors = ", ".join(f"{code} {n}" for code, n in sorted(entry["errors"].items()))
        text = f"{entry['ok']} ok, {entry['failed']} failed, {entry['skipped']} skipped, {entry['calls']} calls"
        lines.append(f"  enrich   {name}: {text}" + (f" ({errors})" if errors else ""))
    failed = [(r, e) for r in results for e in r.enrichments if e.status is Status.FAILED]
    for r, e in sorted(failed, key=lambda pair: (pair[0].target.label, pair[1].name))[:_FAILURES_SHOWN]:
        lines.append(f"  enrich failed {r.target.account.name} {r.target.label}: {e.error_code}: {e.error_message}")
    if len(failed) > _FAILURES_SHOWN:
        lines.append(f"  ... and {len(failed) - _FAILURES_SHOWN} more enrichment failures in the status file")
    return lines
