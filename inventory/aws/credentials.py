"""Member-account credentials (AssumeRole once per account), and the hub's own identity.

The hub's session and the clients made from it are aws/clients.py's. A member account is anything with an
account id, a role ARN and an optional ExternalId (`RoleTarget`; contract/target.py's Account is one).
Credentials are never logged, written or put in a repr.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property, partial
from typing import Any, Protocol

import botocore.credentials
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from inventory.aws.per_account import AccountFault, PerAccount
from inventory.aws.retry import Fault, FaultKind, RetryPolicy, classify
from inventory.errors import CredentialsError
from inventory.redact import clean

REFRESH_MARGIN = timedelta(minutes=5)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime

    @cached_property
    def signing(self) -> botocore.credentials.ReadOnlyCredentials:
        return botocore.credentials.ReadOnlyCredentials(self.access_key_id, self.secret_access_key, self.session_token)

    def fresh(self, now: datetime) -> bool:
        return self.expiration - REFRESH_MARGIN > now


class RoleTarget(Protocol):
    """What the credentials need of a member account (contract/target.py's Account is one: aws/ may not import it)."""

    @property
    def account_id(self) -> str: ...
    @property
    def role_arn(self) -> str: ...
    @property
    def external_id(self) -> str | None: ...


class AssumeRoleFailed(AccountFault):
    """AssumeRole did not give credentials; the Fault says why."""


class AccountCredentials:
    """Assumes each member role once per credential lifetime, however many regions ask for it.

    Used from the event loop (aws/per_account.py): the regions of one account wait for the one AssumeRole, which
    runs (with its retries) in a worker thread because it goes through botocore. A failed AssumeRole is
    remembered too, so a denied account costs one call, not one per region.
    """

    def __init__(self, sts: Any, session_name: str, duration_seconds: int, policy: RetryPolicy) -> None:
        self._sts = sts
        self._session_name = session_name
        self._duration = duration_seconds
        self._policy = policy
        self._once: PerAccount[Credentials] = PerAccount(AssumeRoleFailed, lambda c: c.fresh(datetime.now(UTC)))
        self._count_lock = threading.Lock()
        self.assume_calls = 0  # every AssumeRole request, retries included
        self.assume_retries = 0

    def cached(self, account: RoleTarget) -> Credentials | None:
        """The account's credentials if held and not near expiry (else None: `get` them)."""
        return self._once.cached(account.account_id)

    async def get(self, account: RoleTarget) -> Credentials:
        """Credentials for the account's role (refreshed near expiry); raises AssumeRoleFailed (remembered for
        the run)."""
        return await self._once.get(
            account.account_id,
            lambda: asyncio.to_thread(self._policy.call, partial(self._assume, account), self._retried),
        )

    def _retried(self, fault: Fault) -> None:
        with self._count_lock:
            self.assume_retries += 1
        log.debug("retrying AssumeRole after %s", fault.code)

    def expire(self, account: RoleTarget, stale: Credentials) -> None:
        """Forget `stale` (the service said ExpiredToken) so the next get() assumes the role again."""
        self._once.forget(account.account_id, stale)

    def _assume(self, account: RoleTarget) -> Credentials:
        """One AssumeRole call (runs in a worker thread)."""
        kwargs: dict[str, Any] = {
            "RoleArn": account.role_arn,
            "RoleSessionName": self._session_name,
            "DurationSeconds": self._duration,
        }
        if account.external_id:
            kwargs["ExternalId"] = account.external_id
        with self._count_lock:  # AssumeRoles for different accounts run in different threads
            self.assume_calls += 1
        creds = self._sts.assume_role(**kwargs)["Credentials"]
        expiration = creds["Expiration"]
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        return Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], expiration)


def hub_identity(sts: Any, policy: RetryPolicy) -> str:
    """The hub's own ARN (sts:GetCallerIdentity, which no policy can deny), asked once before any member
    account: a hub that cannot reach its STS endpoint, or whose credentials STS refuses, stops the run as
    the hub's problem (CredentialsError), instead of failing every account one AssumeRole at a time."""
    try:
        identity = policy.call(sts.get_caller_identity)
    except (BotoCoreError, ClientError) as err:
        fault = classify(err)
        if fault.kind is FaultKind.UNANSWERED:
            why = f"cannot reach the hub's STS endpoint {sts.meta.endpoint_url}: {policy.gave_up(fault)}"
        else:
            why = f"STS ({sts.meta.endpoint_url}) refused the hub's credentials"
        raise CredentialsError(f"{why}: {fault.code}: {fault.message}") from err
    except (ResponseParserError, KeyError, ValueError) as err:  # a 200 that is not STS's XML (a proxy's page)
        raise CredentialsError(_unreadable(sts, f"{type(err).__name__} {err}")) from err
    arn = identity.get("Arn")
    if not isinstance(arn, str) or not arn:
        raise CredentialsError(_unreadable(sts, "GetCallerIdentity answered without an Arn"))
    return arn


def _unreadable(sts: Any, what: str) -> str:
    return clean(f"STS ({sts.meta.endpoint_url}) gave an answer that cannot be read: {what}")
