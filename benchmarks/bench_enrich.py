"""The enrichment side of run.py: check the job's enriched columns and status against the fake's truth, and
print the matrix (one run per enrichment, with ratios to the run without any).

Checks, for a run that asked for enrichments E (all of them problems that make run.py exit 1):

* every target's status row lists exactly E, each `ok` (the fake answers every call; throttles are retried);
* every row's `enriched` is sorted(E), and every row's enriched columns hold what the fake serves for that
  function (fake_truth.py); columns of enrichments not asked are null.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fake_estate_truth import ESTATE_NAMES
from fake_truth import index_of, truth

from inventory.contract.layout import manifest_name
from inventory.contract.record import parse_record

NAMES = ("tags", "urls", "policy", "concurrency", "usage")  # the enrichments of the functions' own columns
EVERY = (*NAMES, *ESTATE_NAMES)  # every enrichment, in the order the job runs them (and lists them in its status)
COLUMNS = {
    "tags": ("tags",),
    "urls": ("url_auth_types",),
    "policy": ("public_invoke", "invoke_principals"),
    "concurrency": ("reserved_concurrency",),
    "usage": ("invocations_30d", "last_invocation_day"),
}


def parse_names(text: str | None) -> tuple[str, ...]:
    """`urls,tags` -> ("tags", "urls") (in the order the job runs them); `none` or nothing -> (); `all` -> the five
    enrichments of the functions' columns; `estate` -> the six estate tables' (bench_estate.py)."""
    if not text or text == "none":
        return ()
    if text == "all":
        return NAMES
    if text == "estate":
        return ESTATE_NAMES
    names = {n.strip() for n in text.split(",") if n.strip()}
    bad = sorted(names - set(EVERY))
    if bad:
        raise SystemExit(f"unknown enrichment {bad[0]!r}: one of {', '.join(EVERY)}, all, estate, none")
    return tuple(n for n in EVERY if n in names)


def set_label(names: tuple[str, ...]) -> str:
    if set(names) == set(NAMES):
        return "all"
    return "estate" if set(names) == set(ESTATE_NAMES) else "+".join(names) or "none"


def expected(account: str, region: str, name: str, seed: int, snapshot: date) -> dict[str, Any] | None:
    """The enriched columns the job must write for one listed function (None: not a function of the fake's)."""
    index = index_of(name)
    if index is None:
        return None
    t = truth(account, region, index, seed)
    if t.name != name:
        return None
    days = t.last_invoked_days_before_end
    return {
        "tags": dict(t.tags or {}),
        "url_auth_types": sorted(set(t.url_auth_types)),
        "public_invoke": t.public_invoke,
        "invoke_principals": list(t.invoke_principals),
        "reserved_concurrency": t.reserved,
        "invocations_30d": t.invocations,
        "last_invocation_day": None if days is None else snapshot - timedelta(days=days - 1),
    }


def check_enrichments(output: Path, names: tuple[str, ...], seed: int) -> tuple[list[str], dict[str, Any]]:
    """(problems, {"enrichments": the manifest's counts, "values_checked": n}) for one run's files."""
    import pyarrow.parquet as pq  # noqa: PLC0415 - only the checker needs pyarrow

    manifest_path = output.with_name(manifest_name(output.stem))
    if not manifest_path.exists():
        return [f"no manifest at {manifest_path}"], {}
    record = parse_record(manifest_path.read_bytes(), str(manifest_path))  # the manifest as the readers read it
    counts = dict(record.enrichments)
    problems = _status_problems(output, names, pq)
    for name, entry in counts.items():
        if entry["failed"] or entry["skipped"]:
            problems.append(
                f"enrichment {name}: {entry['failed']} failed, {entry['skipped']} skipped ({entry['errors']})"
            )
    snapshot = record.snapshot_date
    columns = ["account_id", "region", "function_name", "enriched", *(c for n in NAMES for c in COLUMNS[n])]
    rows = pq.read_table(output, columns=columns).to_pylist()
    wrong: dict[str, list[str]] = {}
    for row in rows:
        for column, problem in _row_problems(row, names, seed, snapshot):
            wrong.setdefault(column, []).append(problem)
    for column, found in sorted(wrong.items()):
        problems.append(f"{len(found)} rows with a wrong {column}, e.g. {found[:2]}")
    return problems, {"enrichments": counts, "values_checked": len(rows)}


def _status_problems(output: Path, names: tuple[str, ...], pq: Any) -> list[str]:
    status_path = output.with_name(f"{output.stem}.status{output.suffix}")
    if not status_path.exists():
        return []  # run.py's own check reports it
    wrong = []
    for row in pq.read_table(status_path, columns=["account_id", "region", "enrichments"]).to_pylist():
        got = [(e["name"], e["status"]) for e in row["enrichments"]]
        if got != [(n, "ok") for n in names]:
            wrong.append(f"{row['account_id']}/{row['region']}: {got}")
    return [f"{len(wrong)} status rows without exactly {list(names)} ok, e.g. {wrong[:2]}"] if wrong else []


def _row_problems(row: dict[str, Any], names: tuple[str, ...], seed: int, snapshot: date) -> list[tuple[str, str]]:
    where = f"{row['account_id']}/{row['region']}/{row['function_name']}"
    if row["enriched"] != sorted(names):
        return [("enriched", f"{where}: {row['enriched']}")]
    want = expected(row["account_id"], row["region"], row["function_name"], seed, snapshot) if names else None
    if names and want is None:
        return [("function_name", f"{where}: not a function of the fake's")]
    found = []
    for name in NAMES:
        for column in COLUMNS[name]:
            value = row[column]
            if column == "tags" and value is not None:
                value = dict(value)
            should = want[column] if want is not None and name in names else None
            if value != should:
                found.append((column, f"{where}: {value!r} != {should!r}"))
    return found


# ------------------------------------------------------------------------------------------------ report


def enrichment_lines(m: dict[str, Any]) -> list[str]:
    """The per-run lines: calls by operation, and each enrichment's ok/failed/skipped and calls."""
    by_op = ", ".join(f"{op} {n}" for op, n in sorted(m["calls_by_op"].items(), key=lambda kv: -kv[1]))
    lines = [f"  calls by operation       {by_op}"]
    for name, e in (m.get("enrichments") or {}).items():
        lines.append(
            f"  enrich {name:<17} {e['ok']} ok, {e['failed']} failed, {e['skipped']} skipped; "
            f"{e['calls']} calls by the job's count"
        )
    if m.get("enrichments"):
        lines.append(f"  enriched values checked  {m['values_checked']} rows against the fake's data")
    if m.get("estate_rows"):
        tables = ", ".join(f"{table} {n:,}" for table, n in m["estate_rows"].items())
        lines.append(f"  estate rows checked      {tables} (every row and column against the fake's estate)")
    return lines


def matrix_table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    """One line per set of enrichments, ratios to the first (the run without any)."""
    ref = rows[0][1]
    width = max(22, *(len(label) for label, _ in rows))
    head = (
        f"{'enrich':<{width}} {'wall s':>8} {'x':>6} {'CPU s':>8} {'x':>6} {'calls':>8} {'x':>6} "
        f"{'req/s max':>9} {'rows':>7}  enrichments ok/failed"
    )
    lines = [head, "-" * len(head)]
    for label, m in rows:
        outcome = "; ".join(f"{n} {e['ok']}/{e['failed']}" for n, e in (m.get("enrichments") or {}).items()) or "-"
        lines.append(
            f"{label:<{width}} {m['wall_s']:8.1f} {m['wall_s'] / ref['wall_s']:6.2f} {m['cpu_s']:8.1f} "
            f"{m['cpu_s'] / ref['cpu_s']:6.2f} {m['calls']:8.0f} {m['calls'] / ref['calls']:6.2f} "
            f"{m['max_rps_per_target']:9.0f} {m['rows']:7}  {outcome}"
        )
    return "\n".join(lines)
