"""Throttles: namespaced error types are throttles, 30% throttling loses no row, and a target that is
always throttled fails alone, in bounded time, with the rest of the inventory intact."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .behaviours import AlwaysThrottle, NamespacedThrottle, ThrottleRate
from .fake_aws import FakeAws, Scenario
from .harness import FAST_RETRY, assert_exact_rows, assert_failed, assert_ok, check_run, run_cli, write_config

A, B, C = "320000000001", "320000000002", "320000000003"
R1, R2, R3 = "us-east-1", "eu-west-1", "eu-central-1"
StartFake = Callable[[Scenario], FakeAws]


def test_namespaced_throttles_are_retried_like_any_throttle(fake_aws: StartFake, tmp_path: Path) -> None:
    scenario = Scenario().add(A, R1, 60, NamespacedThrottle(2, "hash")).add(A, R2, 60, NamespacedThrottle(2, "colon"))
    fake = fake_aws(scenario.add(B, R1, 3))

    run = run_cli(fake, write_config(tmp_path / "accounts.yaml", [A, B], [R1, R2]), tmp_path)

    status = check_run(run, fake, exit_code=0)
    for target in ((A, R1), (A, R2)):
        assert status[target]["retries"] == 2, status[target]
        assert fake.requests[target] == 2 + 2  # two throttled answers, then its two pages
    assert_ok(run, fake, status, (A, R1), (A, R2), (B, R1), (B, R2))
    assert_exact_rows(run, fake, (A, R1), (A, R2), (B, R1))


def test_thirty_percent_throttling_loses_no_row(fake_aws: StartFake, tmp_path: Path) -> None:
    scenario = Scenario()
    targets = [(account, region) for account in (A, B, C) for region in (R1, R2, R3)]
    for i, (account, region) in enumerate(targets):
        # 3 pages each; throttled in every form Lambda uses (429, and both namespaced 400s)
        scenario.add(account, region, 101 + i, ThrottleRate(0.3, seed=7, forms=("429", "hash", "colon")))
    fake = fake_aws(scenario)
    retry = {**FAST_RETRY, "max_attempts": 10}

    run = run_cli(fake, write_config(tmp_path / "accounts.yaml", [A, B, C], [R1, R2, R3], retry=retry), tmp_path)

    status = check_run(run, fake, exit_code=0)
    assert_ok(run, fake, status, *targets)
    assert_exact_rows(run, fake, *targets)
    throttled = sum(fake.requests.values()) - sum(fake.pages_served.values())
    assert throttled >= 5  # the fake did throttle (~30% of the ~36 requests)
    assert sum(row["retries"] for row in status.values()) == throttled
    assert all(n == 3 for n in fake.pages_served.values())  # every page served once: no page repeated


def test_an_always_throttled_target_fails_alone_in_bounded_time(fake_aws: StartFake, tmp_path: Path) -> None:
    scenario = Scenario().add(A, R1, 60, AlwaysThrottle()).add(A, R2, 60).add(B, R1, 120).add(B, R2, 5)
    fake = fake_aws(scenario.add(C, R1, 51))

    run = run_cli(fake, write_config(tmp_path / "accounts.yaml", [A, B, C], [R1, R2]), tmp_path)

    status = check_run(run, fake, exit_code=1)  # check_run also bounds the wall time
    row = assert_failed(run, fake, status, (A, R1), "TooManyRequestsException")
    assert fake.requests[(A, R1)] == FAST_RETRY["max_attempts"]
    assert row["retries"] == FAST_RETRY["max_attempts"] - 1
    others = [(A, R2), (B, R1), (B, R2), (C, R1), (C, R2)]
    assert_ok(run, fake, status, *others)
    assert_exact_rows(run, fake, *others)
    manifest = run.manifest()
    assert manifest["functions_by_account"][A] == {R1: None, R2: 60}
    assert manifest["counts"]["failed"] == 1
