"""EnabledRegions and the emulator's Account API ListRegions, over real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import boto3
import botocore.session
import pytest
from conftest import FAST_RETRY, HUB_ACCOUNT, job_role_arn
from support.emulator_faults import ListRegionsDenied, ListRegionsThrottled

from inventory.aws.clients import ClientFactory
from inventory.aws.credentials import AccountCredentials, AssumeRoleFailed
from inventory.aws.enabled_regions import EnabledRegions, RegionsUnknown
from inventory.aws.retry import FaultKind, RetryPolicy
from inventory.contract.target import Account
from inventory.demo.emulator import OPT_IN_REGIONS, Emulator

# Account ids used only by this module (moto's state is shared by the whole session).
MEMBER_A = "270000000001"
MEMBER_B = "270000000002"
DENIED_ROLE = "270000000003"


@pytest.fixture(scope="module")
def aws_lambda_regions() -> frozenset[str]:
    return frozenset(botocore.session.Session().get_available_regions("lambda"))


def _account(account_id: str) -> Account:
    return Account(
        account_id=account_id, name=f"member-{account_id}", tags=(), role_arn=job_role_arn(account_id), external_id=None
    )


def _enabled_regions(max_attempts: int = FAST_RETRY["max_attempts"]) -> tuple[EnabledRegions, AccountCredentials]:
    clients = ClientFactory.from_environment(16)
    policy = RetryPolicy(max_attempts, FAST_RETRY["base_delay"], FAST_RETRY["max_delay"])
    credentials = AccountCredentials(clients.client("sts", "us-east-1"), "inventory-test", 3600, policy)
    return EnabledRegions(credentials, clients, policy, "us-east-1"), credentials


def _ask_concurrently(regions: EnabledRegions, account: Account, times: int) -> list[frozenset[str] | str]:
    """`times` concurrent get()s, as if every region of the account started at once; errors as codes."""

    async def ask() -> frozenset[str] | str:
        try:
            return await regions.get(account)
        except RegionsUnknown as err:
            return err.fault.code

    async def ask_all() -> list[frozenset[str] | str]:
        return await asyncio.gather(*(ask() for _ in range(times)))

    return asyncio.run(ask_all())


def _hub_account_client() -> Any:
    """An Account API client with the hub's test keys (the emulator answers for account HUB_ACCOUNT)."""
    return boto3.client("account", region_name="us-east-1")


def test_enabled_regions_are_the_lambda_regions_minus_the_disabled_ones(
    emu: Emulator, aws_lambda_regions: frozenset[str]
) -> None:
    emu.app.behaviour.disabled |= {(MEMBER_A, "af-south-1"), (MEMBER_A, "eu-west-1"), (MEMBER_B, "us-east-2")}
    regions, _ = _enabled_regions()

    got_a = asyncio.run(regions.get(_account(MEMBER_A)))
    got_b = asyncio.run(regions.get(_account(MEMBER_B)))

    # each answer is the calling member's own: the request was signed with its assumed-role credentials
    assert got_a == aws_lambda_regions - {"af-south-1", "eu-west-1"}
    assert got_b == aws_lambda_regions - {"us-east-2"}
    assert "ap-east-1" in got_a, "an enabled opt-in region (status ENABLED) counts as enabled"
    assert emu.app.stats.list_regions_calls == {MEMBER_A: 1, MEMBER_B: 1}
    assert regions.list_calls == 2


def test_one_list_regions_call_per_account_under_concurrency(emu: Emulator, aws_lambda_regions: frozenset[str]) -> None:
    account = _account(MEMBER_A)
    regions, credentials = _enabled_regions()

    got = _ask_concurrently(regions, account, 24)

    assert all(answer == aws_lambda_regions for answer in got)
    assert len({id(answer) for answer in got}) == 1, "every caller of one account must share one answer"
    assert emu.app.stats.list_regions_calls[MEMBER_A] == 1
    assert regions.list_calls == 1
    assert credentials.assume_calls == 1
    # the same account again, later: cached, no new call
    assert asyncio.run(regions.get(account)) is got[0]
    assert emu.app.stats.list_regions_calls[MEMBER_A] == 1
    assert regions.list_calls == 1


def test_denied_list_regions_is_remembered(emu: Emulator) -> None:
    account = _account(MEMBER_B)
    emu.app.behaviour.faults.append(ListRegionsDenied({MEMBER_B}))
    regions, _ = _enabled_regions()

    assert _ask_concurrently(regions, account, 12) == ["AccessDeniedException"] * 12
    with pytest.raises(RegionsUnknown) as caught:  # asked again later: the remembered fault, no new call
        asyncio.run(regions.get(account))

    assert caught.value.fault.code == "AccessDeniedException"
    assert caught.value.fault.kind is FaultKind.FATAL
    assert "account:ListRegions" in caught.value.fault.message
    assert emu.app.stats.list_regions_calls[MEMBER_B] == 1, "a denial must cost one call, not one per region"
    assert regions.list_calls == 1


def test_assume_role_denied_propagates_unchanged(emu: Emulator) -> None:
    account = _account(DENIED_ROLE)
    emu.app.behaviour.deny_roles.add(account.role_arn)
    regions, credentials = _enabled_regions()

    for _ in range(3):
        with pytest.raises(AssumeRoleFailed) as caught:
            asyncio.run(regions.get(account))
        assert caught.value.fault.code == "AccessDenied"

    assert emu.app.stats.assume_calls[account.role_arn] == 1
    assert credentials.assume_calls == 1
    assert emu.app.stats.list_regions_calls[DENIED_ROLE] == 0
    assert regions.list_calls == 0


def test_throttled_list_regions_is_retried(emu: Emulator, aws_lambda_regions: frozenset[str]) -> None:
    emu.app.behaviour.faults.append(ListRegionsThrottled(first=2))
    regions, _ = _enabled_regions()

    assert asyncio.run(regions.get(_account(MEMBER_A))) == aws_lambda_regions
    assert emu.app.stats.list_regions_calls[MEMBER_A] == 3
    assert regions.list_calls == 3


def test_throttled_beyond_the_retry_budget_is_a_remembered_fault(emu: Emulator) -> None:
    emu.app.behaviour.faults.append(ListRegionsThrottled(first=100))
    regions, _ = _enabled_regions(max_attempts=3)

    for _ in range(2):
        with pytest.raises(RegionsUnknown) as caught:
            asyncio.run(regions.get(_account(MEMBER_A)))
        assert caught.value.fault.code == "TooManyRequestsException"
        assert caught.value.fault.kind is FaultKind.THROTTLED

    assert emu.app.stats.list_regions_calls[MEMBER_A] == 3
    assert regions.list_calls == 3


def test_emulator_list_regions_pages_with_max_results(emu: Emulator, aws_lambda_regions: frozenset[str]) -> None:
    emu.app.behaviour.disabled.add((HUB_ACCOUNT, "eu-south-1"))
    paginator = _hub_account_client().get_paginator("list_regions")

    pages = list(paginator.paginate(PaginationConfig={"PageSize": 7}))

    assert len(pages) == -(-len(aws_lambda_regions) // 7) > 1
    assert all(len(page["Regions"]) == 7 for page in pages[:-1])
    assert all("NextToken" in page for page in pages[:-1]) and "NextToken" not in pages[-1]
    names = [r["RegionName"] for page in pages for r in page["Regions"]]
    assert len(names) == len(set(names)) and set(names) == aws_lambda_regions
    statuses = {r["RegionName"]: r["RegionOptStatus"] for page in pages for r in page["Regions"]}
    assert statuses["eu-south-1"] == "DISABLED"
    assert statuses["ap-east-1"] == "ENABLED"
    assert statuses["us-east-1"] == "ENABLED_BY_DEFAULT"
    assert emu.app.stats.list_regions_calls[HUB_ACCOUNT] == len(pages)


def test_emulator_list_regions_honours_region_opt_status_contains(
    emu: Emulator, aws_lambda_regions: frozenset[str]
) -> None:
    disabled = {"eu-south-1", "us-west-1", "ap-southeast-3"}
    emu.app.behaviour.disabled |= {(HUB_ACCOUNT, region) for region in disabled}
    client = _hub_account_client()

    def names(*statuses: str) -> set[str]:
        pages = client.get_paginator("list_regions").paginate(RegionOptStatusContains=list(statuses))
        return {r["RegionName"] for page in pages for r in page["Regions"]}

    assert names("DISABLED") == disabled
    assert names("ENABLED") == (OPT_IN_REGIONS & aws_lambda_regions) - disabled
    assert names("ENABLED", "ENABLED_BY_DEFAULT") == aws_lambda_regions - disabled
    assert names("ENABLING", "DISABLING") == set()


def test_emulator_list_regions_rejects_a_bad_max_results(emu: Emulator) -> None:
    client = _hub_account_client()
    with pytest.raises(client.exceptions.ValidationException):
        client.list_regions(MaxResults=51)
