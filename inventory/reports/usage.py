"""Whether an affected function is used: the `usage` enrichment's invocations over 30 days.

An affected function (a runtime deprecated, blocked, soon deprecated or unknown) that nobody invoked in
the 30 UTC days to the snapshot day is better deleted than migrated: `unused: candidate for deletion`.
That needs the usage to have been read: `invocations_30d == 0` on a row whose `enriched` names `usage`.
A row whose usage was not read is `unknown`, never counted as used or as unused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from inventory.reports.coverage import Reading

USAGE = "usage"  # the enrichment


class Usage(StrEnum):
    UNUSED = "unused: candidate for deletion"  # read: no invocation in the 30 days
    USED = "used"  # read: invoked at least once in the 30 days
    UNKNOWN = "unknown: usage not read"  # not read for its target (or not asked)


def usage_of(row: Mapping[str, Any]) -> tuple[Usage, int | None]:
    """A row's usage, and its invocations_30d when read (None when not)."""
    invocations = row.get("invocations_30d")
    if USAGE not in (row.get("enriched") or ()) or invocations is None:
        return Usage.UNKNOWN, None
    return (Usage.UNUSED if invocations == 0 else Usage.USED), invocations


def usage_cell(usage: Usage, invocations: int | None) -> str:
    """The Markdown/HTML cell: `used (1234 in 30 days)` says how much."""
    return f"{usage} ({invocations} in 30 days)" if usage is Usage.USED else str(usage)


@dataclass(frozen=True)
class UsageCounts:
    """The affected functions by usage, and how far usage was read at all."""

    unused: int
    used: int
    unknown: int
    reading: Reading

    @classmethod
    def of(cls, usages: Iterable[Usage], reading: Reading) -> UsageCounts:
        found = list(usages)
        return cls(found.count(Usage.UNUSED), found.count(Usage.USED), found.count(Usage.UNKNOWN), reading)

    @property
    def line(self) -> str:
        """One sentence for the summary; says "not collected" rather than count every function unknown."""
        line = self.reading.line
        if not self.reading.collected:
            return f"{line[0].upper()}{line[1:]}: whether an affected function is unused is unknown."
        total = self.unused + self.used + self.unknown
        return (
            f"Usage over the 30 days to the snapshot day, of the {total} affected: {self.unused} unused "
            f"(candidates for deletion), {self.used} used, {self.unknown} unknown (usage not read); {line}."
        )
