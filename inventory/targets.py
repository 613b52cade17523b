"""Stage 2: expand the config into (account, region) targets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inventory.config import AccountConfig, RunConfig


@dataclass(frozen=True)
class Account:
    """A member account as the job sees it: who it is and how to get in."""

    account_id: str
    name: str
    tags: tuple[str, ...]
    role_arn: str
    external_id: str | None


@dataclass(frozen=True)
class Target:
    """One unit of work: list the functions of one account in one region."""

    account: Account
    region: str

    @property
    def label(self) -> str:
        return f"{self.account.account_id}/{self.region}"


def role_arn(account: AccountConfig, default_role: str, partition: str) -> str:
    """An account's `role` may be a full ARN or a name (with an optional path)."""
    role = account.role or default_role
    if role.startswith("arn:"):
        return role
    return f"arn:{partition}:iam::{account.account_id}:role/{role.strip('/')}"


def build_targets(config: RunConfig, partition_of: Callable[[str], str]) -> tuple[Target, ...]:
    """Targets grouped by account, in config order; `partition_of` maps a region to aws / aws-cn / ..."""
    targets: list[Target] = []
    for entry in config.accounts:
        regions = entry.regions or config.regions or ()
        account = Account(
            account_id=entry.account_id,
            name=entry.display_name,
            tags=entry.tags,
            role_arn=role_arn(entry, config.role_name, partition_of(regions[0])),
            external_id=entry.external_id if entry.external_id is not None else config.external_id,
        )
        targets.extend(Target(account, region) for region in regions)
    return tuple(targets)
