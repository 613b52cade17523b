"""The status file's contract: the status rows, one per (account, region) target (the vocabulary, `Status`, is
contract/results.py's).

Written by the job (the sink's commit, job/pipeline.py) and read back by the reports (reports/compliance.py,
reports/diff.py); both use `Status`, never the bare strings, and the rows are always made by `status_table`,
from the targets' results (contract/results.py).
`Status` is also what exits.py maps to an exit code, so `lambda-inventory --help` imports results.py: neither
imports pyarrow (and through it numpy, ~0.3 s of CPU) only when a status table is made.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from inventory.contract.results import Status, TargetResult

if TYPE_CHECKING:
    import pyarrow as pa


def status_table(results: Sequence[TargetResult], snapshot_time: datetime) -> pa.Table:
    """The status rows of a run (STATUS_SCHEMA), sorted by account, then region."""
    import pyarrow as pa  # noqa: PLC0415 - see the module's docstring

    from inventory.contract.schema import STATUS_SCHEMA  # noqa: PLC0415

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
            "enrichments": [
                {
                    "name": e.name,
                    "status": e.status.value,
                    "calls": e.calls,
                    "error_code": e.error_code,
                    "error_message": e.error_message,
                }
                for e in r.enrichments
            ],
        }
        for r in sorted(results, key=lambda r: (r.target.account.account_id, r.target.region))
    ]
    return pa.Table.from_pylist(rows, schema=STATUS_SCHEMA)


def enrichment_counts(results: Sequence[TargetResult]) -> dict[str, dict[str, Any]]:
    """{enrichment: {"ok": n, "failed": n, "skipped": n, "calls": n, "errors": {error_code: n}}}, over the
    targets, in the order the run asked for them ({} when it asked for none)."""
    counts: dict[str, dict[str, Any]] = {}
    for result in results:
        for e in result.enrichments:
            entry = counts.setdefault(e.name, {"ok": 0, "failed": 0, "skipped": 0, "calls": 0, "errors": {}})
            entry[e.status.value] += 1
            entry["calls"] += e.calls
            if e.status is Status.FAILED:
                code = e.error_code or "Unknown"
                entry["errors"][code] = entry["errors"].get(code, 0) + 1
    return counts
