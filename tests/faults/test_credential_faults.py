"""Credentials: an endpoint that echoes them back in its error (nothing may reach any output, at debug
level, in either log format), and credentials that expire in the middle of a listing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .behaviours import EchoToken, ExpireAfter
from .fake_aws import FakeAws, Scenario
from .harness import assert_exact_rows, assert_failed, assert_ok, check_run, run_cli, write_config

A, B, C = "340000000001", "340000000002", "340000000003"
R1, R2 = "us-east-1", "eu-west-1"
StartFake = Callable[[Scenario], FakeAws]


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_an_echoed_token_is_masked_everywhere(fake_aws: StartFake, tmp_path: Path, log_format: str) -> None:
    scenario = Scenario().add(A, R1, 10, EchoToken("json")).add(A, R2, 10, EchoToken("html"))
    scenario.deny_echo.add(C)  # AssumeRole denied with a message that echoes the hub's key and signature
    fake = fake_aws(scenario.add(B, R1, 60).add(B, R2, 3).add(C, R1, 4))

    run = run_cli(fake, write_config(tmp_path / "accounts.yaml", [A, B, C], [R1, R2]), tmp_path, log_format)

    # check_run: no key id, secret, token or signature in stdout, stderr (debug), status, manifest, inventory
    status = check_run(run, fake, exit_code=1, log_format=log_format)
    assert len(fake.secrets()) > 5 and fake.echoed  # the fake did hand out credentials and echo them
    row = assert_failed(run, fake, status, (A, R1), "AccessDeniedException")
    assert "Access denied" in row["error_message"]  # masked, not wiped
    assert "***" in row["error_message"]
    assert status[(A, R2)]["status"] == "failed"
    assert fake.requests[(A, R1)] == 1  # access denied: not retried
    for region in (R1, R2):
        denied = assert_failed(run, fake, status, (C, region), "AccessDenied")
        assert "sts:AssumeRole" in denied["error_message"]
    assert fake.assume_roles[C] == 1
    assert_ok(run, fake, status, (B, R1), (B, R2))
    assert_exact_rows(run, fake, (B, R1), (B, R2))


def test_credentials_expiring_mid_listing_are_renewed_and_the_listing_resumes(
    fake_aws: StartFake, tmp_path: Path
) -> None:
    fake = fake_aws(Scenario().add(A, R1, 260, ExpireAfter(2)).add(A, R2, 120).add(B, R1, 10))

    run = run_cli(fake, write_config(tmp_path / "accounts.yaml", [A, B], [R1, R2]), tmp_path)

    status = check_run(run, fake, exit_code=0)
    assert_ok(run, fake, status, (A, R1), (A, R2), (B, R1), (B, R2))
    assert_exact_rows(run, fake, (A, R1), (A, R2), (B, R1))  # every row exactly once
    assert fake.pages_served[(A, R1)] == 6  # resumed from its marker: no page asked for twice
    assert 3 <= fake.assume_roles[A] <= 6  # a new credential per expiry, not one per request
    assert fake.assume_roles[B] == 1
