"""An inventory the job wrote, checked against the fake's population: the rows per account-region with no
ARN twice, and one status row per target, `ok` with the right count. run.py checks a Parquet file with them,
sinks.py the lake's rows of one run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

Population = dict[str, dict[str, int]]  # the fake's /__population: {account: {region: functions}}


def check_output(output: Path, population: Population) -> tuple[list[str], dict[str, Any]]:
    """Compare the Parquet and its status file with the population. Returns (problems, facts)."""
    import pyarrow.parquet as pq  # noqa: PLC0415 - only the checker needs pyarrow

    if not output.exists():
        return [f"no inventory written at {output}"], {"rows": 0}
    table = pq.read_table(output, columns=["account_id", "region", "function_arn"])
    problems, facts = check_table(table, population)
    status_file = output.with_name(f"{output.stem}.status{output.suffix}")
    if not status_file.exists():
        return [*problems, f"no status file at {status_file}"], {**facts, "statuses": {}}
    found, statuses = check_status_rows(pq.read_table(status_file).to_pylist(), population)
    return problems + found, {**facts, "statuses": statuses}


def check_table(table: Any, population: Population) -> tuple[list[str], dict[str, Any]]:
    """An inventory's rows (a pyarrow table with account_id, region, function_arn) against the population:
    per account-region counts, no ARN twice. Returns (problems, facts)."""
    import pyarrow.compute as pc  # noqa: PLC0415 - only the checker needs pyarrow

    problems: list[str] = []
    expected_total = sum(sum(r.values()) for r in population.values())
    rows = table.num_rows
    unique_arns = len(pc.unique(table.column("function_arn")))
    grouped = table.group_by(["account_id", "region"]).aggregate([("function_arn", "count")]).to_pylist()
    got = {(g["account_id"], g["region"]): g["function_arn_count"] for g in grouped}
    wrong = [
        f"{a}/{r}: {got.get((a, r), 0)} rows, population {n}"
        for a, regions in population.items()
        for r, n in regions.items()
        if got.get((a, r), 0) != n
    ]
    extra = [f"{a}/{r}" for (a, r) in got if a not in population or r not in population[a]]
    if rows != expected_total:
        problems.append(f"rows {rows} != population {expected_total} ({expected_total - rows} lost)")
    if unique_arns != rows:
        problems.append(f"{rows - unique_arns} duplicate function ARNs")
    if wrong:
        problems.append(f"{len(wrong)} account-regions with the wrong row count, e.g. {wrong[:3]}")
    if extra:
        problems.append(f"rows for account-regions outside the population: {extra[:3]}")
    return problems, {"rows": rows, "unique_arns": unique_arns}


def check_status_rows(status: list[dict[str, Any]], population: Population) -> tuple[list[str], dict[str, int]]:
    """Status rows against the population: one per target, every one `ok` with the right count. Returns
    (problems, rows per status)."""
    problems: list[str] = []
    statuses: dict[str, int] = {}
    for row in status:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    not_ok = [
        f"{s['account_id']}/{s['region']}: {s['status']} {s['error_code']}" for s in status if s["status"] != "ok"
    ]
    miscounted = [
        f"{s['account_id']}/{s['region']}: {s['function_count']} != {population[s['account_id']][s['region']]}"
        for s in status
        if s["status"] == "ok" and s["function_count"] != population.get(s["account_id"], {}).get(s["region"])
    ]
    targets = sum(len(r) for r in population.values())
    if len(status) != targets:
        problems.append(f"status file has {len(status)} rows, expected {targets} targets")
    if not_ok:
        problems.append(f"{len(not_ok)} targets not ok, e.g. {not_ok[:3]}")
    if miscounted:
        problems.append(f"{len(miscounted)} status counts wrong, e.g. {miscounted[:3]}")
    return problems, statuses
