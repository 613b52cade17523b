"""The pacer keeps requests to one account-region at or under the configured rate: at most `burst` in any
window of a second or more, the first `burst` at once."""

from __future__ import annotations

import asyncio
import math

import pytest

from inventory.aws.ratelimit import HEADROOM, Pacer, window_of


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


def test_the_first_burst_does_not_wait() -> None:
    clock = FakeClock()
    pacer = Pacer(10, clock, clock.sleep)
    for _ in range(10):  # 10/s less the headroom is 9/s: floor(9) + 1 in any window of 10 intervals
        wait(pacer)
    assert clock.slept == []


def test_the_request_past_the_burst_waits_for_the_window() -> None:
    clock = FakeClock()
    pacer = Pacer(10, clock, clock.sleep)
    for _ in range(11):
        wait(pacer)
    assert clock.slept == [pytest.approx(10 / 9)]
    assert (pacer.burst, pacer.window) == (10, pytest.approx(10 / 9))


def test_on_wait_is_called_once_when_a_request_first_has_to_wait() -> None:
    """pipeline.execute gives the target's place to the next target then: this one is bound by its own rate."""
    clock = FakeClock()
    pacer = Pacer(10, clock, clock.sleep)
    calls: list[float] = []
    pacer.on_wait = lambda: calls.append(clock.now)
    for _ in range(10):
        wait(pacer)
    assert calls == []  # the burst went at once: nothing waited
    for _ in range(15):
        wait(pacer)
    assert calls == [100.0]  # once, before the first sleep, however many waits follow
    assert pacer.on_wait is None and len(clock.slept) >= 2


@pytest.mark.parametrize(
    ("rate", "burst", "window"),
    [(15.0, 14, 14 / 13.5), (10.0, 10, 10 / 9), (2.5, 3, 3 / 2.25), (1.0, 1, 1 / 0.9), (0.5, 1, 1 / 0.45)],
)
def test_burst_and_window_are_what_one_request_per_interval_allows(rate: float, burst: int, window: float) -> None:
    """burst requests in burst intervals of 1 / (HEADROOM x rate): the long-run pace of the spaced pacer."""
    assert window_of(rate) == (burst, pytest.approx(window))
    assert burst / window == pytest.approx(rate * HEADROOM)


def test_slow_requests_are_not_delayed() -> None:
    clock = FakeClock()
    pacer = Pacer(1, clock, clock.sleep)
    wait(pacer)
    clock.now += 1.25  # the request (latency) took longer than the window
    wait(pacer)
    assert clock.slept == []


def _starts(rate: float, gap: float, count: int = 200) -> list[float]:
    clock = FakeClock()
    pacer = Pacer(rate, clock, clock.sleep)
    starts = []
    for _ in range(count):
        wait(pacer)
        starts.append(clock.now)
        clock.now += gap
    return starts


def _worst_second(starts: list[float]) -> int:
    return max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)


@pytest.mark.parametrize("rate", [15.0, 10.0, 2.5, 1.0, 0.5])
@pytest.mark.parametrize("gap", [0.0, 0.001, 0.05, 0.3])
def test_no_one_second_window_exceeds_the_rate(rate: float, gap: float) -> None:
    """Back to back (near-instant answers) or slower: never more than floor(HEADROOM x rate) + 1 in a second,
    which is at most the rate (rounded up)."""
    worst = _worst_second(_starts(rate, gap))
    assert worst <= math.floor(rate * HEADROOM) + 1 and worst <= math.ceil(rate)


@pytest.mark.parametrize("rate", [15.0, 10.0, 2.5])
def test_the_long_run_pace_is_the_burst_a_window(rate: float) -> None:
    starts = _starts(rate, 0.0, 1000)
    burst, window = window_of(rate)
    assert (starts[-1] - starts[0]) == pytest.approx((1000 - 1) // burst * window)


def test_waiters_that_wake_late_do_not_go_out_beyond_the_count() -> None:
    """The event loop is busy until t+2.5: every waiter sleeping until then wakes at that same moment. A pacer
    that booked their moments in advance would let them all go at once; this one lets the window's count go when
    the window frees, and the rest a window later."""
    clock = FakeClock()
    busy_until = clock.now + 2.5

    async def busy_sleep(seconds: float) -> None:
        until = clock.now + seconds
        await asyncio.sleep(0)  # every waiter registers its sleep before any wakes up
        clock.now = max(clock.now, until, busy_until)

    pacer = Pacer(1.2, clock, busy_sleep)  # 2 in a window of 1.85 s
    went: list[float] = []

    async def request() -> None:
        await pacer.wait()
        went.append(clock.now)

    async def many() -> None:
        await asyncio.gather(*(request() for _ in range(8)))

    asyncio.run(many())
    assert len(went) == 8
    burst, window = window_of(1.2)
    assert burst == 2 and window < 2.5  # the loop is busy past the window: the waiters wake late, together
    assert went[:4] == [100.0, 100.0, 102.5, 102.5] and went[4] == pytest.approx(102.5 + window)
    assert all(b - a >= window - 1e-9 for a, b in zip(went, went[burst:], strict=False)), went
