"""The `fake_aws` fixture: start a fake STS + Lambda for a scenario; every fake started is stopped after."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .fake_aws import FakeAws, Scenario


@pytest.fixture
def fake_aws() -> Iterator[Callable[[Scenario], FakeAws]]:
    started: list[FakeAws] = []

    def start(scenario: Scenario) -> FakeAws:
        fake = FakeAws(scenario).__enter__()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.__exit__(None, None, None)
