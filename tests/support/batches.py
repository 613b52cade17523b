"""One target's ListFunctions items as a RecordBatch of the inventory's schema, for the tests that write or read
rows without running the job.

Built only from the contract's public pieces, the ones the job itself uses: staged.py's `staged_batch` (the
items, validated and converted once), schema.py's `target_columns` and `function_columns` (the job makes the
rows of many targets at once with them: contract/rows.py). The enrichment columns are left empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pyarrow as pa

from inventory.contract.schema import ENRICHMENT_FIELDS, INVENTORY_SCHEMA, function_columns, target_columns
from inventory.contract.staged import staged_batch
from inventory.contract.target import Target


def function_batch(target: Target, snapshot_time: datetime, items: Iterable[Mapping[str, Any]]) -> pa.RecordBatch:
    """One target's ListFunctions items as a RecordBatch of INVENTORY_SCHEMA, not enriched.

    Raises InvalidItem (naming the item and field) when an item is not an object or a field has the wrong type.
    """
    staged = staged_batch(items)
    n = staged.num_rows
    columns = [*target_columns([(target, n)], snapshot_time), *function_columns(staged)]
    enriched, *enrichments = ENRICHMENT_FIELDS
    columns.append(pa.array([[]] * n, enriched.type))  # enriched: none
    columns.extend(pa.nulls(n, field.type) for field in enrichments)
    return pa.RecordBatch.from_arrays(columns, schema=INVENTORY_SCHEMA)
