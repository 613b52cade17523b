"""An estate table's rows typed from the API's items: every column as read, lists and maps never null, and a
value its column cannot hold refused with one line naming the member, which fails that enrichment for that
target alone (InvalidValue), never the run."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from support.estate import estate_table
from support.estate_items import generated_items

from inventory.contract.estate import ESTATE, run_tables
from inventory.contract.estate_rows import (
    EstateValueError,
    estate_batch,
    estate_values,
    many_targets_estate,
    target_estate,
)
from inventory.contract.results import EnrichmentOutcome, EstateRow, Status, TargetResult
from inventory.contract.rows import RowBuffer
from inventory.contract.runtime_table import RUNTIMES
from inventory.contract.target import Account, Target

SNAPSHOT = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
TARGET = Target(Account("111111111111", "payments", (), "arn:aws:iam::111111111111:role/R", None), "eu-west-1")
FN = "arn:aws:lambda:eu-west-1:111111111111:function:orders"
MAPPING = {
    "UUID": "a1b2",
    "EventSourceMappingArn": "arn:aws:lambda:eu-west-1:111111111111:event-source-mapping:a1b2",
    "FunctionArn": f"{FN}:live",
    "EventSourceArn": "arn:aws:sqs:eu-west-1:111111111111:orders",
    "State": "Enabled",
    "LastModified": 1764000000.5,
    "BatchSize": 10,
    "MaximumBatchingWindowInSeconds": 5,
    "FilterCriteria": {"Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}]},
    "FilterCriteriaError": {"ErrorCode": "E1", "Message": "secret-looking input"},
    "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:eu-west-1:111111111111:dlq"}},
    "SourceAccessConfigurations": [{"Type": "VPC_SUBNET", "URI": "subnet:subnet-1"}],
    "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["b-1:9092", "b-2:9092"]}},
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
    "BisectBatchOnFunctionError": True,
    "SomethingAwsAddsLater": {"x": 1},
}


def _table(item: object, name: str = "event_source_mappings", keys: tuple[str, ...] = ("orders",)) -> pa.Table:
    return estate_table(ESTATE[name], TARGET, SNAPSHOT, [EstateRow(keys, item)])  # type: ignore[arg-type]


def test_a_mapping_is_read_member_by_member() -> None:
    (row,) = _table(MAPPING).to_pylist()
    assert (row["account_id"], row["account_name"], row["region"], row["function_name"]) == (
        "111111111111",
        "payments",
        "eu-west-1",
        "orders",
    )
    assert row["snapshot_time"] == SNAPSHOT
    assert row["last_modified"] == datetime(2025, 11, 24, 16, 0, 0, 500000, tzinfo=UTC)
    assert (row["batch_size"], row["maximum_batching_window_seconds"], row["state"]) == (10, 5, "Enabled")
    assert row["filter_patterns"] == ['{"body": {"kind": ["order"]}}']
    assert row["filter_criteria_error_code"] == "E1"
    assert row["on_failure_destination"].endswith(":dlq") and row["on_success_destination"] is None
    assert row["source_access_configurations"] == [{"type": "VPC_SUBNET", "uri": "subnet:subnet-1"}]
    assert row["self_managed_endpoints"] == [("KAFKA_BOOTSTRAP_SERVERS", ["b-1:9092", "b-2:9092"])]
    assert row["bisect_batch_on_function_error"] is True
    assert "secret-looking input" not in str(row), "the error's free text is excluded"


def test_absent_members_are_null_and_absent_lists_and_maps_empty() -> None:
    (row,) = _table({"UUID": "u"}).to_pylist()
    assert row["batch_size"] is None and row["last_modified"] is None
    assert row["topics"] == [] and row["filter_patterns"] == [] and row["self_managed_endpoints"] == []
    assert row["source_access_configurations"] == []


def test_lambda_text_times_and_maps_of_weights() -> None:
    (layer,) = _table(
        {"LayerVersionArn": "arn:l:1", "Version": 3, "CreatedDate": "2026-01-02T03:04:05.000+0000"},
        "layer_versions",
        ("tools",),
    ).to_pylist()
    assert layer["created_date"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC) and layer["layer_name"] == "tools"
    alias = {"AliasArn": f"{FN}:live", "Name": "live", "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1}}}
    (row,) = _table(alias, "aliases").to_pylist()
    assert row["routing_weights"] == [("2", 0.1)]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"BatchSize": "10"}, "BatchSize"),
        ({"BatchSize": 2**31}, "BatchSize"),
        ({"BatchSize": True}, "BatchSize"),
        ({"LastModified": "yesterday"}, "LastModified"),
        ({"LastModified": 1e30}, "LastModified"),
        ({"DestinationConfig": "arn:aws:sqs:x"}, "DestinationConfig"),
        ({"FilterCriteria": {"Filters": ["not an object"]}}, "FilterCriteria.Filters"),
        ({"Topics": "orders"}, "Topics"),
        ({"SelfManagedEventSource": {"Endpoints": {"K": "b-1:9092"}}}, "SelfManagedEventSource.Endpoints"),
        ({"SourceAccessConfigurations": [{"Type": 7}]}, "Type"),
    ],
)
def test_a_value_that_does_not_fit_is_refused_naming_the_member(change: dict[str, object], named: str) -> None:
    with pytest.raises(EstateValueError, match=named):
        _table({**MAPPING, **change})


ALIAS = {"AliasArn": f"{FN}:live", "Name": "live", "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1}}}


@pytest.mark.parametrize(
    ("name", "item", "keys", "named"),
    [  # each a value Arrow would refuse: refused per target, so typing many targets at once never fails
        ("event_source_mappings", {**MAPPING, "State": "\udcff"}, ("orders",), "State"),
        (
            "event_source_mappings",
            {**MAPPING, "FunctionResponseTypes": ["\ud800"]},
            ("orders",),
            "FunctionResponseTypes",
        ),
        (
            "event_source_mappings",
            {**MAPPING, "SelfManagedEventSource": {"Endpoints": {"\ud800": ["b-1:9092"]}}},
            ("orders",),
            "SelfManagedEventSource.Endpoints",
        ),
        ("event_source_mappings", MAPPING, ("orders\ud800",), "function_name"),
        ("aliases", {**ALIAS, "RoutingConfig": {"AdditionalVersionWeights": {"2": 2**64 - 1}}}, ("orders",), "Routing"),
    ],
)
def test_a_value_arrow_would_refuse_is_refused_before_typing(
    name: str, item: dict[str, object], keys: tuple[str, ...], named: str
) -> None:
    with pytest.raises(EstateValueError, match=named):
        estate_values(ESTATE[name], TARGET, SNAPSHOT, [EstateRow(keys, item)])


def test_a_verdict_its_column_cannot_hold_is_refused_before_typing() -> None:
    row = EstateRow(("tools",), {"LayerVersionArn": "arn:l:1", "Version": 1}, {"public_actions": ["lambda:\ud800"]})
    with pytest.raises(EstateValueError, match=r"layer_versions\.public_actions"):
        estate_values(ESTATE["layer_versions"], TARGET, SNAPSHOT, [row])


def test_many_targets_typed_at_once_are_each_target_typed_alone_in_order() -> None:
    other = Target(Account("222222222222", "ledger", (), "arn:aws:iam::222222222222:role/R", None), "us-east-1")
    table = ESTATE["event_source_mappings"]
    reads = [
        (TARGET, [EstateRow(("orders",), MAPPING), EstateRow(("refunds",), {"UUID": "u2"})]),
        (other, [EstateRow(("ledger",), {**MAPPING, "UUID": "u3", "BatchSize": 2})]),
        (TARGET, [EstateRow(("orders",), {"UUID": "u4", "Topics": ["t"]})]),
    ]
    together = estate_batch(table, [estate_values(table, target, SNAPSHOT, rows) for target, rows in reads])
    alone = pa.concat_tables([estate_table(table, target, SNAPSHOT, rows) for target, rows in reads])
    assert together.schema == table.schema and together.num_rows == 4
    assert together.equals(alone)
    assert together.column("account_id").to_pylist() == ["111111111111"] * 2 + ["222222222222", "111111111111"]


def test_an_item_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(EstateValueError, match="ListEventSourceMappings item 0 is a list"):
        _table([1, 2])


def test_a_bad_value_fails_its_enrichment_for_the_target_alone() -> None:
    good = EnrichmentOutcome("layers", Status.OK, 2, tables={"layers": (EstateRow((), {"LayerName": "tools"}),)})
    bad_rows = (EstateRow(("orders",), {**MAPPING, "BatchSize": "ten"}),)
    bad = EnrichmentOutcome("event_source_mappings", Status.OK, 1, tables={"event_source_mappings": bad_rows})
    outcomes, tables = target_estate(TARGET, SNAPSHOT, [bad, good])
    assert [(o.name, o.status, o.error_code) for o in outcomes] == [
        ("event_source_mappings", Status.FAILED, "InvalidValue"),
        ("layers", Status.OK, None),
    ]
    assert "BatchSize" in (outcomes[0].error_message or "")
    assert [(part.table, part.rows) for part in tables] == [("layers", 1)]


def test_the_row_buffer_hands_estate_tables_to_the_sink_a_few_thousand_rows_at_a_time() -> None:
    """Typed as each target finishes; written once `rows` wait (one Parquet write per target costs ~2 ms), and
    the rest on flush."""
    written: list[tuple[str, int]] = []
    buffer = RowBuffer(lambda batch: None, SNAPSHOT, 3, write_estate=lambda name, t: written.append((name, t.num_rows)))
    outcome = EnrichmentOutcome(
        "event_source_mappings", Status.OK, 1, tables={"event_source_mappings": (EstateRow(("orders",), MAPPING),)}
    )
    result = TargetResult(TARGET, Status.OK, 0, (), 1, 0, 0.1, enrichments=(outcome,))
    assert buffer.add([result]) == [(outcome,)]
    assert written == []
    buffer.add([result])
    buffer.add([result])
    assert written == [("event_source_mappings", 3)]
    buffer.add([result])
    buffer.flush()
    assert written == [("event_source_mappings", 3), ("event_source_mappings", 1)]


@pytest.mark.parametrize("together", [True, False], ids=["added-together", "added-one-by-one"])
def test_a_bad_target_among_good_ones_fails_alone_and_the_others_are_typed_together(together: bool) -> None:
    """Added together (job/recorder.py), the three are read in one walk; the bad value sends them back to one by
    one, so that only its target fails, with the message it gets alone."""
    written: list[pa.Table] = []
    buffer = RowBuffer(lambda batch: None, SNAPSHOT, 100, write_estate=lambda name, t: written.append(t))

    def result(uuid: str, batch_size: object) -> TargetResult:
        rows = (EstateRow(("orders",), {**MAPPING, "UUID": uuid, "BatchSize": batch_size}),)
        outcome = EnrichmentOutcome("event_source_mappings", Status.OK, 1, tables={"event_source_mappings": rows})
        return TargetResult(TARGET, Status.OK, 0, (), 1, 0, 0.1, enrichments=(outcome,))

    parts = [result(uuid, size) for uuid, size in [("u1", 1), ("u2", "ten"), ("u3", 3)]]
    added = buffer.add(parts) if together else [buffer.add([part])[0] for part in parts]
    buffer.flush()
    assert [outcomes[0].status for outcomes in added] == [Status.OK, Status.FAILED, Status.OK]
    assert added[1][0].error_message == (
        "event_source_mappings: ListEventSourceMappings item 0: BatchSize is 'ten', expected int32"
    )
    (table,) = written
    assert table.column("uuid").to_pylist() == ["u1", "u3"] and table.column("batch_size").to_pylist() == [1, 3]


def test_a_run_writes_runtimes_and_the_tables_its_enrichments_read() -> None:
    assert list(run_tables(())) == [RUNTIMES]
    assert list(run_tables(("layers", "tags"))) == [RUNTIMES, "layers", "layer_versions"]


@pytest.mark.parametrize("hostile", [0.0, 0.02, 0.3])
def test_many_targets_read_together_equal_each_read_alone(hostile: float) -> None:
    """contract/rows.py reads the estate of the targets that end together in one walk (many_targets_estate); it
    must give every target the outcome, and every table the rows, that reading them one by one gives."""
    rng = random.Random(f"many-{hostile}")
    refused = mixed = together = 0
    for round_ in range(60):
        parts = [_generated_target(rng, hostile, index) for index in range(rng.randint(1, 8))]
        alone = [target_estate(target, SNAPSHOT, outcomes) for target, outcomes in parts]
        outcomes, values = many_targets_estate(parts, SNAPSHOT)
        assert outcomes == [written for written, _ in alone], round_
        expected = [value for _, found in alone for value in found]
        for name in ESTATE:
            got = [value for value in values if value.table == name]
            want = [value for value in expected if value.table == name]
            assert bool(got) == bool(want), (round_, name)
            if want:
                assert estate_batch(ESTATE[name], got).equals(estate_batch(ESTATE[name], want)), (round_, name)
        statuses = [o.status for written in outcomes for o in written]
        refused += Status.FAILED in statuses
        mixed += Status.FAILED in statuses and Status.OK in statuses
        together += Status.FAILED not in statuses and bool(values)
    if hostile == 0.0:
        assert together and not refused, "every round is read together, none refused"
    if hostile >= 0.3:
        assert mixed, "no round had a bad target among good ones"


def _generated_target(rng: random.Random, hostile: float, index: int) -> tuple[Target, tuple[EnrichmentOutcome, ...]]:
    """A target with an ok outcome per estate enrichment of generated rows (some targets with none)."""
    account = f"10000000000{index}"
    role = f"arn:aws:iam::{account}:role/R"
    target = Target(Account(account, f"account {index}", (), role, None), rng.choice(["eu-west-1", "us-east-1"]))
    outcomes = []
    read = {"event_source_mappings": ("event_source_mappings",), "layers": ("layers", "layer_versions")}
    for name, tables in read.items():
        found = {}
        for table in tables:
            items = generated_items(ESTATE[table].columns, rng, hostile)
            keys = tuple(f"key-{n}" for n in range(len(ESTATE[table].keys)))
            found[table] = tuple(EstateRow(keys, item) for item in items)
        outcomes.append(EnrichmentOutcome(name, Status.OK, 1, tables=found))
    return target, tuple(outcomes)
