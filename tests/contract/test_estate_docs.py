"""docs/schema.md documents every table a run writes beside the inventory: the estate's (contract/estate.py,
columns in contract/estate_columns.py) and `runtimes` (contract/runtime_table.py).

Each has a section headed `### `<table>`` under "Tables beside the inventory", whose column rows
(`| `column` | type | meaning |`) are exactly its schema's columns, in order, with their types: a column added
to the code without a row fails here, and so does a documented column the table does not have. The section
names the enrichment that writes the table and the API operation its rows come from, and the overview table
says the same. tests/contract/test_schema.py checks the sections above (the functions and status columns).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pyarrow as pa
import pytest

from inventory.contract.estate import BESIDE_TABLES, ESTATE, ESTATE_TABLES, KEY_FIELDS, EstateTable
from inventory.contract.layout import Format, table_name
from inventory.contract.runtime_table import RUNTIMES, RUNTIMES_SCHEMA

DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "schema.md"
HEADING = "## Tables beside the inventory"  # test_schema.py reads only what comes before it
SCHEMAS: dict[str, pa.Schema] = {RUNTIMES: RUNTIMES_SCHEMA, **{table.name: table.schema for table in ESTATE_TABLES}}
_ROW = re.compile(r"^\| `([a-z0-9_]+)` \| ([^|]+?) \| ([^|\n]+)\|$", re.MULTILINE)


def type_text(kind: pa.DataType) -> str:
    """A type as docs/schema.md spells it: `timestamp[us, UTC]`, `list<string>`, `map<string, double>`, `date`."""
    if pa.types.is_timestamp(kind):
        return f"timestamp[{kind.unit}, {kind.tz}]"
    if pa.types.is_map(kind):
        return f"map<{type_text(kind.key_type)}, {type_text(kind.item_type)}>"
    if pa.types.is_list(kind):
        return f"list<{type_text(kind.value_type)}>"
    if pa.types.is_struct(kind):
        return "struct<" + ", ".join(f"{f.name}: {type_text(f.type)}" for f in kind) + ">"
    return {"bool": "bool", "double": "double", "date32[day]": "date"}.get(str(kind), str(kind))


@functools.cache
def beside() -> str:
    """The part of docs/schema.md about the tables beside the inventory."""
    _, found, text = DOCS.read_text(encoding="utf-8").partition(f"\n{HEADING}\n")
    assert found, f"docs/schema.md has no '{HEADING}' section"
    return text


@functools.cache
def sections() -> dict[str, str]:
    """Table -> the text of its `### `<table>`` section, up to the next heading."""
    parts = re.split(r"^### `([a-z0-9_]+)`\n", beside(), flags=re.MULTILINE)
    found: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        assert name not in found, f"two sections for {name}"
        found[name] = re.split(r"^#{1,3} ", body, flags=re.MULTILINE)[0]
    return found


def documented(table: str) -> list[tuple[str, str]]:
    """(column, type) of each column row of the table's section, in order."""
    return [(column, kind) for column, kind, _ in _ROW.findall(sections()[table])]


def test_every_table_beside_the_inventory_has_a_section() -> None:
    assert set(SCHEMAS) == set(BESIDE_TABLES)
    assert sorted(sections()) == sorted(BESIDE_TABLES)


@pytest.mark.parametrize("table", BESIDE_TABLES)
def test_every_column_has_a_row_and_every_row_a_column(table: str) -> None:
    schema = SCHEMAS[table]
    names = [column for column, _ in documented(table)]
    assert set(schema.names) - set(names) == set(), f"docs/schema.md's `{table}` section lacks these columns"
    assert set(names) - set(schema.names) == set(), f"docs/schema.md's `{table}` section names unknown columns"
    assert names == schema.names  # once each, in the table's order
    assert documented(table) == [(field.name, type_text(field.type)) for field in schema]


@pytest.mark.parametrize("table", ESTATE)
def test_estate_sections_start_with_the_key_columns_and_name_their_read(table: str) -> None:
    estate = ESTATE[table]
    keys = [field.name for field in KEY_FIELDS]
    assert keys == ["snapshot_time", "account_id", "account_name", "region"]
    assert [column for column, _ in documented(table)][: len(keys) + len(estate.keys)] == [*keys, *estate.keys]
    text = sections()[table]
    assert f"`enrich: [{estate.enrichment}]`" in text
    assert not estate.judged_by or f"`{estate.judged_by}`" in text
    assert f"`lambda:{estate.operation}`" in text


def test_the_overview_says_which_enrichment_writes_each_table() -> None:
    rows = dict(re.findall(r"^\| \[`([a-z0-9_]+)`\]\(#\1\) \|[^|]+\| ([^|]+?) \|", beside(), flags=re.MULTILINE))
    assert rows == {
        RUNTIMES: "every run",
        **{table.name: _written_by(table) for table in ESTATE_TABLES},
    }


def _written_by(table: EstateTable) -> str:
    judged = f" (judged columns: `{table.judged_by}`)" if table.judged_by else ""
    return f"`enrich: [{table.enrichment}]`{judged}"


def test_the_sibling_files_are_named_as_the_writer_names_them() -> None:
    text = beside()
    assert "`<stem>.<table>.<fmt>`" in text
    assert f"`{table_name('inventory', RUNTIMES, Format.PARQUET)}`" in text
    assert f"`{table_name('inventory', ESTATE_TABLES[0].name, Format.PARQUET)}`" in text
