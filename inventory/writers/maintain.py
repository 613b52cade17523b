"""`maintain`: the lake's retention, done by the table format (the documented alternative to Glue's table
optimizers, infra/README.md).

* Days older than `keep_days` are deleted from every table with an Iceberg delete (a new snapshot: the rows
  stay readable by time travel until that snapshot expires). Without `keep_days` no row is deleted.
* Snapshots older than `expire_days` are expired (the current one is always kept), which is what bounds
  time travel and lets data files no snapshot references be removed. pyiceberg removes them from the
  metadata only; the files themselves are removed by Glue's orphan-file deletion (or any Iceberg engine's
  remove_orphan_files).

A normal run never calls this: it deletes nothing.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from inventory.contract.lake import PARTITION_COLUMN, TABLES, Lake
from inventory.signals import deferred
from inventory.writers.lake import lake_failure, open_tables

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Maintained:
    table: str
    days_deleted_before: date | None
    snapshots_expired: int
    snapshots_left: int

    @property
    def line(self) -> str:
        cutoff = self.days_deleted_before
        days = f"no row of a day before {cutoff} left" if cutoff else "no rows deleted (no --keep-days)"
        return f"{self.table}: {days}; {self.snapshots_expired} snapshot(s) expired, {self.snapshots_left} kept"


def maintain(lake: Lake, *, keep_days: int | None, expire_days: int, now: datetime | None = None) -> list[Maintained]:
    """Apply retention to each of the lake's tables; one Maintained per table. OutputError (one line) on failure."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    cutoff = (now - timedelta(days=keep_days)).date() if keep_days else None
    done = []
    for name, table in open_tables(lake, tuple(TABLES)).items():
        try:
            with deferred():
                if cutoff is not None:
                    with warnings.catch_warnings():  # pyiceberg warns when no row matched: nothing to say
                        warnings.simplefilter("ignore", UserWarning)
                        table.delete(f"{PARTITION_COLUMN} < '{cutoff.isoformat()}'")
                before = len(table.snapshots())
                table.maintenance.expire_snapshots().older_than(now - timedelta(days=expire_days)).commit()
        except Exception as err:
            raise lake_failure(lake, f"cannot maintain {name}", err) from err
        left = len(table.snapshots())
        done.append(Maintained(name, cutoff, before - left, left))
    return done
