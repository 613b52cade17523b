"""Targets: expand the config (and the organization's accounts, if asked) into (account, region) targets
(contract/target.py's Target).

Accounts come from the file, from AWS Organizations (`accounts_from: organization`), or both: the
organization says which accounts exist and are ACTIVE, the file's entry for an account overrides its
name, role, regions and tags. `--shard I/N` then keeps the accounts whose stable hash falls in shard I.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from inventory.contract.target import Account, Target
from inventory.errors import ConfigError
from inventory.job.config import ALL_REGIONS, AccountConfig, RunConfig

if TYPE_CHECKING:  # the organization's accounts are data here: no AWS code is imported to expand targets
    from inventory.aws.organization import OrgAccount

log = logging.getLogger(__name__)
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (0-based): the accounts whose stable hash mod count == index."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str, where: str = "--shard") -> Shard:
        match = _SHARD.match(text)
        if not match:
            raise ConfigError(f"{where}: {text!r} is not INDEX/COUNT, e.g. 0/4")
        index, count = int(match.group(1)), int(match.group(2))
        if not 1 <= count <= 10_000 or not 0 <= index < count:
            raise ConfigError(f"{where}: {text!r} needs 0 <= INDEX < COUNT <= 10000")
        return cls(index, count)

    def holds(self, account_id: str) -> bool:
        """sha256, not hash(): the same account lands in the same shard in every process and release."""
        digest = hashlib.sha256(account_id.encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index

    @property
    def name(self) -> str:
        return f"shard-{self.index}-of-{self.count}"


def role_arn(account: AccountConfig, default_role: str, partition: str) -> str:
    """An account's `role` may be a full ARN or a name (with an optional path)."""
    role = account.role or default_role
    if role.startswith("arn:"):
        return role
    return f"arn:{partition}:iam::{account.account_id}:role/{role.strip('/')}"


def select_accounts(config: RunConfig, members: Sequence[OrgAccount] = ()) -> tuple[AccountConfig, ...]:
    """The accounts to inventory: the organization's ACTIVE ones (filtered) merged with the file's."""
    excluded = set(config.exclude_accounts)
    listed = {entry.account_id: entry for entry in config.accounts if entry.account_id not in excluded}
    if not config.from_organization:
        return tuple(listed.values())
    chosen: list[AccountConfig] = []
    for member in members:
        entry = listed.pop(member.account_id, None)
        if member.status != "ACTIVE":
            log.info("account %s is %s: not a target", member.account_id, member.status.lower())
            continue
        included = not config.include_accounts or member.account_id in config.include_accounts
        if member.account_id in excluded or not included:
            continue
        chosen.append(entry if entry is not None and entry.name else _named(entry, member))
    # accounts in the file that the organization did not list (e.g. outside it) stay explicit targets
    rest = [
        entry for entry in listed.values() if not config.include_accounts or entry.account_id in config.include_accounts
    ]
    return (*chosen, *rest)


def _named(entry: AccountConfig | None, member: OrgAccount) -> AccountConfig:
    if entry is None:
        return AccountConfig(account_id=member.account_id, name=member.name)
    return replace(entry, name=member.name)


def build_targets(
    config: RunConfig,
    partition_of: Callable[[str], str],
    members: Sequence[OrgAccount] = (),
    all_regions: Sequence[str] = (),
    shard: Shard | None = None,
) -> tuple[Target, ...]:
    """Targets grouped by account; `partition_of` maps a region to aws / aws-cn / ...; `all_regions` are the
    Lambda regions that `regions: all` stands for (the hub's partition)."""
    targets: list[Target] = []
    for entry in select_accounts(config, members):
        if shard is not None and not shard.holds(entry.account_id):
            continue
        wanted = entry.regions or config.regions or ()
        every = wanted == ALL_REGIONS
        regions = tuple(all_regions) if every else tuple(wanted)
        if not regions:
            continue
        account = Account(
            account_id=entry.account_id,
            name=entry.display_name,
            tags=entry.tags,
            role_arn=role_arn(entry, config.role_name, partition_of(regions[0])),
            external_id=entry.external_id if entry.external_id is not None else config.external_id,
            all_regions=every,
        )
        targets.extend(Target(account, region) for region in regions)
    return tuple(targets)
