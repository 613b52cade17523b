"""The exceptions that stop a run, and the exit codes they map to.

Per-target problems are not exceptions here: they become `failed`/`skipped` results (see collect.py).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # every target ok or skipped
    PARTIAL = 1  # some targets failed; the inventory of the rest was written
    USAGE = 2  # bad config, flags, unreadable input or unwritable destination; nothing written
    ENVIRONMENT = 3  # no hub credentials or the run could not start
    GATE = 4  # a gate tripped: `report --fail-on STATUS` or `diff --fail-on-change` (the output is still written)
    INTERRUPTED = 130  # SIGINT (Ctrl-C); nothing written
    TERMINATED = 143  # SIGTERM (ECS stopping the task); nothing written


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
