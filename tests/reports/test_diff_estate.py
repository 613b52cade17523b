"""`diff` over the estate tables (issue 20): rows added / removed / changed per table, only where both snapshots
read the table's enrichment (and the note says where not), aliases and layer versions newly public.

The snapshots are written as the job writes them: the inventory and status files (diff_inventory.py) and each
estate table beside them (`<stem>.<table>.<fmt>`, typed by tests/support/estate.py's estate_table), or a run
of a local lake; read back with load_snapshot and compared.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from conftest import run_cli
from diff_inventory import EAST, NEW_TIME, OLD_TIME, PROD, WEST, Row, enriched, target, write
from support.estate import estate_table
from support.inventories import write_lake_run

from inventory.contract.estate import ESTATE, ESTATE_ENRICHMENTS, ESTATE_TABLES
from inventory.contract.lake import lake_at
from inventory.contract.layout import Format, table_name
from inventory.contract.record import RunInfo
from inventory.contract.results import EstateRow
from inventory.contract.schema import STATUS_SCHEMA
from inventory.contract.target import Account, Target
from inventory.readers.snapshot import Snapshot, load_snapshot
from inventory.reports.diff import Gate, diff_snapshots
from inventory.reports.diff_coverage import DiffCoverage
from inventory.reports.diff_estate import (
    ESTATE_EXCLUDED,
    IDENTITY,
    NOT_WRITTEN,
    compared_columns,
    diff_estate,
)
from inventory.reports.diff_render import DiffFormat, render_diff
from inventory.writers.lake import add_rows, open_tables, with_run_columns
from inventory.writers.sink import csv_ready


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


ARN = f"arn:aws:lambda:{EAST}:{PROD}:function"
QUEUE = f"arn:aws:sqs:{EAST}:{PROD}:orders"
READ = {"aliases": "ok", "event_source_mappings": "ok", "layers": "ok", "layer_policies": "ok"}
Tables = Mapping[str, Sequence[EstateRow]]


def _target(region: str = EAST) -> Target:
    return Target(Account(PROD, "prod", (), f"arn:aws:iam::{PROD}:role/R", None), region)


def alias(name: str = "live", *, public: bool = False, weights: dict[str, float] | None = None) -> EstateRow:
    item = {
        "AliasArn": f"{ARN}:billing:{name}",
        "Name": name,
        "FunctionVersion": "3",
        "RoutingConfig": {"AdditionalVersionWeights": weights or {}},
        "RevisionId": "rev-1",
    }
    judged = {
        "public_actions": ["lambda:InvokeFunction"] if public else [],
        "public_invoke": public,
        "invoke_principals": ["*"] if public else [],
    }
    return EstateRow(("billing",), item, judged)


def mapping(batch: int = 10, uuid: str = "u-1") -> EstateRow:
    item = {
        "UUID": uuid,
        "EventSourceMappingArn": f"arn:aws:lambda:{EAST}:{PROD}:event-source-mapping:{uuid}",
        "FunctionArn": f"{ARN}:billing",
        "EventSourceArn": QUEUE,
        "State": "Enabled",
        "BatchSize": batch,
        "LastModified": 1_764_000_000 + batch,  # a change mark: not compared
        "SourceAccessConfigurations": [{"Type": "VPC_SUBNET", "URI": "subnet:a"}],
        "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["b-1:9092", "b-2:9092"]}},
    }
    return EstateRow(("billing",), item)


def layer_version(version: int = 4, actions: Sequence[str] = ()) -> EstateRow:
    arn = f"arn:aws:lambda:{EAST}:{PROD}:layer:otel"
    item = {"LayerVersionArn": f"{arn}:{version}", "Version": version, "CompatibleRuntimes": ["python3.12"]}
    return EstateRow(("otel",), item, {"public_actions": list(actions), "principals": ["*"] if actions else []})


def _status(read: Mapping[str, str] = READ, west: Mapping[str, str] = READ) -> list[Row]:
    return [target(PROD, EAST, enrichments=read), target(PROD, WEST, enrichments=west)]


def write_side(
    path: Path, tables: Tables, status: Sequence[Row], moment: datetime, region_rows: Mapping[str, Tables] | None = None
) -> Path:
    """The inventory (one function), its status and the estate tables beside it, in the format of path."""
    write(path, [enriched(PROD, EAST, "billing")], status, moment)
    per_region = {EAST: tables, **(region_rows or {})}
    for name in dict.fromkeys(n for t in per_region.values() for n in t):
        parts = [
            estate_table(ESTATE[name], _target(region), moment, rows.get(name, ()))
            for region, rows in per_region.items()
        ]
        table = pa.concat_tables(parts)
        where = path.with_name(table_name(path.stem, name, Format.from_path(path)))
        if path.suffix == ".csv":
            pacsv.write_csv(csv_ready(table), where)  # the job's CSV encoding
        else:
            pq.write_table(table, where)
    return path


def diff(old: Tables, new: Tables, *, old_status: Sequence[Row] | None = None, ext: str = "parquet", **kw: Any) -> Any:
    write_side(Path(f"old.{ext}"), old, old_status or _status(), OLD_TIME, {WEST: kw.get("old_west") or {}})
    write_side(Path(f"new.{ext}"), new, kw.get("new_status") or _status(), NEW_TIME, {WEST: kw.get("new_west") or {}})
    return diff_snapshots(load_snapshot(f"old.{ext}"), load_snapshot(f"new.{ext}"))


def _fields(change: Any) -> list[tuple[str, str, str]]:
    return [(f.field, f.old, f.new) for f in change.fields]


# --- reading --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["parquet", "csv"])
def test_the_estate_tables_beside_a_file_are_read_typed(ext: str) -> None:
    weights = {"4": 0.25}
    write_side(
        Path(f"s.{ext}"),
        {"aliases": [alias(weights=weights)], "event_source_mappings": [mapping()]},
        _status(),
        NEW_TIME,
    )
    snapshot = load_snapshot(f"s.{ext}")
    assert sorted(snapshot.tables) == ["aliases", "event_source_mappings"]
    for name, table in snapshot.tables.items():
        assert table.schema == ESTATE[name].schema
    (row,) = snapshot.tables["aliases"].to_pylist()
    assert (row["routing_weights"], row["public_invoke"], row["function_name"]) == ([("4", 0.25)], False, "billing")
    (esm,) = snapshot.tables["event_source_mappings"].to_pylist()
    assert esm["self_managed_endpoints"] == [("KAFKA_BOOTSTRAP_SERVERS", ["b-1:9092", "b-2:9092"])]
    assert esm["source_access_configurations"] == [{"type": "VPC_SUBNET", "uri": "subnet:a"}]


def test_a_file_without_estate_tables_reads_none() -> None:
    write(Path("s.parquet"), [enriched(PROD, EAST, "billing")], _status(), NEW_TIME)
    assert load_snapshot("s.parquet").tables == {}


def test_a_lake_run_reads_the_estate_tables_it_asked_for(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    status = [target(PROD, EAST, enrichments={"aliases": "ok"})]
    record = write_lake_run(lake, [], status, started_at=NEW_TIME)
    rows = estate_table(ESTATE["aliases"], _target(), NEW_TIME, [alias(public=True)])
    info = RunInfo(record.run_id, record.started_at, record.config_sha256, record.shard, record.write_id)
    add_rows(open_tables(lake_at(str(lake)))["aliases"], with_run_columns(rows, info), info)
    snapshot = load_snapshot(str(lake))
    assert list(snapshot.tables) == ["aliases"], "only the tables of the enrichments the run asked for"
    assert snapshot.tables["aliases"].column("alias_arn").to_pylist() == [f"{ARN}:billing:live"]
    assert snapshot.tables["aliases"].schema == ESTATE["aliases"].schema


# --- comparing ----------------------------------------------------------------------------------------


def test_a_changed_batch_size_is_a_change_and_trips_the_change_gate() -> None:
    result = diff({"event_source_mappings": [mapping(10)]}, {"event_source_mappings": [mapping(100)]})
    (table,) = result.estate.tables
    (change,) = table.changes
    assert (change.category, change.identity, change.name) == ("changed", "u-1", "billing")
    assert _fields(change) == [("batch_size", "10", "100")], "last_modified is a change mark, not compared"
    assert result.changes == () and result.tripped({Gate.CHANGE}) and not result.tripped({Gate.NEWLY_PUBLIC})
    markdown = render_diff(result, DiffFormat.MARKDOWN)
    assert "## Estate: event_source_mappings (0 added, 0 removed, 1 changed)" in markdown
    assert "| changed | 111111111111 | prod | us-east-1 | billing | u-1 | batch_size | 10 | 100 |" in markdown
    rows = list(csv.DictReader(io.StringIO(render_diff(result, DiffFormat.CSV))))
    assert [(r["category"], r["function_arn"], r["field"], r["old"], r["new"]) for r in rows] == [
        ("event_source_mappings:changed", "u-1", "batch_size", "10", "100")
    ]


def test_rows_added_and_removed_and_unchanged() -> None:
    result = diff(
        {"event_source_mappings": [mapping(uuid="gone"), mapping(uuid="same")]},
        {"event_source_mappings": [mapping(uuid="same"), mapping(uuid="new")]},
    )
    (table,) = result.estate.tables
    assert [(c.category, c.identity) for c in table.changes] == [("removed", "gone"), ("added", "new")]
    assert table.unchanged == 1


def test_an_alias_made_public_overnight_is_newly_public_and_trips_the_gate() -> None:
    result = diff({"aliases": [alias()]}, {"aliases": [alias(public=True)]})
    (public,) = result.estate.newly_public
    assert (public.table, public.category, public.name, public.detail) == ("aliases", "changed", "billing", "live")
    assert _fields(public) == [
        ("public_invoke", "false", "true"),
        ("public_actions", "[]", '["lambda:InvokeFunction"]'),
    ]
    assert result.newly_public == (), "no function is public"
    assert result.tripped({Gate.NEWLY_PUBLIC}) and result.tripped({Gate.CHANGE})
    markdown = render_diff(result, DiffFormat.MARKDOWN)
    assert "**Newly public: 0 function(s), 1 alias(es) or layer version(s) (see Newly public).**" in markdown
    assert markdown.index("## Newly public (1)") < markdown.index("## Snapshots")
    assert "| billing | live | changed | aliases.public_invoke | false | true |" in markdown
    rows = list(csv.DictReader(io.StringIO(render_diff(result, DiffFormat.CSV))))
    assert [(r["category"], r["field"]) for r in rows[:2]] == [
        ("newly_public", "aliases.public_invoke"),
        ("newly_public", "aliases.public_actions"),
    ]
    assert {r["category"] for r in rows[2:]} == {"aliases:changed"}


def test_an_alias_public_in_both_is_a_change_not_newly_public() -> None:
    result = diff({"aliases": [alias(public=True)]}, {"aliases": [alias(public=True, weights={"4": 0.5})]})
    assert result.estate.newly_public == () and result.tripped({Gate.CHANGE})


def test_a_layer_version_added_public_or_gaining_an_action_is_newly_public() -> None:
    get = ["lambda:GetLayerVersion"]
    result = diff(
        {"layer_versions": [layer_version(4)]}, {"layer_versions": [layer_version(4, get), layer_version(5, get)]}
    )
    found = [(c.table, c.category, c.detail, _fields(c)) for c in result.estate.newly_public]
    shown = '["lambda:GetLayerVersion"]'
    assert found == [
        ("layer_versions", "changed", "4", [("public_actions", "[]", shown)]),
        ("layer_versions", "added", "5", [("public_actions", "", shown)]),
    ]
    assert result.tripped({Gate.NEWLY_PUBLIC})


def test_layer_versions_judged_in_one_snapshot_only_are_compared_without_their_judged_columns() -> None:
    """OLD read `layers` without `layer_policies` (its judged columns null): the versions are still compared, the
    judged columns are not (null -> a verdict is not a change, nor newly public), and the note names the opt-in."""
    get = ["lambda:GetLayerVersion"]
    unjudged = EstateRow(("otel",), layer_version(4).item)
    layers_only = {**READ, "layer_policies": "not read"}
    result = diff(
        {"layer_versions": [unjudged]},
        {"layer_versions": [layer_version(4, get)]},
        old_status=_status(layers_only, layers_only),
    )
    (table,) = result.estate.tables
    assert (table.changes, table.unchanged) == ((), 1)
    assert result.estate.newly_public == () and not result.tripped({Gate.NEWLY_PUBLIC})
    (gap,) = result.estate.gaps
    assert (gap.table, gap.enrichment, gap.old, gap.new) == ("layer_versions", "layer_policies", "not read", "ok")


def test_a_table_whose_read_failed_in_one_snapshot_is_not_compared_there_and_the_note_says_so() -> None:
    """WEST's aliases failed in NEW: its alias is missing from NEW, yet not removed; EAST is compared."""
    failed = {**READ, "aliases": "failed"}
    west = {"aliases": [alias("west")]}
    result = diff(
        {"aliases": [alias()]},
        {"aliases": [alias(weights={"4": 0.5})]},
        old_west=west,
        new_status=_status(west=failed),
    )
    (table,) = result.estate.tables
    assert [(c.category, c.identity) for c in table.changes] == [("changed", f"{ARN}:billing:live")]
    (gap,) = result.estate.gaps
    assert (gap.table, gap.old, gap.new, gap.targets) == (
        "aliases",
        "ok",
        "failed (AccessDeniedException)",
        ((PROD, WEST),),
    )
    markdown = render_diff(result, DiffFormat.MARKDOWN)
    assert "## Estate tables not compared" in markdown
    assert "| aliases | aliases | ok | failed (AccessDeniedException) | 111111111111 eu-west-1 |" in markdown


def test_a_table_one_snapshot_did_not_read_is_not_compared_anywhere() -> None:
    result = diff({}, {"aliases": [alias(public=True)]}, old_status=_status({}, {}))
    (table,) = result.estate.tables
    assert table.changes == () and result.estate.newly_public == ()
    (gap,) = result.estate.gaps
    assert (gap.old, gap.new, gap.everywhere) == ("not read", "ok", True)
    assert "| aliases | aliases | not read | ok | all 2 |" in render_diff(result, DiffFormat.MARKDOWN)


def test_a_table_the_status_says_was_read_but_is_missing_is_not_compared() -> None:
    result = diff({}, {"aliases": [alias()]})
    (gap,) = result.estate.gaps
    assert (gap.old, gap.new) == (NOT_WRITTEN, "ok")


def test_csv_input_gives_the_same_estate_diff_as_parquet() -> None:
    old = {"aliases": [alias()], "event_source_mappings": [mapping(10)]}
    new = {"aliases": [alias(public=True, weights={"4": 0.5})], "event_source_mappings": [mapping(100)]}
    assert diff(old, new, ext="csv").estate == diff(old, new).estate


def test_a_snapshot_without_estate_tables_diffs_as_before() -> None:
    write(Path("old.parquet"), [enriched(PROD, EAST, "billing")], _status(), OLD_TIME)
    write(Path("new.parquet"), [enriched(PROD, EAST, "billing")], _status(), NEW_TIME)
    result = diff_snapshots(load_snapshot("old.parquet"), load_snapshot("new.parquet"))
    assert result.estate.tables == () and result.estate.gaps == ()
    markdown = render_diff(result, DiffFormat.MARKDOWN)
    assert "Estate" not in markdown and " rows |" not in markdown


def test_cli_the_gates_trip_on_an_alias_made_public() -> None:
    write_side(Path("old.parquet"), {"aliases": [alias()]}, _status(), OLD_TIME)
    write_side(Path("new.parquet"), {"aliases": [alias(public=True)]}, _status(), NEW_TIME)
    proc = run_cli("diff", "old.parquet", "new.parquet", "--fail-on", "newly-public", timeout=120)
    assert (proc.returncode, proc.stderr) == (4, "")
    assert "## Newly public (1)" in proc.stdout and "## Estate: aliases (0 added, 0 removed, 1 changed)" in proc.stdout


# --- which columns ----------------------------------------------------------------------------------------

# The estate columns diff compares, as reviewed: a column added to a table fails the test below until it is
# listed here (compared) or excluded, with its reason, in diff_estate.ESTATE_EXCLUDED.
_KAFKA = ("consumer_group_id", "schema_registry_uri", "event_record_format", "schema_registry_access")
REVIEWED: dict[str, frozenset[str]] = {
    "event_source_mappings": frozenset(
        {
            *["function_arn", "event_source_arn", "state", "state_transition_reason", "starting_position"],
            *["starting_position_timestamp", "batch_size", "maximum_batching_window_seconds", "parallelization_factor"],
            *["filter_patterns", "filter_criteria_error_code", "kms_key_arn", "metrics", "system_log_level"],
            *["maximum_concurrency", "on_success_destination", "on_failure_destination", "topics", "queues"],
            *["source_access_configurations", "self_managed_endpoints", "maximum_record_age_seconds"],
            *["bisect_batch_on_function_error", "maximum_retry_attempts", "tumbling_window_seconds"],
            *["function_response_types", "kafka_consumption_mode", "documentdb_database", "documentdb_collection"],
            *["documentdb_full_document", "minimum_pollers", "maximum_pollers", "poller_group_name"],
            *(f"{p}_{c}" for p in ("msk", "kafka") for c in (*_KAFKA, "schema_validation_attributes")),
        }
    ),
    "layers": frozenset(
        {f"latest_{c}" for c in ["layer_version_arn", "version", "description", "created_date", "license_info"]}
        | {"latest_compatible_architectures", "latest_compatible_runtimes"}
    ),
    "layer_versions": frozenset(
        [
            "description",
            "created_date",
            "compatible_architectures",
            "compatible_runtimes",
            "license_info",
            "public_actions",
            "principals",
        ]
    ),
    "aliases": frozenset(
        ["function_version", "description", "routing_weights", "public_actions", "public_invoke", "invoke_principals"]
    ),
    "event_invoke_configs": frozenset(
        ["maximum_retry_attempts", "maximum_event_age_seconds", "on_success_destination", "on_failure_destination"]
    ),
    "provisioned_concurrency": frozenset({"requested", "status", "status_reason"}),
    "code_signing_configs": frozenset(
        {"description", "allowed_signing_profile_version_arns", "untrusted_artifact_on_deployment"}
    ),
}


@pytest.mark.parametrize("table", ESTATE_TABLES, ids=lambda t: t.name)
def test_every_estate_column_is_compared_or_excluded(table: Any) -> None:
    names = set(table.schema.names)
    compared = set(compared_columns(table))
    assert IDENTITY[table.name] in names, "a table's identity is one of its columns"
    assert compared == REVIEWED[table.name], "a new column: review it (REVIEWED) or exclude it (ESTATE_EXCLUDED)"
    assert compared | {IDENTITY[table.name], *(n for n in ESTATE_EXCLUDED if n in names)} == names


def test_every_exclusion_names_a_column_of_some_table() -> None:
    columns = {name for table in ESTATE_TABLES for name in table.schema.names}
    assert set(ESTATE_EXCLUDED) <= columns
    assert {name for t in ESTATE_TABLES for name in (t.enrichment, t.judging)} == set(ESTATE_ENRICHMENTS)


def _other(kind: pa.DataType) -> tuple[Any, Any]:
    """Two different values of a column's type."""
    if pa.types.is_map(kind):
        item = _other(kind.item_type)
        return [("k", item[0])], [("k", item[1])]
    if pa.types.is_list(kind):
        one, two = _other(kind.value_type)
        return [one], [two]
    if pa.types.is_struct(kind):
        return ({f.name: _other(f.type)[0] for f in kind}, {f.name: _other(f.type)[1] for f in kind})
    if pa.types.is_boolean(kind):
        return False, True
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return 1, 2
    if pa.types.is_timestamp(kind):
        return datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    return "a", "b"


@pytest.mark.parametrize("table", ESTATE_TABLES, ids=lambda t: t.name)
def test_each_compared_column_change_is_found_and_each_excluded_one_is_not(table: Any) -> None:
    """In memory, one row per column: a change to a compared column is found (old -> new); to an excluded
    one (not the key) is not."""
    identity = IDENTITY[table.name]
    base = {f.name: ([] if pa.types.is_list(f.type) or pa.types.is_map(f.type) else None) for f in table.schema}
    base |= {"snapshot_time": OLD_TIME, "account_id": PROD, "account_name": "prod", "region": EAST}
    base |= {key: "k" for key in table.keys}
    columns = [n for n in table.schema.names if n not in {identity, "account_id", "region"}]
    old = [{**base, identity: name, name: _other(table.schema.field(name).type)[0]} for name in columns]
    new = [{**base, identity: name, name: _other(table.schema.field(name).type)[1]} for name in columns]
    status = pa.Table.from_pylist(_status(dict.fromkeys(ESTATE_ENRICHMENTS, "ok")), schema=STATUS_SCHEMA)
    sides = [
        Snapshot(pa.table({}), status, side, None, tables={table.name: pa.Table.from_pylist(rows, schema=table.schema)})
        for side, rows in (("old", old), ("new", new))
    ]
    (result,) = diff_estate(*sides, DiffCoverage.of(status, status)).tables
    changed = {c.identity: [f.field for f in c.fields] for c in result.changes}
    assert changed == {name: [name] for name in compared_columns(table)}


def test_the_usage_guide_names_every_exclusion() -> None:
    usage = (Path(__file__).parents[2] / "docs" / "usage.md").read_text(encoding="utf-8")
    assert [name for name in ESTATE_EXCLUDED if f"`{name}`" not in usage] == []
