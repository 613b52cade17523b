"""The checks of `run.py --shards` (shards.py), apart so they are tested without docker or a fake: an array's
children, the names and variables each gets, the run they wrote into the lake (read back by its run id), and
the union of their rows and status rows against the fake's population."""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from inventory.contract.lake import FUNCTIONS, TARGETS, VERIFICATIONS, Lake
from inventory.contract.layout import run_name
from inventory.readers.lake import LakeReader, choose_run

Population = Mapping[str, Mapping[str, int]]


def parse_counts(text: str) -> list[int]:
    """'1,2,4' -> [1, 2, 4]: the shard counts to run, in that order (each from 1 to 100, no repeats)."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: comma-separated shard counts, e.g. 1,2,4") from None
    if not counts or any(not 1 <= n <= 100 for n in counts) or len(set(counts)) != len(counts):
        raise argparse.ArgumentTypeError(f"{text!r}: distinct shard counts from 1 to 100, e.g. 1,2,4")
    return counts


def shard_env(index: int, count: int, run_id: str) -> dict[str, str]:
    """What AWS Batch and the hub stack's job definition set for array child `index` of `count`: the array
    job's id as `AWS_BATCH_JOB_ID` (`PARENT:INDEX`, so the children share the run id PARENT), the index and the
    count. N = 1 is the stack's unsharded ECS task: no shard variables, its run id as LAMBDA_INVENTORY_RUN_ID
    (on ECS it would come from the task metadata endpoint, which a benchmark has not)."""
    if count == 1:
        return {"LAMBDA_INVENTORY_RUN_ID": run_id}
    return {
        "AWS_BATCH_JOB_ID": f"{run_id}:{index}",
        "AWS_BATCH_JOB_ARRAY_INDEX": str(index),
        "LAMBDA_INVENTORY_SHARD_COUNT": str(count),
    }


def shard_names(count: int) -> list[str]:
    """The names of an array's children in the report: `inventory` for 1, else `shard-I-of-N`."""
    return [run_name(None)] if count == 1 else [run_name((i, count)) for i in range(count)]


# ------------------------------------------------------------------------------------------ checks


def _accounts_in_two(seen: Mapping[str, set[str]], what: str) -> list[str]:
    twice = sorted((a, sorted(names)) for a, names in seen.items() if len(names) > 1)
    if not twice:
        return []
    examples = "; ".join(f"{a} in {', '.join(names)}" for a, names in twice[:3])
    return [f"{len(twice)} accounts with {what} in more than one shard, e.g. {examples}"]


def check_rows(tables: Mapping[str, pa.Table], population: Population) -> list[str]:
    """The union of the shards' inventory rows against the population: per account-region counts, no ARN
    twice (within a shard or across two), no account's rows in two shards."""
    counts: Counter[tuple[str, str]] = Counter()
    first_seen: dict[str, str] = {}
    duplicates: list[str] = []
    shards_of: defaultdict[str, set[str]] = defaultdict(set)
    for name, table in tables.items():
        cols = table.select(["account_id", "region", "function_arn"]).to_pydict()
        for account, region, arn in zip(cols["account_id"], cols["region"], cols["function_arn"], strict=True):
            counts[(account, region)] += 1
            shards_of[account].add(name)
            if arn in first_seen:
                duplicates.append(f"{arn} ({first_seen[arn]}, {name})")
            else:
                first_seen[arn] = name
    problems: list[str] = []
    expected = sum(sum(regions.values()) for regions in population.values())
    rows = sum(counts.values())
    if rows != expected:
        diff = f"{expected - rows} lost" if rows < expected else f"{rows - expected} too many"
        problems.append(f"rows {rows} != population {expected} ({diff})")
    wrong = [
        f"{a}/{r}: {counts.get((a, r), 0)} rows, population {n}"
        for a, regions in population.items()
        for r, n in regions.items()
        if counts.get((a, r), 0) != n
    ]
    if wrong:
        problems.append(f"{len(wrong)} account-regions with the wrong row count, e.g. {wrong[:3]}")
    extra = sorted(f"{a}/{r}" for a, r in counts if r not in population.get(a, {}))
    if extra:
        problems.append(f"rows for account-regions outside the population: {extra[:3]}")
    if duplicates:
        problems.append(f"{len(duplicates)} duplicate function ARNs, e.g. {duplicates[:3]}")
    return problems + _accounts_in_two(shards_of, "rows")


def check_status(tables: Mapping[str, pa.Table], population: Population) -> list[str]:
    """The union of the shards' status rows: every target of the population exactly once, `ok`, with the
    population's count; no account in two shards (an account with no functions shows only here)."""
    seen: Counter[tuple[str, str]] = Counter()
    shards_of: defaultdict[str, set[str]] = defaultdict(set)
    not_ok: list[str] = []
    miscounted: list[str] = []
    for name, table in tables.items():
        for row in table.select(["account_id", "region", "status", "function_count", "error_code"]).to_pylist():
            account, region = row["account_id"], row["region"]
            seen[(account, region)] += 1
            shards_of[account].add(name)
            if row["status"] != "ok":
                not_ok.append(f"{account}/{region}: {row['status']} {row['error_code']} ({name})")
            elif row["function_count"] != population.get(account, {}).get(region):
                miscounted.append(f"{account}/{region}: {row['function_count']} ({name})")
    targets = {(a, r) for a, regions in population.items() for r in regions}
    missing = sorted(f"{a}/{r}" for a, r in targets - seen.keys())
    twice = sorted(f"{a}/{r} x{n}" for (a, r), n in seen.items() if n > 1)
    outside = sorted(f"{a}/{r}" for a, r in seen.keys() - targets)
    problems = [
        *([f"{len(missing)} targets in no status file, e.g. {missing[:3]}"] if missing else []),
        *([f"{len(twice)} targets in the status files more than once, e.g. {twice[:3]}"] if twice else []),
        *([f"status rows for targets outside the population: {outside[:3]}"] if outside else []),
        *([f"{len(not_ok)} targets not ok, e.g. {not_ok[:3]}"] if not_ok else []),
        *([f"{len(miscounted)} status counts wrong, e.g. {miscounted[:3]}"] if miscounted else []),
    ]
    return problems + _accounts_in_two(shards_of, "status rows")


def check_fake_stats(stats: Mapping[str, Any], accounts: int, max_rps: int | None, runs: int = 1) -> list[str]:
    """From the fake's /__stats: every account assumed exactly once per run (`runs` ran against it at once); no
    account-region above max_rps (None: not checked, as when two runs pace themselves independently)."""
    assumed: Mapping[str, int] = stats["assume_role_by_account"]
    wrong = sorted(f"{a} x{n}" for a, n in assumed.items() if n != runs)
    once = "once" if runs == 1 else f"{runs} times (once per run)"
    problems = [f"{len(wrong)} accounts not assumed exactly {once}, e.g. {wrong[:3]}"] if wrong else []
    if len(assumed) != accounts:
        problems.append(f"{accounts - len(assumed)} accounts never assumed")
    if max_rps is not None and stats["max_peak_rps"]["rps"] > max_rps:
        peak = stats["max_peak_rps"]
        problems.append(f"{peak['target']} got {peak['rps']} requests in one second (limit {max_rps})")
    return problems


@dataclass
class LakeRun:
    """What one run id holds in the lake, read back as a reader would: its day, each shard's functions and
    status rows (by shard name, from the rows' shard_index), and what is wrong with its run records."""

    run_id: str
    day: date | None
    inventory: dict[str, pa.Table] = field(default_factory=dict)
    status: dict[str, pa.Table] = field(default_factory=dict)
    records: int = 0
    problems: list[str] = field(default_factory=list)


_FUNCTION_COLUMNS = ("account_id", "region", "function_arn", "write_id", "shard_index")
_TARGET_COLUMNS = ("account_id", "region", "status", "function_count", "error_code", "write_id", "shard_index")


def read_run(lake: Lake, run_id: str, count: int) -> LakeRun:
    """The run `run_id` of the lake, expected as `count` shards: exactly one committed record (`runs` row) per
    shard 0..count-1, each of `count` shards. Every functions and targets row carrying the run id is read, not
    only those of the committed attempts (readers.lake filters on those), so a row appended twice or by a
    write that never committed its record is counted and named here rather than hidden."""
    reader = LakeReader(lake)
    records = [r for r in reader.records() if r.run_id == run_id]
    if not records:
        return LakeRun(run_id, None, problems=[f"{lake}: no record of run {run_id} committed"])
    chosen = choose_run(records, None, run_id, str(lake))
    found = LakeRun(run_id, chosen.snapshot_date, records=len(records))
    per_shard = Counter(r.shard_index for r in records)
    missing = sorted(set(range(count)) - per_shard.keys())
    twice = sorted(i for i, n in per_shard.items() if n > 1)
    layouts = sorted({r.shard_count for r in records} - {count})
    found.problems += [
        *([f"run {run_id}: no record of shard(s) {missing}"] if missing else []),
        *([f"run {run_id}: shard(s) {twice} committed more than once"] if twice else []),
        *([f"run {run_id}: records of {layouts} shard(s), {count} expected"] if layouts else []),
    ]
    days = sorted({r.snapshot_date for r in records})
    if len(days) > 1:
        found.problems.append(f"run {run_id}: shards on {len(days)} days {[d.isoformat() for d in days]}")
    names = shard_names(count)
    committed = pa.array(sorted(chosen.write_ids), pa.string())
    for table, columns, into in (
        (FUNCTIONS, _FUNCTION_COLUMNS, found.inventory),
        (TARGETS, _TARGET_COLUMNS, found.status),
    ):
        rows = reader.table(table).scan(row_filter=f"run_id = '{run_id}'", selected_fields=columns).to_arrow()
        stray = rows.num_rows - _count_in(rows.column("write_id"), committed)
        if stray:
            found.problems.append(f"{stray} {table} rows of run {run_id} from a write with no committed record")
        for index in sorted(set(rows.column("shard_index").to_pylist())):
            name = names[index] if index is not None and 0 <= index < count else f"shard-{index}-of-?"
            into[name] = rows.filter(pc.equal(rows.column("shard_index"), index))
    return found


def _count_in(values: pa.ChunkedArray, allowed: pa.Array) -> int:
    """How many of `values` are in `allowed`."""
    return int(pc.sum(pc.is_in(values, value_set=allowed)).as_py() or 0)


def verdicts(lake: Lake, run_id: str) -> list[dict[str, Any]]:
    """The verifications rows `verify` committed for `run_id`, oldest first."""
    rows = LakeReader(lake).table(VERIFICATIONS).scan(row_filter=f"run_id = '{run_id}'").to_arrow()
    return sorted(rows.to_pylist(), key=lambda row: row["verified_at"])
