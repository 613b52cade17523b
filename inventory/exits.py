"""The exit codes, and the one table from an outcome to its code. Used by cli.py only.

Nothing else in the package decides an exit code: the job returns its results, the demo its findings,
`verify` its verdict, a signal its number, and an error is raised as its class (errors.py); cli.main maps
each here. `--help` lists the codes from `ExitCode`, so the table there cannot drift from this one.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable, Sequence
from enum import IntEnum
from typing import TYPE_CHECKING

from botocore import exceptions as boto_errors

from inventory.contract.results import Status
from inventory.errors import (
    ConfigError,
    CredentialsError,
    InventoryError,
    OrganizationError,
    OutputError,
    SnapshotError,
)

if TYPE_CHECKING:
    from inventory.contract.results import TargetResult


class ExitCode(IntEnum):
    OK = 0  # every target ok or skipped (verify: the run is complete, no target failed)
    PARTIAL = 1  # some targets failed; the inventory of the rest was written (demo: its check failed)
    USAGE = 2  # bad config, flags, unreadable input or unwritable destination; nothing written
    ENVIRONMENT = 3  # the hub: STS unreachable, credentials or region unusable, organization not listable
    GATE = 4  # a gate tripped: `report --fail-on STATUS` or `diff --fail-on GATE` (the output is still written)
    INTERNAL = 5  # an unexpected crash (a bug): one line on stderr, the traceback with --log-level debug
    INCOMPLETE = 6  # `verify`: the run is incomplete or nothing was committed (one line per problem)
    INTERRUPTED = 130  # SIGINT (Ctrl-C); nothing written
    TERMINATED = 143  # SIGTERM (ECS stopping the task); nothing written

    @property
    def meaning(self) -> str:
        """One line for `--help` (cli) and the README's table."""
        return _MEANINGS.get(self.name, self.name.lower().replace("_", " "))


_MEANINGS = {
    "OK": "every target ok or skipped (verify: the run is complete, no target failed)",
    "PARTIAL": "some targets failed; the rest was written (demo: its check failed; verify: complete, targets failed)",
    "USAGE": "bad config, flag, environment variable or output; nothing written",
    "ENVIRONMENT": "the hub: STS unreachable, credentials, profile or region unusable, or organization not listable",
    "GATE": "a gate tripped (report --fail-on, diff --fail-on change|newly-public); output written",
    "INTERNAL": "an unexpected crash (a bug): one line; the traceback with --log-level debug",
    "INCOMPLETE": "verify: the run is incomplete (a shard missing, a mix, ...) or nothing was committed",
    "INTERRUPTED": "interrupted (SIGINT); nothing written",
    "TERMINATED": "terminated (SIGTERM); nothing written",
}

# Exception class -> code; the first row the error is an instance of decides. InventoryError comes after its
# subclasses: one added to errors.py without a row of its own is ENVIRONMENT. Anything in no row is a crash.
BY_ERROR: tuple[tuple[type[Exception], ExitCode], ...] = (
    (ConfigError, ExitCode.USAGE),
    (OutputError, ExitCode.USAGE),
    (SnapshotError, ExitCode.USAGE),
    (CredentialsError, ExitCode.ENVIRONMENT),
    (OrganizationError, ExitCode.ENVIRONMENT),
    (InventoryError, ExitCode.ENVIRONMENT),
    # botocore's complaints about the hub's own setup that a check missed: the environment, not a bug
    (boto_errors.CredentialRetrievalError, ExitCode.ENVIRONMENT),
    (boto_errors.EndpointConnectionError, ExitCode.ENVIRONMENT),
    (boto_errors.NoCredentialsError, ExitCode.ENVIRONMENT),
    (boto_errors.NoRegionError, ExitCode.ENVIRONMENT),
    (boto_errors.ProfileNotFound, ExitCode.ENVIRONMENT),
    (boto_errors.UnknownRegionError, ExitCode.ENVIRONMENT),
)

BY_SIGNAL = {signal.SIGINT: ExitCode.INTERRUPTED, signal.SIGTERM: ExitCode.TERMINATED}


def for_error(err: Exception) -> ExitCode:
    """The code of an exception that stopped the command; INTERNAL (a crash) when no row of BY_ERROR has it."""
    return next((code for cls, code in BY_ERROR if isinstance(err, cls)), ExitCode.INTERNAL)


def for_signal(signum: int) -> ExitCode:
    """SIGTERM 143, SIGINT (and anything else that interrupts) 130."""
    return BY_SIGNAL.get(signal.Signals(signum), ExitCode.INTERRUPTED)


def for_run(results: Iterable[TargetResult]) -> ExitCode:
    """0 when every target is ok or skipped, 1 when any failed (the rest is still written)."""
    return ExitCode.PARTIAL if any(result.status is Status.FAILED for result in results) else ExitCode.OK


def for_demo(problems: Sequence[str]) -> ExitCode:
    """The demo's check: 0 when the output matches what was seeded, 1 (as a partial run) when it does not.
    The run's own failed targets do not count: the denied account failing is part of what is expected."""
    return ExitCode.PARTIAL if problems else ExitCode.OK


def for_verify(verdict: str) -> ExitCode:
    """`verify` (contract/current.py's Verdict): 0 complete, 1 complete but some targets failed, 6 incomplete
    or missing (nothing committed)."""
    return {"complete": ExitCode.OK, "complete_with_failures": ExitCode.PARTIAL}.get(verdict, ExitCode.INCOMPLETE)


def for_gate(tripped: bool) -> ExitCode:
    """`report --fail-on` / `diff --fail-on change|newly-public` (or `--fail-on-change`): 4 when the gate
    tripped, else 0."""
    return ExitCode.GATE if tripped else ExitCode.OK
