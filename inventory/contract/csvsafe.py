"""CSV cells that a spreadsheet cannot run as formulas, and that pandas / duckdb can still read exactly.

Member accounts write function descriptions, and account names come from Organizations: a cell such as
`=HYPERLINK(...)` or `@SUM(...)` would run as a formula when someone opens the CSV in Excel, LibreOffice or
Google Sheets. Following OWASP's CSV-injection advice, every *string* cell that starts with `=`, `+`, `-`,
`@`, a tab or a carriage return is written with one `'` in front. To keep that reversible, a cell that
already starts with quotes followed by one of those characters (`'=x`) gets one more quote too (`''=x`).

Undo it by removing one leading `'` from a cell that matches `^'+[=+\\-@\\t\\r]` (`unescape`, or the pandas
and duckdb expressions in docs/schema.md). Numbers, timestamps and the JSON-encoded list columns (which
start with `[`) are never touched, and Parquet is never escaped.
"""

from __future__ import annotations

import re

import pyarrow as pa

__all__ = ["ESCAPED", "TRIGGER", "escape", "escape_column", "escape_strings", "unescape"]

TRIGGER = r"^'*[=+\-@\t\r]"  # a cell to escape on write
ESCAPED = r"^'+[=+\-@\t\r]"  # a cell to unescape on read (remove one leading quote)
_TRIGGER, _ESCAPED = re.compile(TRIGGER), re.compile(ESCAPED)


def escape(text: str) -> str:
    """One cell as written to CSV."""
    return f"'{text}" if _TRIGGER.match(text) else text


def unescape(text: str) -> str:
    """One cell as read back from CSV: the inverse of `escape`."""
    return text[1:] if _ESCAPED.match(text) else text


def escape_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """`escape` over a string column (nulls stay null)."""
    import pyarrow.compute as pc  # noqa: PLC0415 - CSV only: a Parquet run does not pay for it (~0.1 s)

    hit = pc.match_substring_regex(column, TRIGGER)
    quoted = pc.binary_join_element_wise(pa.scalar("'", column.type), column, pa.scalar("", column.type))
    return pc.if_else(hit, quoted, column)


def escape_strings(table: pa.Table) -> pa.Table:
    """The table with every string column escaped; other columns unchanged."""
    columns = [
        escape_column(column) if pa.types.is_string(field.type) or pa.types.is_large_string(field.type) else column
        for field, column in zip(table.schema, table.columns, strict=True)
    ]
    return pa.Table.from_arrays(columns, schema=table.schema)
