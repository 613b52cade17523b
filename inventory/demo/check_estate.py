"""The demo's check of the estate: every table written beside the inventory, read back as a user reads it
(readers/beside.py), holds exactly what was seeded (Seeded.estate) for every target the run should have read,
and nothing for any other; each estate enrichment is `ok` in the status rows of those targets; the functions'
code_signing_config_arn and layer_arns are as seeded; and the `runtimes` file is the packaged schedule.

Each table's rows become facts (tuples of what was seeded and can be read back: ids, ARNs, settings), per
(account, region); a missing fact or one too many is a problem naming the table, the target and the fact.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa

from inventory.contract.estate import ESTATE_ENRICHMENTS, tables_read_by
from inventory.contract.layout import Format
from inventory.contract.runtime_table import RUNTIMES, runtimes_table
from inventory.contract.runtimes import load_catalog
from inventory.demo.estate import RegionEstate
from inventory.demo.seed import Seeded
from inventory.errors import SnapshotError
from inventory.readers.beside import load_beside
from inventory.readers.snapshot_type import Snapshot

Key = tuple[str, str]  # (account id, region)
Facts = dict[Key, set[tuple[Any, ...]]]
SHOWN = 5  # problems shown per table and target (the rest are counted)


def check_estate_tables(
    snapshots: Sequence[Snapshot],
    inventories: list[Path],
    fmt: Format,
    seeded: Seeded,
    *,
    read: Collection[Key],
    enrichments: Collection[str] = ESTATE_ENRICHMENTS,
) -> list[str]:
    """The estate one run wrote (a sharded run's files, taken together; or a lake's run, with no `inventories`),
    as its snapshots read it back, against what was seeded for the targets in `read` (those the run lists: `ok`):
    the tables the run's estate `enrichments` read (every one by default), and the `runtimes` file beside each
    of `inventories`. An empty list means exactly as seeded."""
    functions = pa.concat_tables([s.functions for s in snapshots])
    problems = _statuses(pa.concat_tables([s.status for s in snapshots]), read, enrichments)
    tables: dict[str, pa.Table] = {}
    for name in (table.name for table in tables_read_by(enrichments)):
        missing = [s.source for s in snapshots if name not in s.tables]
        if missing:
            problems.append(f"{missing[0]}: no {name} table beside it")
            continue
        tables[name] = pa.concat_tables([s.tables[name] for s in snapshots])
    truth = {key: estate for key, estate in seeded.estate.items() if key in read}
    for name, (facts, expected) in _FACTS.items():
        if name in tables:
            problems += compare(name, facts(tables[name]), _expected(truth, expected))
    signing = "code_signing" in enrichments  # a function's code_signing_config_arn is that enrichment's
    seeded_functions = partial(_seeded_functions, signing=signing)
    problems += compare("functions", _function_facts(functions, signing), _expected(truth, seeded_functions))
    for path in inventories:
        try:
            problems += _runtimes(path, fmt, functions)
        except SnapshotError as err:
            problems.append(str(err))
    return problems


def compare(what: str, found: Facts, expected: Facts) -> list[str]:
    """Each target's facts that are missing from `found`, and those in it that were not seeded."""
    problems = []
    for account, region in sorted(found.keys() | expected.keys()):
        got, want = found.get((account, region), set()), expected.get((account, region), set())
        differences = [f"missing {fact}" for fact in sorted(want - got, key=repr)]
        differences += [f"not seeded {fact}" for fact in sorted(got - want, key=repr)]
        shown = [f"{what}: {account}/{region}: {text}" for text in differences[:SHOWN]]
        if len(differences) > SHOWN:
            shown.append(f"{what}: {account}/{region}: and {len(differences) - SHOWN} more differences")
        problems += shown
    return problems


def _statuses(status: pa.Table, read: Collection[Key], enrichments: Collection[str]) -> list[str]:
    """Each of the run's estate enrichments is `ok` for every target the run should have read."""
    problems = []
    for row in status.select(["account_id", "region", "enrichments"]).to_pylist():
        if (row["account_id"], row["region"]) not in read:
            continue
        found = {e["name"]: e["status"] for e in row["enrichments"] or []}
        where = f"{row['account_id']}/{row['region']}"
        problems += [
            f"status: {where}: enrichment {name} is {found.get(name, 'absent')}, expected ok"
            for name in ESTATE_ENRICHMENTS
            if name in enrichments and found.get(name) != "ok"
        ]
    return problems


def _grouped(table: pa.Table, fact: Callable[[dict[str, Any]], Iterable[tuple[Any, ...]]]) -> Facts:
    facts: Facts = {}
    for row in table.to_pylist():
        facts.setdefault((row["account_id"], row["region"]), set()).update(fact(row))
    return facts


def _expected(truth: Mapping[Key, RegionEstate], facts: Callable[[RegionEstate], Iterable[tuple[Any, ...]]]) -> Facts:
    return {key: set(facts(estate)) for key, estate in truth.items()}


def _name(arn: str) -> str:
    """A function's name from its (possibly qualified) ARN."""
    return arn.split(":")[6]


def _weights(weights: Iterable[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(weights))


# --- event_source_mappings: settings as created, destinations by ARN ------------------------------------


def _mapping_rows(table: pa.Table) -> Facts:
    return _grouped(
        table,
        lambda r: [
            (
                r["function_name"],
                r["uuid"],
                r["function_arn"],
                r["event_source_arn"],
                r["batch_size"],
                r["maximum_batching_window_seconds"],
                tuple(r["filter_patterns"]),
                r["starting_position"],
                r["maximum_retry_attempts"],
                r["on_success_destination"],
                r["on_failure_destination"],
            )
        ],
    )


def _seeded_mappings(estate: RegionEstate) -> Iterable[tuple[Any, ...]]:
    for m in estate.mappings:
        yield (
            _name(m.function_arn),
            m.uuid,
            m.function_arn,
            m.event_source_arn,
            m.batch_size,
            m.batching_window,
            m.filter_patterns,
            m.starting_position,
            m.retry_attempts,
            None,
            m.on_failure,
        )


# --- layers and layer_versions: each layer's latest, and its versions in order ---------------------------


def _layer_rows(table: pa.Table) -> Facts:
    return _grouped(
        table,
        lambda r: [(r["layer_name"], r["layer_arn"], r["latest_layer_version_arn"], r["latest_version"])],
    )


def _seeded_layers(estate: RegionEstate) -> Iterable[tuple[Any, ...]]:
    for name, arns in estate.layers.items():
        yield name, arns[-1].rsplit(":", 1)[0], arns[-1], len(arns)


def _version_rows(table: pa.Table) -> Facts:
    """One fact per layer: its versions, ordered by version number, each (version, ARN, public: its policy lets
    anyone use it)."""
    versions: dict[tuple[str, str, str], list[tuple[int, str, bool]]] = {}
    columns = ["account_id", "region", "layer_name", "version", "layer_version_arn", "public_actions"]
    for row in table.select(columns).to_pylist():
        key = (row["account_id"], row["region"], row["layer_name"])
        versions.setdefault(key, []).append((row["version"], row["layer_version_arn"], bool(row["public_actions"])))
    facts: Facts = {}
    for (account, region, layer), found in versions.items():
        facts.setdefault((account, region), set()).add((layer, tuple(sorted(found, key=lambda v: (v[0] or 0, v[1])))))
    return facts


def _seeded_versions(estate: RegionEstate) -> Iterable[tuple[Any, ...]]:
    for name, arns in estate.layers.items():
        yield name, tuple((v, arn, _shared_with_anyone(estate, arn)) for v, arn in enumerate(arns, start=1))


def _shared_with_anyone(estate: RegionEstate, arn: str) -> bool:
    """A layer version shared with "*" and no organization: public (an organization's share is not)."""
    return any(share.organization_id is None for share in estate.layer_shares.get(arn, ()))


# --- aliases, event invoke configs, provisioned concurrency: per function ---------------------------------


def _alias_rows(table: pa.Table) -> Facts:
    return _grouped(
        table,
        lambda r: [
            (
                r["function_name"],
                r["name"],
                r["alias_arn"],
                r["function_version"],
                _weights(r["routing_weights"]),
                bool(r["public_invoke"]),  # the alias's own policy lets anyone invoke it
            )
        ],
    )


def _seeded_aliases(estate: RegionEstate) -> Iterable[tuple[Any, ...]]:
    for arn, function in estate.functions.items():
        for name, alias in function.aliases.items():
            public = any(grant.public for grant in function.alias_grants.get(name, ()))
            yield _name(arn), name, f"{arn}:{name}", alias.version, _weights(alias.weights.items()), public


def _invoke_rows(table: pa.Table) -> Facts:
    return _grouped(
        table,
        lambda r: [
            (
                r["function_name"],
                r["function_arn"],
                r["maximum_retry_attempts"],
                r["maximum_event_age_seconds"],
                r["on_success_destination"],
                r["on_failure_destination"],
            )
        ],
    )


def _seeded_invoke(estate: RegionEstate) -> Iterable[tuple[Any, ...]]:
    for function in estate.functions.values():
        for qualified, c in function.invoke_configs.items():
            yield _name(qualified), qualified, c.retry_attempts, c.max_event_age, c.on_success, c.on_failure


def _provisioned_rows(table: pa.Table) -> Facts:
    return _grouped(table, lambda r: [(r["function_name"], r["function_arn"], r["requested"])])


def _seeded_provisioned(estate: RegionEstate) -> Iterable[tuple[Any, ...]]:
    for function in estate.functions.values():
        for qualified, executions in function.provisioned.items():
            yield _name(qualified), qualified, executions


# --- code_signing_configs, and what each function uses (the functions table) ------------------------------


def _signing_rows(table: pa.Table) -> Facts:
    return _grouped(
        table,
        lambda r: [
            (
                r["code_signing_config_arn"],
                r["description"],
                tuple(r["allowed_signing_profile_version_arns"]),
                r["untrusted_artifact_on_deployment"],
            )
        ],
    )


def _seeded_signing(estate: RegionEstate) -> Iterable[tuple[Any, ...]]:
    for arn, signing in estate.code_signing_configs.items():
        yield arn, signing.description, signing.profile_arns, signing.untrusted


def _function_facts(functions: pa.Table, signing: bool) -> Facts:
    """Each function's layers, in order, and (where `code_signing` was read) its config ("" for none)."""
    columns = ["account_id", "region", "function_arn", "code_signing_config_arn", "layer_arns"]
    return _grouped(
        functions.select(columns),
        lambda r: [
            (r["function_arn"], tuple(r["layer_arns"]), (r["code_signing_config_arn"] or "") if signing else "")
        ],
    )


def _seeded_functions(estate: RegionEstate, *, signing: bool) -> Iterable[tuple[Any, ...]]:
    for arn, function in estate.functions.items():
        yield arn, function.layers, function.code_signing_config_arn if signing else ""


_FACTS: dict[str, tuple[Callable[[pa.Table], Facts], Callable[[RegionEstate], Iterable[tuple[Any, ...]]]]] = {
    "event_source_mappings": (_mapping_rows, _seeded_mappings),
    "layers": (_layer_rows, _seeded_layers),
    "layer_versions": (_version_rows, _seeded_versions),
    "aliases": (_alias_rows, _seeded_aliases),
    "event_invoke_configs": (_invoke_rows, _seeded_invoke),
    "provisioned_concurrency": (_provisioned_rows, _seeded_provisioned),
    "code_signing_configs": (_signing_rows, _seeded_signing),
}


# --- runtimes: the packaged schedule, as of the run --------------------------------------------------------


def _runtimes(path: Path, fmt: Format, functions: pa.Table) -> list[str]:
    """The runtimes file beside one inventory is the packaged schedule at the run's snapshot time."""
    table = load_beside(path, RUNTIMES, fmt)
    times = set(table.column("snapshot_time").to_pylist())
    run_times = set(functions.column("snapshot_time").to_pylist())
    if len(times) != 1 or (run_times and not times <= run_times):
        return [f"{path}: runtimes at {sorted(times)}, expected one of the functions' {sorted(run_times)}"]
    catalog = load_catalog()
    if not table.equals(runtimes_table(catalog, times.pop())):
        return [
            f"{path}: runtimes: {table.num_rows} rows, not the packaged schedule's {len(catalog.runtimes)} runtimes "
            f"(checked {catalog.checked})"
        ]
    return []
