"""The pacer keeps requests to one account-region at or under the configured rate."""

from __future__ import annotations

import asyncio
import itertools
import math

import pytest

from inventory.aws.ratelimit import HEADROOM, Pacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def wait(pacer: Pacer) -> None:
    asyncio.run(pacer.wait())


def test_first_request_does_not_wait() -> None:
    clock = FakeClock()
    wait(Pacer(10, clock, clock.sleep))
    assert clock.slept == []


def test_back_to_back_requests_are_spaced_by_the_interval() -> None:
    clock = FakeClock()
    pacer = Pacer(10, clock, clock.sleep)
    starts = []
    for _ in range(5):
        wait(pacer)
        starts.append(clock.now)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps == pytest.approx([0.1 / HEADROOM] * 4)  # 10/s, less the headroom


def test_slow_requests_are_not_delayed() -> None:
    clock = FakeClock()
    pacer = Pacer(10, clock, clock.sleep)
    wait(pacer)
    clock.now += 0.25  # the request (latency) took longer than the interval
    wait(pacer)
    assert clock.slept == []


@pytest.mark.parametrize("rate", [15.0, 10.0, 2.5])
def test_no_one_second_window_exceeds_the_rate(rate: float) -> None:
    clock = FakeClock()
    pacer = Pacer(rate, clock, clock.sleep)
    starts = []
    for _ in range(100):
        wait(pacer)
        starts.append(clock.now)
        clock.now += 0.001  # near-instant responses: the pacer alone sets the pace
    worst = max(sum(1 for t in starts if s <= t < s + 1.0 - 1e-9) for s in starts)  # float spacing
    assert worst <= math.ceil(rate)  # spacing 1/rate fits ceil(rate) starts in any one second


def test_waiters_that_wake_late_do_not_go_out_in_a_burst() -> None:
    """The event loop is busy until t+0.5: every waiter sleeping until then wakes at that same moment. A pacer
    that booked their moments in advance would let them all go at once; this one spaces them from there."""
    clock = FakeClock()
    busy_until = clock.now + 0.5

    async def busy_sleep(seconds: float) -> None:
        until = clock.now + seconds
        await asyncio.sleep(0)  # every waiter registers its sleep before any wakes up
        clock.now = max(clock.now, until, busy_until)

    pacer = Pacer(10, clock, busy_sleep)
    went: list[float] = []

    async def request() -> None:
        await pacer.wait()
        went.append(clock.now)

    async def many() -> None:
        await asyncio.gather(*(request() for _ in range(8)))

    asyncio.run(many())
    assert len(went) == 8
    assert went[0] == 100.0 and went[1] == 100.5
    assert all(b - a >= 0.1 / HEADROOM - 1e-9 for a, b in itertools.pairwise(sorted(went))), went
