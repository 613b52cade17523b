"""The one retry layer: which errors are worth another attempt, and how long to wait.

botocore's own retries are switched off (see aws/clients.py's botocore_config) so attempts never multiply.
Every Fault's message is cleaned when it is made (redact.py's clean: credentials masked, one line, at most 300
characters), so nothing that carries one downstream (status file, logs, summary, manifest) can leak.
"""

from __future__ import annotations

import asyncio
import builtins
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError
from tenacity import Retrying

from inventory.redact import clean

T = TypeVar("T")
CODE_LIMIT = 100
_LARGEST_EXPONENT = 1000  # 2.0**1024 overflows: a wait that far out is max_delay anyway

_THROTTLES = frozenset(
    {
        "TooManyRequestsException",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)
_TRANSIENT = frozenset({"ServiceException", "InternalFailure", "InternalError", "ServiceUnavailable", "RequestTimeout"})
_EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired"})
# Lambda answers these in an opt-in region the account has not enabled, and to a bad or revoked token
# anywhere: job/collect.py tells the two apart from region data, never from the error alone.
_NOT_ENABLED = frozenset({"UnrecognizedClientException", "InvalidClientTokenId"})


class FaultKind(Enum):
    THROTTLED = "throttled"  # retry with backoff
    TRANSIENT = "transient"  # 5xx or an answer we cannot read: retry with backoff
    UNANSWERED = "unanswered"  # timed out or could not connect: retry with backoff, on a small budget of its own
    EXPIRED = "expired"  # credentials expired: assume the role again, then retry
    NOT_ENABLED = "not_enabled"  # credentials not recognised: skip if the region is provably not enabled
    FATAL = "fatal"  # access denied, bad request, unknown: fail the target, no retry

    @property
    def retryable(self) -> bool:
        return self in (FaultKind.THROTTLED, FaultKind.TRANSIENT, FaultKind.UNANSWERED, FaultKind.EXPIRED)


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    code: str
    message: str  # cleaned on creation: masked, one line, at most 300 characters

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", clean(self.code, CODE_LIMIT))
        object.__setattr__(self, "message", clean(self.message))


class FaultError(Exception):
    """A fault the job detected itself (a bad answer, a repeated marker, a timeout): raised with its Fault."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(f"{fault.code}: {fault.message}")
        self.fault = fault


def normalise_code(code: str) -> str:
    """An AWS error code as botocore normalises it: `ns#Code:uri` -> `Code` (the ':' part first, then '#')."""
    return code.split(":", 1)[0].rsplit("#", 1)[-1]


def classify(err: BaseException) -> Fault:
    """Map any exception raised by an AWS call to a Fault. Never raises."""
    if isinstance(err, FaultError):
        return err.fault
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        code = normalise_code(str(error.get("Code") or "")) or "Unknown"
        message = str(error.get("Message") or err)
        status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return Fault(_client_error_kind(code, status, err.operation_name), code, message)
    if isinstance(err, TimeoutError):  # aiohttp's ServerTimeoutError and the total timeout are TimeoutErrors
        return Fault(FaultKind.UNANSWERED, "Timeout", str(err) or "the request timed out")
    if isinstance(err, _CONNECTION_ERRORS + _aiohttp_errors()):  # botocore's timeouts are these too
        return Fault(FaultKind.UNANSWERED, type(err).__name__, str(err) or type(err).__name__)
    if isinstance(err, BotoCoreError):
        return Fault(FaultKind.FATAL, type(err).__name__, str(err))
    return Fault(FaultKind.FATAL, type(err).__name__, str(err) or type(err).__name__)


# A connection refused, reset or closed mid-answer: botocore's, and the builtin one (aws/http1.py's HttpFailure).
_CONNECTION_ERRORS: tuple[type[Exception], ...] = (ConnectionError, HTTPClientError, builtins.ConnectionError)


def _aiohttp_errors() -> tuple[type[Exception], ...]:
    """aiohttp's ClientError, once aiohttp is imported (aws/transport.py imports it for the first request; before
    that no aiohttp error can exist, and a run with nothing to list never pays for the import)."""
    aiohttp = sys.modules.get("aiohttp")
    return (aiohttp.ClientError,) if aiohttp is not None else ()


def _client_error_kind(code: str, status: int, operation: str) -> FaultKind:
    if code.startswith("AccessDenied"):
        return FaultKind.FATAL
    if code in _EXPIRED:
        return FaultKind.EXPIRED
    if code in _THROTTLES or status == 429:
        return FaultKind.THROTTLED
    if code in _NOT_ENABLED and operation == "ListFunctions":
        return FaultKind.NOT_ENABLED
    if code in _TRANSIENT or status >= 500:
        return FaultKind.TRANSIENT
    return FaultKind.FATAL


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts with exponential backoff and full jitter: wait ~ U(0, min(max, base * 2^n)).

    Two budgets per request: `max_attempts` in all (a throttle is the server saying "slow down": at 30%
    throttling a page must still be read), and at most `max_unanswered` of them may time out or fail to
    connect (a server that does not answer is unlikely to start: a hung region fails in
    ~max_unanswered x read_seconds, not max_attempts x read_seconds). Whichever ends first ends the request.

    `call` is for blocking calls (AssumeRole, in a thread), through tenacity; `call_async` for the event loop
    (every ListFunctions page and enrichment call), a plain loop: tenacity made ~40 objects per call, in
    reference cycles that only the garbage collector could free (~8% of the job's CPU at 2,000 x 17, and
    more in collections). Both apply the same rules with the same `backoff`; neither is ever wrapped around
    the other.
    """

    max_attempts: int = 12
    base_delay: float = 0.5
    max_delay: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    max_unanswered: int = 3

    def again(self, fault: Fault, attempts: int, unanswered: int) -> bool:
        """Whether to retry after `attempts` attempts, `unanswered` of which got no answer, the last with `fault`."""
        if not fault.kind.retryable or attempts >= self.max_attempts:
            return False
        return unanswered < self.max_unanswered

    def gave_up(self, fault: Fault) -> str:
        """Why a retryable fault ended a request: the budget that ran out."""
        if fault.kind is FaultKind.UNANSWERED and self.max_unanswered < self.max_attempts:
            return f"gave up after {self.max_unanswered} attempts that got no answer"
        return f"gave up after {self.max_attempts} attempts"

    def _rules(self, on_retry: Callable[[Fault], None] | None) -> dict[str, object]:
        unanswered = [0]  # one request's count: a Retrying is made per call

        def retry(state: Any) -> bool:
            fault = classify(state.outcome.exception()) if state.outcome.failed else None
            if fault is None:
                return False
            unanswered[0] += fault.kind is FaultKind.UNANSWERED
            if not self.again(fault, state.attempt_number, unanswered[0]):
                return False
            if on_retry is not None:
                on_retry(fault)
            return True

        return {
            "stop": lambda state: False,  # `retry` applies both budgets
            "wait": lambda state: self.backoff(state.attempt_number),
            "retry": retry,
            "reraise": True,
        }

    def call(self, fn: Callable[[], T], on_retry: Callable[[Fault], None] | None = None) -> T:
        """Run fn, retrying retryable faults. The last error is re-raised unchanged."""
        return Retrying(sleep=self.sleep, **self._rules(on_retry))(fn)  # type: ignore[arg-type]

    async def call_async(self, fn: Callable[[], Awaitable[T]], on_retry: Callable[[Fault], None] | None = None) -> T:
        """As call(), for a coroutine function; backoff sleeps without blocking the loop."""
        attempt, unanswered = 1, 0
        while True:
            try:
                return await fn()
            except Exception as err:
                fault = classify(err)
                unanswered += fault.kind is FaultKind.UNANSWERED
                if not self.again(fault, attempt, unanswered):
                    raise
                if on_retry is not None:
                    on_retry(fault)
                await self.async_sleep(self.backoff(attempt))
                attempt += 1

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt` (1-based): U(0, min(max_delay, base_delay * 2^(attempt-1))),
        as tenacity's wait_random_exponential draws it."""
        exponent = attempt - 1
        high = self.max_delay if exponent >= _LARGEST_EXPONENT else min(self.max_delay, self.base_delay * 2.0**exponent)
        return random.uniform(0, max(0.0, high))
