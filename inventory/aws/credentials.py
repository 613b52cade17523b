"""Credentials: the hub session, clients, and member-account credentials (AssumeRole once per account).

botocore Sessions are not thread-safe and a new one costs ~100 ms of CPU (it reloads the service models), so
the job makes exactly one, in the main thread, and creates clients from it under a lock. Clients are
thread-safe and shared. They are botocore's own clients (boto3's Session adds only resources and S3's
transfer methods, which the job does not use, for ~60 ms more of imports at start-up).

No Lambda client is made per (account, region): a client costs ~2-4 ms of CPU and a new connection pool
(a new TLS handshake per target against real AWS), which at thousands of targets was most of the job's
CPU. ListFunctions goes through one `LambdaLister` per run (see aws/lambda_api.py), which signs each request
with the member account's credentials and shares one connection pool.

A member account is anything with an account id, a role ARN and an optional ExternalId (`RoleTarget`;
job/targets.py's Account is one). Credentials are never logged, written or put in a repr.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import Any, Protocol

import botocore.credentials
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound, UnknownRegionError
from botocore.regions import EndpointResolver

from inventory import __version__
from inventory.aws.lambda_api import LambdaLister, Timeouts
from inventory.aws.once import AccountFault, PerAccount
from inventory.aws.retry import Fault, FaultKind, RetryPolicy, classify
from inventory.errors import CredentialsError, shown
from inventory.redact import clean

REFRESH_MARGIN = timedelta(minutes=5)
log = logging.getLogger(__name__)


def botocore_config(max_workers: int, timeouts: Timeouts | None = None) -> Config:
    """botocore retries off (our retry layer owns them), one pooled connection per worker, the run's timeouts
    (the same ones LambdaLister uses, from the config's `timeouts` block)."""
    timeouts = timeouts or Timeouts()
    return Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        max_pool_connections=max(10, max_workers),
        connect_timeout=timeouts.connect,
        read_timeout=timeouts.read,
        user_agent_appid=f"lambda-inventory-{__version__}",
    )


def endpoint_resolver() -> EndpointResolver:
    """botocore's endpoint data, read without the AWS profile: a missing profile must not stop `validate`.
    Read once per AWS_DATA_PATH (a run asks for it three times; each read parses a ~1 MB JSON file)."""
    return _endpoint_resolver(os.environ.get("AWS_DATA_PATH"))


@cache
def _endpoint_resolver(data_path: str | None) -> EndpointResolver:
    loader = botocore.loaders.create_loader(data_path)
    endpoints, path = loader.load_data_with_path("endpoints")
    return EndpointResolver(endpoints, uses_builtin_data=loader.is_builtin_path(path))


def lambda_regions(partition: str | None = None) -> frozenset[str]:
    """Every region botocore's endpoint data lists for Lambda, in one partition or all (no AWS call)."""
    resolver = endpoint_resolver()
    names: set[str] = set()
    for name in [partition] if partition else resolver.get_available_partitions():
        names.update(resolver.get_available_endpoints("lambda", name))
    return frozenset(names)


def partition_lookup() -> Callable[[str], str]:
    """region -> aws / aws-cn / ... from the endpoint data alone (memoised; no profile, no AWS call)."""
    resolver = endpoint_resolver()
    known: dict[str, str] = {}

    def partition_of(region: str) -> str:
        if region not in known:
            known[region] = str(resolver.get_partition_for_region(region))
        return known[region]

    return partition_of


def check_hub(core: botocore.session.Session) -> None:
    """Before any AWS call: the named profile exists and the hub's region is one botocore knows.
    Raises CredentialsError (exit 3) with one line; never reads or shows credentials."""
    try:
        region = core.get_config_variable("region")
    except ProfileNotFound as err:
        raise CredentialsError(
            f"AWS_PROFILE names profile {shown(core.profile)}, which is not in ~/.aws/config or ~/.aws/credentials "
            "(or the files AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE name)"
        ) from err
    if region is None:
        return
    try:
        partition_lookup()(region)
    except (UnknownRegionError, ValueError) as err:
        source = "AWS_DEFAULT_REGION" if os.environ.get("AWS_DEFAULT_REGION") == region else "the profile's region"
        raise CredentialsError(f"hub region {shown(region)} (from {source}) is not a known AWS region") from err


@dataclass(frozen=True)
class Credentials:
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime

    @property
    def signing(self) -> botocore.credentials.ReadOnlyCredentials:
        return botocore.credentials.ReadOnlyCredentials(self.access_key_id, self.secret_access_key, self.session_token)

    def fresh(self, now: datetime) -> bool:
        return self.expiration - REFRESH_MARGIN > now


class RoleTarget(Protocol):
    """What the credentials need of a member account (job/targets.py's Account is one)."""

    @property
    def account_id(self) -> str: ...
    @property
    def role_arn(self) -> str: ...
    @property
    def external_id(self) -> str | None: ...


class AssumeRoleFailed(AccountFault):
    """AssumeRole did not give credentials; the Fault says why."""


class ClientFactory:
    """Creates clients from the one hub session. Creation is serialised; using clients is not."""

    def __init__(self, core: botocore.session.Session, config: Config, max_workers: int) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._core = core
        self._max_workers = max_workers
        self._partitions: dict[str, str] = {}

    def lister(self) -> LambdaLister:
        """A new ListFunctions lister (it opens its connection pool in the event loop that uses it); its
        per-request timeouts are the clients' (see use_timeouts)."""
        return LambdaLister(self._core, self._config, max(10, self._max_workers))

    def use_timeouts(self, connect_seconds: float, read_seconds: float) -> None:
        """The run's `timeouts` for every client and lister made from now on (call before making any)."""
        with self._lock:
            self._config = self._config.merge(Config(connect_timeout=connect_seconds, read_timeout=read_seconds))

    @classmethod
    def from_environment(cls, max_workers: int) -> ClientFactory:
        core = botocore.session.Session()
        check_hub(core)
        core.set_config_variable("sts_regional_endpoints", "regional")
        return cls(core, botocore_config(max_workers), max_workers)

    @property
    def region(self) -> str | None:
        region: str | None = self._core.get_config_variable("region")
        return region

    def partition_of(self, region: str) -> str:
        """aws, aws-cn, ... (memoised: build_targets asks once per account). From the endpoint data already
        read (what the session's own resolver would read again: ~30 ms of start-up)."""
        if region not in self._partitions:
            self._partitions[region] = endpoint_resolver().get_partition_for_region(region)
        return self._partitions[region]

    def require_hub_credentials(self) -> None:
        """Resolve the hub's credentials from the local chain (runs credential_process, if configured)."""
        try:
            found = self._core.get_credentials()
        except BotoCoreError as err:  # e.g. credential_process failed: its stderr is in the message, so mask it
            raise CredentialsError(f"cannot get the hub's AWS credentials: {clean(str(err))}") from err
        if found is None:
            raise CredentialsError(
                "no AWS credentials for the hub account (set AWS_PROFILE, AWS_ACCESS_KEY_ID/"
                "AWS_SECRET_ACCESS_KEY, or run with a task role)"
            )

    def client(self, service: str, region: str) -> Any:
        """A client with the hub's own credentials (e.g. STS)."""
        with self._lock:
            return self._core.create_client(service, region_name=region, config=self._config)

    def member_client(self, service: str, region: str, credentials: Credentials) -> Any:
        """A client signed with a member account's temporary credentials (e.g. the Account API)."""
        with self._lock:
            return self._core.create_client(
                service,
                region_name=region,
                config=self._config,
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
            )


class AccountCredentials:
    """Assumes each member role once per credential lifetime, however many regions ask for it.

    Used from the event loop (aws/once.py): the regions of one account wait for the one AssumeRole, which
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
        arn: str = policy.call(sts.get_caller_identity)["Arn"]
    except (BotoCoreError, ClientError) as err:
        fault = classify(err)
        if fault.kind is FaultKind.UNANSWERED:
            why = f"cannot reach the hub's STS endpoint {sts.meta.endpoint_url}: {policy.gave_up(fault)}"
        else:
            why = f"STS ({sts.meta.endpoint_url}) refused the hub's credentials"
        raise CredentialsError(f"{why}: {fault.code}: {fault.message}") from err
    return arn
