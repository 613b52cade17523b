"""How a target ended: its listing (TargetResult) and each enrichment read for it (EnrichmentOutcome).

Declared once, here: job/collect.py and job/enrich.py make them; the rows (rows.py, enrichment_columns.py), the status
file (status.py) and the run record (record.py) are written from them. `Status` is the vocabulary of both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from inventory.contract.target import Target

if TYPE_CHECKING:  # annotations only: `--help` imports this module (exits.py), and nothing here needs pyarrow
    import pyarrow as pa


class Status(StrEnum):
    OK = "ok"  # listed completely: every function is in the inventory
    SKIPPED = "skipped"  # provably not enabled for the account: nothing to list
    FAILED = "failed"  # could not be listed: its functions are missing, function_count is null


@dataclass(frozen=True)
class EstateRow:
    """One row of an estate table (contract/estate.py) as read: the keys the read sets, and the API's item."""

    keys: tuple[str, ...]  # the values of the table's `keys`, in order
    item: Mapping[str, Any] = field(repr=False)
    judged: Mapping[str, Any] = field(default_factory=dict)  # the table's `judged` columns (absent: null)


@dataclass(frozen=True)
class EnrichmentOutcome:
    """How one enrichment ended for one target, with the values it read (job/enrich.py)."""

    name: str
    status: Status
    calls: int
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)  # column -> function -> value
    error_code: str | None = None
    error_message: str | None = None
    gone: frozenset[str] = frozenset()  # listed functions found deleted: no value, not `enriched` on their rows
    tables: Mapping[str, tuple[EstateRow, ...]] = field(default_factory=dict, repr=False)  # estate table -> rows


@dataclass(frozen=True)
class TargetResult:
    """How one target's listing ended (job/collect.py), and its enrichments (job/enrich.py)."""

    target: Target
    status: Status
    function_count: int | None  # None (unknown), never 0, when the target did not finish
    functions: tuple[pa.RecordBatch, ...]  # staged items (contract/staged.py); none unless ok: a failure keeps no rows
    pages: int
    retries: int
    duration_s: float
    error_code: str | None = None
    error_message: str | None = None
    enrichments: tuple[EnrichmentOutcome, ...] = ()  # one per enrichment asked for, with its values
