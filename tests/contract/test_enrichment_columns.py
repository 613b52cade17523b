"""Enrichment values on the rows (contract/enrichment_columns.py, through contract/rows.py's inventory_batch), and the
enrichment columns and status through both file formats and back: typed, null kept apart from empty, an older
file read with them null."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.inventories import PROD, function, functions_table, status, status_table

from inventory.contract.layout import Format
from inventory.contract.results import EnrichmentOutcome, Status, TargetResult
from inventory.contract.rows import RowBuffer, inventory_batch
from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.contract.staged import staged_batch
from inventory.contract.target import Account, Target
from inventory.readers.snapshot import load_snapshot
from inventory.writers.destination import Destination, local_path, resolve_destination
from inventory.writers.sink import open_sink

SNAPSHOT = datetime(2026, 11, 30, 3, tzinfo=UTC)


def _outcome(
    name: str,
    status: Status,
    values: dict[str, dict[str, Any]] | None = None,
    *,
    error_code: str | None = None,
    gone: frozenset[str] = frozenset(),
) -> EnrichmentOutcome:
    """An enrichment read for a target with one call."""
    return EnrichmentOutcome(name, status, 1, values or {}, error_code, gone=gone)


def _part(
    *names_versions: tuple[str, str], region: str = "eu-west-1", outcomes: tuple[EnrichmentOutcome, ...] = ()
) -> TargetResult:
    """A listed target: its staged rows and its enrichments' outcomes."""
    target = Target(Account("111111111111", "a", (), "arn:aws:iam::111111111111:role/r", None), region)
    items = [{"FunctionName": name, "Version": version} for name, version in names_versions]
    return TargetResult(target, Status.OK, len(items), (staged_batch(items),), 1, 0, 0.0, enrichments=outcomes)


def _enriched(*parts: TargetResult) -> list[dict[str, Any]]:
    return inventory_batch(parts, SNAPSHOT).to_pylist()


def test_every_version_of_a_function_gets_its_values() -> None:
    tags = _outcome("tags", Status.OK, {"tags": {"a": [("team", "x")], "b": []}})
    concurrency = _outcome("concurrency", Status.OK, {"reserved_concurrency": {"a": 3, "b": None}})
    rows = _enriched(_part(("a", "$LATEST"), ("a", "1"), ("b", "$LATEST"), outcomes=(tags, concurrency)))
    assert [(r["function_name"], r["version"], r["tags"], r["reserved_concurrency"]) for r in rows] == [
        ("a", "$LATEST", [("team", "x")], 3),
        ("a", "1", [("team", "x")], 3),
        ("b", "$LATEST", [], None),
    ]
    assert all(r["enriched"] == ["concurrency", "tags"] for r in rows)


def test_a_failed_enrichment_sets_nothing() -> None:
    failed = _outcome("policy", Status.FAILED, error_code="AccessDeniedException")
    (row,) = _enriched(_part(("a", "$LATEST"), outcomes=(failed,)))
    assert row["enriched"] == []
    assert all(row[column] is None for column in ("tags", "url_auth_types", "public_invoke", "invoke_principals"))
    urls = _outcome("urls", Status.OK, {"url_auth_types": {"a": ["NONE"]}})
    (row,) = _enriched(_part(("a", "$LATEST"), outcomes=(failed, urls)))
    assert (row["enriched"], row["url_auth_types"], row["public_invoke"], row["invoke_principals"]) == (
        ["urls"],
        ["NONE"],
        None,
        None,
    )


def test_an_ok_enrichment_without_a_functions_value_gives_empty_lists_not_null() -> None:
    (row,) = _enriched(_part(("a", "$LATEST"), outcomes=(_outcome("tags", Status.OK, {"tags": {}}),)))
    assert row["tags"] == []  # Arrow's map: read, none


def test_targets_made_into_one_batch_keep_their_own_values() -> None:
    """Rows of several targets are made at once: each keeps its target's columns and enrichments, even when
    two targets have a function of the same name."""
    tags = _outcome("tags", Status.OK, {"tags": {"a": [("team", "x")]}})
    rows = _enriched(
        _part(("a", "$LATEST"), ("b", "$LATEST"), region="us-east-1", outcomes=(tags,)),
        _part(("a", "$LATEST"), region="eu-west-1"),  # not enriched
        _part(region="eu-central-1", outcomes=(tags,)),  # no functions: no rows
        _part(("a", "$LATEST"), region="ap-south-1", outcomes=(_outcome("tags", Status.OK, {"tags": {}}),)),
    )
    assert [(r["region"], r["function_name"], r["enriched"], r["tags"]) for r in rows] == [
        ("us-east-1", "a", ["tags"], [("team", "x")]),
        ("us-east-1", "b", ["tags"], []),
        ("eu-west-1", "a", [], None),
        ("ap-south-1", "a", ["tags"], []),
    ]


def test_a_value_one_target_cannot_store_fails_that_enrichment_there_alone() -> None:
    """Defence in depth (issue 19): were a value past its column's type to reach the rows (an int64 count of
    2**63, a tag that is not text), the rows are still made: that target's enrichment is failed, with the
    reason, its columns null; its other enrichments, and every other target, are written."""
    written: list[pa.RecordBatch] = []
    buffer = RowBuffer(written.append, SNAPSHOT, rows=100)
    huge = _outcome("usage", Status.OK, {"invocations_30d": {"a": 2**63}, "last_invocation_day": {"a": None}})
    tags = _outcome("tags", Status.OK, {"tags": {"a": [("team", "x")], "b": [("team", 7)]}})
    fine = _outcome("usage", Status.OK, {"invocations_30d": {"a": 5}, "last_invocation_day": {"a": date(2026, 11, 2)}})
    first, second = buffer.add(  # added together, as targets that end together are (job/recorder.py)
        [
            _part(("a", "$LATEST"), ("a", "1"), region="us-east-1", outcomes=(huge, tags)),
            _part(("b", "$LATEST"), region="eu-west-1", outcomes=(tags,)),
        ]
    )
    (third,) = buffer.add([_part(("a", "$LATEST"), region="ap-south-1", outcomes=(fine,))])
    buffer.flush()
    assert [(o.name, o.status, o.error_code) for o in (*first, *second, *third)] == [
        ("usage", Status.FAILED, "InvalidValue"),
        ("tags", Status.OK, None),
        ("tags", Status.FAILED, "InvalidValue"),
        ("usage", Status.OK, None),
    ]
    assert first[0].error_message is not None and first[0].error_message.startswith(
        "usage: a value cannot be stored in invocations_30d (int64): OverflowError: "
    )
    assert second[0].error_message is not None and second[0].error_message.startswith(
        "tags: a value cannot be stored in tags (map<string, string>): "
    )
    rows = pa.Table.from_batches(written).to_pylist()
    assert [(r["region"], r["enriched"], r["tags"], r["invocations_30d"]) for r in rows] == [
        ("us-east-1", ["tags"], [("team", "x")], None),
        ("us-east-1", ["tags"], [("team", "x")], None),
        ("eu-west-1", [], None, None),
        ("ap-south-1", ["usage"], None, 5),
    ]


def test_a_function_gone_before_its_read_is_null_and_not_enriched() -> None:
    urls = _outcome("urls", Status.OK, {"url_auth_types": {"b": ["NONE"]}}, gone=frozenset({"a"}))
    rows = _enriched(_part(("a", "$LATEST"), ("a", "1"), ("b", "$LATEST"), outcomes=(urls,)))
    assert [(r["function_name"], r["enriched"], r["url_auth_types"]) for r in rows] == [
        ("a", [], None),
        ("a", [], None),
        ("b", ["urls"], ["NONE"]),
    ]


def _enriched_rows() -> list[dict[str, Any]]:
    return [
        function(
            PROD,
            "a",
            enriched=["policy", "tags", "usage"],
            tags=[("team", "=payments"), ("cost-centre", "42")],
            public_invoke=True,
            invoke_principals=["*"],
            invocations_30d=0,
            last_invocation_day=None,
        ),
        function(
            PROD, "b", enriched=["tags", "usage"], tags=[], invocations_30d=12, last_invocation_day=date(2026, 11, 29)
        ),
        function(PROD, "c"),  # nothing read: every enrichment column null
    ]


def _status_rows() -> list[dict[str, Any]]:
    element = {
        "name": "policy",
        "status": "failed",
        "calls": 2,
        "error_code": "AccessDeniedException",
        "error_message": "no",
    }
    return [status(PROD, "eu-west-1", count=3, enrichments=[element])]


def _write(directory: Path, fmt: Format = Format.PARQUET) -> Destination:
    """One run's inventory and status files in `directory`, written by the job's own sink."""
    destination = resolve_destination(f"{directory}/", fmt)
    sink = open_sink(destination, STATUS_SCHEMA)
    for batch in functions_table(_enriched_rows()).to_batches():
        sink.write(batch)
    sink.commit(status_table(_status_rows()))
    return destination


@pytest.mark.parametrize("fmt", [Format.PARQUET, Format.CSV])
def test_enrichment_columns_and_status_round_trip(tmp_path: Path, fmt: Format) -> None:
    inventory = local_path(_write(tmp_path, fmt).inventory)
    assert inventory.name == f"inventory.{fmt.value}"
    snapshot = load_snapshot(str(inventory))
    assert snapshot.functions.equals(functions_table(_enriched_rows()))
    (row,) = snapshot.status.to_pylist()
    assert row["enrichments"] == _status_rows()[0]["enrichments"]


def test_csv_writes_tags_as_a_json_object(tmp_path: Path) -> None:
    text = local_path(_write(tmp_path, Format.CSV).inventory).read_text(encoding="utf-8")
    assert '"{""team"": ""=payments"", ""cost-centre"": ""42""}"' in text  # a JSON object, not a formula cell


def test_files_written_before_enrichments_read_them_as_null(tmp_path: Path) -> None:
    destination = _write(tmp_path)
    inventory, status_file = local_path(destination.inventory), local_path(destination.status)
    old_columns = [
        f.name
        for f in INVENTORY_SCHEMA
        if f.name
        not in (
            "enriched",
            "tags",
            "url_auth_types",
            "public_invoke",
            "invoke_principals",
            "reserved_concurrency",
            "invocations_30d",
            "last_invocation_day",
        )
    ]
    pq.write_table(pq.read_table(inventory).select(old_columns), inventory)
    pq.write_table(pq.read_table(status_file).drop_columns(["enrichments"]), status_file)
    snapshot = load_snapshot(str(inventory))
    assert snapshot.functions.schema.equals(INVENTORY_SCHEMA) and snapshot.status.schema.equals(STATUS_SCHEMA)
    assert {"enriched", "tags", "invocations_30d"} <= snapshot.absent_columns
    assert snapshot.functions.column("enriched").to_pylist() == [[], [], []]
    assert snapshot.functions.column("tags").null_count == 3
    assert snapshot.status.column("enrichments").to_pylist() == [None]
