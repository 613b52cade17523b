"""`regions: all`: which regions each member account has enabled, asked once per account per run.

The answer comes from the Account API's ListRegions, signed with the member's assumed-role credentials
(so the member role needs `account:ListRegions`). As with AssumeRole, the regions of one account wait on a
per-account asyncio lock for the one call, which runs (with its retries) in a worker thread because it goes
through boto3. A failure is remembered too, so a denied account costs one call, not one per region.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from inventory.aws.credentials import AccountCredentials, ClientFactory, Credentials
from inventory.aws.retry import Fault, RetryPolicy, classify
from inventory.job.targets import Account

ENABLED_STATUSES = ("ENABLED", "ENABLED_BY_DEFAULT")


class RegionsUnknown(Exception):
    """The account's enabled regions could not be determined; the Fault says why."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(f"{fault.code}: {fault.message}")
        self.fault = fault


class EnabledRegions:
    """Which regions each account has enabled, asked once per account (Account API ListRegions)."""

    def __init__(
        self, credentials: AccountCredentials, clients: ClientFactory, policy: RetryPolicy, api_region: str
    ) -> None:
        self._credentials = credentials
        self._clients = clients
        self._policy = policy
        self._api_region = api_region
        self._account_locks: dict[str, asyncio.Lock] = {}
        self._cache: dict[str, frozenset[str] | Fault] = {}
        self._count_lock = threading.Lock()
        self.list_calls = 0  # ListRegions listings attempted (a retry counts again)

    async def get(self, account: Account) -> frozenset[str]:
        """The account's enabled regions. Raises RegionsUnknown (remembered for the run), or AssumeRoleFailed
        unchanged when the member role cannot be assumed (AccountCredentials remembers that one)."""
        cached = self._cache.get(account.account_id)
        if isinstance(cached, frozenset):
            return cached  # the common case: no lock, no thread
        async with self._account_locks.setdefault(account.account_id, asyncio.Lock()):
            cached = self._cache.get(account.account_id)
            if isinstance(cached, Fault):
                raise RegionsUnknown(cached)
            if cached is not None:
                return cached
            credentials = await self._credentials.get(account)
            try:
                regions = await asyncio.to_thread(self._list, credentials)
            except Exception as err:  # every failure becomes data for the account's targets
                fault = classify(err)
                self._cache[account.account_id] = fault
                raise RegionsUnknown(fault) from err
            self._cache[account.account_id] = regions
            return regions

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
