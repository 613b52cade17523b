"""The report's estate parts (issue 20): public aliases and layer versions, and the estate's figures, each only
where its enrichment was read. Built over the enriched sample's estate tables (estate_inventory.py), typed by
the contract's own schemas; "not read" (not asked, failed, or a table the snapshot lacks) never reads as none."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pyarrow as pa
import pytest
from enriched_inventory import enriched_snapshot, enriched_statuses
from estate_inventory import CENTRAL, EAST, WEST, estate_tables
from support.inventories import DEV, PROD, SNAPSHOT_DATE, function, functions_table, status, status_table

from inventory.contract.estate import ESTATE_ENRICHMENTS
from inventory.readers.snapshot import Snapshot
from inventory.reports.coverage import rows_read, table_reading
from inventory.reports.estate import estate_of, source_of
from inventory.reports.estate_render import estate_section, layers_section
from inventory.reports.exposure_estate import ALIAS, LAYER_VERSION, estate_exposure_of


def _outcomes(states: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"name": n, "status": s, "calls": 1, "error_code": "AccessDeniedException" if s == "failed" else None}
        | {"error_message": None}
        for n, s in states.items()
    ]


def _snapshot(targets: dict[tuple[str, str], dict[str, str]], tables: dict[str, Any] | None = None) -> Snapshot:
    statuses = [status(account, region, enrichments=_outcomes(states)) for (account, region), states in targets.items()]
    functions = functions_table([function(PROD, "f")])
    return Snapshot(functions, status_table(statuses), "fixture://estate", SNAPSHOT_DATE, tables=tables or {})


# --- how far each table was read ------------------------------------------------------------------------


def test_each_enrichment_says_where_it_was_read_and_where_it_failed() -> None:
    snapshot = enriched_snapshot()
    aliases, layers = table_reading(snapshot, "aliases"), table_reading(snapshot, "layers")
    assert aliases.line == (
        "aliases: read for 2 of 3 listed targets; failed for 1 target: 012345678901 us-east-1 (AccessDeniedException)"
    )
    assert (aliases.collected, aliases.complete) == (True, False)
    assert (layers.line, layers.tables, layers.complete) == (
        "layers: read for 3 of 3 listed targets",
        ("layers", "layer_versions"),
        True,
    )


def test_failed_targets_are_named_up_to_three_and_not_asked_is_counted() -> None:
    targets = {(PROD, f"r-{i}"): {"aliases": "failed"} for i in range(5)}
    targets |= {(DEV, "ok-1"): {"aliases": "ok"}, (DEV, "not-asked"): {}}
    line = table_reading(_snapshot(targets, estate_tables({})), "aliases").line
    assert line == (
        "aliases: read for 1 of 7 listed targets; failed for 5 targets: 012345678901 r-0 (AccessDeniedException), "
        "012345678901 r-1 (AccessDeniedException), 012345678901 r-2 (AccessDeniedException), and 2 more; "
        "not asked for 1 target"
    )
    nowhere = table_reading(_snapshot({(PROD, WEST): {"aliases": "failed"}}), "aliases")
    assert nowhere.line.startswith("aliases: not read: failed for 1 target: ") and not nowhere.collected
    assert table_reading(_snapshot({(PROD, WEST): {}}), "layers").line == (
        "layers: not collected (enable enrich: [layers])"
    )


def test_a_table_the_status_says_read_but_the_snapshot_lacks_is_not_read() -> None:
    """A file copied without its tables beside it: the status says ok, but no rows can say "none"."""
    snapshot = _snapshot({(PROD, WEST): dict.fromkeys(ESTATE_ENRICHMENTS, "ok")})
    reading = table_reading(snapshot, "layers")
    assert not reading.collected and rows_read(snapshot, reading, "layers") is None
    assert (
        reading.line == "layers: not read: the status says read, but the snapshot has no layers or layer_versions table"
    )
    summary = estate_of(snapshot)
    assert summary.figures == () and layers_section(summary) is None
    assert estate_section(summary).empty.startswith("No estate table was read")
    exposure = estate_exposure_of(snapshot)
    assert exposure.resources == () and exposure.checked.startswith("Not checked: aliases: not read: the status")


def test_only_the_rows_of_targets_read_are_counted() -> None:
    """Rows of a target whose read is not ok (a mixed-up copy) are never vouched for."""
    tables = estate_tables()
    snapshot = _snapshot({(PROD, WEST): {"aliases": "failed"}, (DEV, CENTRAL): {"aliases": "ok"}}, tables)
    reading = table_reading(snapshot, "aliases")
    kept = rows_read(snapshot, reading, "aliases")
    assert tables["aliases"].num_rows == 2 and kept is not None and kept.num_rows == 0


# --- public aliases and layer versions -------------------------------------------------------------------


def test_public_aliases_and_layer_versions_are_listed_with_their_actions() -> None:
    exposure = estate_exposure_of(enriched_snapshot())
    assert [(r.kind, r.name, r.qualifier, r.actions, r.principals, r.target) for r in exposure.resources] == [
        (ALIAS, "orders|api", "live", ("lambda:InvokeFunction",), ("*",), "3 (4: 10%)"),
        (LAYER_VERSION, "otel", "1", ("lambda:GetLayerVersion",), ("*",), ""),
    ]  # billing-export:prod has no public policy; otel:2 is shared with the organization only
    assert exposure.empty.endswith("this is not a clean bill of health.")  # aliases failed in us-east-1


def test_an_alias_public_by_invoke_alone_is_listed() -> None:
    tables = estate_tables()
    aliases = tables["aliases"]
    empty = pa.array([[]] * aliases.num_rows, pa.list_(pa.string()))
    index = aliases.schema.get_field_index("public_actions")
    tables["aliases"] = aliases.set_column(index, aliases.schema.field(index), empty)
    snapshot = Snapshot(*_parts(enriched_snapshot()), tables=tables)
    assert [r.qualifier for r in estate_exposure_of(snapshot).resources if r.kind == ALIAS] == ["live"]


def _parts(snapshot: Snapshot) -> tuple[Any, ...]:
    return snapshot.functions, snapshot.status, snapshot.source, snapshot.snapshot_date


def test_tables_written_before_the_policies_were_judged_are_not_checked() -> None:
    judged = {
        "aliases": frozenset({"public_actions", "public_invoke"}),
        "layer_versions": frozenset({"public_actions"}),
    }
    snapshot = replace(enriched_snapshot(), table_absent_columns=judged)
    exposure = estate_exposure_of(snapshot)
    assert exposure.resources == ()
    assert exposure.checked == (
        "Not checked: aliases: read, but written before public_actions was judged: not checked; "
        "layer_policies: read, but written before public_actions was judged: not checked."
    )
    summary = estate_of(snapshot)
    assert [u.public for u in summary.layers] == [None]
    assert not [f for f in summary.figures if f.label.startswith("shared with")]


def test_everything_read_and_nothing_public_is_said_plainly() -> None:
    snapshot = _snapshot({(PROD, WEST): dict.fromkeys(ESTATE_ENRICHMENTS, "ok")}, estate_tables({}))
    exposure = estate_exposure_of(snapshot)
    assert exposure.resources == ()
    assert exposure.empty == "No alias or layer version is public: both were read for every listed target."


# --- the estate's figures --------------------------------------------------------------------------------


def test_the_figures_of_the_enriched_sample() -> None:
    figures = {(f.table, f.label): f.count for f in estate_of(enriched_snapshot()).figures}
    assert figures[("event_source_mappings", "mappings")] == 3
    assert figures[("event_source_mappings", "Kinesis, Disabled")] == 1
    assert figures[("event_source_mappings", "self-managed Kafka, Enabled")] == 1
    assert figures[("event_source_mappings", "last poll reported a problem (last_processing_result PROBLEM)")] == 1
    assert figures[("event_invoke_configs", "without an on-failure destination")] == 1
    provisioned = {label: n for (table, label), n in figures.items() if table == "provisioned_concurrency"}
    assert provisioned == {
        "functions with provisioned concurrency": 2,
        "configs (per version or alias)": 2,
        "concurrency requested, in total": 70,
        "concurrency allocated, in total": 55,
        "configs not READY (allocating, or failed)": 1,
    }
    assert figures[("aliases", "routing a share of invocations to another version")] == 1
    assert figures[("code_signing_configs", "configs that only warn on an unsigned deployment (Warn)")] == 1
    assert figures[("code_signing_configs", "functions with a config attached")] == 1
    assert figures[("layers", "function rows running one of these layers")] == 3  # billing-export's 2 rows, a worker
    assert figures[("layers", "of them, on an older version than its layer's latest")] == 2
    assert figures[("layer_versions", "shared with named accounts or an organization only")] == 1


def test_layers_are_most_used_first_with_the_older_versions_counted() -> None:
    (otel,) = estate_of(enriched_snapshot()).layers
    assert (otel.layer, otel.versions, otel.latest, otel.functions, otel.older, otel.public) == ("otel", 2, 2, 3, 2, 1)


def test_a_table_not_read_anywhere_has_no_figure_and_the_section_says_why() -> None:
    states = {"provisioned_concurrency": "ok", "aliases": "failed"}  # the others not asked
    summary = estate_of(_snapshot({(PROD, EAST): states}, estate_tables({})))
    assert {f.table for f in summary.figures} == {"provisioned_concurrency"}
    assert summary.figures[0].count == 0  # read, none there: a real zero
    text = estate_section(summary).text
    assert text[1:] == (
        "Read for all 1 listed targets: provisioned_concurrency.",
        "aliases: not read: failed for 1 target: 012345678901 us-east-1 (AccessDeniedException).",
        "Not collected: event_source_mappings, layers, layer_policies, event_invoke_configs, code_signing "
        "(enable enrich: [event_source_mappings, layers, layer_policies, event_invoke_configs, code_signing]).",
    )


@pytest.mark.parametrize(
    ("arn", "endpoints", "source"),
    [
        ("arn:aws:sqs:eu-west-1:012345678901:q", None, "SQS"),
        ("arn:aws:dynamodb:eu-west-1:012345678901:table/t/stream/2026", None, "DynamoDB stream"),
        ("arn:aws:kafka:eu-west-1:012345678901:cluster/c/1", None, "MSK (Kafka)"),
        ("arn:aws:rds:eu-west-1:012345678901:cluster:docs", None, "DocumentDB"),
        ("arn:aws:es:eu-west-1:012345678901:domain/x", None, "es"),  # a service not named here: as written
        (None, [("KAFKA_BOOTSTRAP_SERVERS", ["b:9092"])], "self-managed Kafka"),
        (None, None, "(no source ARN)"),
    ],
)
def test_the_source_of_a_mapping(arn: str | None, endpoints: Any, source: str) -> None:
    assert source_of(arn, endpoints) == source


def test_statuses_of_the_sample_name_every_estate_enrichment() -> None:
    """The enriched sample is as a run with every estate enrichment writes it: one element each per target."""
    listed = [s for s in enriched_statuses() if s["status"] == "ok"]
    assert all({e["name"] for e in s["enrichments"]} >= set(ESTATE_ENRICHMENTS) for s in listed)
