"""The member accounts from AWS Organizations, read with the hub's own credentials.

Organizations answers only in the management account or a delegated administrator account. The whole
organisation comes from `ListAccounts`; with organizational units (or a root id) each one is walked
with `ListAccountsForParent` and `ListOrganizationalUnitsForParent`, so accounts of nested OUs count too.

Pages come from botocore's paginators, one page per `RetryPolicy.call`: a throttled page is retried on
its own and the walk resumes after the last good page (the paginator's `resume_token`), never from the
first page. Every account is returned with its status; `active()` keeps the ones the job can list.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from inventory.aws.retry import Fault, RetryPolicy, classify
from inventory.errors import OrganizationError

PAGE_SIZE = 20  # the largest MaxResults that ListAccounts* and ListOrganizationalUnitsForParent accept
ACTIVE = "ACTIVE"

Item = Mapping[str, Any]


@dataclass(frozen=True)
class OrgAccount:
    account_id: str
    name: str
    email: str
    status: str  # ACTIVE / SUSPENDED / PENDING_CLOSURE / CLOSED / ...: `State` when present, else `Status`


def active(accounts: Iterable[OrgAccount]) -> tuple[OrgAccount, ...]:
    """Only the accounts whose status is ACTIVE (suspended or closing accounts cannot be listed)."""
    return tuple(account for account in accounts if account.status == ACTIVE)


def list_organization_accounts(
    client: Any, organizational_units: tuple[str, ...], policy: RetryPolicy, *, page_size: int = PAGE_SIZE
) -> tuple[OrgAccount, ...]:
    """Every account of the organisation, or of the given OUs / roots and all OUs below them.

    `client` is an `organizations` client with the hub's credentials. Accounts are returned once each,
    sorted by account id, whatever their status. Raises OrganizationError if any call fails.
    """
    lister = _Lister(client, policy, page_size)
    if organizational_units:
        items = lister.accounts_under(organizational_units)
    else:
        items = lister.items("ListAccounts", {}, "Accounts")
    accounts = {account.account_id: account for account in map(_account, items)}
    return tuple(sorted(accounts.values(), key=lambda account: account.account_id))


@dataclass(frozen=True)
class _Lister:
    client: Any
    policy: RetryPolicy
    page_size: int

    def accounts_under(self, parents: tuple[str, ...]) -> list[Item]:
        """Breadth-first over each parent and its child OUs; a parent named twice is listed once."""
        pending = deque(parents)
        seen: set[str] = set()
        found: list[Item] = []
        while pending:
            parent = pending.popleft()
            if parent in seen:
                continue
            seen.add(parent)
            params = {"ParentId": parent}
            found.extend(self.items("ListAccountsForParent", params, "Accounts"))
            children = self.items("ListOrganizationalUnitsForParent", params, "OrganizationalUnits")
            pending.extend(str(child["Id"]) for child in children)
        return found

    def items(self, operation: str, params: dict[str, str], key: str) -> list[Item]:
        """All items of one paginated operation, each page fetched (and retried) on its own."""
        paginator = self.client.get_paginator(xform_name(operation))
        retries: list[Fault] = []
        found: list[Item] = []
        token: str | None = None
        while True:
            fetch = functools.partial(self._page, paginator, params, key, token)
            try:
                items, token = self.policy.call(fetch, on_retry=retries.append)
            except (ClientError, BotoCoreError) as err:
                raise OrganizationError(_describe(operation, params, err, len(retries))) from err
            found.extend(items)
            if token is None:
                return found

    def _page(
        self, paginator: Any, params: dict[str, str], key: str, token: str | None
    ) -> tuple[list[Item], str | None]:
        """One page: MaxItems = PageSize stops the paginator there, and its resume_token says where next.

        Should the service answer a short page that still has a NextToken, botocore fetches on until it
        has `page_size` items (or the end), so this stays correct; it is then more than one request.
        """
        config: dict[str, Any] = {"MaxItems": self.page_size, "PageSize": self.page_size}
        if token is not None:
            config["StartingToken"] = token
        pages = paginator.paginate(**params, PaginationConfig=config)
        items = [item for page in pages for item in page.get(key, [])]
        resume: str | None = pages.resume_token
        return items, resume


def _describe(operation: str, params: dict[str, str], err: BaseException, retries: int) -> str:
    """`organizations:ListAccountsForParent ou-x: Code: message`, on one line."""
    fault = classify(err)
    where = f" {params['ParentId']}" if "ParentId" in params else ""
    tried = f" (after {retries + 1} attempts)" if retries else ""
    return " ".join(f"organizations:{operation}{where}: {fault.code}: {fault.message}{tried}".split())


def _account(item: Item) -> OrgAccount:
    return OrgAccount(
        account_id=str(item["Id"]),
        name=str(item.get("Name") or ""),
        email=str(item.get("Email") or ""),
        status=str(item.get("State") or item.get("Status") or "UNKNOWN"),
    )
