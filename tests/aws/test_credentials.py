"""AccountCredentials and ClientFactory against the emulator's STS, over real HTTP."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from conftest import FAST_RETRY, clear_aws_environment, job_role_arn, make_config

from inventory.aws.clients import ClientFactory
from inventory.aws.credentials import AccountCredentials, AssumeRoleFailed, Credentials
from inventory.aws.regions import partition_of
from inventory.aws.retry import RetryPolicy
from inventory.contract.target import Account
from inventory.demo.emulator import Emulator
from inventory.errors import CredentialsError
from inventory.exits import ExitCode, for_error
from inventory.job.targets import build_targets

# Account ids used only by this module (moto's state is shared by the whole session).
CONCURRENT = ("210000000001", "210000000002", "210000000003")
DENIED = "210000000004"
EXPIRING = "210000000005"
EXTERNAL = "210000000006"


def _credentials(
    clients: ClientFactory, duration: int = 3600, session_name: str = "inventory-test"
) -> AccountCredentials:
    policy = RetryPolicy(FAST_RETRY["max_attempts"], FAST_RETRY["base_delay"], FAST_RETRY["max_delay"])
    return AccountCredentials(clients.client("sts", "us-east-1"), session_name, duration, policy)


def _accounts(*account_ids: str, **top: object) -> list[Account]:
    config = make_config([{"account_id": a, "regions": ["us-east-1"]} for a in account_ids], **top)
    return [t.account for t in build_targets(config, partition_of)]


def get(credentials: AccountCredentials, account: Account) -> Credentials:
    return asyncio.run(credentials.get(account))


def test_one_assume_role_per_account_under_concurrency(emu: Emulator) -> None:
    accounts = _accounts(*CONCURRENT)
    clients = ClientFactory.from_environment(32)
    credentials = _credentials(clients)
    asks_per_account = 12  # as if 12 regions of each account started at the same moment
    jobs = [account for account in accounts for _ in range(asks_per_account)]

    async def ask_all() -> list[Credentials]:
        return await asyncio.gather(*(credentials.get(account) for account in jobs))

    got = asyncio.run(ask_all())

    for account in accounts:
        assert emu.app.stats.assume_calls[account.role_arn] == 1
        handed_out = {id(c) for a, c in zip(jobs, got, strict=True) if a is account}
        assert len(handed_out) == 1, "every caller of one account must share one set of credentials"
    assert credentials.assume_calls == len(accounts)
    assert sum(emu.app.stats.assume_calls.values()) == len(accounts)
    # the same account again, later: still cached, no new call
    assert get(credentials, accounts[0]) is got[0]
    assert emu.app.stats.assume_calls[accounts[0].role_arn] == 1


def test_the_credentials_work_as_the_member_account(emu: Emulator) -> None:
    (account,) = _accounts(CONCURRENT[0])
    clients = ClientFactory.from_environment(4)
    creds = get(_credentials(clients), account)
    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
    )
    identity = sts.get_caller_identity()
    assert identity["Account"] == account.account_id
    assert identity["Arn"].endswith(":assumed-role/CrossAccountListFunctionsRole/inventory-test")


def test_denied_account_is_remembered(emu: Emulator) -> None:
    (account,) = _accounts(DENIED)
    emu.app.behaviour.deny_roles.add(account.role_arn)
    credentials = _credentials(ClientFactory.from_environment(4))

    for _ in range(4):
        with pytest.raises(AssumeRoleFailed) as caught:
            get(credentials, account)
        assert caught.value.fault.code == "AccessDenied"
        assert account.role_arn in caught.value.fault.message

    assert emu.app.stats.assume_calls[account.role_arn] == 1, "a denial must cost one AssumeRole, not one per ask"
    assert credentials.assume_calls == 1


def test_denied_account_under_concurrency_costs_one_call(emu: Emulator) -> None:
    (account,) = _accounts(DENIED)
    emu.app.behaviour.deny_roles.add(account.role_arn)
    credentials = _credentials(ClientFactory.from_environment(16))

    async def ask() -> str:
        try:
            await credentials.get(account)
        except AssumeRoleFailed as err:
            return err.fault.code
        return "ok"

    async def ask_all() -> list[str]:
        return await asyncio.gather(*(ask() for _ in range(16)))

    codes = asyncio.run(ask_all())
    assert codes == ["AccessDenied"] * 16
    assert emu.app.stats.assume_calls[account.role_arn] == 1


def test_expire_forces_a_new_assume_role(emu: Emulator) -> None:
    (account,) = _accounts(EXPIRING)
    credentials = _credentials(ClientFactory.from_environment(4))

    first = get(credentials, account)
    assert get(credentials, account) is first
    assert emu.app.stats.assume_calls[account.role_arn] == 1

    credentials.expire(account, first)
    second = get(credentials, account)
    assert second is not first
    assert second.access_key_id != first.access_key_id
    assert emu.app.stats.assume_calls[account.role_arn] == 2

    # expiring credentials that are no longer the cached ones (another listing already refreshed) is a no-op
    credentials.expire(account, first)
    assert get(credentials, account) is second
    assert emu.app.stats.assume_calls[account.role_arn] == 2
    assert credentials.assume_calls == 2


def test_duration_seconds_is_sent(emu: Emulator) -> None:
    (account,) = _accounts(EXTERNAL)
    duration = 2700  # not moto's default of 3600, so the returned expiry proves the parameter arrived
    before = datetime.now(UTC)
    creds = get(_credentials(ClientFactory.from_environment(4), duration=duration), account)
    after = datetime.now(UTC)
    assert creds.expiration.tzinfo is not None
    slack = timedelta(seconds=5)
    assert (
        before + timedelta(seconds=duration) - slack <= creds.expiration <= after + timedelta(seconds=duration) + slack
    )


def test_external_id_and_session_name_are_sent(emu: Emulator) -> None:
    """What crossed the wire, as the emulator recorded it."""
    emu.app.reset_stats()
    (account,) = _accounts(EXTERNAL, external_id="org-external-id-1")
    assert account.external_id == "org-external-id-1"
    get(_credentials(ClientFactory.from_environment(4), session_name="inventory-ext-test"), account)

    seen = [r for r in emu.app.stats.assume_requests if r.get("RoleArn") == account.role_arn]
    assert len(seen) == 1
    assert seen[0]["ExternalId"] == "org-external-id-1"
    assert seen[0]["RoleSessionName"] == "inventory-ext-test"


def test_per_account_external_id_overrides_the_default(emu: Emulator) -> None:
    config = make_config(
        [
            {"account_id": EXTERNAL, "regions": ["us-east-1"], "external_id": "per-account"},
            {"account_id": EXPIRING, "regions": ["us-east-1"]},
        ],
        external_id="org-wide",
    )
    targets = build_targets(config, partition_of)
    assert [t.account.external_id for t in targets] == ["per-account", "org-wide"]
    assert [t.account.role_arn for t in targets] == [job_role_arn(EXTERNAL), job_role_arn(EXPIRING)]


def test_require_hub_credentials_with_credentials(emu: Emulator) -> None:
    ClientFactory.from_environment(4).require_hub_credentials()  # does not raise


def test_require_hub_credentials_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_aws_environment(monkeypatch)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    clients = ClientFactory.from_environment(4)
    with pytest.raises(CredentialsError) as caught:
        clients.require_hub_credentials()
    assert for_error(caught.value) == ExitCode.ENVIRONMENT
    assert "no AWS credentials" in str(caught.value)


def test_lambda_requests_are_signed_as_the_member_account(emu: Emulator) -> None:
    """One lister for the run; each request carries the credentials of the account it is for."""
    accounts = _accounts(*CONCURRENT[:2])
    clients = ClientFactory.from_environment(4)
    credentials = _credentials(clients)
    emu.app.reset_stats()

    async def list_each() -> None:
        async with clients.lister() as lister:
            for account in accounts:
                await lister.page("us-east-1", (await credentials.get(account)).signing, None)

    asyncio.run(list_each())
    assert set(emu.app.stats.list_calls) == {(a.account_id, "us-east-1") for a in accounts}


def test_credentials_repr_shows_no_secret(emu: Emulator) -> None:
    (account,) = _accounts(CONCURRENT[0])
    creds = get(_credentials(ClientFactory.from_environment(4)), account)
    text = repr(creds)
    assert creds.secret_access_key not in text
    assert creds.session_token not in text
    assert creds.access_key_id not in text
