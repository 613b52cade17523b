"""One target's rows of an estate table, typed as the job types them, for the tests that write or read estate
tables without running the job: contract/estate_rows.py's `estate_values` (read and checked) then `estate_batch`
(typed), the two steps the job takes (many targets per batch there, one here)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa

from inventory.contract.estate import EstateTable
from inventory.contract.estate_rows import estate_batch, estate_values
from inventory.contract.results import EstateRow
from inventory.contract.target import Target


def estate_table(table: EstateTable, target: Target, snapshot_time: datetime, rows: Sequence[EstateRow]) -> pa.Table:
    """The rows of `table` read for `target`, typed as its schema says."""
    return estate_batch(table, [estate_values(table, target, snapshot_time, rows)])
