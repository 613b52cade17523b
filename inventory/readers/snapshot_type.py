"""What a reader hands the reports: one snapshot, its functions and its targets' status, typed as written, and
the estate tables the run wrote (contract/estate.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa


@dataclass(frozen=True)
class Snapshot:
    """One snapshot: every function row and every target's status, as INVENTORY_SCHEMA / STATUS_SCHEMA."""

    functions: pa.Table  # INVENTORY_SCHEMA columns (typed; lists as lists even when read from CSV)
    status: pa.Table  # STATUS_SCHEMA
    source: str  # what was read (path/URL, or a lake and its run), for headers
    snapshot_date: date | None  # a lake run's day, or the date of a file's rows' snapshot_time
    warnings: tuple[str, ...] = ()  # e.g. the lake's run is incomplete (a shard missing): coverage is too
    absent_columns: frozenset[str] = frozenset()  # ADDED_COLUMNS a file was written without (read as null)
    # The estate tables the run wrote, by name, each as its EstateTable.schema; a table the run did not write
    # is absent (not empty). Its rows mean "none" only for targets whose status names its enrichment ok.
    tables: Mapping[str, pa.Table] = field(default_factory=dict)
    table_absent_columns: Mapping[str, frozenset[str]] = field(default_factory=dict)  # per table, as absent_columns
