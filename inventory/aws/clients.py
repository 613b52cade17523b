"""The hub's botocore Session and the clients made from it.

botocore Sessions are not thread-safe and a new one costs ~100 ms of CPU (it reloads the service models), so
the job makes exactly one, in the main thread, and creates clients from it under a lock. Clients are
thread-safe and shared. They are botocore's own clients (boto3's Session adds only resources and S3's
transfer methods, which the job does not use, for ~60 ms more of imports at start-up).

No Lambda client is made per (account, region): a client costs ~2-4 ms of CPU and a new connection pool
(a new TLS handshake per target against real AWS), which at thousands of targets was most of the job's
CPU. ListFunctions goes through one `LambdaLister` per run (see aws/lambda_api.py), which signs each request
with the member account's credentials and shares one connection pool. The run's per-request timeouts are
given when the factory is made, and hold for every client and lister it makes.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ProfileNotFound, UnknownRegionError

from inventory import __version__
from inventory.aws.lambda_api import LambdaLister, Timeouts
from inventory.aws.regions import partition_of
from inventory.errors import CredentialsError, shown
from inventory.redact import clean

if TYPE_CHECKING:
    from inventory.aws.credentials import Credentials


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
        partition_of(region)
    except (UnknownRegionError, ValueError) as err:
        source = "AWS_DEFAULT_REGION" if os.environ.get("AWS_DEFAULT_REGION") == region else "the profile's region"
        raise CredentialsError(f"hub region {shown(region)} (from {source}) is not a known AWS region") from err


# Connections each target in flight may hold at once: its listing with the estate lists read beside it, or its
# per-function calls (job/enrichments.py's PER_FUNCTION_IN_FLIGHT). A request that has left its account-region's
# pacer must not then queue for a connection: it would reach the server late, bunched with the next ones (seen:
# 12 in one second at 0.25 vCPU when twice max_workers targets shared 4 x max_workers connections).
CONNECTIONS_PER_WORKER = 4


class ClientFactory:
    """Creates clients from the one hub session. Creation is serialised; using clients is not."""

    def __init__(self, core: botocore.session.Session, config: Config, max_workers: int) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._core = core
        self._max_workers = max_workers

    def lister(self, targets_in_flight: int | None = None) -> LambdaLister:
        """A new ListFunctions lister (it opens its connection pool in the event loop that uses it), with the
        clients' per-request timeouts; CONNECTIONS_PER_WORKER for each of `targets_in_flight` (default
        max_workers): the most targets the run has in flight at once."""
        targets = targets_in_flight or self._max_workers
        return LambdaLister(self._core, self._config, max(10, targets * CONNECTIONS_PER_WORKER))

    @classmethod
    def from_environment(cls, max_workers: int, timeouts: Timeouts | None = None) -> ClientFactory:
        """The hub's session from the environment (profile, region), checked; `timeouts`: the run's per-request
        limits (the config's `timeouts` block) for every client and lister it makes."""
        core = botocore.session.Session()
        check_hub(core)
        core.set_config_variable("sts_regional_endpoints", "regional")
        return cls(core, botocore_config(max_workers, timeouts), max_workers)

    @property
    def region(self) -> str | None:
        region: str | None = self._core.get_config_variable("region")
        return region

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
