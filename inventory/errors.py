"""The exceptions that stop a command: one flat tree under InventoryError.

An exception names what went wrong, not how the process ends: cli.py maps each class to its exit code
(exits.BY_ERROR). Per-target problems are not exceptions here: they become `failed`/`skipped` results
(see job/collect.py).
"""

from __future__ import annotations

import reprlib


class InventoryError(Exception):
    """Base of the errors that stop a command before or while it writes output."""


class ConfigError(InventoryError):
    """The config file, a flag or an environment variable is wrong. The message names the YAML path or the flag."""


class OutputError(InventoryError):
    """The destination cannot be written."""


class SnapshotError(InventoryError):
    """A snapshot to read back (`report`, `diff`) is missing, incomplete or not readable as an inventory."""


class CredentialsError(InventoryError):
    """The hub has no usable AWS credentials."""


class OrganizationError(InventoryError):
    """The organisation's accounts could not be listed. The message names the call and the parent."""


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
