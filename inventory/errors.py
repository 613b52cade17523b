"""The exceptions that stop a run, and the exit codes they map to.

Per-target problems are not exceptions here: they become `failed`/`skipped` results (see collect.py).
"""

from __future__ import annotations

import reprlib
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # every target ok or skipped
    PARTIAL = 1  # some targets failed; the inventory of the rest was written
    USAGE = 2  # bad config, flags, unreadable input or unwritable destination; nothing written
    ENVIRONMENT = 3  # the hub's credentials or region are unusable, or the organization cannot be listed
    GATE = 4  # a gate tripped: `report --fail-on STATUS` or `diff --fail-on-change` (the output is still written)
    INTERNAL = 5  # an unexpected crash (a bug): one line on stderr, the traceback with --log-level debug
    INTERRUPTED = 130  # SIGINT (Ctrl-C); nothing written
    TERMINATED = 143  # SIGTERM (ECS stopping the task); nothing written

    @property
    def meaning(self) -> str:
        """One line for `--help` (cli) and the README's table."""
        return _MEANINGS.get(self.name, self.name.lower().replace("_", " "))


_MEANINGS = {
    "OK": "every target ok or skipped",
    "PARTIAL": "some targets failed; the rest and the status file were written",
    "USAGE": "bad config, flag, environment variable or output; nothing written",
    "ENVIRONMENT": "hub credentials, profile or region unusable, or the organization not listable",
    "GATE": "a gate tripped (report --fail-on, diff --fail-on-change); output written",
    "INTERNAL": "an unexpected crash (a bug): one line; the traceback with --log-level debug",
    "INTERRUPTED": "interrupted (SIGINT); nothing written",
    "TERMINATED": "terminated (SIGTERM); nothing written",
}


class InventoryError(Exception):
    """Base of the errors that stop a run before or while it writes output."""

    exit_code: ExitCode = ExitCode.ENVIRONMENT


class ConfigError(InventoryError):
    """The config file or a flag is wrong. The message names the YAML path or the flag."""

    exit_code = ExitCode.USAGE


class OutputError(InventoryError):
    """The destination cannot be written."""

    exit_code = ExitCode.USAGE


class CredentialsError(InventoryError):
    """The hub has no usable AWS credentials."""

    exit_code = ExitCode.ENVIRONMENT


SHOWN_CHARS = 60  # at most this much of an input value is echoed in an error message


def shown_text(text: str, limit: int = SHOWN_CHARS) -> str:
    """Text that came from the input (or from a library quoting it), on one line and cut to `limit` chars."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else f"{flat[:limit]}... ({len(text)} characters)"


def shown(value: object) -> str:
    """A bounded repr of an input value for an error message: never the whole of a long string or a big
    structure (the repr is built with reprlib's limits, so a huge value is not rendered first)."""
    if isinstance(value, str):
        if len(value) <= SHOWN_CHARS:
            return repr(value)
        return f"{value[:SHOWN_CHARS]!r}... ({len(value)} characters)"
    limits = reprlib.Repr()
    limits.maxlevel, limits.maxstring, limits.maxother, limits.maxlong = 2, SHOWN_CHARS, SHOWN_CHARS, SHOWN_CHARS
    limits.maxlist = limits.maxtuple = limits.maxset = limits.maxfrozenset = limits.maxdict = 4
    return shown_text(limits.repr(value), SHOWN_CHARS + 20)
