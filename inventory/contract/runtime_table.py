"""The runtime schedule (runtimes.py) as a table of every run: `runtimes`, beside the inventory and in the lake,
so "deprecated runtimes by owner" is one join of `functions.runtime` = `runtimes.runtime`."""

from __future__ import annotations

import re
from datetime import datetime

import pyarrow as pa

from inventory.contract.runtimes import RuntimeCatalog

RUNTIMES = "runtimes"
_FAMILY = re.compile(r"^[a-z]+")
RUNTIMES_SCHEMA = pa.schema(
    [
        pa.field("snapshot_time", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("runtime", pa.string(), nullable=False),  # Lambda's identifier: python3.12, nodejs20.x
        pa.field("name", pa.string(), nullable=False),  # AWS's display name: Python 3.12
        pa.field("family", pa.string(), nullable=False),  # the identifier's language part: python, nodejs
        pa.field("deprecation", pa.date32()),  # null: AWS has not scheduled it
        pa.field("block_create", pa.date32()),
        pa.field("block_update", pa.date32()),
        pa.field("checked", pa.date32(), nullable=False),  # when the schedule was last compared with AWS's pages
        pa.field("source", pa.string(), nullable=False),  # where the dates come from (URLs)
    ]
)


def runtimes_table(catalog: RuntimeCatalog, snapshot_time: datetime) -> pa.Table:
    """One row per runtime the schedule lists, in its order."""
    runtimes = list(catalog.runtimes.values())
    rows = [
        {
            "snapshot_time": snapshot_time,
            "runtime": r.runtime,
            "name": r.name,
            "family": (m.group(0) if (m := _FAMILY.match(r.runtime)) else r.runtime),
            "deprecation": r.deprecation,
            "block_create": r.block_create,
            "block_update": r.block_update,
            "checked": catalog.checked,
            "source": catalog.source,
        }
        for r in runtimes
    ]
    return pa.Table.from_pylist(rows, schema=RUNTIMES_SCHEMA)
