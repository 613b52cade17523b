"""Bad answers to ListFunctions: repeated markers, bodies that are not a page, a wrongly typed item, and a
token Lambda does not recognise. Each failed target keeps no rows; every other target is intact."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .behaviours import BadItem, Body, CycleMarker, RepeatMarker, Unrecognized
from .fake_aws import FakeAws, Scenario
from .harness import FAST_RETRY, assert_exact_rows, assert_failed, assert_ok, check_run, run_cli, write_config

A, B, C, D = "310000000001", "310000000002", "310000000003", "310000000004"
R1, R2 = "us-east-1", "eu-west-1"
StartFake = Callable[[Scenario], FakeAws]


def test_repeated_or_cycling_marker_fails_the_target_without_retry(fake_aws: StartFake, tmp_path: Path) -> None:
    scenario = Scenario().add(A, R1, 120, RepeatMarker()).add(A, R2, 150, CycleMarker())
    fake = fake_aws(scenario.add(B, R1, 120).add(B, R2, 7))

    run = run_cli(fake, write_config(tmp_path / "accounts.yaml", [A, B], [R1, R2]), tmp_path)

    status = check_run(run, fake, exit_code=1)
    assert_failed(run, fake, status, (A, R1), "RepeatedMarker")
    assert_failed(run, fake, status, (A, R2), "RepeatedMarker")
    # detected on the page that repeats, not retried (a retry would ask again from the same marker)
    assert fake.requests[(A, R1)] == 2
    assert fake.requests[(A, R2)] == 3
    assert_ok(run, fake, status, (B, R1), (B, R2))
    assert_exact_rows(run, fake, (B, R1), (B, R2))


def test_a_body_that_is_not_a_page_is_retried_then_fails_never_zero_functions(
    fake_aws: StartFake, tmp_path: Path
) -> None:
    bad = {(A, R1): "", (A, R2): "{}", (B, R1): '{"Functions": null}', (B, R2): "[]", (C, R1): "not json"}
    scenario = Scenario()
    for (account, region), body in bad.items():
        scenario.add(account, region, 20, Body(body))
    scenario.add(C, R2, 60, Body("{}", times=1))  # one bad answer, then good pages: retried, then ok
    fake = fake_aws(scenario.add(D, R1, 75).add(D, R2, 0))  # D/eu-west-1: really empty

    run = run_cli(fake, write_config(tmp_path / "accounts.yaml", [A, B, C, D], [R1, R2]), tmp_path)

    status = check_run(run, fake, exit_code=1)
    for target in bad:
        assert_failed(run, fake, status, target, "InvalidResponse")
        assert fake.requests[target] == FAST_RETRY["max_attempts"], target  # transient: the whole budget
    assert_ok(run, fake, status, (C, R2), (D, R1), (D, R2))
    assert status[(C, R2)]["retries"] >= 1
    assert status[(D, R2)]["function_count"] == 0
    assert_exact_rows(run, fake, (C, R2), (D, R1))


def test_a_wrongly_typed_item_fails_the_target_naming_the_function(fake_aws: StartFake, tmp_path: Path) -> None:
    bad = BadItem(index=3, field="MemorySize", value="128")
    fake = fake_aws(Scenario().add(A, R1, 60, bad).add(A, R2, 10).add(B, R1, 51))

    run = run_cli(fake, write_config(tmp_path / "accounts.yaml", [A, B], [R1, R2]), tmp_path)

    status = check_run(run, fake, exit_code=1)
    row = assert_failed(run, fake, status, (A, R1), "InvalidItem")
    assert bad.function_name(A, R1, 60) in row["error_message"]
    assert "MemorySize" in row["error_message"]
    assert fake.requests[(A, R1)] <= 2  # its two pages at most: no retry
    assert_ok(run, fake, status, (A, R2), (B, R1), (B, R2))
    assert_exact_rows(run, fake, (A, R2), (B, R1))


def test_unrecognized_token_fails_in_a_default_region_and_skips_an_opt_in_one(
    fake_aws: StartFake, tmp_path: Path
) -> None:
    opt_in = "ap-east-1"  # Hong Kong: not enabled unless the account opts in
    scenario = Scenario().add(A, R1, 8, Unrecognized()).add(A, opt_in, 8, Unrecognized())
    fake = fake_aws(scenario.add(B, R1, 5).add(B, opt_in, 3))

    run = run_cli(fake, write_config(tmp_path / "accounts.yaml", [A, B], [R1, opt_in]), tmp_path)

    status = check_run(run, fake, exit_code=1)
    assert_failed(run, fake, status, (A, R1), "UnrecognizedClientException")
    assert fake.requests[(A, R1)] == 1  # a bad or revoked token: not retried
    skipped = status[(A, opt_in)]
    assert (skipped["status"], skipped["error_code"]) == ("skipped", "UnrecognizedClientException"), skipped
    assert_ok(run, fake, status, (B, R1), (B, opt_in))
    assert_exact_rows(run, fake, (B, R1), (B, opt_in))
