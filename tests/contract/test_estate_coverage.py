"""Every estate table follows AWS's model: each member of its botocore list item is a typed column
(contract/estate_columns.py) or excluded with a reason, as the function columns are (test_model_coverage.py).
A map column covers its keys and values; the test fails when botocore gains a member nobody read."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.model import Shape
from support.model_walk import mapped_paths, model_leaves, model_members, uncovered

from inventory.contract.estate import ESTATE_TABLES, EstateTable


def item_shape(table: EstateTable) -> Shape:
    model = botocore.session.get_session().get_service_model("lambda")
    listed = model.operation_model(table.operation).output_shape.members[table.items]
    assert listed.type_name == "list"
    return listed.member  # type: ignore[no-any-return]


def covered(table: EstateTable) -> set[str]:
    """The model paths the table's columns read: a map column reads its keys and its values."""
    paths = mapped_paths(table.columns)
    maps = {path for _, kind, path in table.columns if str(kind).startswith("map<")}
    return paths | {f"{path}.{part}" for path in maps for part in ("<keys>", "<values>")}


@pytest.mark.parametrize("table", ESTATE_TABLES, ids=lambda t: t.name)
def test_every_member_of_the_item_is_a_column_or_excluded(table: EstateTable) -> None:
    missing = uncovered(model_leaves(item_shape(table)), covered(table), table.excluded)
    assert missing == [], f"{table.name}: botocore's {table.operation} items have members not read: {missing}"


@pytest.mark.parametrize("table", ESTATE_TABLES, ids=lambda t: t.name)
def test_every_column_and_exclusion_names_a_member(table: EstateTable) -> None:
    members = set(model_members(item_shape(table)))
    maps = {path for _, kind, path in table.columns if str(kind).startswith("map<")}
    assert sorted(mapped_paths(table.columns) - members - maps) == []
    assert sorted(set(table.excluded) - members) == []
    assert all(reason.strip() for reason in table.excluded.values())


def test_column_names_are_unique_within_each_table() -> None:
    for table in ESTATE_TABLES:
        names = table.schema.names
        assert len(names) == len(set(names)), table.name


def test_the_check_fails_when_a_column_is_dropped() -> None:
    (mappings,) = (t for t in ESTATE_TABLES if t.name == "event_source_mappings")
    columns = tuple(c for c in mappings.columns if c[0] != "batch_size")
    trimmed = EstateTable(mappings.name, mappings.enrichment, mappings.operation, mappings.items, (), columns)
    assert "BatchSize" in uncovered(model_leaves(item_shape(trimmed)), covered(trimmed), mappings.excluded)
