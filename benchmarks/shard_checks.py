"""The checks of `run.py --shards` (shards.py), apart so they are tested without docker or a fake: an array's
children, the names and variables each gets, the partition they wrote, and the union of their rows and status
rows against the fake's population."""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from inventory.output.layout import Format, partition_date, partitioned_files, run_name

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


def shard_env(index: int, count: int) -> dict[str, str]:
    """What AWS Batch and the hub stack's job definition set for array child `index` of `count`; none for 1."""
    if count == 1:
        return {}
    return {"AWS_BATCH_JOB_ARRAY_INDEX": str(index), "LAMBDA_INVENTORY_SHARD_COUNT": str(count)}


def shard_names(count: int) -> list[str]:
    """The run names of an array's children: `inventory` for 1, else `shard-I-of-N`."""
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


def check_fake_stats(stats: Mapping[str, Any], accounts: int, max_rps: int) -> list[str]:
    """From the fake's /__stats: every account assumed exactly once; no account-region above max_rps."""
    assumed: Mapping[str, int] = stats["assume_role_by_account"]
    twice = sorted(f"{a} x{n}" for a, n in assumed.items() if n > 1)
    problems = [f"{len(twice)} accounts assumed more than once, e.g. {twice[:3]}"] if twice else []
    if len(assumed) != accounts:
        problems.append(f"{accounts - len(assumed)} accounts never assumed")
    if stats["max_peak_rps"]["rps"] > max_rps:
        peak = stats["max_peak_rps"]
        problems.append(f"{peak['target']} got {peak['rps']} requests in one second (limit {max_rps})")
    return problems


@dataclass
class Partition:
    """What the array wrote: the day, each child's inventory and status tables, and what is missing."""

    day: date | None
    inventory: dict[str, pa.Table] = field(default_factory=dict)
    status: dict[str, pa.Table] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read_partition(root: Path, count: int) -> Partition:
    """The one partition under root, and the files the layout (output/layout.py) names for N children."""
    days = sorted(d for p in root.glob("snapshot_date=*") if (d := partition_date(p.name)))
    if len(days) != 1:
        return Partition(None, problems=[f"{root}: {len(days)} partitions, expected 1"])
    found = Partition(days[0])
    for name in shard_names(count):
        inventory, status, manifest = partitioned_files(days[0], name, Format.PARQUET)
        for rel, into in ((inventory, found.inventory), (status, found.status)):
            if (root / rel).exists():
                into[name] = pq.read_table(root / rel)
            else:
                found.problems.append(f"{rel}: missing")
        if not (root / manifest).exists():
            found.problems.append(f"{manifest}: missing")
    return found
