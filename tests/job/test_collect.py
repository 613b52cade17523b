"""Collector over single targets: pagination, versions, skipped/failed targets, throttling, expiry, and hostile
answers (a looping marker, bodies that are not pages, a hang, a bad item) from a local endpoint over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from conftest import job_role_arn, make_config, seed_members
from support.emulator_faults import KeyExpiry, ListRegionsDenied
from support.hostile_lambda import HANG, HostileLambda, Reply, Script, by_marker, functions, page, sequence

from inventory.aws.clients import ClientFactory
from inventory.aws.credentials import AccountCredentials
from inventory.aws.enabled_regions import EnabledRegions
from inventory.aws.regions import partition_of
from inventory.aws.retry import RetryPolicy
from inventory.contract.results import Status, TargetResult
from inventory.contract.rows import inventory_batch
from inventory.contract.schema import INVENTORY_SCHEMA
from inventory.contract.target import Target
from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec, Seeded
from inventory.job.collect import Collector
from inventory.job.config import RunConfig
from inventory.job.targets import build_targets

# Account ids used only by this module.
HEAVY = "220000000001"  # 120 functions in us-east-1: three pages of 50/50/20
VERSIONS = "220000000002"  # 3 published functions (each $LATEST + version 1) and 2 unpublished
DISABLED = "220000000003"  # eu-west-1 holds functions but is not enabled for the account
DENIED = "220000000004"  # the job role does not trust the hub
REGION = "us-east-1"
OPT_IN = "eu-south-1"  # an opt-in region (Milan): UnrecognizedClientException there means not enabled


@pytest.fixture(scope="module")
def seeded(emulator: Emulator) -> Seeded:
    return seed_members(
        emulator,
        [
            MemberSpec(HEAVY, "heavy", {REGION: (FunctionSpec("page", 120),)}),
            MemberSpec(
                VERSIONS, "versions", {REGION: (FunctionSpec("pub", 3, publish=True), FunctionSpec("plain", 2))}
            ),
            MemberSpec(
                DISABLED, "disabled", {"eu-west-1": (FunctionSpec("hidden", 2),), OPT_IN: (FunctionSpec("opted", 1),)}
            ),
            MemberSpec(DENIED, "denied", {REGION: (FunctionSpec("unreachable", 2),)}),
        ],
    )


def _config(account_id: str, region: str = REGION, **top: Any) -> RunConfig:
    return make_config([{"account_id": account_id, "name": f"acct-{account_id}", "regions": [region]}], **top)


Scenario = Callable[[Collector, Target, AccountCredentials], Awaitable[TargetResult]]


def _run(config: RunConfig, scenario: Scenario) -> tuple[TargetResult, AccountCredentials]:
    """Wire one Collector the way run_job does, for the config's single target, and run `scenario` with it."""
    clients = ClientFactory.from_environment(4, config.timeouts.per_request())
    retry = config.retry
    policy = RetryPolicy(retry.max_attempts, float(retry.base_delay), float(retry.max_delay))
    credentials = AccountCredentials(
        clients.client("sts", "us-east-1"), config.session_name, config.duration_seconds, policy
    )
    (target,) = build_targets(config, partition_of)

    regions = EnabledRegions(credentials, clients, policy, "us-east-1")

    async def run() -> TargetResult:
        async with clients.lister() as lister:
            collector = Collector(
                lister,
                credentials,
                policy,
                config.function_version,
                config.max_requests_per_second,
                regions,
                target_seconds=config.timeouts.target_seconds,
            )
            return await scenario(collector, target, credentials)

    return asyncio.run(run()), credentials


def _collect(config: RunConfig) -> tuple[TargetResult, AccountCredentials]:
    return _run(config, lambda collector, target, _: collector(target))


def _rows(result: TargetResult) -> pa.Table:
    return pa.Table.from_batches([inventory_batch([result], datetime.now(UTC))], schema=INVENTORY_SCHEMA)


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


def test_disabled_opt_in_region_is_skipped_with_no_rows(emu: Emulator, seeded: Seeded) -> None:
    emu.app.behaviour.disabled.add((DISABLED, OPT_IN))
    result, _ = _collect(_config(DISABLED, region=OPT_IN))

    assert result.status is Status.SKIPPED
    assert result.function_count is None
    assert result.functions == ()
    assert result.error_code == "UnrecognizedClientException"
    assert result.error_message is not None
    assert "not enabled" in result.error_message
    assert f"{OPT_IN} is an opt-in region" in result.error_message
    assert result.retries == 0
    assert emu.app.stats.list_calls[(DISABLED, OPT_IN)] == 1, "a disabled region is not worth a retry"


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1"])
def test_unrecognized_client_in_a_default_region_fails_as_a_bad_token(
    emu: Emulator, seeded: Seeded, region: str
) -> None:
    """Every account has the pre-2019 regions enabled: there the answer means bad or revoked credentials."""
    emu.app.behaviour.disabled.add((DISABLED, region))
    result, _ = _collect(_config(DISABLED, region=region))

    assert result.status is Status.FAILED
    assert result.error_code == "UnrecognizedClientException"
    assert result.function_count is None
    assert result.functions == ()
    assert result.error_message is not None
    assert f"UnrecognizedClientException in {region}, a region enabled by default" in result.error_message
    assert "bad or revoked token" in result.error_message
    assert result.retries == 0
    assert emu.app.stats.list_calls[(DISABLED, region)] == 1, "not retried"


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
        emu.app.behaviour.faults.append(KeyExpiry(after=1))
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
    emu.app.behaviour.faults.append(KeyExpiry(after=1))  # each key is honoured for exactly one ListFunctions call
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
    assert emu.app.stats.faults["expired"] == 2
    assert result.retries == 2


# --- regions: all ---------------------------------------------------------------------------------


def _all_regions_run(account_id: str, region: str) -> TargetResult:
    """One target of a `regions: all` account (the target list is cut to `region` for the test)."""
    config = make_config([{"account_id": account_id, "name": "all", "regions": "all"}])
    clients = ClientFactory.from_environment(4)
    policy = RetryPolicy(2, 0.0, 0.0)
    credentials = AccountCredentials(clients.client("sts", "us-east-1"), "inventory-test", 3600, policy)
    regions = EnabledRegions(credentials, clients, policy, "us-east-1")
    (target,) = build_targets(config, partition_of, all_regions=(region,))
    assert target.account.all_regions

    async def run() -> TargetResult:
        async with clients.lister() as lister:
            collector = Collector(lister, credentials, policy, "LATEST", 10.0, regions)
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
    emu.app.behaviour.faults.append(ListRegionsDenied({VERSIONS}))
    result = _all_regions_run(VERSIONS, REGION)
    assert result.status is Status.FAILED
    assert result.error_code == "AccessDeniedException"
    assert result.error_message is not None
    assert "enabled regions" in result.error_message
    assert result.function_count is None
    assert emu.app.stats.list_calls[(VERSIONS, REGION)] == 0


# --- hostile answers from a local ListFunctions endpoint (AssumeRole still goes to the emulator) -----------

HOSTILE = HEAVY  # its role is assumable in the emulator; its Lambda calls go to the hostile endpoint


def _hostile(monkeypatch: pytest.MonkeyPatch, script: Script, **top: Any) -> tuple[TargetResult, HostileLambda, float]:
    """The real Collector for one target whose ListFunctions answers come from `script`."""
    with HostileLambda(script) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.endpoint)
        started = time.monotonic()
        result, _ = _collect(_config(HOSTILE, **top))
        return result, server, time.monotonic() - started


def _assert_failed(result: TargetResult, code: str) -> str:
    assert result.status is Status.FAILED, result
    assert result.error_code == code
    assert result.function_count is None
    assert result.functions == ()
    assert result.error_message is not None
    assert "\n" not in result.error_message and len(result.error_message) <= 300
    return result.error_message


def test_the_same_next_marker_again_fails_the_target_at_once(
    emu: Emulator, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, server, _ = _hostile(monkeypatch, sequence(page(functions("loop", 50), "same")))
    message = _assert_failed(result, "RepeatedMarker")
    assert "'same'" in message
    assert len(server.requests) == 2  # the first page, then the repeat: no retry, no third request
    assert result.pages == 2


def test_a_cycle_of_markers_fails_the_target(emu: Emulator, seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    cycle = by_marker({None: page(functions("a", 2), "A"), "A": page(functions("b", 2), "B"), "B": page([], "A")})
    result, server, _ = _hostile(monkeypatch, cycle)
    _assert_failed(result, "RepeatedMarker")
    assert [r.marker for r in server.requests] == [None, "A", "B"]


@pytest.mark.parametrize("body", [b"", b"{}", b'{"Functions": null}', b'[{"FunctionName": "f"}]', b"<html>OK</html>"])
def test_a_200_that_is_not_a_page_fails_after_retries_never_ok_with_zero(
    emu: Emulator, seeded: Seeded, monkeypatch: pytest.MonkeyPatch, body: bytes
) -> None:
    result, server, _ = _hostile(monkeypatch, sequence(Reply(200, body)), retry={"max_attempts": 3, "base_delay": 0})
    message = _assert_failed(result, "InvalidResponse")
    assert message.startswith("gave up after 3 attempts: ListFunctions answered HTTP 200 with")
    assert len(server.requests) == 3
    assert result.retries == 2


def test_an_invalid_response_is_retried_like_any_transient_fault(
    emu: Emulator, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, server, _ = _hostile(monkeypatch, sequence(Reply(200, b"{}"), page(functions("f", 3))))
    assert result.status is Status.OK, result.error_message
    assert (result.function_count, result.retries, len(server.requests)) == (3, 1, 2)


@pytest.mark.parametrize(
    "error_type",
    ["com.amazon.coral.availability#ThrottlingException", "ThrottlingException:http://internal.amazon.com/"],
)
def test_a_namespaced_throttle_is_retried(
    emu: Emulator, seeded: Seeded, monkeypatch: pytest.MonkeyPatch, error_type: str
) -> None:
    throttle = Reply(400, b'{"message":"Rate exceeded"}', {"x-amzn-ErrorType": error_type})
    result, server, _ = _hostile(monkeypatch, sequence(throttle, throttle, page(functions("f", 4))))
    assert result.status is Status.OK, result.error_message
    assert (result.function_count, result.retries, len(server.requests)) == (4, 2, 3)


def test_a_multi_line_error_page_is_one_line_in_the_status(
    emu: Emulator, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    html = (
        b"<html>\n<head>\n<title>502 Bad Gateway</title>\n</head>\n<body>\n<center>nginx</center>\n</body>\n</html>\n"
    )
    result, _, _ = _hostile(monkeypatch, sequence(Reply(502, html)), retry={"max_attempts": 2, "base_delay": 0})
    message = _assert_failed(result, "HTTP502")
    assert message == "gave up after 2 attempts: 502 Bad Gateway"


def test_a_403_echoing_the_session_token_never_reaches_the_status(
    emu: Emulator, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def echo(_: int, request: Any) -> Reply:
        token = request.headers["X-Amz-Security-Token"]
        seen.append(token)
        key_id = request.headers["Authorization"].split("Credential=")[1].split("/")[0]
        seen.append(key_id)
        body = (
            "<?xml version='1.0'?>\n<Error>\n  <Code>AccessDeniedException</Code>\n  <Message>Not allowed: "
            f"GET /2015-03-31/functions/?MaxItems=50&amp;X-Amz-Security-Token={token}\n"
            f"  X-Amz-Credential={key_id}/20261130/us-east-1/lambda/aws4_request key {key_id}\n"
            f"  token {token}</Message>\n</Error>\n"
        )
        return Reply(403, body.encode(), {"Content-Type": "application/xml"})

    result, _, _ = _hostile(monkeypatch, echo)
    message = _assert_failed(result, "AccessDeniedException")
    assert message.startswith("Not allowed: GET /2015-03-31/functions/?MaxItems=50")
    assert seen and seen[1].startswith(("ASIA", "FSIA", "AKIA"))
    for secret in seen:
        assert secret not in message
    assert "X-Amz-Security-Token=***" in message


def test_a_server_that_never_answers_fails_the_target_in_bounded_time(
    emu: Emulator, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, server, took = _hostile(
        monkeypatch, sequence(HANG), timeouts={"read_seconds": 0.5}, retry={"max_attempts": 2, "base_delay": 0}
    )
    message = _assert_failed(result, "Timeout")
    assert "within 0.5s" in message
    assert len(server.requests) == 2  # a timeout is transient: retried within the budget
    assert took < 30  # two requests of ~0.5 s each; generous slack


def test_the_target_deadline_bounds_a_listing_whatever_the_retries(
    emu: Emulator, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One page, then the endpoint hangs; each request may wait 30 s and be retried 8 times: the target's
    deadline (1 s) ends it all the same, with the pages and retries so far."""
    pages = by_marker({None: page(functions("first", 50), "m1"), "m1": HANG})
    result, _, took = _hostile(monkeypatch, pages, timeouts={"read_seconds": 30, "target_seconds": 1})
    message = _assert_failed(result, "DeadlineExceeded")
    assert "timeouts.target_seconds (1s)" in message
    assert "1 pages, 0 retries so far" in message
    assert result.pages == 1
    assert took < 30


def test_a_wrongly_typed_field_fails_the_target_naming_function_and_field(
    emu: Emulator, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = functions("typed", 3)
    items[1]["MemorySize"] = "128"
    result, server, _ = _hostile(monkeypatch, sequence(page(items)))
    message = _assert_failed(result, "InvalidItem")
    assert "FunctionName 'typed-001'" in message
    assert "MemorySize is '128' (str), expected int32" in message
    assert len(server.requests) == 1  # not retried: the same answer would come back


def test_an_environment_that_is_not_an_object_fails_without_showing_it(
    emu: Emulator, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = functions("env", 2)
    items[0]["Environment"] = {"Variables": "DB_PASSWORD=hunter2"}
    result, _, _ = _hostile(monkeypatch, sequence(page(items)))
    message = _assert_failed(result, "InvalidItem")
    assert "FunctionName 'env-000'" in message and "Environment.Variables" in message
    assert "hunter2" not in message


def test_unrecognized_client_in_an_opt_in_region_that_list_regions_reports_enabled_fails(
    emu: Emulator, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`regions: all`: ListRegions (the emulator) says the opt-in region is enabled, so Lambda's
    UnrecognizedClientException (the hostile endpoint) cannot mean "not enabled": a bad token, failed."""
    unrecognized = Reply(
        403, b'{"message":"The security token included in the request is invalid."}',
        {"x-amzn-ErrorType": "UnrecognizedClientException:http://internal.amazon.com/coral/"},
    )  # fmt: skip
    with HostileLambda(sequence(unrecognized)) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.endpoint)
        result = _all_regions_run(HEAVY, OPT_IN)
        plain, _ = _collect(_config(HEAVY, region=OPT_IN))
    message = _assert_failed(result, "UnrecognizedClientException")
    assert f"in {OPT_IN}, a region the account's ListRegions reports enabled" in message
    assert plain.status is Status.SKIPPED  # without ListRegions' answer, the packaged data says opt-in
    assert plain.error_code == "UnrecognizedClientException"
