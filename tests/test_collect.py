"""Collector over single targets: pagination, versions, skipped/failed targets, throttling, expiry."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from conftest import job_role_arn, make_config, seed_members

from inventory.collect import Collector, Status, TargetResult
from inventory.config import RunConfig
from inventory.credentials import AccountCredentials, ClientFactory
from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec, Seeded
from inventory.regions import EnabledRegions
from inventory.retry import RetryPolicy
from inventory.schema import INVENTORY_SCHEMA
from inventory.targets import Target, build_targets

# Account ids used only by this module.
HEAVY = "220000000001"  # 120 functions in us-east-1: three pages of 50/50/20
VERSIONS = "220000000002"  # 3 published functions (each $LATEST + version 1) and 2 unpublished
DISABLED = "220000000003"  # eu-west-1 holds functions but is not enabled for the account
DENIED = "220000000004"  # the job role does not trust the hub
REGION = "us-east-1"


@pytest.fixture(scope="module")
def seeded(emulator: Emulator) -> Seeded:
    return seed_members(
        emulator,
        [
            MemberSpec(HEAVY, "heavy", {REGION: (FunctionSpec("page", 120),)}),
            MemberSpec(
                VERSIONS, "versions", {REGION: (FunctionSpec("pub", 3, publish=True), FunctionSpec("plain", 2))}
            ),
            MemberSpec(DISABLED, "disabled", {"eu-west-1": (FunctionSpec("hidden", 2),)}),
            MemberSpec(DENIED, "denied", {REGION: (FunctionSpec("unreachable", 2),)}),
        ],
    )


def _config(account_id: str, region: str = REGION, **top: Any) -> RunConfig:
    return make_config([{"account_id": account_id, "name": f"acct-{account_id}", "regions": [region]}], **top)


Scenario = Callable[[Collector, Target, AccountCredentials], Awaitable[TargetResult]]


def _run(config: RunConfig, scenario: Scenario) -> tuple[TargetResult, AccountCredentials]:
    """Wire one Collector the way run_job does, for the config's single target, and run `scenario` with it."""
    clients = ClientFactory.from_environment(4)
    retry = config.retry
    policy = RetryPolicy(retry.max_attempts, float(retry.base_delay), float(retry.max_delay))
    credentials = AccountCredentials(
        clients.client("sts", "us-east-1"), config.session_name, config.duration_seconds, policy
    )
    (target,) = build_targets(config, clients.partition_of)

    regions = EnabledRegions(credentials, clients, policy, "us-east-1")

    async def run() -> TargetResult:
        async with clients.lister() as lister:
            collector = Collector(
                lister,
                credentials,
                policy,
                config.function_version,
                datetime.now(UTC),
                config.max_requests_per_second,
                regions,
            )
            return await scenario(collector, target, credentials)

    return asyncio.run(run()), credentials


def _collect(config: RunConfig) -> tuple[TargetResult, AccountCredentials]:
    return _run(config, lambda collector, target, _: collector(target))


def _rows(result: TargetResult) -> pa.Table:
    return pa.Table.from_batches(result.functions, schema=INVENTORY_SCHEMA)


def _arns(result: TargetResult) -> list[str]:
    return [str(a) for a in _rows(result).column("function_arn").to_pylist()]


def test_120_functions_in_three_pages(emu: Emulator, seeded: Seeded) -> None:
    result, credentials = _collect(_config(HEAVY))

    assert result.status is Status.OK
    assert result.function_count == 120
    assert _rows(result).num_rows == 120
    assert result.pages == 3
    assert result.retries == 0
    assert emu.app.stats.list_calls[(HEAVY, REGION)] == 3
    assert credentials.assume_calls == 1
    arns = _arns(result)
    assert len(set(arns)) == 120
    assert set(arns) == seeded.functions[(HEAVY, REGION)]
    batch = _rows(result)
    assert set(batch.column("account_id").to_pylist()) == {HEAVY}
    assert set(batch.column("account_name").to_pylist()) == {f"acct-{HEAVY}"}
    assert set(batch.column("region").to_pylist()) == {REGION}
    assert set(batch.column("version").to_pylist()) == {"$LATEST"}


def test_function_version_all_includes_published_versions(emu: Emulator, seeded: Seeded) -> None:
    latest, _ = _collect(_config(VERSIONS, function_version="LATEST"))
    everything, _ = _collect(_config(VERSIONS, function_version="ALL"))

    assert latest.status is Status.OK
    assert latest.function_count == 5
    assert set(_rows(latest).column("version").to_pylist()) == {"$LATEST"}

    assert everything.status is Status.OK
    assert everything.function_count == 8  # 3 x ($LATEST + 1) + 2 x $LATEST
    pairs = list(
        zip(
            _rows(everything).column("function_name").to_pylist(),
            _rows(everything).column("version").to_pylist(),
            strict=True,
        )
    )
    assert len(set(pairs)) == 8
    versions: dict[str, set[str]] = {}
    for name, version in pairs:
        versions.setdefault(name, set()).add(version)
    assert versions == {
        "pub-000": {"$LATEST", "1"},
        "pub-001": {"$LATEST", "1"},
        "pub-002": {"$LATEST", "1"},
        "plain-000": {"$LATEST"},
        "plain-001": {"$LATEST"},
    }


def test_disabled_region_is_skipped_with_no_rows(emu: Emulator, seeded: Seeded) -> None:
    emu.app.behaviour.disabled.add((DISABLED, "eu-west-1"))
    result, _ = _collect(_config(DISABLED, region="eu-west-1"))

    assert result.status is Status.SKIPPED
    assert result.function_count is None
    assert result.functions == ()
    assert result.error_code == "UnrecognizedClientException"
    assert result.error_message is not None
    assert "not enabled" in result.error_message
    assert result.retries == 0
    assert emu.app.stats.list_calls[(DISABLED, "eu-west-1")] == 1, "a disabled region is not worth a retry"


def test_denied_account_fails_with_unknown_count(emu: Emulator, seeded: Seeded) -> None:
    emu.app.behaviour.deny_roles.add(job_role_arn(DENIED))
    result, credentials = _collect(_config(DENIED))

    assert result.status is Status.FAILED
    assert result.function_count is None  # unknown, never 0
    assert result.functions == ()
    assert result.error_code == "AccessDenied"
    assert result.error_message is not None
    assert result.error_message.startswith("AssumeRole failed")
    assert emu.app.stats.assume_calls[job_role_arn(DENIED)] == 1
    assert emu.app.stats.list_calls[(DENIED, REGION)] == 0
    assert credentials.assume_calls == 1


def test_throttling_loses_no_rows_and_counts_retries(emu: Emulator, seeded: Seeded) -> None:
    emu.app.behaviour.throttle_rate = 0.3
    retries_seen = 0
    # The emulator's random stream is shared by the session, so one run may draw no 429 at all;
    # a few runs make a retry all but certain (0.7 ** 30 < 1e-4) while every run must be complete.
    for _ in range(10):
        emu.app.reset_stats()
        result, _ = _collect(_config(HEAVY))
        assert result.status is Status.OK, result.error_message
        assert result.function_count == 120
        arns = _arns(result)
        assert len(arns) == 120
        assert set(arns) == seeded.functions[(HEAVY, REGION)]
        assert result.pages == 3
        assert result.retries == emu.app.stats.throttled
        assert emu.app.stats.list_calls[(HEAVY, REGION)] == 3 + emu.app.stats.throttled
        retries_seen += result.retries
        if retries_seen:
            break
    assert retries_seen > 0


def test_throttled_every_time_fails_after_max_attempts(emu: Emulator, seeded: Seeded) -> None:
    emu.app.behaviour.throttle_rate = 1.0
    config = _config(HEAVY)
    result, _ = _collect(config)

    assert result.status is Status.FAILED
    assert result.error_code == "TooManyRequestsException"
    assert result.function_count is None
    assert result.functions == ()
    assert result.pages == 0
    assert result.retries == config.retry.max_attempts - 1
    assert emu.app.stats.list_calls[(HEAVY, REGION)] == config.retry.max_attempts
    assert result.error_message is not None
    assert f"after {config.retry.max_attempts} attempts" in result.error_message


def test_failure_after_the_first_page_keeps_no_partial_rows(emu: Emulator, seeded: Seeded) -> None:
    # Page 1 is listed with credentials assumed before the role stopped trusting the hub; they then expire
    # (each key is good for one call) and the new AssumeRole is denied, so page 2 can never be fetched.

    async def scenario(collector: Collector, target: Target, credentials: AccountCredentials) -> TargetResult:
        await credentials.get(target.account)
        emu.app.behaviour.expire_after = 1
        emu.app.behaviour.deny_roles.add(job_role_arn(HEAVY))
        return await collector(target)

    result, _ = _run(_config(HEAVY), scenario)

    assert emu.app.stats.list_calls[(HEAVY, REGION)] == 2  # page 1 ok, page 2 expired
    assert result.pages == 1
    assert result.status is Status.FAILED
    assert result.error_code == "AccessDenied"
    assert result.functions == (), "a failed target must not contribute the rows of its first page"
    assert result.function_count is None


def test_expiring_keys_are_replaced_mid_listing(emu: Emulator, seeded: Seeded) -> None:
    emu.app.behaviour.expire_after = 1  # each access key is honoured for exactly one ListFunctions call
    result, credentials = _collect(_config(HEAVY))

    assert result.status is Status.OK, result.error_message
    assert result.function_count == 120
    arns = _arns(result)
    assert Counter(arns).most_common(1)[0][1] == 1, "a re-assumed page must not be listed twice"
    assert set(arns) == seeded.functions[(HEAVY, REGION)]
    assert result.pages == 3
    assert emu.app.stats.assume_calls[job_role_arn(HEAVY)] > 1
    assert emu.app.stats.assume_calls[job_role_arn(HEAVY)] == 3  # one per page: each key lasts one call
    assert credentials.assume_calls == 3
    assert emu.app.stats.expired == 2
    assert result.retries == 2


# --- regions: all ---------------------------------------------------------------------------------


def _all_regions_run(account_id: str, region: str) -> TargetResult:
    """One target of a `regions: all` account (the target list is cut to `region` for the test)."""
    config = make_config([{"account_id": account_id, "name": "all", "regions": "all"}])
    clients = ClientFactory.from_environment(4)
    policy = RetryPolicy(2, 0.0, 0.0)
    credentials = AccountCredentials(clients.client("sts", "us-east-1"), "inventory-test", 3600, policy)
    regions = EnabledRegions(credentials, clients, policy, "us-east-1")
    (target,) = build_targets(config, clients.partition_of, all_regions=(region,))
    assert target.account.all_regions

    async def run() -> TargetResult:
        async with clients.lister() as lister:
            collector = Collector(lister, credentials, policy, "LATEST", datetime.now(UTC), 10.0, regions)
            return await collector(target)

    return asyncio.run(run())


def test_regions_all_lists_an_enabled_region(emu: Emulator, seeded: Seeded) -> None:
    result = _all_regions_run(HEAVY, REGION)
    assert result.status is Status.OK
    assert result.function_count == 120
    assert emu.app.stats.list_regions_calls[HEAVY] == 1


def test_regions_all_skips_a_region_the_account_has_not_enabled_without_listing_it(
    emu: Emulator, seeded: Seeded
) -> None:
    emu.app.behaviour.disabled.add((DISABLED, "eu-west-1"))
    result = _all_regions_run(DISABLED, "eu-west-1")
    assert result.status is Status.SKIPPED
    assert result.error_code == "RegionNotEnabled"
    assert result.function_count is None
    assert emu.app.stats.list_calls[(DISABLED, "eu-west-1")] == 0, "a disabled region is not even asked"


def test_regions_all_fails_when_the_enabled_regions_cannot_be_read(emu: Emulator, seeded: Seeded) -> None:
    emu.app.behaviour.deny_list_regions.add(VERSIONS)
    result = _all_regions_run(VERSIONS, REGION)
    assert result.status is Status.FAILED
    assert result.error_code == "AccessDeniedException"
    assert result.error_message is not None
    assert "enabled regions" in result.error_message
    assert result.function_count is None
    assert emu.app.stats.list_calls[(VERSIONS, REGION)] == 0
