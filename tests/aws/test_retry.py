"""Error classification and the one retry layer, driven by real botocore exceptions."""

from __future__ import annotations

import asyncio
import gc
import random
from collections.abc import Awaitable, Callable
from types import SimpleNamespace

import aiohttp
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from tenacity import wait_random_exponential

from inventory.aws.http1 import HttpFailure
from inventory.aws.retry import Fault, FaultKind, RetryPolicy, classify


def client_error(
    code: str, status: int = 400, operation: str = "ListFunctions", message: str | None = None
) -> ClientError:
    """Built the way botocore builds it from a parsed error response."""
    response = {
        "Error": {"Code": code, "Message": message if message is not None else f"{code} happened"},
        "ResponseMetadata": {"RequestId": "4f5e6a7b-0000-1111-2222-333344445555", "HTTPStatusCode": status},
    }
    return ClientError(response, operation)  # type: ignore[arg-type]


URL = "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/"


# --- classify -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("TooManyRequestsException", 429, FaultKind.THROTTLED),
        ("TooManyRequestsException", 400, FaultKind.THROTTLED),
        ("SomethingNew", 429, FaultKind.THROTTLED),
        ("Throttling", 400, FaultKind.THROTTLED),
        ("ThrottlingException", 400, FaultKind.THROTTLED),
        ("ThrottledException", 400, FaultKind.THROTTLED),
        ("RequestLimitExceeded", 503, FaultKind.THROTTLED),
        ("RequestThrottled", 400, FaultKind.THROTTLED),
        ("RequestThrottledException", 400, FaultKind.THROTTLED),
        ("SlowDown", 503, FaultKind.THROTTLED),
        ("ServiceException", 500, FaultKind.TRANSIENT),
        ("ServiceException", 400, FaultKind.TRANSIENT),
        ("InternalFailure", 500, FaultKind.TRANSIENT),
        ("InternalError", 500, FaultKind.TRANSIENT),
        ("ServiceUnavailable", 503, FaultKind.TRANSIENT),
        ("RequestTimeout", 408, FaultKind.TRANSIENT),
        ("500", 500, FaultKind.TRANSIENT),
        ("502", 502, FaultKind.TRANSIENT),
        ("503", 503, FaultKind.TRANSIENT),
        ("504", 504, FaultKind.TRANSIENT),
        ("SomethingNew", 500, FaultKind.TRANSIENT),
        ("SomethingNew", 599, FaultKind.TRANSIENT),
        ("ExpiredToken", 400, FaultKind.EXPIRED),
        ("ExpiredTokenException", 403, FaultKind.EXPIRED),
        ("TokenRefreshRequired", 400, FaultKind.EXPIRED),
        ("AccessDenied", 403, FaultKind.FATAL),
        ("AccessDeniedException", 403, FaultKind.FATAL),
        ("AccessDeniedException", 500, FaultKind.FATAL),  # denied is denied, whatever the status
        ("AccessDeniedException", 429, FaultKind.FATAL),
        ("UnrecognizedClientException", 403, FaultKind.NOT_ENABLED),
        ("InvalidClientTokenId", 403, FaultKind.NOT_ENABLED),
        ("ValidationException", 400, FaultKind.FATAL),
        ("InvalidParameterValueException", 400, FaultKind.FATAL),
        ("ResourceNotFoundException", 404, FaultKind.FATAL),
        ("SomethingNew", 400, FaultKind.FATAL),
        ("SomethingNew", 0, FaultKind.FATAL),
    ],
)
def test_classify_client_errors_on_list_functions(code: str, status: int, kind: FaultKind) -> None:
    fault = classify(client_error(code, status, "ListFunctions", message="the message"))
    assert fault == Fault(kind, code, "the message")


@pytest.mark.parametrize("code", ["UnrecognizedClientException", "InvalidClientTokenId"])
@pytest.mark.parametrize("operation", ["AssumeRole", "GetCallerIdentity", "ListTags"])
def test_not_enabled_only_for_list_functions(code: str, operation: str) -> None:
    assert classify(client_error(code, 403, operation)).kind is FaultKind.FATAL


@pytest.mark.parametrize("operation", ["AssumeRole", "ListFunctions"])
@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("AccessDenied", FaultKind.FATAL),
        ("ExpiredToken", FaultKind.EXPIRED),
        ("Throttling", FaultKind.THROTTLED),
        ("InternalFailure", FaultKind.TRANSIENT),
    ],
)
def test_classification_same_for_assume_role(operation: str, code: str, kind: FaultKind) -> None:
    assert classify(client_error(code, 400, operation)).kind is kind


@pytest.mark.parametrize(
    "err",
    [
        EndpointConnectionError(endpoint_url=URL),
        ReadTimeoutError(endpoint_url=URL),
        ConnectionClosedError(endpoint_url=URL),
        ConnectTimeoutError(endpoint_url=URL),
    ],
    ids=lambda e: type(e).__name__,
)
def test_connection_errors_are_unanswered(err: Exception) -> None:
    fault = classify(err)
    assert fault.kind is FaultKind.UNANSWERED
    assert fault.kind.retryable
    assert fault.code == type(err).__name__
    assert URL in fault.message


@pytest.mark.parametrize(
    "err",
    [
        NoCredentialsError(),
        ParamValidationError(report="Invalid type for parameter MaxItems"),
        ValueError("boom"),
        RuntimeError(),
        KeyError("Functions"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_other_errors_are_fatal(err: Exception) -> None:
    fault = classify(err)
    assert fault.kind is FaultKind.FATAL
    assert not fault.kind.retryable
    assert fault.code == type(err).__name__
    assert fault.message  # never empty, even for RuntimeError()


def test_classify_client_error_without_message_or_code() -> None:
    err = ClientError({"Error": {}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "ListFunctions")  # type: ignore[typeddict-item]
    fault = classify(err)
    assert fault.kind is FaultKind.FATAL
    assert fault.code == "Unknown"
    assert fault.message == str(err)


def test_classify_client_error_without_metadata() -> None:
    err = ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "ListFunctions")  # type: ignore[typeddict-item]
    assert classify(err) == Fault(FaultKind.THROTTLED, "Throttling", "slow down")


@pytest.mark.parametrize(
    ("kind", "retryable"),
    [
        (FaultKind.THROTTLED, True),
        (FaultKind.TRANSIENT, True),
        (FaultKind.UNANSWERED, True),
        (FaultKind.EXPIRED, True),
        (FaultKind.NOT_ENABLED, False),
        (FaultKind.FATAL, False),
    ],
)
def test_retryable(kind: FaultKind, retryable: bool) -> None:
    assert kind.retryable is retryable


# --- RetryPolicy.call ---------------------------------------------------------------------------------


class Flaky:
    """Raises the given errors in order, then returns `result`."""

    def __init__(self, errors: list[BaseException], result: object = "done") -> None:
        self.errors = list(errors)
        self.result = result
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


def _policy(max_attempts: int = 5, base: float = 0.5, cap: float = 20.0) -> tuple[RetryPolicy, list[float]]:
    delays: list[float] = []
    return RetryPolicy(max_attempts=max_attempts, base_delay=base, max_delay=cap, sleep=delays.append), delays


RETRYABLE: list[Callable[[], Exception]] = [
    lambda: client_error("TooManyRequestsException", 429),
    lambda: client_error("Throttling", 400),
    lambda: client_error("ThrottlingException", 400),
    lambda: client_error("ServiceException", 500),
    lambda: client_error("ExpiredTokenException", 403),
    lambda: EndpointConnectionError(endpoint_url=URL),
    lambda: ReadTimeoutError(endpoint_url=URL),
    lambda: ConnectionClosedError(endpoint_url=URL),
]
RETRYABLE_IDS = ["429", "Throttling", "ThrottlingException", "5xx", "expired", "endpoint", "read-timeout", "closed"]


@pytest.mark.parametrize("make", RETRYABLE, ids=RETRYABLE_IDS)
def test_retryable_error_then_success(make: Callable[[], Exception]) -> None:
    policy, delays = _policy(max_attempts=5)
    fn = Flaky([make(), make()], result={"Functions": []})
    faults: list[Fault] = []
    assert policy.call(fn, on_retry=faults.append) == {"Functions": []}
    assert fn.calls == 3
    assert len(delays) == 2
    assert len(faults) == 2
    assert all(f.kind.retryable for f in faults)


@pytest.mark.parametrize("make", RETRYABLE, ids=RETRYABLE_IDS)
@pytest.mark.parametrize("max_attempts", [1, 2, 4])
def test_gives_up_after_max_attempts_with_the_original_error(make: Callable[[], Exception], max_attempts: int) -> None:
    policy, delays = _policy(max_attempts=max_attempts)
    errors = [make() for _ in range(max_attempts + 3)]
    fn = Flaky(errors)
    faults: list[Fault] = []
    unanswered = classify(errors[0]).kind is FaultKind.UNANSWERED  # timeouts: at most max_unanswered (3)
    budget = min(max_attempts, policy.max_unanswered) if unanswered else max_attempts
    with pytest.raises(type(errors[0])) as info:
        policy.call(fn, on_retry=faults.append)
    assert fn.calls == budget
    # the last error raised by fn, unchanged (not a tenacity RetryError, not a copy)
    assert info.value is errors[budget - 1]
    assert len(faults) == budget - 1
    assert len(delays) == budget - 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: client_error("AccessDenied", 403, "AssumeRole"),
        lambda: client_error("AccessDeniedException", 403),
        lambda: client_error("UnrecognizedClientException", 403),  # not enabled: skip, do not retry
        lambda: client_error("UnrecognizedClientException", 403, "AssumeRole"),
        lambda: client_error("ValidationException", 400),
        lambda: ValueError("bug"),
    ],
    ids=["AccessDenied", "AccessDeniedException", "not-enabled", "unrecognised-assume", "validation", "ValueError"],
)
def test_non_retryable_called_exactly_once(make: Callable[[], Exception]) -> None:
    policy, delays = _policy(max_attempts=8)
    err = make()
    fn = Flaky([err, err])
    faults: list[Fault] = []
    with pytest.raises(type(err)) as info:
        policy.call(fn, on_retry=faults.append)
    assert info.value is err
    assert fn.calls == 1
    assert faults == []
    assert delays == []


def test_fatal_after_retryable_stops_immediately() -> None:
    policy, delays = _policy(max_attempts=8)
    denied = client_error("AccessDeniedException", 403)
    fn = Flaky([client_error("Throttling"), denied, client_error("Throttling")])
    with pytest.raises(ClientError) as info:
        policy.call(fn)
    assert info.value is denied
    assert fn.calls == 2
    assert len(delays) == 1


def test_on_retry_gets_each_fault_in_order() -> None:
    policy, _ = _policy(max_attempts=5)
    fn = Flaky(
        [
            client_error("TooManyRequestsException", 429, message="Rate exceeded"),
            EndpointConnectionError(endpoint_url=URL),
            client_error("ExpiredTokenException", 403, message="The security token included in the request is expired"),
        ]
    )
    faults: list[Fault] = []
    assert policy.call(fn, on_retry=faults.append) == "done"
    assert [f.kind for f in faults] == [FaultKind.THROTTLED, FaultKind.UNANSWERED, FaultKind.EXPIRED]
    assert faults[0] == Fault(FaultKind.THROTTLED, "TooManyRequestsException", "Rate exceeded")
    assert faults[1].code == "EndpointConnectionError"
    assert faults[2].code == "ExpiredTokenException"


def test_no_on_retry_is_fine() -> None:
    policy, delays = _policy(max_attempts=3)
    assert policy.call(Flaky([client_error("Throttling")])) == "done"
    assert len(delays) == 1


def test_success_first_time_does_not_sleep() -> None:
    policy, delays = _policy()
    fn = Flaky([], result=42)
    assert policy.call(fn) == 42
    assert fn.calls == 1
    assert delays == []


@pytest.mark.parametrize(
    ("base", "cap", "attempts"),
    [(0.5, 20.0, 12), (1.0, 3.0, 10), (0.1, 2.0, 8), (2.0, 600.0, 15), (0.5, 0.5, 6), (0.001, 60.0, 20)],
)
def test_waits_are_bounded_full_jitter(base: float, cap: float, attempts: int) -> None:
    policy, delays = _policy(max_attempts=attempts, base=base, cap=cap)
    with pytest.raises(ClientError):
        policy.call(Flaky([client_error("Throttling") for _ in range(attempts)]))
    assert len(delays) == attempts - 1
    for n, delay in enumerate(delays):
        assert 0 <= delay <= min(cap, base * 2**n) + 1e-9, (n, delay)
    assert any(delay > 0 for delay in delays)


def test_waits_jittered_across_many_runs() -> None:
    firsts: list[float] = []
    for _ in range(30):
        policy, delays = _policy(max_attempts=2, base=1.0, cap=10.0)
        with pytest.raises(ClientError):
            policy.call(Flaky([client_error("Throttling"), client_error("Throttling")]))
        firsts.extend(delays)
    assert len(firsts) == 30
    assert all(0 <= d <= 1.0 for d in firsts)
    assert len(set(firsts)) > 1  # random, not a fixed schedule


def test_zero_delays_allowed() -> None:
    policy, delays = _policy(max_attempts=4, base=0, cap=0)
    with pytest.raises(ClientError):
        policy.call(Flaky([client_error("Throttling") for _ in range(4)]))
    assert delays == [0, 0, 0]


def test_default_policy_values() -> None:
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.max_unanswered, policy.base_delay, policy.max_delay) == (12, 3, 0.5, 20.0)


# --- two budgets: answers (throttles) and no answers (timeouts, connection errors) -------------------


def test_unanswered_attempts_have_a_small_budget_of_their_own() -> None:
    policy, delays = _policy(max_attempts=12)
    fn = Flaky([ReadTimeoutError(endpoint_url=URL) for _ in range(12)])
    with pytest.raises(ReadTimeoutError):
        policy.call(fn)
    assert fn.calls == 3  # max_unanswered, not max_attempts
    assert len(delays) == 2
    assert policy.gave_up(classify(ReadTimeoutError(endpoint_url=URL))) == "gave up after 3 attempts that got no answer"


def test_throttles_keep_the_generous_budget_beside_a_few_timeouts() -> None:
    """Eleven failures, two of them timeouts: the twelfth attempt is still made."""
    policy, _ = _policy(max_attempts=12)
    errors: list[Exception] = [client_error("Throttling") for _ in range(9)]
    errors[3:3] = [EndpointConnectionError(endpoint_url=URL), ConnectTimeoutError(endpoint_url=URL)]
    fn = Flaky(errors, result="page")
    assert policy.call(fn) == "page"
    assert fn.calls == 12
    assert policy.gave_up(classify(client_error("Throttling"))) == "gave up after 12 attempts"


def test_the_async_loop_applies_the_same_two_budgets() -> None:
    policy, delays = _async_policy(max_attempts=12)
    hung = Flaky([TimeoutError() for _ in range(12)])
    with pytest.raises(TimeoutError):
        asyncio.run(policy.call_async(_async(hung)))
    assert (hung.calls, len(delays)) == (3, 2)
    throttled = Flaky([client_error("Throttling") for _ in range(11)], result="page")
    assert asyncio.run(policy.call_async(_async(throttled))) == "page"
    assert throttled.calls == 12


@pytest.mark.parametrize("unanswered", [1, 2, 5])
def test_max_unanswered_is_the_configured_number(unanswered: int) -> None:
    delays: list[float] = []
    policy = RetryPolicy(max_attempts=12, base_delay=0, max_delay=0, sleep=delays.append, max_unanswered=unanswered)
    fn = Flaky([EndpointConnectionError(endpoint_url=URL) for _ in range(12)])
    with pytest.raises(EndpointConnectionError):
        policy.call(fn)
    assert fn.calls == unanswered


# --- RetryPolicy.call_async (ListFunctions from the event loop) and aiohttp's errors ------------------


def _async_policy(max_attempts: int = 5) -> tuple[RetryPolicy, list[float]]:
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    return RetryPolicy(max_attempts=max_attempts, base_delay=0.5, max_delay=20.0, async_sleep=sleep), delays


def _async(fn: Flaky) -> Callable[[], Awaitable[object]]:
    async def call() -> object:
        return fn()

    return call


@pytest.mark.parametrize(
    "err",
    [
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientPayloadError("Response payload is not completed"),
        aiohttp.ClientOSError(104, "Connection reset by peer"),
        HttpFailure("the connection closed before the answer was complete"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_http_client_connection_errors_are_unanswered(err: Exception) -> None:
    """aiohttp's (through a proxy), the job's own client's (aws/http1.py) and the builtin ones."""
    fault = classify(err)
    assert fault.kind is FaultKind.UNANSWERED
    assert fault.code == type(err).__name__
    assert fault.message


@pytest.mark.parametrize(
    "err",
    [TimeoutError(), aiohttp.ServerTimeoutError("Timeout on reading data from socket"), aiohttp.SocketTimeoutError()],
    ids=["TimeoutError", "ServerTimeoutError", "SocketTimeoutError"],
)
def test_timeouts_are_unanswered_with_code_timeout(err: Exception) -> None:
    fault = classify(err)
    assert (fault.kind, fault.code) == (FaultKind.UNANSWERED, "Timeout")
    assert fault.message  # never empty, even for a bare TimeoutError


def test_async_retryable_then_success_sleeps_without_blocking() -> None:
    policy, delays = _async_policy(max_attempts=5)
    fn = Flaky([client_error("TooManyRequestsException", 429), aiohttp.ServerDisconnectedError()], result="page")
    faults: list[Fault] = []
    assert asyncio.run(policy.call_async(_async(fn), on_retry=faults.append)) == "page"
    assert fn.calls == 3
    assert len(delays) == 2
    assert [f.kind for f in faults] == [FaultKind.THROTTLED, FaultKind.UNANSWERED]


def test_async_gives_up_after_max_attempts_with_the_original_error() -> None:
    policy, delays = _async_policy(max_attempts=3)
    errors = [client_error("TooManyRequestsException", 429) for _ in range(5)]
    fn = Flaky(errors)
    with pytest.raises(ClientError) as info:
        asyncio.run(policy.call_async(_async(fn)))
    assert info.value is errors[2]
    assert fn.calls == 3
    assert len(delays) == 2
    assert all(0 <= d <= 20.0 for d in delays)


def test_async_non_retryable_called_once() -> None:
    policy, delays = _async_policy(max_attempts=8)
    denied = client_error("AccessDeniedException", 403)
    fn = Flaky([denied])
    with pytest.raises(ClientError) as info:
        asyncio.run(policy.call_async(_async(fn)))
    assert info.value is denied
    assert fn.calls == 1
    assert delays == []


@pytest.mark.parametrize(("base", "cap"), [(0.5, 20.0), (0.01, 0.05), (0.0, 0.0), (2.0, 1.0)])
def test_backoff_draws_as_tenacitys_random_exponential(base: float, cap: float) -> None:
    """`call_async` waits as `call` (tenacity) does: the same draw for the same attempt and random state."""
    policy, theirs = RetryPolicy(base_delay=base, max_delay=cap), wait_random_exponential(multiplier=base, max=cap)
    for attempt in [*range(1, 40), 1023, 1024, 1025, 5000]:
        random.seed(attempt)
        ours = policy.backoff(attempt)
        random.seed(attempt)
        assert ours == theirs(SimpleNamespace(attempt_number=attempt))  # type: ignore[arg-type]


def test_async_calls_that_succeed_leave_nothing_for_the_garbage_collector() -> None:
    """One call per ListFunctions page: no per-call retry object in reference cycles (tenacity made ~40)."""
    policy, _ = _async_policy()

    async def page() -> str:
        return "page"

    async def many() -> int:
        gc.collect()
        gc.disable()
        try:
            for _ in range(200):
                assert await policy.call_async(page) == "page"
            return gc.collect()
        finally:
            gc.enable()

    assert asyncio.run(many()) == 0
