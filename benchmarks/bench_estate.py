"""The estate side of run.py (issue 20): check the job's estate tables, and the functions' code_signing_config_arn,
against the fake's estate (fake_estate_truth.py), and the rate its calls kept.

Checks, for a run that asked for estate enrichments E (all of them problems that make run.py exit 1):

* each table an asked enrichment writes (`<stem>.<table>.parquet` beside the inventory) holds exactly the rows the
  fake serves, over every account-region of the population (those without functions too), each row's every
  column equal to the fake's item read by this module's own table of members (written from the API's shapes,
  not from the job's estate_columns.py); no table of an enrichment not asked is written;
* every function's `code_signing_config_arn` is the config whose ListFunctionsByCodeSigningConfig names it (null
  for none), or null on every row when `code_signing` is not asked;
* no account-region got more requests in one second (all services counted, by the fake's sliding window) than
  the job's `max_requests_per_second`: the rate issue 20 holds the estate's calls to, tighter than the 15 every
  run is held to.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fake_estate_truth import ESTATE_NAMES, Estate, Item, estate

from inventory.contract.estate import ESTATE
from inventory.contract.layout import Format, table_name

Row = dict[str, Any]
TABLES = {  # the tables each estate enrichment writes (contract/estate.py)
    "event_source_mappings": ("event_source_mappings",),
    "layers": ("layers", "layer_versions"),
    "layer_policies": (),  # judges layer_versions' rows (their judged columns, not compared here)
    "aliases": ("aliases",),
    "event_invoke_configs": ("event_invoke_configs",),
    "provisioned_concurrency": ("provisioned_concurrency",),
    "code_signing": ("code_signing_configs",),
}
# The per-account-region tables together: issue 20's "<= 1.3x wall". Every call of each is per account-region, or
# per layer or code signing config (code_signing's ListFunctionsByCodeSigningConfig, which says which config each
# function uses).
REGION_SET = ("event_source_mappings", "layers", "code_signing")
REGION_SETS = (REGION_SET, ("event_source_mappings", "layers"))  # and without code_signing (reported, no target)
ESTATE_MATRIX = ",".join(  # the plain listing, then the per-account-region sets close to it, then the per-function ones
    [
        "none",
        "event_source_mappings",
        "layers",
        "code_signing",
        "+".join(REGION_SETS[1]),
        "+".join(REGION_SET),
        "layers+layer_policies",
        "aliases",
        "event_invoke_configs",
        "provisioned_concurrency",
    ]
)
WALL_TARGET = 1.3  # the per-account-region tables together, as a ratio to the plain listing's wall time
_NOT_COMPARED = frozenset({"snapshot_time", "account_name"})  # the run's moment, and names the accounts file lacks


def job_rate(job_max_rps: float | None) -> float:
    """The max_requests_per_second the job runs at: the accounts file's (--job-max-rps), else the job's default."""
    from inventory.job.config import RunConfig  # noqa: PLC0415 - pydantic only for the runs that need it

    return float(job_max_rps or RunConfig().max_requests_per_second)


def rate_problems(stats: Mapping[str, Any], rate: float) -> list[str]:
    """An account-region that got more than `rate` requests in one second (the fake's sliding window)."""
    worst = stats["max_peak_rps"]
    over = sum(1 for v in stats["peak_rps_by_target"].values() if v > rate)
    if worst["rps"] <= rate:
        return []
    return [f"{worst['target']} got {worst['rps']} requests in one second, over max_requests_per_second {rate:g} "
            f"({over} account-regions over it)"]  # fmt: skip


# ------------------------------------------------------------------------------------------ expected rows


def _get(item: Mapping[str, Any], *path: str) -> Any:
    value: Any = item
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _epoch(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _text_time(value: Any) -> datetime | None:
    return None if value is None else datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)


def _function_of(arn: str) -> str:
    return arn.split(":")[6]


def _mapping_row(item: Item) -> Row:
    return {
        "function_name": _function_of(item["FunctionArn"]),
        "uuid": item["UUID"],
        "event_source_mapping_arn": item.get("EventSourceMappingArn"),
        "function_arn": item.get("FunctionArn"),
        "event_source_arn": item.get("EventSourceArn"),
        "state": item.get("State"),
        "state_transition_reason": item.get("StateTransitionReason"),
        "last_modified": _epoch(item.get("LastModified")),
        "last_processing_result": item.get("LastProcessingResult"),
        "starting_position": item.get("StartingPosition"),
        "batch_size": item.get("BatchSize"),
        "maximum_batching_window_seconds": item.get("MaximumBatchingWindowInSeconds"),
        "parallelization_factor": item.get("ParallelizationFactor"),
        "filter_patterns": [f["Pattern"] for f in _get(item, "FilterCriteria", "Filters") or []],
        "maximum_concurrency": _get(item, "ScalingConfig", "MaximumConcurrency"),
        "on_success_destination": _get(item, "DestinationConfig", "OnSuccess", "Destination"),
        "on_failure_destination": _get(item, "DestinationConfig", "OnFailure", "Destination"),
        "maximum_record_age_seconds": item.get("MaximumRecordAgeInSeconds"),
        "bisect_batch_on_function_error": item.get("BisectBatchOnFunctionError"),
        "maximum_retry_attempts": item.get("MaximumRetryAttempts"),
        "tumbling_window_seconds": item.get("TumblingWindowInSeconds"),
        "function_response_types": item.get("FunctionResponseTypes") or [],
    }


def _version_row(item: Item, prefix: str = "") -> Row:
    return {
        f"{prefix}layer_version_arn": item["LayerVersionArn"],
        f"{prefix}version": item.get("Version"),
        f"{prefix}description": item.get("Description"),
        f"{prefix}created_date": _text_time(item.get("CreatedDate")),
        f"{prefix}compatible_architectures": item.get("CompatibleArchitectures") or [],
        f"{prefix}compatible_runtimes": item.get("CompatibleRuntimes") or [],
        f"{prefix}license_info": item.get("LicenseInfo"),
    }


def _layer_row(item: Item) -> Row:
    latest = item.get("LatestMatchingVersion") or {}
    return {"layer_name": item["LayerName"], "layer_arn": item.get("LayerArn"), **_version_row(latest, "latest_")}


def _alias_row(name: str, item: Item) -> Row:
    weights = _get(item, "RoutingConfig", "AdditionalVersionWeights") or {}
    return {
        "function_name": name,
        "alias_arn": item.get("AliasArn"),
        "name": item["Name"],
        "function_version": item.get("FunctionVersion"),
        "description": item.get("Description"),
        "routing_weights": sorted(weights.items()),
        "revision_id": item.get("RevisionId"),
    }


def _invoke_config_row(name: str, item: Item) -> Row:
    return {
        "function_name": name,
        "function_arn": item["FunctionArn"],
        "last_modified": _epoch(item.get("LastModified")),
        "maximum_retry_attempts": item.get("MaximumRetryAttempts"),
        "maximum_event_age_seconds": item.get("MaximumEventAgeInSeconds"),
        "on_success_destination": _get(item, "DestinationConfig", "OnSuccess", "Destination"),
        "on_failure_destination": _get(item, "DestinationConfig", "OnFailure", "Destination"),
    }


def _provisioned_row(name: str, item: Item) -> Row:
    return {
        "function_name": name,
        "function_arn": item["FunctionArn"],
        "requested": item.get("RequestedProvisionedConcurrentExecutions"),
        "available": item.get("AvailableProvisionedConcurrentExecutions"),
        "allocated": item.get("AllocatedProvisionedConcurrentExecutions"),
        "status": item.get("Status"),
        "status_reason": item.get("StatusReason"),
        "last_modified": _text_time(item.get("LastModified")),
    }


def _signing_row(item: Item) -> Row:
    return {
        "code_signing_config_id": item.get("CodeSigningConfigId"),
        "code_signing_config_arn": item["CodeSigningConfigArn"],
        "description": item.get("Description"),
        "allowed_signing_profile_version_arns": _get(item, "AllowedPublishers", "SigningProfileVersionArns") or [],
        "untrusted_artifact_on_deployment": _get(item, "CodeSigningPolicies", "UntrustedArtifactOnDeployment"),
        "last_modified": _text_time(item.get("LastModified")),
    }


_EXPECTED: dict[str, Callable[[Estate], Iterable[Row]]] = {
    "event_source_mappings": lambda e: (_mapping_row(i) for i in e.mappings),
    "layers": lambda e: (_layer_row(i) for i in e.layers),
    "layer_versions": lambda e: (
        {"layer_name": name, **_version_row(i)} for name, items in e.layer_versions.items() for i in items
    ),
    "aliases": lambda e: (_alias_row(f.name, i) for f in e.functions for i in f.aliases),
    "event_invoke_configs": lambda e: (_invoke_config_row(f.name, i) for f in e.functions for i in f.invoke_configs),
    "provisioned_concurrency": lambda e: (_provisioned_row(f.name, i) for f in e.functions for i in f.provisioned),
    "code_signing_configs": lambda e: (_signing_row(i) for i in e.signing_configs),
}


def expected_rows(table: str, account: str, region: str, e: Estate) -> list[Row]:
    """The rows `table` must hold for one account-region: its target's key columns, then the item's columns."""
    return [{"account_id": account, "region": region, **row} for row in _EXPECTED[table](e)]


# ------------------------------------------------------------------------------------------ the checks


def estates(population: Mapping[str, Mapping[str, int]], seed: int) -> dict[tuple[str, str], Estate]:
    """Every account-region's estate, as the fake serves it."""
    return {(a, r): estate(a, r, n, seed) for a, row in population.items() for r, n in row.items()}


def _canonical(row: Row) -> str:
    return json.dumps(row, sort_keys=True, default=str)


def _empty_of(kind: Any) -> Any:
    import pyarrow as pa  # noqa: PLC0415 - only the checker needs pyarrow

    return [] if pa.types.is_list(kind) or pa.types.is_map(kind) else None


def table_problems(path: Path, table: str, want: Iterable[Row]) -> tuple[list[str], int]:
    """(problems, rows read): the table's rows against `want`, as multisets of whole rows. A column `want` does
    not name must be null (an empty list or map for those types)."""
    import pyarrow.parquet as pq  # noqa: PLC0415 - only the checker needs pyarrow

    if not path.exists():
        return [f"{table}: no table written at {path.name}"], 0
    read = pq.read_table(path)
    judged = {name for name, _, _ in ESTATE[table].judged}  # a policy's verdict: tests/aws/test_policy.py's to check
    columns = [f for f in read.schema if f.name not in _NOT_COMPARED | judged]
    got = Counter(_canonical({f.name: row[f.name] for f in columns}) for row in read.to_pylist())
    wanted_rows = list(want)
    unknown = sorted({name for row in wanted_rows for name in row} - {f.name for f in columns})
    problems = [f"{table}: no column {', '.join(unknown)} in the table written"] if unknown else []
    empty = {f.name: _empty_of(f.type) for f in columns}
    wanted = Counter(_canonical({name: row.get(name, none) for name, none in empty.items()}) for row in wanted_rows)
    missing, extra = wanted - got, got - wanted
    if missing or extra:
        problems.append(
            f"{table}: {sum(missing.values())} rows of the fake's missing or different, {sum(extra.values())} rows "
            f"not the fake's (of {read.num_rows} read, {sum(wanted.values())} expected), e.g. "
            f"missing {list(missing)[:1]}, extra {list(extra)[:1]}"
        )
    return problems, read.num_rows


def check_estate(
    output: Path, names: Iterable[str], population: Mapping[str, Mapping[str, int]], seed: int
) -> tuple[list[str], dict[str, Any]]:
    """(problems, {"estate_rows": {table: rows read}}) for one run's estate tables and code_signing_config_arn."""
    asked = [name for name in ESTATE_NAMES if name in set(names)]
    fmt = Format.from_path(output)
    problems: list[str] = []
    for name in ESTATE_NAMES:
        if name not in asked:
            written = [t for t in TABLES[name] if (output.parent / table_name(output.stem, t, fmt)).exists()]
            problems += [f"{t}: written, but {name} was not asked" for t in written]
    rows: dict[str, int] = {}
    every = estates(population, seed) if asked else {}
    for name in asked:
        for table in TABLES[name]:
            want = (row for (a, r), e in every.items() for row in expected_rows(table, a, r, e))
            found, rows[table] = table_problems(output.parent / table_name(output.stem, table, fmt), table, want)
            problems += found
    problems += _signing_arn_problems(output, "code_signing" in asked, every)
    return problems, {"estate_rows": rows}


def _signing_arn_problems(output: Path, asked: bool, every: Mapping[tuple[str, str], Estate]) -> list[str]:
    import pyarrow.parquet as pq  # noqa: PLC0415 - only the checker needs pyarrow

    names = {key: e.by_name() for key, e in every.items()}
    wrong = []
    columns = ["account_id", "region", "function_name", "code_signing_config_arn"]
    for row in pq.read_table(output, columns=columns).to_pylist():
        found = names.get((row["account_id"], row["region"]), {}).get(row["function_name"]) if asked else None
        should = (found.signing_arn or None) if found is not None else None
        if asked and found is None:
            wrong.append(f"{row['account_id']}/{row['region']}/{row['function_name']}: not a function of the fake's")
        elif row["code_signing_config_arn"] != should:
            wrong.append(f"{row['account_id']}/{row['region']}/{row['function_name']}: "
                         f"{row['code_signing_config_arn']!r} != {should!r}")  # fmt: skip
    return [f"{len(wrong)} rows with a wrong code_signing_config_arn, e.g. {wrong[:2]}"] if wrong else []


# ------------------------------------------------------------------------------------------ the verdict


def estate_ratios(rows: list[tuple[tuple[str, ...], dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Each estate set's ratios to the run without enrichments (`none`, measured in the same invocation): wall, CPU,
    calls, and for the per-account-region tables together (REGION_SET) whether the wall is within WALL_TARGET. {}
    without a `none` set."""
    plain = next((m for names, m in rows if not names), None)
    if plain is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for names, m in rows:
        if not set(names) & set(ESTATE_NAMES):
            continue
        entry = {
            "wall_x": m["wall_s"] / plain["wall_s"],
            "cpu_x": m["cpu_s"] / plain["cpu_s"],
            "calls_x": m["calls"] / plain["calls"],
            "wall_s": m["wall_s"],
            "plain_wall_s": plain["wall_s"],
            "max_rps_per_target": m["max_rps_per_target"],
        }
        if tuple(names) == REGION_SET:
            entry["target_met"] = entry["wall_x"] <= WALL_TARGET
        out["+".join(names)] = entry
    return out


def verdict_lines(ratios: dict[str, dict[str, Any]], rate: float) -> list[str]:
    """The per-account-region tables together against WALL_TARGET (reported, not failed), the same without
    code_signing (no target), and the rate seen."""
    lines = []
    for names in REGION_SETS:
        entry = ratios.get("+".join(names))
        if entry is None:
            continue
        if "target_met" in entry:
            verdict = f"target <= {WALL_TARGET}x: {'met' if entry['target_met'] else 'NOT met'}"
            what = "per-account-region tables"
        else:
            verdict, what = "no target", "without code_signing"
        lines.append(
            f"  {what} {'+'.join(names)}: wall {entry['wall_x']:.2f}x the plain listing ({verdict}; "
            f"{entry['wall_s']:.1f} s / {entry['plain_wall_s']:.1f} s), CPU {entry['cpu_x']:.2f}x, "
            f"calls {entry['calls_x']:.2f}x"
        )
    if ratios:
        worst = max(entry["max_rps_per_target"] for entry in ratios.values())
        lines.append(
            f"  estate runs: at most {worst:.0f} requests in one second to one account-region "
            f"(max_requests_per_second {rate:g}; all services counted by the fake)"
        )
    return lines
