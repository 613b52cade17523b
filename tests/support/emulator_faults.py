"""Faults the tests inject into the emulator, through its one extension point (Behaviour.faults).

Each is a `Fault` (inventory/demo/emulator.py): shown every signed request (a Call) under the emulator's lock,
after its access checks (deny_roles, disabled) and before its throttle draw, it returns the answer to give
instead, or None. A test appends it and the `emu` fixture's fresh Behaviour drops it after the test:

    emu.app.behaviour.faults.append(KeyExpiry(after=1))

* KeyExpiry: every access key honoured for `after` ListFunctions calls, then 403 ExpiredTokenException, as
  if its lifetime had run out (counted in stats.faults["expired"]).
* ListRegionsDenied / ListRegionsThrottled: the Account API's ListRegions denied (403 AccessDeniedException)
  for some accounts, or its first N calls per account answered 429 (counted in stats.throttled).
* DeniedOperations: (account, region or "*", operation) answered 403 AccessDeniedException.
* BrokenFunctions: (account, function, operation) of the per-function reads answered 500 ServiceException.
* UrlPageLimit: ListFunctionUrlConfigs pages of at most N configs, whatever MaxItems says.
* Answered: (account, operation) answered 200 with a given JSON body, e.g. an estate list with a hostile item.
* DeniedS3Writes: S3 writes (PUT, POST) to a path containing one of the parts answered 403 AccessDenied, as a
  bucket policy denying s3:PutObject on part of a prefix would.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from inventory.demo.emulator import Stats
from inventory.demo.emulator_extras import Answer, Call, Refusal
from inventory.demo.emulator_urls import UrlConfigs
from inventory.demo.emulator_wire import StartResponse, json_reply

ANY_REGION = "*"
PER_FUNCTION_OPERATIONS = frozenset({"ListFunctionUrlConfigs", "GetPolicy", "GetFunctionConcurrency"})
# IAM action prefix per signing name, for the AccessDenied message.
_ACTION_PREFIX = {"lambda": "lambda", "tagging": "tag", "monitoring": "cloudwatch"}


def _is_list_regions(call: Call) -> bool:
    return call.service == "account" and call.method == "POST" and call.path == "/listRegions"


@dataclass
class KeyExpiry:
    """Every access key is honoured for `after` ListFunctions calls, then answered ExpiredTokenException. The
    uses start again from zero with the emulator's stats (reset_stats)."""

    after: int
    _uses: Counter[str] = field(default_factory=Counter)
    _stats: Stats | None = None

    def __call__(self, call: Call, stats: Stats) -> Answer | None:
        if call.service != "lambda" or call.operation != "ListFunctions":
            return None
        if stats is not self._stats:
            self._uses.clear()
            self._stats = stats
        self._uses[call.key] += 1
        if self._uses[call.key] <= self.after:
            return None
        stats.faults["expired"] += 1
        return Refusal(403, "ExpiredTokenException", "The security token has expired.")


@dataclass
class ListRegionsDenied:
    """ListRegions of these accounts is denied."""

    accounts: set[str] = field(default_factory=set)

    def __call__(self, call: Call, stats: Stats) -> Answer | None:
        if not _is_list_regions(call) or call.account not in self.accounts:
            return None
        message = (
            f"User: arn:aws:sts::{call.account}:assumed-role/member is not authorized to perform: account:ListRegions"
        )
        return Refusal(403, "AccessDeniedException", message)


@dataclass
class ListRegionsThrottled:
    """The first `first` ListRegions calls of each account (since reset_stats) are answered 429."""

    first: int

    def __call__(self, call: Call, stats: Stats) -> Answer | None:
        if not _is_list_regions(call) or stats.list_regions_calls[call.account] > self.first:
            return None
        stats.throttled += 1
        return Refusal(429, "TooManyRequestsException", "Rate exceeded")


@dataclass
class DeniedOperations:
    """(account_id, region or "*" for every region, operation) answered 403 AccessDeniedException, e.g.
    ("222222222222", "*", "GetMetricData"); operation names as in emulator_extras.ENRICH_OPERATIONS."""

    denied: set[tuple[str, str, str]] = field(default_factory=set)

    def __call__(self, call: Call, stats: Stats) -> Answer | None:
        if not is_denied(self.denied, call.account, call.region, call.operation):
            return None
        return denial(call.account, call.service, call.operation)


@dataclass
class BrokenFunctions:
    """(account_id, function name, operation) answered 500 ServiceException every time, for the per-function
    reads (ListFunctionUrlConfigs, GetPolicy, GetFunctionConcurrency)."""

    broken: set[tuple[str, str, str]] = field(default_factory=set)

    def __call__(self, call: Call, stats: Stats) -> Answer | None:
        if call.operation not in PER_FUNCTION_OPERATIONS:
            return None
        if (call.account, call.function, call.operation) not in self.broken:
            return None
        return Refusal(500, "ServiceException", f"The service could not read function {call.function} (emulator fault)")


@dataclass
class Answered:
    """(account_id, operation) answered 200 with `bodies[(account_id, operation)]` as JSON, whatever was asked."""

    bodies: dict[tuple[str, str], dict[str, Any]]

    def __call__(self, call: Call, stats: Stats) -> Answer | None:
        body = self.bodies.get((call.account, call.operation))
        if body is None:
            return None
        return lambda environ, start_response: json_reply(start_response, "200 OK", body)


@dataclass
class UrlPageLimit:
    """ListFunctionUrlConfigs answers at most `limit` URL configs per page (the emulator's own UrlConfigs)."""

    urls: UrlConfigs
    limit: int

    def __call__(self, call: Call, stats: Stats) -> Answer | None:
        if call.service != "lambda" or call.operation != "ListFunctionUrlConfigs":
            return None

        def answer(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
            return self.urls.handle(environ, start_response, (call.account, call.region), call.operation, self.limit)

        return answer


@dataclass
class DeniedS3Writes:
    """S3 writes (PUT, POST) to a path containing one of `parts` answered 403 AccessDenied (e.g.
    {"/inv/targets/"})."""

    parts: set[str] = field(default_factory=set)

    def __call__(self, call: Call, stats: Stats) -> Answer | None:
        writes = call.service == "s3" and call.method in {"PUT", "POST"}
        return s3_access_denied if writes and any(part in call.path for part in self.parts) else None


def s3_access_denied(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    """An S3 REST error (403): `<Error><Code>` as S3 answers it."""
    data = (
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'
    )
    body = data.encode()
    start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]


def denial(account: str, service: str, operation: str) -> Refusal:
    action = f"{_ACTION_PREFIX.get(service, service)}:{operation}"
    return Refusal(
        403,
        "AccessDeniedException",
        f"User: arn:aws:sts::{account}:assumed-role/member/job is not authorized to perform: {action} "
        f"because no identity-based policy allows the {action} action",
    )


def is_denied(deny: Collection[tuple[str, str, str]], account: str, region: str, operation: str) -> bool:
    """(account, region, operation) or (account, "*", operation) is in `deny`."""
    return (account, region, operation) in deny or (account, ANY_REGION, operation) in deny
