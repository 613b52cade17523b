"""The network: a request that never gets an answer, a target slower than its deadline, and connections
closed without (or in the middle of) an answer. Short deadlines come from the config's `timeouts:`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .behaviours import Garbage, Hang, Reset, Slow
from .fake_aws import FakeAws, Scenario
from .harness import (
    FAST_RETRY,
    SHORT_TIMEOUTS,
    assert_exact_rows,
    assert_failed,
    assert_ok,
    check_run,
    run_cli,
    write_config,
)

A, B = "330000000001", "330000000002"
R1, R2 = "us-east-1", "eu-west-1"
StartFake = Callable[[Scenario], FakeAws]


def test_a_hanging_endpoint_fails_on_its_own_small_budget_and_only_its_target(
    fake_aws: StartFake, tmp_path: Path
) -> None:
    """Throttles keep the generous budget (12); a server that never answers gets max_unanswered (3) attempts,
    so it fails in ~3 x read_seconds, long before the target's deadline."""
    fake = fake_aws(Scenario().add(A, R1, 10, Hang()).add(A, R2, 60).add(B, R1, 5))
    retry = {**FAST_RETRY, "max_attempts": 12}  # max_unanswered: the default, 3
    timeouts = {**SHORT_TIMEOUTS, "target_seconds": 60}
    config = write_config(tmp_path / "accounts.yaml", [A, B], [R1, R2], retry=retry, timeouts=timeouts)

    run = run_cli(fake, config, tmp_path)

    status = check_run(run, fake, exit_code=1)  # check_run bounds the wall time
    row = assert_failed(run, fake, status, (A, R1), "Timeout")
    assert row["error_message"].startswith("gave up after 3 attempts that got no answer: no complete answer"), row
    assert fake.requests[(A, R1)] == 3
    assert row["duration_ms"] < 15_000, row
    assert_ok(run, fake, status, (A, R2), (B, R1), (B, R2))
    assert_exact_rows(run, fake, (A, R2), (B, R1))


def test_a_target_slower_than_its_deadline_fails_with_deadline_exceeded(fake_aws: StartFake, tmp_path: Path) -> None:
    fake = fake_aws(Scenario().add(A, R1, 500, Slow(0.5)).add(A, R2, 60).add(B, R1, 5))  # 10 pages: ~5 s
    timeouts = {**SHORT_TIMEOUTS, "target_seconds": 2}
    config = write_config(tmp_path / "accounts.yaml", [A, B], [R1, R2], timeouts=timeouts)

    run = run_cli(fake, config, tmp_path)

    status = check_run(run, fake, exit_code=1)
    row = assert_failed(run, fake, status, (A, R1), "DeadlineExceeded")
    assert fake.pages_served[(A, R1)] < 10  # it was stopped, not allowed to finish
    assert row["duration_ms"] < 10_000, row
    assert_ok(run, fake, status, (A, R2), (B, R1), (B, R2))
    assert_exact_rows(run, fake, (A, R2), (B, R1))


def test_connection_resets_are_retried_and_lose_nothing(fake_aws: StartFake, tmp_path: Path) -> None:
    scenario = Scenario().add(A, R1, 120, Reset(2)).add(A, R2, 60, Reset(1, partial=True))
    fake = fake_aws(scenario.add(B, R1, 5))

    run = run_cli(fake, write_config(tmp_path / "accounts.yaml", [A, B], [R1, R2]), tmp_path)

    status = check_run(run, fake, exit_code=0)
    assert fake.requests[(A, R1)] >= 2 + 3  # the resets, then its three pages
    assert fake.requests[(A, R2)] >= 1 + 2
    assert fake.pages_served[(A, R1)] == 3
    assert_ok(run, fake, status, (A, R1), (A, R2), (B, R1), (B, R2))
    assert_exact_rows(run, fake, (A, R1), (A, R2), (B, R1))


def test_an_answer_that_is_not_http_fails_its_target_alone_and_a_passing_one_loses_nothing(
    fake_aws: StartFake, tmp_path: Path
) -> None:
    """Bytes that are not HTTP (another protocol on the port): unanswered, retried on the small budget, then
    that target fails naming it (HttpFailure); once only, the retry lists everything."""
    scenario = Scenario().add(A, R1, 10, Garbage()).add(A, R2, 60, Garbage(1)).add(B, R1, 5)
    fake = fake_aws(scenario)
    config = write_config(tmp_path / "accounts.yaml", [A, B], [R1, R2], timeouts=SHORT_TIMEOUTS)

    run = run_cli(fake, config, tmp_path)

    status = check_run(run, fake, exit_code=1)
    row = assert_failed(run, fake, status, (A, R1), "HttpFailure")
    assert row["error_message"].startswith("gave up after 3 attempts that got no answer: an answer that is not"), row
    assert fake.requests[(A, R1)] == 3
    assert_ok(run, fake, status, (A, R2), (B, R1), (B, R2))
    assert_exact_rows(run, fake, (A, R2), (B, R1))
