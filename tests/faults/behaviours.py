"""What the fake answers for one (account, region): one small class per fault.

A behaviour sees each ListFunctions request as a `Call` and returns an answer: a `Reply` (status, headers,
body), `HANG` (read the request, never answer), `RESET` (close the connection without answering), `GARBAGE`
(bytes that are not HTTP, then close), or `None` (serve the normal page for the request's marker). To add a
fault, add a class here with an `answer(call)` method and use it in a test's `Scenario` (see README.md).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from .population import PAGE, offset_of, page


@dataclass(frozen=True)
class Reply:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class Drop(Enum):
    HANG = "hang"  # accept and read the request, never answer (released when the fake stops)
    RESET = "reset"  # close the connection without a byte of answer
    PARTIAL = "partial"  # send the head and half the body of the normal page, then reset the connection
    GARBAGE = "garbage"  # answer bytes that are not HTTP (another protocol's banner), then close


@dataclass(frozen=True)
class Delayed:
    """Serve the normal page, but only after this many seconds."""

    seconds: float


HANG, RESET = Drop.HANG, Drop.RESET
Answer = Reply | Drop | Delayed | None


@dataclass(frozen=True)
class Call:
    """One ListFunctions request as a behaviour sees it."""

    account: str
    region: str
    attempt: int  # 1-based: the how-many-th request to this (account, region)
    marker: str | None
    key_id: str
    authorization: str  # the request's Authorization header, verbatim
    security_token: str  # the request's X-Amz-Security-Token header, verbatim
    functions: int  # how many functions the target holds
    expire: ExpireHook


class ExpireHook(Protocol):
    def __call__(self, key_id: str) -> None: ...


class Behaviour(Protocol):
    def answer(self, call: Call) -> Answer: ...


def json_error(status: int, error_type: str, message: str) -> Reply:
    body = json.dumps({"Type": "User", "message": message}).encode()
    headers = (("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type))
    return Reply(status, headers, body)


def ok_body(body: object) -> Reply:
    return Reply(200, (("Content-Type", "application/json"),), json.dumps(body).encode())


def expired_reply() -> Reply:
    return json_error(403, "ExpiredTokenException", "The security token included in the request is expired")


class Ok:
    """Pages of 50 with NextMarker, every function exactly once."""

    def answer(self, call: Call) -> Answer:
        return None


class RepeatMarker:
    """Every page carries the same NextMarker (and the same first page of items)."""

    def answer(self, call: Call) -> Answer:
        items, _ = page(call.account, call.region, call.functions, 0)
        return ok_body({"Functions": items, "NextMarker": "c2FtZS1tYXJrZXI="})


class CycleMarker:
    """NextMarker goes A -> B -> A -> B ...: pages 0, 1, 2, 1, 2, ..."""

    def answer(self, call: Call) -> Answer:
        offset = {None: 0, "A": PAGE, "B": 2 * PAGE}.get(call.marker, 0)
        items, _ = page(call.account, call.region, call.functions, offset)
        return ok_body({"Functions": items, "NextMarker": "B" if call.marker == "A" else "A"})


@dataclass
class Body:
    """A 200 with this raw body for the first `times` requests (None: always), then normal pages."""

    text: str
    times: int | None = None

    def answer(self, call: Call) -> Answer:
        if self.times is not None and call.attempt > self.times:
            return None
        return Reply(200, (("Content-Type", "application/json"),), self.text.encode())


# The forms a throttle takes: (HTTP status, x-amzn-ErrorType).
THROTTLES = {
    "429": (429, "TooManyRequestsException"),
    "hash": (400, "com.amazon.coral.availability#ThrottlingException"),
    "colon": (400, "ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/"),
}


def throttle(form: str) -> Reply:
    status, error_type = THROTTLES[form]
    return json_error(status, error_type, "Rate exceeded")


def unit_hash(*parts: object) -> float:
    """A deterministic number in [0, 1) from any parts."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


@dataclass
class NamespacedThrottle:
    """The first k requests throttled with a namespaced x-amzn-ErrorType (form "hash" or "colon"), HTTP 400."""

    k: int
    form: str = "hash"

    def answer(self, call: Call) -> Answer:
        return throttle(self.form) if call.attempt <= self.k else None


@dataclass
class ThrottleRate:
    """A deterministic pseudo-random share p of requests throttled, in one of `forms` (also picked by hash)."""

    p: float
    seed: int = 1
    forms: tuple[str, ...] = ("429",)

    def answer(self, call: Call) -> Answer:
        if unit_hash(self.seed, call.account, call.region, call.attempt) >= self.p:
            return None
        pick = unit_hash(self.seed, "form", call.account, call.region, call.attempt)
        return throttle(self.forms[int(pick * len(self.forms))])


class AlwaysThrottle:
    def answer(self, call: Call) -> Answer:
        return throttle("429")


@dataclass
class Hang:
    """Never answer (the first `times` requests; None: all)."""

    times: int | None = None

    def answer(self, call: Call) -> Answer:
        return HANG if self.times is None or call.attempt <= self.times else None


@dataclass
class Slow:
    """Answer every page normally, but only after `seconds` (the fake sleeps; a stop wakes it)."""

    seconds: float

    def answer(self, call: Call) -> Answer:
        return Delayed(self.seconds)


@dataclass
class Reset:
    """Close the connection without answering (partial: in the middle of the body), the first k requests;
    then normal pages."""

    k: int
    partial: bool = False

    def answer(self, call: Call) -> Answer:
        if call.attempt > self.k:
            return None
        return Drop.PARTIAL if self.partial else RESET


@dataclass
class Garbage:
    """Answer bytes that are not HTTP at all (a TLS-terminating middlebox, another service on the port), the
    first k requests (every one with k None); then normal pages."""

    k: int | None = None

    def answer(self, call: Call) -> Answer:
        return Drop.GARBAGE if self.k is None or call.attempt <= self.k else None


@dataclass
class BadItem:
    """Normal pages, but one function's field has the wrong type (e.g. "MemorySize": "128")."""

    index: int = 3
    field: str = "MemorySize"
    value: object = "128"

    def answer(self, call: Call) -> Answer:
        offset = offset_of(call.marker)
        items, next_marker = page(call.account, call.region, call.functions, offset)
        for i, item in enumerate(items, start=offset):
            if i == self.index:
                item[self.field] = self.value
        return ok_body({"Functions": items, **({"NextMarker": next_marker} if next_marker else {})})

    def function_name(self, account: str, region: str, functions: int) -> str:
        items, _ = page(account, region, functions, self.index - self.index % PAGE)
        return str(items[self.index % PAGE]["FunctionName"])


@dataclass
class EchoToken:
    """403 AccessDeniedException whose message echoes the request's credentials ("json"), or an HTML error
    page from a proxy, many lines long, echoing them too ("html")."""

    style: str = "json"

    def answer(self, call: Call) -> Answer:
        if self.style == "json":
            message = (
                f"Access denied for key {call.key_id}.\nRequest was: Authorization={call.authorization}\n"
                f"\tX-Amz-Security-Token={call.security_token}"
            )
            return json_error(403, "AccessDeniedException", message)
        html = (
            f"<html>\n<head><title>403 Forbidden</title></head>\n<body>\n<h1>Forbidden</h1>\n"
            f"<p>Credential={call.key_id}/{call.region}/lambda</p>\n\t<p>{call.authorization}</p>\n"
            f"\t<p>X-Amz-Security-Token={call.security_token}</p>\n</body>\n</html>\n"
        )
        return Reply(403, (("Content-Type", "text/html"),), html.encode())


@dataclass
class ExpireAfter:
    """After k pages served with one credential, that credential expires (ExpiredTokenException everywhere,
    from the fake's global check); the next assumed credential serves k more pages, and so on."""

    k: int
    pages_by_key: dict[str, int] = field(default_factory=dict)

    def answer(self, call: Call) -> Answer:
        served = self.pages_by_key.get(call.key_id, 0)
        if served >= self.k:
            call.expire(call.key_id)
            return expired_reply()
        self.pages_by_key[call.key_id] = served + 1
        return None


class Unrecognized:
    def answer(self, call: Call) -> Answer:
        return json_error(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
