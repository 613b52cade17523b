"""Read one of the run's other tables back from beside its inventory file: `runtimes`, or an estate table
(contract/estate.py), from `<stem>.<table>.<fmt>` (contract/layout.py's table_name), typed by that table's
schema as the inventory is (decode.py: CSV's JSON columns back to lists and maps).

The inventory file is named as load_snapshot takes it (local, or `s3://bucket/key.parquet`); the table is
looked for beside it, in the inventory's format. A table the run did not write (it did not ask for its
enrichment), or one that is unreadable, is a SnapshotError of one line naming the file; a name that is not a
table written beside an inventory, a ConfigError.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

import pyarrow as pa

from inventory.contract.estate import BESIDE_TABLES, ESTATE
from inventory.contract.layout import Format, table_name
from inventory.contract.runtime_table import RUNTIMES, RUNTIMES_SCHEMA
from inventory.errors import ConfigError, SnapshotError
from inventory.readers.decode import decode_table
from inventory.readers.sources import join, locate, split

__all__ = ["beside_schema", "load_beside"]


def beside_schema(table: str) -> pa.Schema:
    """The schema of a table written beside an inventory file (BESIDE_TABLES)."""
    if table == RUNTIMES:
        return RUNTIMES_SCHEMA
    if table in ESTATE:
        return ESTATE[table].schema
    raise ConfigError(f"{table}: not a table written beside an inventory (one of {', '.join(BESIDE_TABLES)})")


def load_beside(inventory: str | Path, table: str, fmt: Format | None = None, *, s3: Any = None) -> pa.Table:
    """The rows of `table` written beside the inventory file `inventory`, as its schema says.

    `fmt` is the inventory's format when its name does not say (default: from its name); `s3` a boto3 S3
    client for an s3:// inventory (default: one from the standard AWS chain)."""
    schema = beside_schema(table)
    source = str(inventory)
    store, path, is_file = locate(source, s3)
    if not is_file:
        raise ConfigError(f"{source}: is a directory; give the inventory file the {table} table is beside")
    parent, name = split(path)
    fmt = fmt or Format.from_path(Path(name))
    beside = join(parent, table_name(posixpath.splitext(name)[0], table, fmt))
    try:
        data = store.read(beside)
    except FileNotFoundError as err:
        raise SnapshotError(f"{store.url(beside)}: missing (the {table} table beside {source})") from err
    return decode_table(data, fmt, schema, store.url(beside), estate=ESTATE.get(table))
