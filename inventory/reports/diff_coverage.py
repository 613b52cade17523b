"""What two snapshots both looked at: targets listed in both, and enrichments read in both, from their status tables.

A target (account, region) is compared when it is `ok` in the new snapshot and `ok` (or not yet a target: new
coverage) in the old one; any other target's functions are unknown (diff.py). Of the targets listed in both,
an enrichment's columns are compared only where both status rows say it was read (`ok`); everywhere else
`gaps` says which enrichment was not compared for which targets, and why, in a few lines (never per function).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa

from inventory.contract.results import Status

ABSENT = "absent"  # a target with no row in a status table
NOT_READ = "not read"  # an enrichment a status row does not name: not asked for (or a file from before enrichments)
TargetKey = tuple[str, str]  # (account_id, region): a target as the status tables name it


@dataclass(frozen=True)
class TargetState:
    status: str  # a Status (ok / skipped / failed), or ABSENT
    error_code: str | None = None
    enrichments: tuple[tuple[str, str], ...] = ()  # (enrichment, ok / failed (code) / skipped); unnamed: NOT_READ

    def __str__(self) -> str:
        return f"{self.status} ({self.error_code})" if self.error_code else self.status

    def enrichment(self, name: str) -> str:
        return dict(self.enrichments).get(name, NOT_READ)


@dataclass(frozen=True)
class UnknownTarget:
    """A target not compared: some of its functions (maybe none) are unknown; listed if any or if it failed."""

    account_id: str
    account_name: str
    region: str
    old: TargetState
    new: TargetState
    functions: int  # functions of it reported unknown


@dataclass(frozen=True)
class EnrichmentGap:
    """Enrichments not compared for some targets listed in both snapshots: their state in each, and where."""

    enrichments: tuple[str, ...]  # in run order
    old: str  # ok, failed (code), skipped or NOT_READ
    new: str
    targets: tuple[TargetKey, ...]  # sorted
    of: int  # targets listed in both snapshots

    @property
    def everywhere(self) -> bool:
        return len(self.targets) == self.of


@dataclass(frozen=True)
class DiffCoverage:
    """Each target's status in the old and the new snapshot, and which targets can be compared."""

    old: Mapping[TargetKey, TargetState]
    new: Mapping[TargetKey, TargetState]
    names: Mapping[str, str]  # account id -> name (the new snapshot's if both have it)

    @classmethod
    def of(cls, old: pa.Table, new: pa.Table) -> DiffCoverage:
        return cls(_states(old), _states(new), _names(old) | _names(new))

    def states(self, target: TargetKey) -> tuple[TargetState, TargetState]:
        return self.old.get(target, TargetState(ABSENT)), self.new.get(target, TargetState(ABSENT))

    @property
    def comparable(self) -> frozenset[TargetKey]:
        """Listed in the new snapshot, and listed in the old one or not a target of it at all (new coverage)."""
        return frozenset(
            t
            for t in self.new
            if self.states(t)[1].status == Status.OK and self.states(t)[0].status in (Status.OK, ABSENT)
        )

    def unknown_targets(self, unknown: Mapping[TargetKey, int]) -> tuple[UnknownTarget, ...]:
        """Targets not compared that matter: some of their functions are unknown, or one side failed."""
        listed = []
        for target in sorted((set(self.old) | set(self.new) | set(unknown)) - self.comparable):
            before, after = self.states(target)
            count = unknown.get(target, 0)
            if count or Status.FAILED in (before.status, after.status):
                name = self.names.get(target[0], target[0])
                listed.append(UnknownTarget(target[0], name, target[1], before, after, count))
        return tuple(listed)

    def gaps(self, enrichments: Sequence[str]) -> tuple[EnrichmentGap, ...]:
        """Of the targets listed in both snapshots, where each of `enrichments` was not read in both: one gap
        per (old state, new state, targets), naming every enrichment that shares them."""
        both = sorted(t for t in self.comparable if t in self.old)
        where: dict[tuple[str, str, str], list[TargetKey]] = defaultdict(list)
        for target in both:
            before, after = self.states(target)
            for name in enrichments:
                pair = (before.enrichment(name), after.enrichment(name))
                if pair != (Status.OK, Status.OK):
                    where[(name, *pair)].append(target)
        grouped: dict[tuple[str, str, tuple[TargetKey, ...]], list[str]] = defaultdict(list)
        for (name, before_state, after_state), targets in where.items():
            grouped[(before_state, after_state, tuple(targets))].append(name)
        gaps = [EnrichmentGap(tuple(names), *key, of=len(both)) for key, names in grouped.items()]
        return tuple(sorted(gaps, key=lambda g: (enrichments.index(g.enrichments[0]), g.old, g.new, g.targets)))


def _states(status: pa.Table) -> dict[TargetKey, TargetState]:
    rows = status.select(["account_id", "region", "status", "error_code", "enrichments"]).to_pylist()
    return {
        (r["account_id"], r["region"]): TargetState(r["status"], r["error_code"], _enrichments(r["enrichments"]))
        for r in rows
    }


def _enrichments(outcomes: list[dict[str, str | None]] | None) -> tuple[tuple[str, str], ...]:
    """A status row's `enrichments` as (enrichment, state) pairs: `ok`, `skipped`, or `failed (code)`."""
    states = []
    for outcome in outcomes or ():
        status, code = str(outcome["status"]), outcome["error_code"]
        states.append((str(outcome["name"]), f"{status} ({code})" if status == Status.FAILED and code else status))
    return tuple(states)


def _names(status: pa.Table) -> dict[str, str]:
    return dict(zip(status["account_id"].to_pylist(), status["account_name"].to_pylist(), strict=True))
