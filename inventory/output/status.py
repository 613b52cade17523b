"""The status vocabulary of the on-disk contract: every (account, region) target ends with one of these.

Written by the job (job/collect.py, the status file) and read back by the reports (reports/compliance.py,
reports/diff.py); both use this enum, never the bare strings.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    OK = "ok"  # listed completely: every function is in the inventory
    SKIPPED = "skipped"  # provably not enabled for the account: nothing to list
    FAILED = "failed"  # could not be listed: its functions are missing, function_count is null
