"""A target: one account in one region, the unit of work whose rows and status row the contract describes.

Declared once, here: job/targets.py makes them from the config, the job lists them, and the rows' target
columns (schema.py's TARGET_FIELDS) and the status rows (status.py) are read from them. An Account is also
what aws/credentials.py needs of a member account (its `RoleTarget`: aws/ sits below the contract).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Account:
    """A member account as the job sees it: who it is and how to get in (an aws.credentials.RoleTarget)."""

    account_id: str
    name: str
    tags: tuple[str, ...]
    role_arn: str
    external_id: str | None
    all_regions: bool = False  # `regions: all`: list only the regions the account has enabled


@dataclass(frozen=True)
class Target:
    """One unit of work: list the functions of one account in one region."""

    account: Account
    region: str

    @property
    def label(self) -> str:
        return f"{self.account.account_id}/{self.region}"
