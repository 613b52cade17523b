"""`regions: all`: which regions each member account has enabled, asked once per account per run.

The answer comes from the Account API's ListRegions, signed with the member's assumed-role credentials
(so the member role needs `account:ListRegions`). As with AssumeRole, it is asked once per account
(aws/per_account.py): the regions of one account wait for the one call, which runs (with its retries) in a worker
thread because it goes through botocore. A failure is remembered too, so a denied account costs one call, not
one per region.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from inventory.aws.clients import ClientFactory
from inventory.aws.credentials import AccountCredentials, Credentials, RoleTarget
from inventory.aws.per_account import AccountFault, PerAccount
from inventory.aws.retry import RetryPolicy

ENABLED_STATUSES = ("ENABLED", "ENABLED_BY_DEFAULT")


class RegionsUnknown(AccountFault):
    """The account's enabled regions could not be determined; the Fault says why."""


class EnabledRegions:
    """Which regions each account has enabled, asked once per account (Account API ListRegions)."""

    def __init__(
        self, credentials: AccountCredentials, clients: ClientFactory, policy: RetryPolicy, api_region: str
    ) -> None:
        self._credentials = credentials
        self._clients = clients
        self._policy = policy
        self._api_region = api_region
        self._once: PerAccount[frozenset[str]] = PerAccount(RegionsUnknown)
        self._count_lock = threading.Lock()
        self.list_calls = 0  # ListRegions listings attempted (a retry counts again)

    async def get(self, account: RoleTarget) -> frozenset[str]:
        """The account's enabled regions. Raises RegionsUnknown (remembered for the run), or AssumeRoleFailed
        unchanged when the member role cannot be assumed (AccountCredentials remembers that one)."""
        return await self._once.get(account.account_id, lambda: self._ask(account))

    async def _ask(self, account: RoleTarget) -> frozenset[str]:
        credentials = await self._credentials.get(account)  # AssumeRoleFailed passes through PerAccount
        return await asyncio.to_thread(self._list, credentials)

    def _list(self, credentials: Credentials) -> frozenset[str]:
        """Runs in a worker thread: one client for the account, then the paged listing with retries."""
        client = self._clients.member_client("account", self._api_region, credentials)
        try:
            return self._policy.call(lambda: self._list_once(client))
        finally:
            client.close()

    def _list_once(self, client: Any) -> frozenset[str]:
        """One attempt: every page of ListRegions, filtered to the enabled statuses."""
        with self._count_lock:  # listings for different accounts run in different threads
            self.list_calls += 1
        names: set[str] = set()
        pages = client.get_paginator("list_regions").paginate(RegionOptStatusContains=list(ENABLED_STATUSES))
        for page in pages:
            names.update(
                r["RegionName"] for r in page.get("Regions", []) if r.get("RegionOptStatus") in ENABLED_STATUSES
            )
        return frozenset(names)
